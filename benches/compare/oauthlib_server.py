"""A small oauthlib-based authorization server for the HTTP figure of
benches/compare/run.sh: the demo server's realm (oauthlib_realm.demo_realm)
behind Python's standard ThreadingHTTPServer, HTTP/1.1 with keep-alive, one
log line per request on standard error (as the demo server does).

Routes: POST /token, POST /introspect, GET /resource. Anything else: 404.
Usage: python oauthlib_server.py [--addr 127.0.0.1:0]
The first line on standard output is "listening on http://HOST:PORT".
"""

import argparse
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The server listens on plain HTTP on loopback, like the demo server.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import oauthlib_realm as realm  # noqa: E402

MAX_BODY = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oauthlib-bench"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK stall every keep-alive
    # response by ~40 ms, which would measure TCP, not oauthlib.
    disable_nagle_algorithm = True
    oauth = None
    base = ""

    def _reply(self, status, headers, body):
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._reply(413, {}, "")
        body = self.rfile.read(length).decode("utf-8", "replace")
        uri = self.base + self.path
        headers = dict(self.headers.items())
        if self.path == "/token":
            h, b, s = self.oauth.create_token_response(uri, "POST", body, headers)
        elif self.path == "/introspect":
            h, b, s = self.oauth.create_introspect_response(uri, "POST", body, headers)
        else:
            h, b, s = {}, "", 404
        self._reply(s, h, b)

    def do_GET(self):
        if self.path.split("?")[0] != "/resource":
            return self._reply(404, {}, "")
        valid, request = self.oauth.verify_request(
            self.base + self.path, "GET", None, dict(self.headers.items()), scopes=["read"])
        if not valid:
            return self._reply(401, {"WWW-Authenticate": 'Bearer realm="oauth2"'}, "")
        self._reply(200, {"Content-Type": "application/json"},
                    '{"user":%s,"scope":"%s"}' % (
                        '"%s"' % request.user if request.user else "null",
                        " ".join(request.scopes)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", default="127.0.0.1:0")
    args = parser.parse_args()
    host, _, port = args.addr.rpartition(":")
    httpd = ThreadingHTTPServer((host, int(port)), Handler)
    httpd.daemon_threads = True
    base = "http://%s:%d" % (host, httpd.server_address[1])
    Handler.oauth = realm.server(realm.demo_realm())
    Handler.base = base
    print("listening on " + base, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
