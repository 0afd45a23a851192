"""Three demo servers over one PostgreSQL database act as one, end to end,
against the release binary, with racing clients spread across them:

1. No code and no refresh token gives two sets of live tokens.
2. Reuse detected on one server revokes the grant on all.
3. A revocation on one server fails the token on the next request to
   another.
4. Killing one server (kill -9) under load loses no token it issued.
5. Every server's protected resource is each client's "own": a token
   asked from one server for another's /resource opens it.
6. Stopping PostgreSQL gives 500s during the outage, and full service
   after it is started again, without restarting the servers.

The database is a throwaway PostgreSQL 15 cluster of this test's own
(.ci/postgres.sh, in a temporary directory), so that stopping it touches
nothing else.

Usage: python3 e2e/postgres.py target/release/examples/demo_server
Standard library only. Exits non-zero on the first failure.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the tests
from persistence import CONF, PUBLIC_REDIRECT, VERIFIER, Server, check, request  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG = os.path.join(ROOT, ".ci", "postgres.sh")


def postgres(action, directory):
    out = subprocess.run(
        ["bash", PG, action, directory], check=True, stdout=subprocess.PIPE, text=True
    )
    return out.stdout.strip()


def race(servers, n, attempt):
    """attempt(server) on n threads at once, spread over the servers."""
    answers = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def run(server):
        barrier.wait()
        answer = attempt(server)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run, args=(servers[i % len(servers)],)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def shared_resources(servers):
    # The last server started registered the clients; the first one's
    # resource must still be theirs.
    for issuer in servers:
        for target in servers:
            status, _, body = request(issuer.base + "/token", auth=CONF, form={
                "grant_type": "client_credentials", "scope": "read",
                "resource": target.base + "/resource"})
            check(status == 200, f"{issuer.base} issues a token for {target.base}/resource ({status})")
            token = json.loads(body)["access_token"]
            status, _, _ = request(target.base + "/resource", bearer=token)
            check(status == 200, f"{target.base}/resource opens with it ({status})")


def live_anywhere(servers, access):
    return any(s.opens(access) for s in servers)


def single_use(servers):
    # Codes: raced across the three servers, three requests each.
    for round_ in range(5):
        code = servers[round_ % 3].code()
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "public-client",
            "redirect_uri": PUBLIC_REDIRECT,
            "code_verifier": VERIFIER,
        }
        answers = race(servers, 9, lambda s: s.token(exchange))
        won = [body for status, body in answers if status == 200]
        check(len(won) <= 1, f"code round {round_}: {len(won)} token responses from one code")
        check(
            all(body.get("error") == "invalid_grant" for status, body in answers if status != 200),
            f"code round {round_}: every other exchange is invalid_grant",
        )
        check(
            not any(live_anywhere(servers, body["access_token"]) for body in won),
            f"code round {round_}: the replays revoked the grant on every server",
        )

    # Refresh tokens: one raced across the three servers.
    login = {"grant_type": "password", "username": "alice", "password": "wonderland"}
    for round_ in range(5):
        status, first = servers[round_ % 3].token(dict(login, scope="read"), auth=CONF)
        check(status == 200 and "refresh_token" in first, f"refresh round {round_}: a login")
        refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        answers = race(servers, 9, lambda s: s.token(refresh, auth=CONF))
        won = [body for status, body in answers if status == 200]
        check(len(won) == 1, f"refresh round {round_}: {len(won)} rotations of one token")
        live = [b for b in won if live_anywhere(servers, b["access_token"])]
        check(not live, f"refresh round {round_}: reuse revoked the rotation's tokens everywhere")


def reuse_and_revocation(servers):
    a, b, c = servers
    login = {"grant_type": "password", "username": "bob", "password": "builder"}
    status, first = a.token(dict(login, scope="read"), auth=CONF)
    check(status == 200, "a login on A")
    rotate = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, second = b.token(rotate, auth=CONF)
    check(status == 200 and c.opens(second["access_token"]), "rotated on B, its token opens on C")
    status, reused = c.token(rotate, auth=CONF)
    check(status == 400 and reused.get("error") == "invalid_grant", "the old token is reuse on C")
    check(not live_anywhere(servers, second["access_token"]), "reuse on C revoked B's tokens everywhere")
    status, newest = a.token(
        {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}, auth=CONF
    )
    check(status == 400, "the newest refresh token is dead on A too")

    cc = {"grant_type": "client_credentials", "scope": "read"}
    for i in range(6):
        issuer, revoker, other = servers[i % 3], servers[(i + 1) % 3], servers[(i + 2) % 3]
        status, token = issuer.token(cc, auth=CONF)
        check(status == 200 and other.opens(token["access_token"]), f"token {i} opens elsewhere")
        status, _, _ = request(revoker.base + "/revoke", {"token": token["access_token"]}, auth=CONF)
        check(status == 200, f"token {i} revoked")
        check(
            not issuer.opens(token["access_token"]) and not other.opens(token["access_token"]),
            f"token {i}: the next request to another server fails it",
        )


def kill_under_load(servers, binary, log, conninfo):
    victim = servers[2]
    issued = []
    lock = threading.Lock()
    stop = threading.Event()
    cc = {"grant_type": "client_credentials", "scope": "read"}

    def load(server):
        while not stop.is_set():
            try:
                status, body = server.token(cc, auth=CONF)
            except OSError:
                continue  # the killed server's refused or cut connections
            if status == 200:
                with lock:
                    issued.append(body["access_token"])

    threads = [threading.Thread(target=load, args=(servers[i % 3],)) for i in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    victim.kill()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    check(len(issued) > 50, f"{len(issued)} tokens issued under load")
    lost = [t for t in issued if not servers[0].opens(t)]
    check(not lost, f"killing a server lost none of {len(issued)} issued tokens ({len(lost)} lost)")
    servers[2] = Server(binary, None, log, ["--postgres", conninfo])


def outage(servers, pg_dir):
    cc = {"grant_type": "client_credentials", "scope": "read"}
    status, before = servers[0].token(cc, auth=CONF)
    check(status == 200, "a token before the outage")
    postgres("stop", pg_dir)
    try:
        statuses = [s.token(cc, auth=CONF)[0] for s in servers]
        check(statuses == [500, 500, 500], f"500 from every server while PostgreSQL is down ({statuses})")
        status, _, _ = request(servers[1].base + "/resource", bearer=before["access_token"])
        check(status == 500, f"the resource answers 500, not 401, during the outage ({status})")
    finally:
        postgres("start", pg_dir)
    statuses = [s.token(cc, auth=CONF)[0] for s in servers]
    check(statuses == [200, 200, 200], f"every server serves again, not restarted ({statuses})")
    check(all(s.opens(before["access_token"]) for s in servers), "the token from before works")
    code = servers[1].code()
    status, _ = servers[2].token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "public-client",
            "redirect_uri": PUBLIC_REDIRECT,
            "code_verifier": VERIFIER,
        }
    )
    check(status == 200, "a code flow across two servers after the outage")


def main(binary):
    with tempfile.TemporaryDirectory(prefix="oap-e2e-pg-") as tmp:
        # Its own directory: postgres.sh hands it to the cluster's owner.
        pg_dir = tempfile.mkdtemp(prefix="oap-e2e-cluster-")
        conninfo = postgres("start", pg_dir)
        servers = []
        try:
            with open(os.path.join(tmp, "servers.log"), "w") as log:
                servers = [Server(binary, None, log, ["--postgres", conninfo]) for _ in range(3)]
                print("servers: " + " ".join(s.base for s in servers), flush=True)
                shared_resources(servers)
                single_use(servers)
                reuse_and_revocation(servers)
                kill_under_load(servers, binary, log, conninfo)
                outage(servers, pg_dir)
        finally:
            for s in servers:
                s.stop()
            try:
                postgres("stop", pg_dir)
            except subprocess.CalledProcessError:
                pass
            shutil.rmtree(pg_dir, ignore_errors=True)
    print("postgres: passed")


if __name__ == "__main__":
    main(sys.argv[1])
