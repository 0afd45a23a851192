"""Black-box tests of ngx_http_oauth2_module against a running nginx.

    python3 test_nginx.py HOST:PORT PREFIX [--quick]

PREFIX is the nginx prefix nginx/demo/run.sh --write-only wrote (its
nginx.conf, access.log, nginx.pid). --quick runs the flows only (no reload
and no per-worker check): the valgrind run, with master_process off.
--full-zone fills the (small) zone instead: first the consent forms'
CSRF tokens (their lifetime, oauth2_consent_ttl, set to 2 s: one expires;
a flood of consent pages leaves room for tokens), then tokens until
server_error, then checks that what was stored still works.
"""

import base64
import hashlib
import html
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

ADDR = sys.argv[1]
PREFIX = sys.argv[2]
QUICK = "--quick" in sys.argv[3:]
HOST, PORT = ADDR.rsplit(":", 1)
FORM = "application/x-www-form-urlencoded"
failures = []
TIMEOUT = 120 if QUICK else 30  # valgrind is slow


def request(method, path, body=None, headers=(), raw_body=None):
    """One request on a new connection: (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=TIMEOUT)
    data = raw_body
    if body is not None:
        data = urllib.parse.urlencode(body, doseq=True).encode()
    conn.putrequest(method, path)
    hdrs = list(headers)
    if data is not None:
        if not any(h[0].lower() == "content-type" for h in hdrs):
            hdrs.append(("Content-Type", FORM))
        hdrs.append(("Content-Length", str(len(data))))
    for name, value in hdrs:
        conn.putheader(name, value)
    conn.endheaders()
    if data:
        conn.send(data)
    resp = conn.getresponse()
    out = resp.read()
    result = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, out)
    conn.close()
    return result


def basic(client, secret):
    raw = f"{client}:{secret}".encode()
    return ("Authorization", "Basic " + base64.b64encode(raw).decode())


def bearer(token):
    return ("Authorization", "Bearer " + token)


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def json_of(body):
    try:
        return json.loads(body)
    except ValueError:
        return {}


CONF = basic("conf-client", "conf-secret")
RS = basic("rs-client", "rs-secret")


def token(body, auth=CONF):
    status, headers, out = request("POST", "/token", body, [auth])
    return status, headers, json_of(out)


def flows():
    # client credentials
    status, headers, t = token({"grant_type": "client_credentials"})
    check("client_credentials 200", status == 200 and t.get("token_type") == "Bearer", (status, t))
    check("token response no-store", headers.get("cache-control") == "no-store", headers)
    check("client_credentials default scope", t.get("scope") == "read", t)
    cc = t.get("access_token", "")

    # client authentication in the body
    status, _, t = token({"grant_type": "client_credentials", "client_id": "rs-client",
                          "client_secret": "rs-secret"}, auth=("X-None", "1"))
    check("client_secret_post 200", status == 200 and "scope" not in t, (status, t))

    # password
    status, _, t = token({"grant_type": "password", "username": "alice",
                          "password": "wonderland", "scope": "read write"})
    check("password 200", status == 200 and "refresh_token" in t, (status, t))
    at, rt = t.get("access_token", ""), t.get("refresh_token", "")
    status, _, t = token({"grant_type": "password", "username": "alice", "password": "nope"})
    check("password wrong 400 invalid_grant", status == 400 and t.get("error") == "invalid_grant",
          (status, t))

    # refresh (rotated)
    status, _, t = token({"grant_type": "refresh_token", "refresh_token": rt})
    check("refresh 200", status == 200 and t.get("refresh_token") not in (None, rt), (status, t))
    at2, rt2 = t.get("access_token", ""), t.get("refresh_token", "")
    status, _, t = token({"grant_type": "refresh_token", "refresh_token": rt})
    check("rotated refresh reused 400 invalid_grant",
          status == 400 and t.get("error") == "invalid_grant", (status, t))
    # the reuse revoked the grant: its tokens no longer work
    status, _, _ = request("GET", "/resource", headers=[bearer(at2)])
    check("reuse revoked the grant", status == 401, status)

    # an unknown code
    status, _, t = token({"grant_type": "authorization_code", "code": "x",
                          "redirect_uri": "https://client.example.com/cb"})
    check("unknown code 400 invalid_grant", status == 400 and t.get("error") == "invalid_grant",
          (status, t))

    # protected resource: 401, 200, 403
    status, headers, out = request("GET", "/resource")
    check("no token 401", status == 401 and headers.get("www-authenticate", "").startswith(
        "Bearer realm="), (status, headers))
    check("no token: the library's empty body, no HTML", out == b"", out)
    status, headers, out = request("GET", "/resource", headers=[bearer("nope")])
    check("bad token 401 invalid_token", status == 401
          and 'error="invalid_token"' in headers.get("www-authenticate", ""), (status, headers))
    check("bad token: JSON error body", json_of(out).get("error") == "invalid_token"
          and headers.get("content-type", "").startswith("application/json"), (headers, out))
    status, headers, out = request("GET", "/protected/hello.txt", headers=[bearer("nope")])
    check("static location refusal: JSON, not nginx's page", status == 401
          and json_of(out).get("error") == "invalid_token", (status, out))
    status, _, out = request("GET", "/resource", headers=[bearer(cc)])
    check("resource 200 (client credentials)", status == 200 and json_of(out) == {
        "user": None, "client_id": "conf-client", "scope": "read"}, (status, out))
    status, headers, out = request("GET", "/write", headers=[bearer(cc)])
    check("missing scope 403 insufficient_scope", status == 403
          and 'error="insufficient_scope"' in headers.get("www-authenticate", ""), (status, headers))
    check("403: JSON error body", json_of(out).get("error") == "insufficient_scope", out)
    status, _, out = request("GET", "/protected/hello.txt", headers=[bearer(cc)])
    check("protected static 200", status == 200 and out == b"hello\n", (status, out))
    status, _, _ = request("GET", "/protected/hello.txt")
    check("protected static 401", status == 401, status)

    # password token: user and both scopes
    status, _, t = token({"grant_type": "password", "username": "bob", "password": "builder",
                          "scope": "read write"})
    bob = t.get("access_token", "")
    status, _, out = request("GET", "/write", headers=[bearer(bob)])
    check("write scope 200", status == 200 and json_of(out).get("user") == "bob", (status, out))

    # introspect -> revoke -> inactive
    status, _, out = request("POST", "/introspect", {"token": bob}, [RS])
    info = json_of(out)
    check("introspect active", status == 200 and info.get("active") is True
          and info.get("username") == "bob", (status, out))
    status, _, out = request("POST", "/introspect", {"token": bob}, [CONF])
    check("introspect by a client not allowed", status == 400
          and json_of(out).get("error") == "unauthorized_client", (status, out))
    status, _, _ = request("POST", "/revoke", {"token": bob}, [CONF])
    check("revoke 200", status == 200, status)
    status, _, out = request("POST", "/introspect", {"token": bob}, [RS])
    check("introspect inactive after revoke", json_of(out) == {"active": False}, out)
    status, _, _ = request("POST", "/revoke", {"token": "unknown"}, [CONF])
    check("revoke unknown 200", status == 200, status)
    statuses = {request("GET", "/write", headers=[bearer(bob)])[0] for _ in range(10)}
    check("revoked token 401", statuses == {401}, statuses)

    # metadata
    status, _, out = request("GET", "/.well-known/oauth-authorization-server")
    meta = json_of(out)
    check("metadata", status == 200 and meta.get("issuer") == f"http://{ADDR}"
          and meta.get("token_endpoint") == f"http://{ADDR}/token", (status, out))

    # hostile requests
    status, headers, out = request("POST", "/token", {"grant_type": "client_credentials"},
                                   [("Authorization", "Basic !!!not-base64")])
    check("bad Basic 401 invalid_client", status == 401
          and json_of(out).get("error") == "invalid_client", (status, out))
    status, _, out = request("POST", "/token", headers=[CONF],
                             raw_body=b"grant_type=client_credentials&scope=%zz")
    check("bad form 400 invalid_request", status == 400
          and json_of(out).get("error") == "invalid_request", (status, out))
    status, _, out = request("POST", "/token", headers=[CONF],
                             raw_body=b"grant_type=client_credentials&grant_type=password")
    check("duplicate parameter 400 invalid_request", status == 400
          and json_of(out).get("error") == "invalid_request", (status, out))
    status, _, out = request("POST", "/token", headers=[CONF],
                             raw_body=b"grant_type=client_credentials&scope=\xff")
    check("non-UTF-8 body 400", status == 400 and json_of(out).get("error") == "invalid_request",
          (status, out))
    status, _, out = request("POST", "/token", headers=[CONF, ("Content-Type", "text/plain")],
                             raw_body=b"grant_type=client_credentials")
    check("wrong content type 400", status == 400, (status, out))
    status, _, out = request("POST", "/token", {"grant_type": "client_credentials"},
                             [CONF, basic("rs-client", "rs-secret")])
    check("two Authorization headers refused", status in (400, 401), (status, out))
    status, _, _ = request("GET", "/resource", headers=[bearer(cc), bearer("other")])
    check("two Authorization headers at the resource 400", status == 400, status)
    status, _, _ = request("GET", "/token")
    check("GET /token 405", status == 405, status)
    status, _, _ = request("POST", "/token", headers=[CONF],
                           raw_body=b"grant_type=client_credentials&x=" + b"a" * 70000)
    check("oversized body 413", status == 413, status)
    status, _, out = request("GET", "/resource", headers=[("Authorization", "Bearer a b c")])
    check("malformed bearer 400 JSON invalid_request", status == 400
          and json_of(out).get("error") == "invalid_request", (status, out))
    status, _, out = request("GET", "/resource", headers=[("Authorization", b"Bearer \xff")])
    check("non-UTF-8 bearer 400 JSON", status == 400
          and json_of(out).get("error") == "invalid_request", (status, out))
    status, _, _ = request("GET", "/nothing")
    check("unknown path 404", status == 404, status)
    return cc

ALICE = basic("alice", "wonderland")
BOB = basic("bob", "builder")
PUBLIC_CB = "http://127.0.0.1:9999/callback"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')
CHECKED = re.compile(r'<input type="checkbox" name="approved_scope" value="([^"]*)" checked>')


def log_mark():
    return os.path.getsize(os.path.join(PREFIX, "access.log"))


def pids_since(mark):
    """The worker pid of each request logged since `mark`, in order."""
    time.sleep(0.05)
    with open(os.path.join(PREFIX, "access.log"), "rb") as f:
        f.seek(mark)
        return [line.split(" ", 1)[0] for line in f.read().decode().splitlines()]


def pkce():
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def consent(params, user=ALICE):
    """GET /authorize: (status, headers, page, the form's fields)."""
    status, headers, out = request("GET", "/authorize?" + urllib.parse.urlencode(params),
                                   headers=[user])
    page = out.decode("utf-8", "replace")
    fields = {html.unescape(n): html.unescape(v) for n, v in HIDDEN.findall(page)}
    # the scopes' checkboxes, ticked as the page sends them
    fields["approved_scope"] = [html.unescape(v) for v in CHECKED.findall(page)]
    return status, headers, page, fields


def submit(fields, action, user=ALICE):
    return request("POST", "/authorize", dict(fields, action=action), [user])


def redirect_params(headers):
    location = headers.get("location", "")
    return location, dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def code_flow():
    """One code + PKCE flow of public-client for alice: (tokens, code, verifier, pids)."""
    mark = log_mark()
    verifier, challenge = pkce()
    state = 'st<script>"&\''
    status, headers, page, fields = consent({
        "response_type": "code", "client_id": "public-client", "redirect_uri": PUBLIC_CB,
        "scope": "read", "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"})
    check("consent page 200 html", status == 200
          and headers.get("content-type", "").startswith("text/html")
          and "public-client" in page and "alice" in page and 'value="approve"' in page
          and 'value="deny"' in page, (status, headers, page[:300]))
    check("consent page escapes the request", "<script>" not in page
          and "st&lt;script&gt;&quot;&amp;&#39;" in page and fields.get("state") == state,
          page[:600])
    check("consent page not framed, not cached", headers.get("x-frame-options") == "DENY"
          and headers.get("cache-control") == "no-store", headers)
    check("consent form has a CSRF token", len(fields.get("csrf_token", "")) == 43, fields)
    status, headers, _ = submit(fields, "approve")
    location, q = redirect_params(headers)
    check("approve 302 with code, state, iss", status == 302
          and location.startswith(PUBLIC_CB + "?") and q.get("state") == state
          and q.get("iss") == f"http://{ADDR}" and q.get("code"), (status, location))
    code = q.get("code", "")
    status, _, t = token({"grant_type": "authorization_code", "code": code,
                          "redirect_uri": PUBLIC_CB, "client_id": "public-client",
                          "code_verifier": verifier}, auth=("X-None", "1"))
    check("code exchange 200", status == 200 and t.get("refresh_token")
          and t.get("scope") == "read", (status, t))
    status, _, out = request("GET", "/resource", headers=[bearer(t.get("access_token", ""))])
    check("code token at the resource", status == 200
          and json_of(out) == {"user": "alice", "client_id": "public-client", "scope": "read"},
          (status, out))
    return t, code, verifier, fields, pids_since(mark)


def consent_scopes():
    """The consent page's checkboxes narrow the scopes, never widen them."""
    conf_cb = "https://client.example.com/cb"
    params = {"response_type": "code", "client_id": "conf-client",
              "redirect_uri": conf_cb, "scope": "read write"}
    _, _, page, fields = consent(params, user=BOB)
    check("consent page has a ticked checkbox per scope",
          fields["approved_scope"] == ["read", "write"] and fields.get("scope_choice") == "1",
          page[:800])
    status, headers, _ = submit(dict(fields, approved_scope=["read"]), "approve", user=BOB)
    _, q = redirect_params(headers)
    status, _, t = token({"grant_type": "authorization_code", "code": q.get("code", ""),
                          "redirect_uri": conf_cb})
    check("an unticked scope is not granted", status == 200 and t.get("scope") == "read",
          (status, t))
    _, _, _, fields = consent(params, user=BOB)
    status, _, out = submit(dict(fields, approved_scope=["read", "admin"]), "approve",
                            user=BOB)
    check("a scope not asked for refused 400", status == 400
          and json_of(out).get("error") == "invalid_request", (status, out))
    _, _, _, fields = consent(dict(params, scope="read"), user=BOB)
    status, _, out = submit(dict(fields, approved_scope=["read write"]), "approve",
                            user=BOB)
    check("a widening in one value refused 400", status == 400, (status, out))
    _, _, _, fields = consent(params, user=BOB)
    status, headers, _ = submit(dict(fields, approved_scope=[]), "approve", user=BOB)
    _, q = redirect_params(headers)
    check("nothing ticked is a denial", status == 302
          and q.get("error") == "access_denied" and not q.get("code"), (status, headers))


def authorization():
    # nginx authenticates the resource owner
    status, headers, _ = request("GET", "/authorize?response_type=code&client_id=public-client")
    check("unauthenticated 401 from auth_basic", status == 401
          and headers.get("www-authenticate", "").startswith("Basic"), (status, headers))
    status, _, _ = request("GET", "/authorize?client_id=public-client",
                           headers=[basic("alice", "wrong")])
    check("wrong password 401", status == 401, status)

    # the full flow; across workers when there are two
    for _ in range(12):
        t, code, verifier, fields, pids = code_flow()
        if QUICK or len(set(pids)) >= 2:
            break
    if not QUICK:
        check("a code flow crossed workers", len(set(pids)) >= 2, pids)

    # a replayed code: invalid_grant, and what the code issued is revoked
    status, _, r = token({"grant_type": "authorization_code", "code": code,
                          "redirect_uri": PUBLIC_CB, "client_id": "public-client",
                          "code_verifier": verifier}, auth=("X-None", "1"))
    check("replayed code 400 invalid_grant", status == 400 and r.get("error") == "invalid_grant",
          (status, r))
    status, _, _ = request("GET", "/resource", headers=[bearer(t.get("access_token", ""))])
    check("replay revoked the first access token", status == 401, status)
    status, _, r = token({"grant_type": "refresh_token", "client_id": "public-client",
                          "refresh_token": t.get("refresh_token", "")}, auth=("X-None", "1"))
    check("replay revoked the first refresh token", status == 400
          and r.get("error") == "invalid_grant", (status, r))

    # a confidential client without PKCE; its code is no other client's
    conf_cb = "https://client.example.com/cb2"
    _, _, _, fields = consent({"response_type": "code", "client_id": "conf-client",
                               "redirect_uri": conf_cb, "scope": "read write"}, user=BOB)
    status, headers, _ = submit(fields, "approve", user=BOB)
    _, q = redirect_params(headers)
    status, _, r = token({"grant_type": "authorization_code", "code": q.get("code", ""),
                          "redirect_uri": conf_cb, "client_id": "public-client",
                          "code_verifier": pkce()[0]}, auth=("X-None", "1"))
    check("another client's code 400 invalid_grant", status == 400
          and r.get("error") == "invalid_grant", (status, r))
    status, _, r = token({"grant_type": "authorization_code", "code": q.get("code", ""),
                          "redirect_uri": conf_cb})
    check("confidential client's code exchange 200", status == 200
          and r.get("scope") == "read write", (status, r))
    status, _, out = request("GET", "/write", headers=[bearer(r.get("access_token", ""))])
    check("its token is bob's", status == 200 and json_of(out).get("user") == "bob",
          (status, out))

    # the used form's CSRF token is spent
    status, headers, out = submit(fields, "approve")
    check("reused CSRF token refused", status == 403 and "location" not in headers, (status, out))

    # deny
    _, challenge = pkce()
    params = {"response_type": "code", "client_id": "public-client", "state": "s1",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    _, _, _, fields = consent(params)
    status, headers, _ = submit(fields, "deny")
    location, q = redirect_params(headers)
    check("deny 302 access_denied", status == 302 and location.startswith(PUBLIC_CB)
          and q.get("error") == "access_denied" and q.get("state") == "s1", (status, location))

    # CSRF: missing, wrong, another user's, another request's
    _, _, _, fields = consent(params)
    no_csrf = {k: v for k, v in fields.items() if k != "csrf_token"}
    status, headers, _ = submit(no_csrf, "approve")
    check("missing CSRF token refused", status == 403 and "location" not in headers, status)
    status, headers, _ = submit(dict(fields, csrf_token="A" * 43), "approve")
    check("wrong CSRF token refused", status == 403 and "location" not in headers, status)
    _, _, _, fields = consent(params)
    status, headers, _ = submit(fields, "approve", user=BOB)
    check("another user's CSRF token refused", status == 403 and "location" not in headers,
          status)
    _, _, _, fields = consent(params)
    status, headers, _ = submit(dict(fields, scope="read", state="other"), "approve")
    check("CSRF token of another request refused", status == 403
          and "location" not in headers, status)
    _, _, _, fields = consent(params)
    status, headers, _ = request("POST", "/authorize", headers=[ALICE], raw_body=(
        urllib.parse.urlencode(dict(fields, action="approve")) + "&csrf_token="
        + fields["csrf_token"]).encode())
    check("duplicate CSRF token refused", status == 403 and "location" not in headers, status)

    # errors that must not be redirected, and one that is
    status, headers, out = request("GET", "/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "public-client",
        "redirect_uri": "https://evil.example/cb", "code_challenge": challenge,
        "code_challenge_method": "S256"}), headers=[ALICE])
    check("bad redirect_uri 400, no redirect", status == 400 and "location" not in headers,
          (status, headers, out))
    status, headers, _ = request("GET", "/authorize?response_type=code&client_id=nobody",
                                 headers=[ALICE])
    check("unknown client 400, no redirect", status == 400 and "location" not in headers,
          (status, headers))
    status, headers, _ = request("GET", "/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "public-client", "state": "s2"}), headers=[ALICE])
    location, q = redirect_params(headers)
    check("missing PKCE 302 invalid_request", status == 302 and location.startswith(PUBLIC_CB)
          and q.get("error") == "invalid_request" and q.get("state") == "s2", (status, location))
    status, _, _ = request("PUT", "/authorize", headers=[ALICE])
    check("PUT /authorize 405", status == 405, status)
    consent_scopes()


def chunked_oversize():
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=TIMEOUT)
    chunks = (b"grant_type=client_credentials&x=", b"a" * 40000, b"a" * 40000)
    conn.request("POST", "/token", body=iter(chunks),
                 headers={"Content-Type": FORM, "Transfer-Encoding": "chunked",
                          CONF[0]: CONF[1]}, encode_chunked=True)
    status = conn.getresponse().status
    conn.close()
    check("oversized chunked body 413", status == 413, status)


