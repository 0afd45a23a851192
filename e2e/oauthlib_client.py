"""The demo server driven by a real, independent OAuth 2.0 client library:
oauthlib + requests-oauthlib (installed from PyPI by e2e/run.sh).

    OAUTHLIB_INSECURE_TRANSPORT=1 python e2e/oauthlib_client.py http://127.0.0.1:PORT

Covers: metadata discovery; client credentials (BackendApplicationClient,
HTTP Basic); the protected resource; introspection and revocation; the
authorization code flow with PKCE (S256) for public-client, the consent form
posted as the user alice/wonderland would (a wrong password first); the
refresh grant with rotation and reuse detection; a denied consent; the device
authorization grant (RFC 8628) with oauthlib's DeviceClient, the user's
page at /device, slow_down and single use; resource indicators. Every step
is asserted; the first failure stops the run with exit status 1.
"""

import html.parser
import os
import sys
import urllib.parse

import requests
import time

from oauthlib.oauth2 import BackendApplicationClient, DeviceClient
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError
from requests_oauthlib import OAuth2Session

CALLBACK = "http://127.0.0.1:9999/callback"
PASSED = 0


def check(condition, what):
    """Counts a passed check, or stops the run."""
    global PASSED
    if not condition:
        print(f"FAIL {what}")
        print(f"oauthlib client: {PASSED} passed, 1 failed")
        sys.exit(1)
    PASSED += 1
    print(f"  ok  {what}")


