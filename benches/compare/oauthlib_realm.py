"""The oauthlib side of benches/compare: an in-memory RequestValidator that
does the same work as oauth2-provider's MemoryValidator plus the checks the
Rust library makes itself, so that both columns measure equivalent
operations.

Equivalence, point by point (see also run.sh):
- Client authentication: HTTP Basic, credentials form-decoded
  (RFC 6749 §2.3.1), the secret compared in constant time over SHA-256
  digests of both sides (hmac.compare_digest), as oauth2_provider::secret.
- Tokens: secrets.token_urlsafe(32) -> 43 base64url characters from
  os.urandom; the library's are 32 bytes of its ChaCha20 generator (seeded
  from getrandom) in base64url.
- Grant families: a code starts a family (grant_id); tokens carry it; a
  reused code or rotated refresh token revokes the family (RFC 9700).
- Refresh: rotation on every use; the presented token is marked rotated;
  a rotated token presented again revokes the family; the new refresh token
  keeps the original scopes.
- Expiry: codes 600 s, access tokens 3600 s, checked on every lookup.
- Introspection: the caller must be allowed to introspect; claims are the
  same set as the library's (scope, client_id, username, token_type, exp,
  iat, sub, iss).
- Bearer check: token lookup, expiry, required scopes.
Where they cannot be equal: oauthlib builds its own Request object and
parses the URI and body its own way (part of what is measured); the
authorization codes used as set-up come from oauthlib's own generator
(30 characters), untimed.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from urllib.parse import unquote_plus

from oauthlib.oauth2 import RequestValidator, Server

ISSUER = "https://as.example"
CODE_LIFETIME = 600
ACCESS_LIFETIME = 3600


def new_token(request=None):
    """256 random bits, base64url without padding: 43 characters."""
    return secrets.token_urlsafe(32)


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).digest()


class Client:
    def __init__(self, client_id, secret, redirect_uris, grants, scopes,
                 default_scopes, may_introspect=False, pkce_required=False):
        self.client_id = client_id
        self.secret = secret
        self.redirect_uris = list(redirect_uris)
        self.grants = frozenset(grants)
        self.scopes = frozenset(scopes) if scopes is not None else None
        self.default_scopes = list(default_scopes)
        self.may_introspect = may_introspect and secret is not None
        self.pkce_required = pkce_required or secret is None


class MemoryValidator(RequestValidator):
    """Clients, users, codes and tokens in dicts."""

    def __init__(self):
        self.clients = {}
        self.users = {}
        self.codes = {}
        self.access = {}
        self.refresh = {}

    # --- realm set-up ---
    def add_client(self, client):
        self.clients[client.client_id] = client

    def add_user(self, name, password):
        self.users[name] = password

    # --- client authentication ---
    def client_authentication_required(self, request, *args, **kwargs):
        if "Authorization" in request.headers or request.client_secret:
            return True
        client = self.clients.get(request.client_id)
        return client is None or client.secret is not None

    def authenticate_client(self, request, *args, **kwargs):
        auth = request.headers.get("Authorization")
        if auth:
            scheme, _, credentials = auth.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            client_id, sep, secret = decoded.partition(":")
            if not sep:
                return False
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        elif request.client_id and request.client_secret is not None:
            client_id, secret = request.client_id, request.client_secret
        else:
            return False
        client = self.clients.get(client_id)
        stored = client.secret if client is not None and client.secret is not None else ""
        # Constant time, no length leak: compare fixed-size digests.
        same = hmac.compare_digest(sha256(secret), sha256(stored))
        if client is None or client.secret is None or not same:
            return False
        request.client = client
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        client = self.clients.get(client_id)
        if client is None or client.secret is not None:
            return False
        request.client = client
        return True

    # --- authorization endpoint (set-up only) ---
    def validate_client_id(self, client_id, request, *args, **kwargs):
        return client_id in self.clients

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        return redirect_uri in self.clients[client_id].redirect_uris

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        uris = self.clients[client_id].redirect_uris
        return uris[0] if len(uris) == 1 else None

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        client = client or self.clients[client_id]
        return response_type == "code" and "authorization_code" in client.grants

    def is_pkce_required(self, client_id, request):
        client = self.clients.get(client_id)
        return client is None or client.pkce_required

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        now = int(time.time())
        self.codes[code["code"]] = {
            "client_id": client_id,
            "user": request.user,
            "scopes": list(request.scopes),
            "redirect_uri": None if request.using_default_redirect_uri else request.redirect_uri,
            "challenge": request.code_challenge,
            "method": request.code_challenge_method or "plain",
            "grant_id": new_token(),
            "exp": now + CODE_LIFETIME,
            "used": False,
        }

    # --- token endpoint ---
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in client.grants

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        client = client or self.clients[client_id]
        return client.scopes is None or all(s in client.scopes for s in scopes)

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return list(self.clients[client_id].default_scopes)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        record = self.codes.get(code)
        if record is None or record["client_id"] != client_id:
            return False
        if record["exp"] <= int(time.time()):
            return False
        if record["used"]:
            # A replayed code: revoke what it issued.
            self.revoke_grant(record["grant_id"])
            return False
        request.user = record["user"]
        request.scopes = record["scopes"]
        request.grant_id = record["grant_id"]
        return True

    def get_code_challenge(self, code, request):
        record = self.codes.get(code)
        return record["challenge"] if record else None

    def get_code_challenge_method(self, code, request):
        record = self.codes.get(code)
        return record["method"] if record else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        record = self.codes.get(code)
        if record is None:
            return False
        bound = record["redirect_uri"]
        return bound is None or redirect_uri == bound

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        self.codes[code]["used"] = True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        record = self.refresh.get(refresh_token)
        if record is None or record["client_id"] != client.client_id:
            return False
        if record["state"] == "rotated":
            # Reuse of a rotated token: revoke the whole family.
            self.revoke_grant(record["grant_id"])
            return False
        if record["state"] != "active":
            return False
        request.user = record["user"]
        request.grant_id = record["grant_id"]
        request.refresh_scopes = record["scopes"]
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        return list(self.refresh[refresh_token]["scopes"])

    def is_within_original_scope(self, request_scopes, refresh_token, request, *args, **kwargs):
        return False

    def rotate_refresh_token(self, request):
        return True

    def save_bearer_token(self, token, request, *args, **kwargs):
        now = int(time.time())
        grant_id = getattr(request, "grant_id", None)
        scopes = list(request.scopes or [])
        self.access[token["access_token"]] = {
            "client_id": request.client.client_id,
            "user": request.user,
            "scopes": scopes,
            "iat": now,
            "exp": now + token["expires_in"],
            "grant_id": grant_id,
        }
        new_refresh = token.get("refresh_token")
        presented = request.refresh_token
        if new_refresh and new_refresh != presented:
            if presented:
                # Rotation: the presented token is spent.
                self.refresh[presented]["state"] = "rotated"
            self.refresh[new_refresh] = {
                "client_id": request.client.client_id,
                "user": request.user,
                "scopes": getattr(request, "refresh_scopes", None) or scopes,
                "iat": now,
                "grant_id": grant_id,
                "state": "active",
            }

    def revoke_grant(self, grant_id):
        for key in [k for k, a in self.access.items() if a["grant_id"] == grant_id]:
            del self.access[key]
        for record in self.refresh.values():
            if record["grant_id"] == grant_id:
                record["state"] = "revoked"

    # --- introspection and resource server ---
    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        if not request.client.may_introspect:
            return None
        now = int(time.time())
        record = self.access.get(token)
        if record is not None and record["exp"] > now:
            claims = {
                "scope": " ".join(record["scopes"]),
                "client_id": record["client_id"],
                "username": record["user"],
                "token_type": "Bearer",
                "exp": record["exp"],
                "iat": record["iat"],
                "sub": record["user"],
                "iss": ISSUER,
            }
        else:
            record = self.refresh.get(token)
            if record is None or record["state"] != "active":
                return None
            claims = {
                "scope": " ".join(record["scopes"]),
                "client_id": record["client_id"],
                "username": record["user"],
                "token_type": "refresh_token",
                "iat": record["iat"],
                "sub": record["user"],
                "iss": ISSUER,
            }
        # Absent claims are left out, as the library does.
        return {k: v for k, v in claims.items() if v is not None}

    def validate_bearer_token(self, token, scopes, request):
        record = self.access.get(token)
        if record is None or record["exp"] <= int(time.time()):
            return False
        granted = record["scopes"]
        if not all(s in granted for s in scopes):
            return False
        request.client_id = record["client_id"]
        request.user = record["user"]
        request.scopes = granted
        return True


def bench_realm():
    """The realm of the micro-benchmarks: one confidential client."""
    v = MemoryValidator()
    v.add_client(Client(
        "conf-client", "conf-secret", ["https://client.example.com/cb"],
        ["authorization_code", "refresh_token", "client_credentials"],
        ["read", "write"], ["read"], may_introspect=True))
    v.add_user("alice", "wonderland")
    return v


def demo_realm():
    """The demo server's default realm (shared/DEMO_SERVER.md)."""
    v = MemoryValidator()
    v.add_client(Client(
        "conf-client", "conf-secret",
        ["https://client.example.com/cb", "https://client.example.com/cb2"],
        ["authorization_code", "refresh_token", "client_credentials", "password"],
        ["read", "write"], ["read"]))
    v.add_client(Client(
        "public-client", None, ["http://127.0.0.1:9999/callback"],
        ["authorization_code", "refresh_token", "implicit"],
        ["read"], ["read"], pkce_required=True))
    v.add_client(Client(
        "rs-client", "rs-secret", [], ["client_credentials"], [], [],
        may_introspect=True))
    v.add_user("alice", "wonderland")
    v.add_user("bob", "builder")
    return v


def server(validator):
    return Server(validator, token_expires_in=ACCESS_LIFETIME,
                  token_generator=new_token, refresh_token_generator=new_token)