def pids_serving(path, token, want):
    """The worker pids (from the access log) that answered `want` to `path`."""
    log = os.path.join(PREFIX, "access.log")
    pids = set()
    for _ in range(40):
        mark = os.path.getsize(log)
        status, _, _ = request("GET", path, headers=[bearer(token)])
        check(f"{path} {want} on every connection", status == want, status)
        time.sleep(0.02)
        with open(log, "rb") as f:
            f.seek(mark)
            for line in f.read().decode().splitlines():
                pids.add(line.split(" ", 1)[0])
        if len(pids) >= 2:
            break
    return pids


def workers(cc):
    # a token issued by one worker works in both; once revoked, in neither
    status, _, t = token({"grant_type": "password", "username": "alice",
                          "password": "wonderland"})
    at = t.get("access_token", "")
    pids = pids_serving("/resource", at, 200)
    check("two workers served the token", len(pids) >= 2, pids)
    request("POST", "/revoke", {"token": at}, [CONF])
    pids = pids_serving("/resource", at, 401)
    check("two workers refused the revoked token", len(pids) >= 2, pids)


def reload(cc):
    conf = os.path.join(PREFIX, "nginx.conf")
    before = open(os.path.join(PREFIX, "error.log")).read().count("start worker process")
    subprocess.run(["nginx", "-p", PREFIX, "-c", conf, "-s", "reload"], check=True)
    for _ in range(100):
        now = open(os.path.join(PREFIX, "error.log")).read().count("start worker process")
        if now >= before + 2:
            break
        time.sleep(0.1)
    check("reload started new workers", now >= before + 2, (before, now))
    time.sleep(0.5)
    status, _, out = request("GET", "/resource", headers=[bearer(cc)])
    check("token issued before the reload still works", status == 200, (status, out))


