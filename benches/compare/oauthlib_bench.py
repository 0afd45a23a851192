"""The oauthlib worker of benches/compare (protocol: py_worker.py):
oauthlib's Server over the in-memory validator of oauthlib_realm.py.

Usage: python oauthlib_bench.py [--live N]
"""

import base64
import json
import sys
from urllib.parse import parse_qs, urlsplit

import oauthlib_realm as realm
from py_worker import (CHALLENGE, REDIRECT_ENCODED, UNKNOWN_TOKEN, VERIFIER,
                       WRONG_VERIFIER, live_count, scattered, serve)

AS = "https://as.example"


def basic(secret):
    value = base64.b64encode(b"conf-client:" + secret).decode("ascii")
    return {"Authorization": "Basic " + value,
            "Content-Type": "application/x-www-form-urlencoded"}


class Oauthlib:
    def __init__(self, live):
        self.validator = realm.bench_realm()
        self.server = realm.server(self.validator)
        self.headers = basic(b"conf-secret")
        tokens = []
        for _ in range(live):
            _, body, status = self.client_credentials()
            assert status == 200, body
            tokens.append(json.loads(body)["access_token"])
        self.tokens = scattered(tokens)
        self.next = 0

    def token(self, body, headers=None):
        return self.server.create_token_response(
            AS + "/token", http_method="POST", body=body, headers=headers or self.headers)

    def client_credentials(self, _=None):
        return self.token("grant_type=client_credentials&scope=read")

    def code(self):
        uri = (AS + "/authorize?response_type=code&client_id=conf-client&redirect_uri="
               + REDIRECT_ENCODED + "&scope=read+write&state=xyz&code_challenge="
               + CHALLENGE + "&code_challenge_method=S256")
        scopes, _ = self.server.validate_authorization_request(uri)
        headers, _, status = self.server.create_authorization_response(
            uri, scopes=scopes, credentials={"user": "alice"})
        assert status == 302, status
        return parse_qs(urlsplit(headers["Location"]).query)["code"][0]

    def exchange_body(self, verifier=VERIFIER):
        return ("grant_type=authorization_code&code=" + self.code()
                + "&redirect_uri=" + REDIRECT_ENCODED + "&code_verifier=" + verifier)

    def refresh_body(self):
        _, body, status = self.token(self.exchange_body())
        assert status == 200, body
        return "grant_type=refresh_token&refresh_token=" + json.loads(body)["refresh_token"]

    def bearer(self, token):
        valid, _ = self.server.verify_request(
            AS + "/resource", http_method="GET",
            headers={"Authorization": "Bearer " + token}, scopes=["read"])
        return valid

    def introspect(self, token):
        _, body, status = self.server.create_introspect_response(
            AS + "/introspect", http_method="POST", body="token=" + token,
            headers=self.headers)
        return status, json.loads(body)

    def check(self):
        _, body, status = self.token("grant_type=client_credentials&scope=read",
                                     basic(b"not-the-secret"))
        assert status == 401 and json.loads(body)["error"] == "invalid_client", (status, body)
        _, body, status = self.token(self.exchange_body(WRONG_VERIFIER))
        assert status == 400 and json.loads(body)["error"] == "invalid_grant", (status, body)
        _, body, status = self.token(self.exchange_body())
        assert status == 200, body
        assert not self.bearer(UNKNOWN_TOKEN), "unknown token accepted"
        assert self.introspect(UNKNOWN_TOKEN) == (200, {"active": False})
        assert self.bearer(self.tokens[0]), "live token refused"
        assert self.introspect(self.tokens[0])[1]["active"] is True

    def take(self, n):
        out = []
        for _ in range(n):
            out.append(self.tokens[self.next])
            self.next = (self.next + 1) % len(self.tokens)
        return out

    def inputs(self, op, n):
        if op == "client_credentials":
            return [None] * n
        if op == "auth_code_pkce":
            return [self.exchange_body() for _ in range(n)]
        if op == "refresh_rotation":
            return [self.refresh_body() for _ in range(n)]
        return self.take(n)

    def call(self, op):
        if op == "client_credentials":
            return lambda _: self.client_credentials()[2] == 200
        if op in ("auth_code_pkce", "refresh_rotation"):
            return lambda body: self.token(body)[2] == 200
        if op == "bearer_check":
            return self.bearer

        def introspect(token):
            _, body, status = self.server.create_introspect_response(
                AS + "/introspect", http_method="POST", body="token=" + token,
                headers=self.headers)
            return status == 200 and body.startswith('{"active": true')
        return introspect


if __name__ == "__main__":
    serve(Oauthlib(live_count(sys.argv)))
