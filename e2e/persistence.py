"""The demo server's SQLite storage, end to end, against the release binary.

1. A restart loses nothing: tokens issued before a kill -9 work after the
   restart, and the refresh token still rotates.
2. Two servers on one database file act as one: a code raced across both
   gives at most one set of tokens, and the replay revokes the grant on
   both; a token revoked on one is refused by the other on its next
   request.

Usage: python3 e2e/persistence.py target/release/examples/demo_server
Standard library only. Exits non-zero on the first failure.
"""

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

CONF = ("conf-client", "conf-secret")
VERIFIER = "persistence-verifier-persistence-verifier-0123456789"
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
PUBLIC_REDIRECT = "http://127.0.0.1:9999/callback"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(url, form=None, auth=None, bearer=None):
    """(status, headers, body) of a GET, or of a form POST when `form`."""
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if auth is not None:
        pair = f"{auth[0]}:{auth[1]}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if bearer is not None:
        headers["Authorization"] = "Bearer " + bearer
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with OPENER.open(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


class Server:
    """A demo server on an ephemeral port over the SQLite file `db`, or
    over the store `storage` names (e.g. ["--postgres", CONNINFO])."""

    def __init__(self, binary, db, log, storage=None):
        self.proc = subprocess.Popen(
            [binary, "--addr", "127.0.0.1:0"] + (storage or ["--db", db]),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        first = self.proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            self.proc.kill()
            raise SystemExit(f"the demo server did not start: {first!r}")
        self.base = first[len("listening on ") :]
        # Drain the rest of standard output so the server never blocks.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def token(self, form, auth=None):
        status, _, body = request(self.base + "/token", form, auth=auth)
        return status, json.loads(body) if body.startswith("{") else {}

    def opens(self, access):
        status, _, _ = request(self.base + "/resource", bearer=access)
        return status == 200

    def code(self):
        """A public-client code approved by alice, with PKCE."""
        form = {
            "response_type": "code",
            "client_id": "public-client",
            "redirect_uri": PUBLIC_REDIRECT,
            "scope": "read",
            "state": "persist",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            "username": "alice",
            "password": "wonderland",
            "action": "approve",
        }
        status, headers, body = request(self.base + "/authorize", form)
        check(status in (302, 303), f"approval redirects ({status} {body[:200]})")
        location = headers.get("Location") or headers.get("location")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        return query["code"][0]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def restart_loses_nothing(binary, db, log):
    a = Server(binary, db, log)
    status, cc = a.token({"grant_type": "client_credentials", "scope": "read"}, auth=CONF)
    check(status == 200, "client credentials token before the restart")
    form = {"grant_type": "password", "username": "alice", "password": "wonderland"}
    status, login = a.token(dict(form, scope="read write"), auth=CONF)
    check(status == 200 and "refresh_token" in login, "password grant before the restart")
    a.kill()

    b = Server(binary, db, log)
    try:
        check(b.opens(cc["access_token"]), "a client-credentials token works after kill -9")
        check(b.opens(login["access_token"]), "a user's access token works after the restart")
        refresh = {"grant_type": "refresh_token", "refresh_token": login["refresh_token"]}
        status, renewed = b.token(refresh, auth=CONF)
        check(status == 200, "the refresh token rotates after the restart")
        check(b.opens(renewed["access_token"]), "the renewed access token works")
        status, reused = b.token(refresh, auth=CONF)
        check(
            status == 400 and reused.get("error") == "invalid_grant",
            "the rotated-out refresh token is reuse after the restart",
        )
        check(not b.opens(renewed["access_token"]), "reuse revoked the grant")
    finally:
        b.stop()


def two_servers_act_as_one(binary, db, log):
    a = Server(binary, db, log)
    b = Server(binary, db, log)
    try:
        # A code raced across both servers, four requests each.
        code = a.code()
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "public-client",
            "redirect_uri": PUBLIC_REDIRECT,
            "code_verifier": VERIFIER,
        }
        answers = []
        barrier = threading.Barrier(8)

        def attempt(server):
            barrier.wait()
            answers.append(server.token(exchange))

        threads = [threading.Thread(target=attempt, args=(s,)) for s in [a, b] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [body for status, body in answers if status == 200]
        lost = [body for status, body in answers if status != 200]
        check(len(won) <= 1, f"one code raced across two servers: {len(won)} token responses")
        check(
            all(body.get("error") == "invalid_grant" for body in lost),
            "every other exchange is invalid_grant",
        )
        for body in won:
            access = body["access_token"]
            check(
                not a.opens(access) and not b.opens(access),
                "the replay, proven by the verifier, revoked the grant on both servers",
            )

        # A revocation on one server is seen by the next request on the other.
        status, cc = a.token({"grant_type": "client_credentials", "scope": "read"}, auth=CONF)
        check(status == 200 and b.opens(cc["access_token"]), "a token from A opens on B")
        status, _, _ = request(
            b.base + "/revoke", {"token": cc["access_token"]}, auth=CONF
        )
        check(status == 200, "revoked on B")
        check(not a.opens(cc["access_token"]), "A refuses the token revoked on B")
    finally:
        a.stop()
        b.stop()


def main(binary):
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "servers.log")
        with open(log_path, "w") as log:
            restart_loses_nothing(binary, os.path.join(tmp, "restart.sqlite3"), log)
            two_servers_act_as_one(binary, os.path.join(tmp, "shared.sqlite3"), log)
    print("persistence: passed")


if __name__ == "__main__":
    main(sys.argv[1])
