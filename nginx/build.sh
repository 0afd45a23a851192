#!/usr/bin/env bash
# Builds ngx_http_oauth2_module.so for the installed nginx (Debian's nginx
# and nginx-dev: the configure tree in /usr/share/nginx/src and the flags
# nginx was built with). Builds the library first unless OAUTH2_PROVIDER_LIB
# names an archive or pkg-config finds `oauth2_provider`.
# Prints the path of the module on its last line of output.
#   NGINX_SRC   the nginx configure tree (default /usr/share/nginx/src)
#   BUILD_DIR   where to build (default $CARGO_TARGET_DIR/nginx-module, or
#               target/nginx-module)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src=${NGINX_SRC:-/usr/share/nginx/src}
target=${CARGO_TARGET_DIR:-$root/target}
build=${BUILD_DIR:-$target/nginx-module}

if [ ! -x "$src/configure" ] || [ ! -f "$src/conf_flags" ]; then
  echo "build.sh: $src has no nginx configure tree (apt-get install nginx-dev)" >&2
  exit 1
fi

if [ -z "${OAUTH2_PROVIDER_LIB:-}" ] && ! pkg-config --exists oauth2_provider 2>/dev/null; then
  (cd "$root" && cargo build --release -p oauth2-provider-ffi --quiet) >&2
  export OAUTH2_PROVIDER_LIB=$target/release/liboauth2_provider.a
fi

mkdir -p "$build"
# configure once per tree; make rebuilds the module when its source changed
if [ ! -f "$build/src/Makefile" ] || [ "$here/config" -nt "$build/src/Makefile" ]; then
  rm -rf "$build/src"
  cp -r "$src" "$build/src"
  # shellcheck disable=SC1091
  source "$src/conf_flags"
  (cd "$build/src" && ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$here") >"$build/configure.log" 2>&1 || {
    tail -n 30 "$build/configure.log" >&2
    exit 1
  }
fi
# the archive may have changed: relink
rm -f "$build/src/objs/ngx_http_oauth2_module.so"
make -C "$build/src" -f objs/Makefile modules >"$build/make.log" 2>&1 || {
  grep -E 'error|warning' "$build/make.log" >&2 || tail -n 30 "$build/make.log" >&2
  exit 1
}
echo "$build/src/objs/ngx_http_oauth2_module.so"