def consent_forms():
    """CSRF tokens expire, and cannot fill the zone (oauth2_consent_ttl 2s)."""
    params = {"response_type": "code", "client_id": "conf-client",
              "redirect_uri": "https://client.example.com/cb", "scope": "read"}
    _, _, _, fields = consent(params)
    time.sleep(3.5)
    status, _, out = submit(fields, "approve")
    check("an expired CSRF token refused", status == 403
          and json_of(out).get("error") == "access_denied", (status, out))
    _, _, _, fields = consent(params)
    status, headers, _ = submit(fields, "approve")
    check("a fresh CSRF token accepted", status == 302
          and redirect_params(headers)[1].get("code"), (status, headers))

    # a flood of consent pages on one connection, faster than they expire:
    # each keeps a CSRF token of some 400 bytes, 300 of them 4 times the
    # zone
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=TIMEOUT)
    path = "/authorize?" + urllib.parse.urlencode(dict(params, state="x" * 200))
    served = 0
    start = time.time()
    for _ in range(300):
        conn.request("GET", path, headers=dict([ALICE]))
        resp = conn.getresponse()
        resp.read()
        served += resp.status == 200
    conn.close()
    check("a flood of consent pages served", served == 300, served)
    check("the flood was faster than the tokens expire", time.time() - start < 2,
          time.time() - start)
    status, _, t = token({"grant_type": "client_credentials"})
    check("a token issued right after the flood", status == 200
          and t.get("access_token"), (status, t))
    _, _, _, fields = consent(params)
    status, headers, _ = submit(fields, "approve")
    check("a consent form right after the flood works", status == 302
          and redirect_params(headers)[1].get("code"), (status, headers))


