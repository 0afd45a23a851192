"""The Authlib worker of benches/compare (protocol: py_worker.py):
Authlib's framework-neutral AuthorizationServer and ResourceProtector, as
its documentation has integrations subclass them, over in-memory models
(dicts), with the realm of oauthlib_realm.py.

Equivalence with the other contenders (see run.sh): HTTP Basic only
(client_secret_basic), the secret compared in constant time over SHA-256
digests, tokens secrets.token_urlsafe(32) (43 characters; Authlib's default
generator draws 42 characters one by one), PKCE S256 required
(CodeChallenge extension), refresh rotation with the presented token
revoked, access tokens 3600 s. The request object is built the way
Authlib's integrations build theirs: the query and form parsed into a
dict (urllib.parse.parse_qsl).

Usage: python authlib_worker.py [--live N]
"""

import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

from authlib.oauth2.rfc6749 import (AuthorizationServer, ClientMixin, OAuth2Request,
                                    ResourceProtector, TokenMixin)
from authlib.oauth2.rfc6749.grants import (AuthorizationCodeGrant, ClientCredentialsGrant,
                                           RefreshTokenGrant)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
import authlib

from py_worker import (CHALLENGE, REDIRECT, REDIRECT_ENCODED, UNKNOWN_TOKEN, VERIFIER,
                       WRONG_VERIFIER, live_count, scattered, serve)

AS = "https://as.example"
ISSUER = AS


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).digest()


class Client(ClientMixin):
    def __init__(self, client_id, secret, redirect_uris, grants, scopes, default_scope):
        self.client_id, self.secret = client_id, secret
        self.redirect_uris, self.grants = redirect_uris, grants
        self.scopes, self.default_scope = scopes, default_scope

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        if not scope:
            return self.default_scope
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(sha256(client_secret), sha256(self.secret))

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "client_secret_basic"

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in self.grants


class Token(TokenMixin):
    def __init__(self, client_id, user, scope, expires_in, grant_id):
        self.client_id, self.user, self.scope = client_id, user, scope
        self.issued_at = int(time.time())
        self.expires_in, self.grant_id, self.revoked = expires_in, grant_id, False

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return self.issued_at + self.expires_in <= time.time()

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return STORE.clients[self.client_id]


class Code:
    def __init__(self, client_id, user, scope, redirect_uri, challenge, method):
        self.client_id, self.user, self.scope = client_id, user, scope
        self.redirect_uri = redirect_uri
        self.code_challenge, self.code_challenge_method = challenge, method
        self.exp = int(time.time()) + 600
        self.grant_id = secrets.token_urlsafe(16)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


class Store:
    def __init__(self):
        self.clients, self.codes, self.access, self.refresh = {}, {}, {}, {}


STORE = Store()


class Request(OAuth2Request):
    """A request as Authlib's integrations build it: query and form
    parsed into the payload."""

    def __init__(self, method, uri, headers, body=""):
        super().__init__(method, uri, headers=headers)
        self._args = dict(parse_qsl(urlsplit(uri).query))
        self._form = dict(parse_qsl(body))
        self.payload = BasicOAuth2Payload({**self._args, **self._form})

    @property
    def args(self):
        return self._args

    @property
    def form(self):
        return self._form


class Server(AuthorizationServer):
    def query_client(self, client_id):
        return STORE.clients.get(client_id)

    def save_token(self, token, request):
        grant_id = getattr(request, "grant_id", None)
        STORE.access[token["access_token"]] = Token(
            request.client.client_id, request.user, token.get("scope", ""),
            token["expires_in"], grant_id)
        if "refresh_token" in token:
            STORE.refresh[token["refresh_token"]] = Token(
                request.client.client_id, request.user, token.get("scope", ""),
                10 ** 9, grant_id)

    def create_oauth2_request(self, request):
        return request if isinstance(request, OAuth2Request) else Request(*request)

    def handle_response(self, status, body, headers):
        return status, json.dumps(body) if isinstance(body, dict) else body, headers

    def send_signal(self, name, *args, **kwargs):
        pass


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

    def save_authorization_code(self, code, request):
        STORE.codes[code] = Code(request.client.client_id, request.user,
                                 request.payload.scope, request.payload.redirect_uri,
                                 request.payload.data.get("code_challenge"),
                                 request.payload.data.get("code_challenge_method"))

    def query_authorization_code(self, code, client):
        record = STORE.codes.get(code)
        if record and record.client_id == client.client_id and record.exp > time.time():
            return record
        return None

    def delete_authorization_code(self, authorization_code):
        STORE.codes.pop(self.request.payload.data["code"], None)

    def authenticate_user(self, authorization_code):
        self.request.grant_id = authorization_code.grant_id
        return authorization_code.user

    def generate_authorization_code(self):
        return secrets.token_urlsafe(32)


