"""The oauthlib column of benches/compare/run.sh: the five side-by-side
operations through oauthlib's Server and the in-memory validator of
oauthlib_realm.py, timed the same way as the Rust and C drivers.

Method: for each operation, ROUNDS rounds of BATCH calls; a round's time
divided by BATCH is one sample; the median sample is printed, in
microseconds. Inputs that an operation consumes (a code, a refresh token)
are made before the round, untimed.

Output: one line per operation, "oauthlib<TAB>operation<TAB>median_us".
Usage: python oauthlib_bench.py [--rounds N] [--batch N]
"""

import argparse
import base64
import json
import statistics
import time
from urllib.parse import parse_qs, urlsplit

import oauthlib_realm as realm

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
AS = "https://as.example"


class Bench:
    def __init__(self):
        self.validator = realm.bench_realm()
        self.server = realm.server(self.validator)
        basic = base64.b64encode(b"conf-client:conf-secret").decode("ascii")
        self.headers = {
            "Authorization": "Basic " + basic,
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def token(self, body):
        return self.server.create_token_response(
            AS + "/token", http_method="POST", body=body, headers=self.headers)

    def client_credentials(self):
        return self.token("grant_type=client_credentials&scope=read")

    def code(self):
        """An authorization code for alice with an S256 challenge (set-up)."""
        uri = (AS + "/authorize?response_type=code&client_id=conf-client"
               "&scope=read+write&state=xyz&code_challenge=" + CHALLENGE
               + "&code_challenge_method=S256")
        scopes, _ = self.server.validate_authorization_request(uri)
        headers, _, status = self.server.create_authorization_response(
            uri, scopes=scopes, credentials={"user": "alice"})
        assert status == 302, status
        return parse_qs(urlsplit(headers["Location"]).query)["code"][0]

    @staticmethod
    def exchange_body(code):
        return ("grant_type=authorization_code&code=" + code
                + "&code_verifier=" + VERIFIER)

    def refresh_body(self):
        _, body, status = self.token(self.exchange_body(self.code()))
        assert status == 200, body
        return "grant_type=refresh_token&refresh_token=" + json.loads(body)["refresh_token"]


def measure(rounds, batch, setup, op):
    samples = []
    for _ in range(rounds):
        inputs = [setup() for _ in range(batch)]
        start = time.perf_counter_ns()
        for item in inputs:
            if not op(item):
                raise SystemExit("operation failed")
        samples.append((time.perf_counter_ns() - start) / 1000 / batch)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=40)
    args = parser.parse_args()
    b = Bench()

    _, body, status = b.client_credentials()
    assert status == 200, body
    access = json.loads(body)["access_token"]
    assert len(access) == 43
    bearer = {"Authorization": "Bearer " + access}
    introspect_body = "token=" + access

    def none():
        return None

    def introspect(_):
        _, body, status = b.server.create_introspect_response(
            AS + "/introspect", http_method="POST", body=introspect_body,
            headers=b.headers)
        return status == 200 and body.startswith('{"active": true')

    def bearer_check(_):
        valid, _ = b.server.verify_request(
            AS + "/resource", http_method="GET", headers=bearer, scopes=["read"])
        return valid

    results = [
        ("client_credentials",
         measure(args.rounds, args.batch, none, lambda _: b.client_credentials()[2] == 200)),
        ("auth_code_pkce",
         measure(args.rounds, args.batch, lambda: b.exchange_body(b.code()),
                 lambda body: b.token(body)[2] == 200)),
        ("refresh_rotation",
         measure(args.rounds, args.batch, b.refresh_body,
                 lambda body: b.token(body)[2] == 200)),
        ("introspection", measure(args.rounds, args.batch, none, introspect)),
        ("bearer_check", measure(args.rounds, args.batch, none, bearer_check)),
    ]
    for name, us in results:
        print("oauthlib\t%s\t%.3f" % (name, us), flush=True)


if __name__ == "__main__":
    main()