class FormParser(html.parser.HTMLParser):
    """Collects the consent page's form: its action and its inputs."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.method = None
        self.inputs = {}
        self.buttons = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
            self.method = attrs.get("method")
        elif tag == "input":
            self.inputs[attrs.get("name")] = attrs.get("value", "")
        elif tag == "button":
            self.buttons.append((attrs.get("name"), attrs.get("value")))


def parse_form(page):
    parser = FormParser()
    parser.feed(page)
    return parser


def query_params(location):
    parts = urllib.parse.urlsplit(location)
    return dict(urllib.parse.parse_qsl(parts.query))


def resource_indicators(base, meta, token_url, introspect_url):
    """RFC 8707 and RFC 9728 against the demo: an audience-restricted token
    opens the resource it is for and no other; the refusal names the
    resource's metadata, which describes it."""
    own = f"{base}/resource"
    metadata_url = f"{base}/.well-known/oauth-protected-resource/resource"
    conf = ("conf-client", "conf-secret")
    check(meta.get("protected_resources") == [own],
          "metadata: protected_resources lists the demo's resource (RFC 9728)")
    r = requests.post(token_url, data={"grant_type": "client_credentials", "scope": "read",
                                       "resource": own}, auth=conf, timeout=10)
    check(r.status_code == 200, "client credentials for the demo's resource: 200")
    restricted = r.json()["access_token"]
    r = requests.post(introspect_url, data={"token": restricted},
                      auth=("rs-client", "rs-secret"), timeout=10)
    check(r.json().get("aud") == own, "introspection: aud is the resource asked for")
    r = requests.get(own, headers={"Authorization": f"Bearer {restricted}"}, timeout=10)
    check(r.status_code == 200, "resource with a token for it: 200")
    r = requests.post(token_url, data=[("grant_type", "client_credentials"),
                                       ("resource", own),
                                       ("resource", "https://api.example.com/")],
                      auth=conf, timeout=10)
    check(r.status_code == 200, "client credentials for both resources (resource repeated): 200")
    r = requests.post(introspect_url, data={"token": r.json()["access_token"]},
                      auth=("rs-client", "rs-secret"), timeout=10)
    check(r.json().get("aud") == [own, "https://api.example.com/"],
          "introspection: aud lists both resources")
    r = requests.post(token_url, data={"grant_type": "client_credentials",
                                       "resource": "https://api.example.com/"},
                      auth=conf, timeout=10)
    elsewhere = r.json()["access_token"]
    r = requests.get(own, headers={"Authorization": f"Bearer {elsewhere}"}, timeout=10)
    challenge = r.headers.get("WWW-Authenticate", "")
    check(r.status_code == 401 and 'error="invalid_token"' in challenge
          and f'resource_metadata="{metadata_url}"' in challenge,
          "resource with a token for another resource: 401 invalid_token, resource_metadata")
    r = requests.get(metadata_url, timeout=10)
    doc = r.json()
    check(r.status_code == 200 and doc["resource"] == own
          and doc["authorization_servers"] == [base]
          and doc["bearer_methods_supported"] == ["header"],
          "protected resource metadata: resource, authorization_servers, bearer methods")
    r = requests.post(token_url, data={"grant_type": "client_credentials",
                                       "resource": "https://other.example/"},
                      auth=conf, timeout=10)
    check(r.status_code == 400 and r.json()["error"] == "invalid_target",
          "a resource the client may not use: 400 invalid_target")


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_flow(base, meta, token_url, resource_url):
    """RFC 8628: the device asks, polls, the user approves at /device, the
    device gets its tokens once; a denied device gets access_denied."""
    check(meta.get("device_authorization_endpoint") == f"{base}/device_authorization",
          "metadata: device_authorization_endpoint")
    check(DEVICE_GRANT in meta["grant_types_supported"], "metadata: the device grant")
    device = DeviceClient("device-client")

    def authorize():
        r = requests.post(meta["device_authorization_endpoint"],
                          data={"client_id": "device-client", "scope": "read"}, timeout=10)
        check(r.status_code == 200 and r.headers.get("Cache-Control") == "no-store",
              "device authorization: 200, no-store")
        return r.json()

    def poll(device_code):
        body = device.prepare_request_body(device_code, include_client_id=True)
        check(f"grant_type={urllib.parse.quote(DEVICE_GRANT, safe='')}" in body,
              "oauthlib's DeviceClient asks with the device grant")
        return requests.post(token_url, data=body, timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})

    grant = authorize()
    code = grant["user_code"]
    check(len(code) == 9 and code[4] == "-" and
          all(c in "BCDFGHJKLMNPQRSTVWXZ" for c in code.replace("-", "")),
          "device authorization: user code XXXX-XXXX of consonants")
    check(grant["verification_uri"] == f"{base}/device", "device authorization: verification_uri")
    check(grant["verification_uri_complete"] == f"{base}/device?user_code={code}",
          "device authorization: verification_uri_complete")
    check(grant["expires_in"] == 600 and grant["interval"] == 5,
          "device authorization: expires_in 600, interval 5")

    r = poll(grant["device_code"])
    check(r.status_code == 400 and r.json()["error"] == "authorization_pending",
          "device poll before the user acts: authorization_pending")
    r = poll(grant["device_code"])
    check(r.status_code == 400 and r.json()["error"] == "slow_down",
          "device poll sooner than the interval: slow_down")

    # The user's page: prefilled from verification_uri_complete.
    page = requests.get(grant["verification_uri_complete"], timeout=10)
    form = parse_form(page.text)
    check(page.status_code == 200 and form.action == "/device" and
          form.inputs.get("user_code") == code, "device page: the form, code prefilled")
    submit = f"{base}/device"
    r = requests.post(submit, data={"user_code": code, "username": "alice",
                                    "password": "wrong", "action": "approve"}, timeout=10)
    check(r.status_code == 401, "device page: wrong password, 401")
    r = requests.post(submit, data={"user_code": "BCDF-GHJK", "username": "alice",
                                    "password": "wonderland", "action": "approve"}, timeout=10)
    check(r.status_code == 400, "device page: unknown code, 400")
    # Any case, without the dash.
    r = requests.post(submit, data={"user_code": code.replace("-", "").lower(),
                                    "username": "alice", "password": "wonderland",
                                    "action": "approve"}, timeout=10)
    check(r.status_code == 200 and "device-client" in r.text,
          "device page: approved (code in lower case, no dash)")

    # slow_down made the interval 10 s: waiting less would be refused again.
    time.sleep(10.5)
    r = poll(grant["device_code"])
    check(r.status_code == 200, "device poll after approval: 200")
    token = device.parse_request_body_response(r.text, scope=["read"])
    check(token["token_type"] == "Bearer" and "refresh_token" in token,
          "device grant: a bearer token and a refresh token")
    r = requests.get(resource_url, headers={"Authorization": f"Bearer {token['access_token']}"},
                     timeout=10)
    check(r.status_code == 200 and r.json()["user"] == "alice",
          "resource with the device's token: 200 as alice")
    time.sleep(10.5)
    r = poll(grant["device_code"])
    check(r.status_code == 400 and r.json()["error"] == "invalid_grant",
          "device code used twice: invalid_grant")
    r = requests.get(resource_url, headers={"Authorization": f"Bearer {token['access_token']}"},
                     timeout=10)
    check(r.status_code == 401, "device code replay revoked its tokens")

    denied = authorize()
    r = requests.post(submit, data={"user_code": denied["user_code"], "username": "bob",
                                    "password": "builder", "action": "deny"}, timeout=10)
    check(r.status_code == 200, "device page: denied")
    r = poll(denied["device_code"])
    check(r.status_code == 400 and r.json()["error"] == "access_denied",
          "device poll after denial: access_denied")