class RefreshGrant(RefreshTokenGrant):
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        token = STORE.refresh.get(refresh_token)
        if token and not token.revoked:
            self.request.grant_id = token.grant_id
            return token
        return None

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        refresh_token.revoked = True


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic"]

    def query_token(self, token_string, token_type_hint):
        return STORE.access.get(token_string) or STORE.refresh.get(token_string)

    def check_permission(self, token, client, request):
        return client.client_id == "conf-client"

    def introspect_token(self, token):
        return {"active": True, "scope": token.scope, "client_id": token.client_id,
                "username": token.user, "token_type": "Bearer",
                "exp": token.issued_at + token.expires_in, "iat": token.issued_at,
                "sub": token.user, "iss": ISSUER}


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return STORE.access.get(token_string)


def new_token(*args, **kwargs):
    return secrets.token_urlsafe(32)


def basic(secret):
    value = base64.b64encode(b"conf-client:" + secret).decode("ascii")
    return {"Authorization": "Basic " + value,
            "Content-Type": "application/x-www-form-urlencoded"}


class Authlib:
    def __init__(self, live):
        STORE.clients["conf-client"] = Client(
            "conf-client", "conf-secret", [REDIRECT],
            {"authorization_code", "refresh_token", "client_credentials"},
            {"read", "write"}, "read")
        self.server = Server()
        self.server.register_token_generator("default", BearerTokenGenerator(
            access_token_generator=new_token, refresh_token_generator=new_token,
            expires_generator=lambda client, grant_type: 3600))
        self.server.register_grant(ClientCredentialsGrant)
        self.server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        self.server.register_grant(RefreshGrant)
        self.server.register_endpoint(Introspection)
        self.protector = ResourceProtector()
        self.protector.register_token_validator(Validator())
        self.headers = basic(b"conf-secret")
        tokens = []
        for _ in range(live):
            status, body, _ = self.client_credentials()
            assert status == 200, body
            tokens.append(json.loads(body)["access_token"])
        self.tokens = scattered(tokens)
        self.next = 0

    def token(self, body, headers=None):
        return self.server.create_token_response(
            ("POST", AS + "/token", headers or self.headers, body))

    def client_credentials(self, _=None):
        return self.token("grant_type=client_credentials&scope=read")

    def code(self):
        uri = (AS + "/authorize?response_type=code&client_id=conf-client&redirect_uri="
               + REDIRECT_ENCODED + "&scope=read+write&state=xyz&code_challenge="
               + CHALLENGE + "&code_challenge_method=S256")
        request = Request("GET", uri, {})
        grant = self.server.get_consent_grant(request, end_user="alice")
        status, _, headers = self.server.create_authorization_response(
            request, grant_user="alice", grant=grant)
        assert status == 302, status
        location = dict(headers)["Location"]
        return parse_qs(urlsplit(location).query)["code"][0]

    def exchange_body(self, verifier=VERIFIER):
        return ("grant_type=authorization_code&code=" + self.code()
                + "&redirect_uri=" + REDIRECT_ENCODED + "&code_verifier=" + verifier)

    def refresh_body(self):
        status, body, _ = self.token(self.exchange_body())
        assert status == 200, body
        return "grant_type=refresh_token&refresh_token=" + json.loads(body)["refresh_token"]

    def bearer(self, token):
        request = Request("GET", AS + "/resource", {"Authorization": "Bearer " + token})
        try:
            self.protector.validate_request(["read"], request)
            return True
        except authlib.oauth2.OAuth2Error:
            return False

    def introspect(self, token):
        return self.server.create_endpoint_response(
            "introspection", ("POST", AS + "/introspect", self.headers, "token=" + token))

    def check(self):
        status, body, _ = self.token("grant_type=client_credentials&scope=read",
                                     basic(b"not-the-secret"))
        assert status == 401 and json.loads(body)["error"] == "invalid_client", (status, body)
        status, body, _ = self.token(self.exchange_body(WRONG_VERIFIER))
        assert status == 400 and json.loads(body)["error"] == "invalid_grant", (status, body)
        status, body, _ = self.token(self.exchange_body())
        assert status == 200, body
        assert not self.bearer(UNKNOWN_TOKEN), "unknown token accepted"
        status, body, _ = self.introspect(UNKNOWN_TOKEN)
        assert status == 200 and json.loads(body) == {"active": False}, (status, body)
        assert self.bearer(self.tokens[0]), "live token refused"
        assert json.loads(self.introspect(self.tokens[0])[1])["active"] is True

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
            return lambda _: self.client_credentials()[0] == 200
        if op in ("auth_code_pkce", "refresh_rotation"):
            return lambda body: self.token(body)[0] == 200
        if op == "bearer_check":
            return self.bearer
        return lambda token: self.introspect(token)[1].startswith('{"active": true')


if __name__ == "__main__":
    serve(Authlib(live_count(sys.argv)))