def full_zone():
    first = None
    for i in range(5000):
        status, _, t = token({"grant_type": "password", "username": "alice",
                              "password": "wonderland"})
        if status != 200:
            break
        first = first or t.get("access_token")
    check("a full zone answers 500 server_error",
          status == 500 and t.get("error") == "server_error", (i, status, t))
    check("the zone held some tokens", first is not None and i > 10, i)
    status, _, out = request("GET", "/resource", headers=[bearer(first)])
    check("a token stored before the zone filled still works", status == 200, (status, out))
    status, _, out = request("POST", "/introspect", {"token": first}, [RS])
    check("and introspects active", json_of(out).get("active") is True, out)
    request("POST", "/revoke", {"token": first}, [CONF])
    status, _, _ = request("GET", "/resource", headers=[bearer(first)])
    check("and can be revoked", status == 401, status)


def sqlite_before():
    """Tokens issued over the SQLite store, kept for sqlite_after."""
    status, _, cc = token({"grant_type": "client_credentials"})
    check("sqlite: client credentials token", status == 200, (status, cc))
    status, _, pw = token({"grant_type": "password", "username": "alice",
                           "password": "wonderland"})
    check("sqlite: password grant (the store's user)", status == 200
          and pw.get("refresh_token"), (status, pw))
    status, _, out = request("GET", "/resource", headers=[bearer(pw.get("access_token", ""))])
    check("sqlite: resource 200", status == 200 and json_of(out).get("user") == "alice",
          (status, out))
    status, _, bad = token({"grant_type": "password", "username": "alice",
                            "password": "wrong"})
    check("sqlite: a wrong password 400 invalid_grant", status == 400
          and bad.get("error") == "invalid_grant", (status, bad))
    with open(os.path.join(PREFIX, "tokens.json"), "w") as f:
        json.dump({"cc": cc.get("access_token"), "pw": pw}, f)