def main(base):
    check(os.environ.get("OAUTHLIB_INSECURE_TRANSPORT") == "1",
          "OAUTHLIB_INSECURE_TRANSPORT=1 (the demo serves plain http on loopback)")

    # --- Discovery (RFC 8414).
    r = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10)
    check(r.status_code == 200, "metadata: 200")
    meta = r.json()
    check(meta["issuer"] == base, f"metadata: issuer is {base}")
    check("S256" in meta["code_challenge_methods_supported"], "metadata: PKCE S256")
    token_url = meta["token_endpoint"]
    authorize_url = meta["authorization_endpoint"]
    revoke_url = meta["revocation_endpoint"]
    introspect_url = meta["introspection_endpoint"]
    resource_url = f"{base}/resource"

    # --- Client credentials, HTTP Basic (requests-oauthlib's default).
    service = OAuth2Session(client=BackendApplicationClient(client_id="conf-client"),
                            scope=["read"])
    token = service.fetch_token(token_url, client_id="conf-client",
                                client_secret="conf-secret")
    check(token["token_type"] == "Bearer", "client credentials: a Bearer token")
    check(token["expires_in"] == 3600, "client credentials: expires_in 3600")
    check(token["scope"] == ["read"], "client credentials: scope read")
    check("refresh_token" not in token, "client credentials: no refresh token")
    r = service.get(resource_url, timeout=10)
    check(r.status_code == 200 and r.json() ==
          {"user": None, "client_id": "conf-client", "scope": "read"},
          "resource with the client's token: 200, no user")

    # --- Introspection (RFC 7662) and revocation (RFC 7009).
    access = token["access_token"]
    r = requests.post(introspect_url, data={"token": access},
                      auth=("rs-client", "rs-secret"), timeout=10)
    info = r.json()
    check(r.status_code == 200 and info["active"] is True, "introspection: active")
    check(info["client_id"] == "conf-client" and info["scope"] == "read",
          "introspection: client_id and scope")
    r = requests.post(introspect_url, data={"token": access}, timeout=10)
    check(r.status_code == 401 and r.json()["error"] == "invalid_client",
          "introspection without client authentication: 401 invalid_client")
    r = requests.post(revoke_url, data={"token": access, "token_type_hint": "access_token"},
                      auth=("conf-client", "conf-secret"), timeout=10)
    check(r.status_code == 200, "revocation: 200")
    r = service.get(resource_url, timeout=10)
    check(r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"],
          "resource with the revoked token: 401 invalid_token")
    r = requests.post(introspect_url, data={"token": access},
                      auth=("rs-client", "rs-secret"), timeout=10)
    check(r.json() == {"active": False}, "introspection of the revoked token: inactive")
    r = requests.get(resource_url, timeout=10)
    check(r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer realm="),
          "resource without a token: 401 with a Bearer challenge")

    # --- Resource indicators (RFC 8707), protected resource metadata (RFC 9728).
    resource_indicators(base, meta, token_url, introspect_url)

    # --- The device authorization grant (RFC 8628).
    device_flow(base, meta, token_url, resource_url)

    # --- Authorization code + PKCE for the public client.
    app = OAuth2Session("public-client", redirect_uri=CALLBACK, scope=["read"], pkce="S256")
    url, state = app.authorization_url(authorize_url)
    check("code_challenge_method=S256" in url, "authorization URL carries an S256 challenge")
    browser = requests.Session()
    r = browser.get(url, allow_redirects=False, timeout=10)
    check(r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"),
          "consent page: 200 HTML")
    form = parse_form(r.text)
    check(form.method == "post" and form.action == "/authorize", "consent page: a POST form")
    check(form.inputs.get("client_id") == "public-client" and form.inputs.get("state") == state,
          "consent page: the request travels in hidden fields")
    check(("action", "approve") in form.buttons and ("action", "deny") in form.buttons,
          "consent page: Approve and Deny buttons")
    submit = urllib.parse.urljoin(base, form.action)

    fields = dict(form.inputs, username="alice", password="not-the-password", action="approve")
    r = browser.post(submit, data=fields, allow_redirects=False, timeout=10)
    check(r.status_code == 401 and "Location" not in r.headers,
          "wrong password: 401, no redirect")
    again = parse_form(r.text)
    check(again.inputs.get("state") == state, "wrong password: the form again, request intact")

    fields = dict(again.inputs, username="alice", password="wonderland", action="approve")
    r = browser.post(submit, data=fields, allow_redirects=False, timeout=10)
    check(r.status_code == 302, "approval: 302")
    location = r.headers["Location"]
    params = query_params(location)
    check(location.startswith(CALLBACK + "?"), "approval: back to the registered callback")
    check(params.get("state") == state, "approval: state echoed")
    check(params.get("iss") == base, "approval: iss is the issuer (RFC 9207)")
    check("code" in params, "approval: a code")

    token = app.fetch_token(token_url, authorization_response=location, include_client_id=True)
    check(token["token_type"] == "Bearer" and token["scope"] == ["read"],
          "code exchange with the PKCE verifier: a Bearer token for read")
    check("refresh_token" in token, "code exchange: a refresh token")
    r = app.get(resource_url, timeout=10)
    check(r.status_code == 200 and r.json()["user"] == "alice", "resource as alice: 200")

    r = requests.post(token_url, data={"grant_type": "authorization_code", "code": params["code"],
                                       "client_id": "public-client",
                                       "code_verifier": app._code_verifier}, timeout=10)
    check(r.status_code == 400 and r.json()["error"] == "invalid_grant",
          "the code a second time: invalid_grant")
    r = app.get(resource_url, timeout=10)
    check(r.status_code == 401, "code replay revoked the tokens it had issued")

    # --- Refresh, with rotation: a fresh grant (the replay above revoked the first).
    app = OAuth2Session("public-client", redirect_uri=CALLBACK, scope=["read"], pkce="S256")
    url, state = app.authorization_url(authorize_url)
    form = parse_form(browser.get(url, timeout=10).text)
    fields = dict(form.inputs, username="alice", password="wonderland", action="approve")
    r = browser.post(submit, data=fields, allow_redirects=False, timeout=10)
    token = app.fetch_token(token_url, authorization_response=r.headers["Location"],
                            include_client_id=True)
    first_refresh = token["refresh_token"]
    refreshed = app.refresh_token(token_url, client_id="public-client")
    check(refreshed["access_token"] != token["access_token"], "refresh: a new access token")
    check(refreshed["refresh_token"] != first_refresh, "refresh: the refresh token rotated")
    r = app.get(resource_url, timeout=10)
    check(r.status_code == 200 and r.json() ==
          {"user": "alice", "client_id": "public-client", "scope": "read"},
          "resource with the refreshed token: 200")
    r = requests.post(token_url, data={"grant_type": "refresh_token", "client_id": "public-client",
                                       "refresh_token": first_refresh}, timeout=10)
    check(r.status_code == 400 and r.json()["error"] == "invalid_grant",
          "the old refresh token: invalid_grant")
    r = app.get(resource_url, timeout=10)
    check(r.status_code == 401, "refresh token reuse revoked the grant")

    # --- Denied consent: oauthlib sees access_denied.
    app = OAuth2Session("public-client", redirect_uri=CALLBACK, scope=["read"], pkce="S256")
    url, state = app.authorization_url(authorize_url)
    form = parse_form(browser.get(url, timeout=10).text)
    r = browser.post(submit, data=dict(form.inputs, action="deny"), allow_redirects=False,
                     timeout=10)
    check(r.status_code == 302, "deny: 302")
    try:
        app.fetch_token(token_url, authorization_response=r.headers["Location"],
                        include_client_id=True)
        denied = False
    except AccessDeniedError:
        denied = True
    check(denied, "deny: oauthlib raises AccessDeniedError")

    # --- An untrusted redirect URI is never followed.
    evil = OAuth2Session("public-client", redirect_uri="https://evil.example/cb", scope=["read"],
                         pkce="S256")
    url, _ = evil.authorization_url(authorize_url)
    r = browser.get(url, allow_redirects=False, timeout=10)
    check(r.status_code == 400 and "Location" not in r.headers,
          "unregistered redirect_uri: 400 page, no redirect")

    print(f"oauthlib client: {PASSED} passed, 0 failed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: oauthlib_client.py http://127.0.0.1:PORT")
    main(sys.argv[1].rstrip("/"))
