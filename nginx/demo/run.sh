#!/usr/bin/env bash
# The demo authorization server of ../../shared/DEMO_SERVER.md, served by
# nginx with ngx_http_oauth2_module: builds the library and the module,
# writes a configuration for ADDR under a temporary prefix, and runs nginx
# in the foreground until SIGTERM or Ctrl-C.
#
#   bash nginx/demo/run.sh [--addr 127.0.0.1:8080] [--workers 2]
#                          [--zone SIZE] [--prefix DIR] [--write-only]
#
# --write-only writes the configuration (DIR/nginx.conf) and the module
# path (DIR/module) and exits instead of running nginx (the tests use it).
# Served: /authorize (behind auth_basic over the realm's users, with a
# consent page), /token (authorization code with PKCE, client credentials,
# password, refresh token), /revoke, /introspect, /resource,
# /.well-known/oauth-authorization-server; and,
# for the tests and the load run, /write (scope "write"), /static/ (a file,
# unprotected) and /protected/ (the same file behind the bearer check).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
addr=127.0.0.1:8080
workers=2
zone=16m
prefix=
write_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --addr) addr=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --zone) zone=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --write-only) write_only=1; shift ;;
    *) echo "usage: $0 [--addr HOST:PORT] [--workers N] [--zone SIZE] [--prefix DIR] [--write-only]" >&2; exit 2 ;;
  esac
done
command -v nginx >/dev/null || { echo "run.sh: nginx is not installed (apt-get install nginx nginx-dev)" >&2; exit 1; }

module=$(bash "$here/../build.sh" | tail -n 1)
if [ -z "$prefix" ]; then
  prefix=$(mktemp -d /tmp/oauth2-nginx.XXXXXX)
  [ "$write_only" = 1 ] || trap 'rm -rf "$prefix"' EXIT
fi
mkdir -p "$prefix/html/static" "$prefix/tmp"
chmod 755 "$prefix" "$prefix/html" "$prefix/html/static"  # workers run as an unprivileged user
printf 'hello\n' >"$prefix/html/static/hello.txt"
echo "$module" >"$prefix/module"
# the realm's users for auth_basic at /authorize ({PLAIN}: no crypt needed)
printf 'alice:{PLAIN}wonderland\nbob:{PLAIN}builder\n' >"$prefix/htpasswd"
chmod 644 "$prefix/htpasswd"

cat >"$prefix/nginx.conf" <<CONF
load_module $module;
worker_processes $workers;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/error.log info;
events { worker_connections 1024; }
http {
    log_format oauth2 '\$pid \$remote_addr "\$request" \$status '
                      'client=\$oauth2_client_id user=\$oauth2_user '
                      'scope="\$oauth2_scope" error=\$oauth2_error';
    access_log $prefix/access.log oauth2;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    default_type application/octet-stream;
    client_body_buffer_size 64k;
    client_max_body_size 1m;

    oauth2_zone oauth2 $zone;
    oauth2_issuer http://$addr;
    oauth2_grants authorization_code client_credentials password refresh_token;
    oauth2_scopes_supported "read write";
    oauth2_client conf-client secret=conf-secret
                  grants=authorization_code,refresh_token,client_credentials,password
                  "scopes=read write" default_scopes=read
                  redirect_uri=https://client.example.com/cb
                  redirect_uri=https://client.example.com/cb2;
    oauth2_client public-client grants=authorization_code,refresh_token,implicit
                  scopes=read default_scopes=read
                  redirect_uri=http://127.0.0.1:9999/callback;
    oauth2_client rs-client secret=rs-secret grants=client_credentials introspect;
    oauth2_user alice wonderland;
    oauth2_user bob builder;

    server {
        listen $addr reuseport;  # connections spread over the workers
        location = /authorize {
            auth_basic "oauth2 demo";
            auth_basic_user_file $prefix/htpasswd;
            oauth2_endpoint authorization;
        }
        location = /token { oauth2_endpoint token; }
        location = /revoke { oauth2_endpoint revocation; }
        location = /introspect { oauth2_endpoint introspection; }
        location = /.well-known/oauth-authorization-server { oauth2_endpoint metadata; }
        location = /resource { oauth2_bearer on; oauth2_endpoint resource; }
        location = /write { oauth2_bearer on; oauth2_bearer_scopes write; oauth2_endpoint resource; }
        location /static/ { root $prefix/html; }
        location /protected/ { oauth2_bearer on; alias $prefix/html/static/; }
        location / { return 404; }
    }
}
CONF

if [ "$write_only" = 1 ]; then
  echo "$prefix"
  exit 0
fi
nginx -p "$prefix" -c "$prefix/nginx.conf" -t -q
echo "nginx demo on http://$addr (prefix $prefix); try:"
echo "  curl -u conf-client:conf-secret -d grant_type=client_credentials http://$addr/token"
echo "  curl -u alice:wonderland 'http://$addr/authorize?response_type=code&client_id=conf-client&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&state=xyz'   # the consent page"
echo "  curl -u conf-client:conf-secret -d grant_type=password -d username=alice -d password=wonderland http://$addr/token"
nginx -p "$prefix" -c "$prefix/nginx.conf" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; rm -rf "$prefix"' INT TERM EXIT
wait $pid