def sqlite_after():
    """After a restart, the SQLite store still knows the tokens."""
    with open(os.path.join(PREFIX, "tokens.json")) as f:
        saved = json.load(f)
    for name in ("cc", "pw"):
        tok = saved[name] if name == "cc" else saved[name]["access_token"]
        status, _, out = request("GET", "/resource", headers=[bearer(tok)])
        check(f"sqlite: the {name} token works after a restart", status == 200, (status, out))
    status, _, t = token({"grant_type": "refresh_token",
                          "refresh_token": saved["pw"]["refresh_token"]})
    check("sqlite: refresh after a restart", status == 200 and t.get("access_token"), (status, t))
    request("POST", "/revoke", {"token": saved["cc"]}, [CONF])
    for _ in range(4):   # new connections: both workers
        status, _, _ = request("GET", "/resource", headers=[bearer(saved["cc"])])
        check("sqlite: revoked token 401", status == 401, status)


if "--sqlite-before" in sys.argv[3:] or "--sqlite-after" in sys.argv[3:]:
    (sqlite_before if "--sqlite-before" in sys.argv[3:] else sqlite_after)()
    print(f"{len(failures)} failure(s)" if failures else "all passed")
    sys.exit(1 if failures else 0)

if "--full-zone" in sys.argv[3:]:
    consent_forms()
    full_zone()
    print(f"{len(failures)} failure(s)" if failures else "all passed")
    sys.exit(1 if failures else 0)

cc = flows()
authorization()
if not QUICK:
    chunked_oversize()
    workers(cc)
    reload(cc)
print(f"{len(failures)} failure(s)" if failures else "all passed")
sys.exit(1 if failures else 0)
