#!/usr/bin/env bash
# Packaging check (issue 16), run by .ci/run: installs liboauth2_provider
# with `make -C ffi install` into a staging directory (DESTDIR), then, from
# the staged files only:
#   - the shared library's SONAME is liboauth2_provider.so.0.<minor> (from
#     ffi/Cargo.toml) and its links resolve; it exports oap_* and nothing else;
#   - the C example builds with `pkg-config --cflags --libs oauth2_provider`
#     (dynamic) and with `pkg-config --static --libs` (static archive), and runs;
#   - the CMake example (examples/c/CMakeLists.txt, pkg_check_modules) builds
#     shared and static, and runs;
#   - the C++ test (ffi/tests/c/test_cpp.cpp, -std=c++17 -Wall -Wextra -Werror)
#     builds with pkg-config and runs;
#   - `make -C ffi uninstall` removes every installed file.
# Installs pkg-config, cmake and g++ with apt-get when missing. Reuses the
# release build in CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

say() { printf -- '-- %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
command -v make >/dev/null 2>&1 || missing+=(make)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/stage
PREFIX=/opt/oauth2-provider   # not searched by default: only the stage can satisfy it
LIBDIR=$PREFIX/lib

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' ffi/Cargo.toml | head -n 1)
MAJOR=${VERSION%%.*}
MINOR=$(echo "$VERSION" | cut -d. -f2)
if [ "$MAJOR" = 0 ]; then SOVERSION=0.$MINOR; else SOVERSION=$MAJOR; fi
SONAME=liboauth2_provider.so.$SOVERSION

say "make -C ffi install PREFIX=$PREFIX DESTDIR=<stage> (version $VERSION)"
start=$(date +%s)
make -s -C ffi install PREFIX="$PREFIX" DESTDIR="$STAGE" >/dev/null
say "built and installed in $(($(date +%s) - start)) s"
for f in include/oauth2_provider.h include/oauth2_provider.hpp lib/liboauth2_provider.a \
         "lib/liboauth2_provider.so.$VERSION" lib/pkgconfig/oauth2_provider.pc; do
  [ -f "$STAGE$PREFIX/$f" ] || fail "not installed: $PREFIX/$f"
done
cmp -s include/oauth2_provider.h "$STAGE$PREFIX/include/oauth2_provider.h" \
  || fail "the installed header is not the committed one"
[ "$(readlink "$STAGE$LIBDIR/$SONAME")" = "liboauth2_provider.so.$VERSION" ] || fail "$SONAME link"
[ "$(readlink "$STAGE$LIBDIR/liboauth2_provider.so")" = "$SONAME" ] || fail "liboauth2_provider.so link"

say "ABI identity: SONAME and exported symbols"
SO=$STAGE$LIBDIR/liboauth2_provider.so.$VERSION
soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "$SONAME" ] || fail "SONAME is '$soname', expected $SONAME"
exported=$(nm -D --defined-only "$SO" | awk '{print $NF}')
others=$(grep -v '^oap_' <<<"$exported" || true)
[ -z "$others" ] || fail "exported symbols without the oap_ prefix:"$'\n'"$others"
count=$(grep -c '^oap_' <<<"$exported")
[ "$count" -ge 50 ] || fail "only $count oap_ symbols exported"
say "SONAME $soname; $count symbols exported, all oap_"

# pkg-config and CMake see the staged prefix as if it were installed.
export PKG_CONFIG_PATH=$STAGE$LIBDIR/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$STAGE
[ "$(pkg-config --modversion oauth2_provider)" = "$VERSION" ] || fail "pkg-config --modversion"

check_example() { # <executable> [env ...]: the example's output
  local out
  out=$("$@") || fail "$1 exited with an error"
  grep -q 'token endpoint: HTTP 200 {"access_token":"' <<<"$out" || fail "$1: no token: $out"
  grep -q 'resource: access granted to reporting-job' <<<"$out" || fail "$1: no access: $out"
}
needs_shared() { # <executable> yes|no
  if readelf -d "$1" | grep -q "(NEEDED).*\[$SONAME\]"; then
    [ "$2" = yes ] || fail "$1 links $SONAME, expected the static archive"
  else
    [ "$2" = no ] || fail "$1 does not need $SONAME"
  fi
}
RUNPATH=$STAGE$LIBDIR
CFLAGS_STRICT=(-std=c11 -Wall -Wextra -Wpedantic -Werror)

say "C example, dynamic: cc ... \$(pkg-config --cflags --libs oauth2_provider)"
# shellcheck disable=SC2046
"${CC:-cc}" "${CFLAGS_STRICT[@]}" examples/c/client_credentials.c \
  $(pkg-config --cflags --libs oauth2_provider) -o "$WORK/c_dynamic"
needs_shared "$WORK/c_dynamic" yes
check_example env LD_LIBRARY_PATH="$RUNPATH" "$WORK/c_dynamic"

say "C example, static: cc ... \$(pkg-config --static --libs oauth2_provider), the archive named"
static_libs=$(pkg-config --static --libs oauth2_provider)
# The linker prefers the .so where both are installed: name the archive.
static_libs=${static_libs/-loauth2_provider/-l:liboauth2_provider.a}
# shellcheck disable=SC2046,SC2086
"${CC:-cc}" "${CFLAGS_STRICT[@]}" examples/c/client_credentials.c \
  $(pkg-config --cflags oauth2_provider) $static_libs -o "$WORK/c_static"
needs_shared "$WORK/c_static" no
check_example "$WORK/c_static"

say "CMake example (pkg_check_modules IMPORTED_TARGET), shared and static"
for kind in shared static; do
  opt=OFF; [ "$kind" = static ] && opt=ON
  cmake -S examples/c -B "$WORK/cmake-$kind" -DOAP_STATIC=$opt >"$WORK/cmake-$kind.log" 2>&1 \
    || { cat "$WORK/cmake-$kind.log"; fail "cmake configure ($kind)"; }
  cmake --build "$WORK/cmake-$kind" >>"$WORK/cmake-$kind.log" 2>&1 \
    || { cat "$WORK/cmake-$kind.log"; fail "cmake build ($kind)"; }
  if [ "$kind" = shared ]; then
    needs_shared "$WORK/cmake-$kind/client_credentials" yes
    check_example env LD_LIBRARY_PATH="$RUNPATH" "$WORK/cmake-$kind/client_credentials"
  else
    needs_shared "$WORK/cmake-$kind/client_credentials" no
    check_example "$WORK/cmake-$kind/client_credentials"
  fi
done

say "C++: test_cpp.cpp with -std=c++17 -Wall -Wextra -Werror and pkg-config"
# shellcheck disable=SC2046
"${CXX:-c++}" -std=c++17 -Wall -Wextra -Wpedantic -Werror ffi/tests/c/test_cpp.cpp \
  $(pkg-config --cflags --libs oauth2_provider) -o "$WORK/cpp"
needs_shared "$WORK/cpp" yes
out=$(LD_LIBRARY_PATH="$RUNPATH" "$WORK/cpp") || fail "the C++ test failed: $out"
last=$(tail -n 1 <<<"$out")
[[ $last =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] || fail "C++ test: $last"
say "C++ test: $last"

say "make -C ffi uninstall"
make -s -C ffi uninstall PREFIX="$PREFIX" DESTDIR="$STAGE" >/dev/null
left=$(find "$STAGE" ! -type d)
[ -z "$left" ] || fail "left after uninstall:"$'\n'"$left"
say "packaging: all checks passed ($(($(date +%s) - start)) s)"
