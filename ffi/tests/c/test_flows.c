/*
 * The OAuth flows through the C ABI, over the C in-memory validator:
 * authorization code + PKCE, client credentials with Basic, refresh with
 * rotation and reuse detection, revocation, introspection, a bearer
 * protected resource, metadata, and concurrent use of one server.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <pthread.h>

#include "memstore.h"
#include "testutil.h"

#define CONF_REDIRECT "https://client.example.com/cb"
#define PUBLIC_REDIRECT "http://127.0.0.1:9999/callback"
#define PUBLIC_REDIRECT_ENC "http%3A%2F%2F127.0.0.1%3A9999%2Fcallback"
/* RFC 7636 appendix B. */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static memstore *store;
static oap_server *server;

static void setup(void) {
    oap_config config = oap_config_default();
    oap_validator validator;
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, CONF_REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN |
                            OAP_GRANT_CLIENT_CREDENTIALS,
                        false, "read write", "read");
    memstore_add_client(store, "public-client", NULL, OAP_SECRET_NONE, false, PUBLIC_REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN, false, "read",
                        "read");
    memstore_add_client(store, "rs-client", "rs-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, true, "", "");
    /* sha256("hashed-secret") */
    memstore_add_client(store, "hashed-client",
                        "4e598f5daafc2fda61641ddbb5956deb23fde6616366dc9dd5a7c9f47da4d787",
                        OAP_SECRET_SHA256_HEX, true, NULL, OAP_GRANT_CLIENT_CREDENTIALS, false,
                        "read", "read");
    memstore_add_client(store, "refresh-client", "refresh-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_PASSWORD | OAP_GRANT_REFRESH_TOKEN, false, "read", "");
    memstore_add_user(store, "alice", "pw");
    validator = memstore_validator(store);
    config.issuer = S("https://as.example");
    config.scopes_supported = S("read write");
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
}

static void teardown(void) {
    oap_server_free(server);
    memstore_free(store);
}

/* POSTs to the token endpoint; returns the response (caller frees). */
static oap_response *token_request(const char *body, const char *id, const char *secret) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, id, secret), &r),
                 OAP_STATUS_OK);
    return r;
}

/* Verifies a bearer token for `scope`; returns 1 if granted, else the HTTP status. */
static int resource_status(const char *token, const char *scope) {
    test_request t;
    oap_token *granted = NULL;
    oap_response *denied = NULL;
    oap_str scopes[1];
    int result;
    scopes[0] = S(scope);
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api/photos", token), scopes, 1,
                                          &granted, &denied),
                 OAP_STATUS_OK);
    CHECK((granted == NULL) != (denied == NULL));
    result = granted ? 1 : oap_response_status(denied);
    oap_token_free(granted);
    oap_response_free(denied);
    return result;
}

static void test_metadata(void) {
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(body_has(r, "\"issuer\":\"https://as.example\""));
    CHECK(body_has(r, "\"token_endpoint\":\"https://as.example/token\""));
    CHECK(body_has(r, "\"scopes_supported\":[\"read\",\"write\"]"));
    CHECK(body_has(r, "\"code_challenge_methods_supported\":[\"S256\"]"));
    CHECK(header_is(r, "content-type", "application/json;charset=UTF-8"));
    oap_response_free(r);
}

/* Runs the authorization request for the public client and approves it for
 * alice; writes the code. */
static int authorize_public(char *code, size_t code_len, const char *state) {
    char uri[512];
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    int ok = 0;
    snprintf(uri, sizeof uri,
             "/authorize?response_type=code&client_id=public-client&redirect_uri=%s"
             "&scope=read&state=%s&code_challenge=" CHALLENGE "&code_challenge_method=S256",
             PUBLIC_REDIRECT_ENC, state);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    if (auth != NULL) {
        oap_response *approved = NULL;
        char got_state[64], iss[64];
        CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/authorize/consent"), S("alice"),
                                          S(NULL), &approved),
                     OAP_STATUS_OK);
        CHECK(oap_response_status(approved) == 302);
        CHECK(header_is(approved, "Cache-Control", "no-store"));
        ok = location_param(approved, "code", code, code_len);
        CHECK(ok);
        CHECK(location_param(approved, "state", got_state, sizeof got_state) &&
              strcmp(got_state, state) == 0);
        CHECK(location_param(approved, "iss", iss, sizeof iss) &&
              strcmp(iss, "https://as.example") == 0);
        oap_response_free(approved);
    }
    oap_authorization_free(auth);
    oap_response_free(r);
    return ok;
}

static void test_authorization_code_with_pkce(void) {
    char uri[512], code[128], body[512], access[128], refresh[128];
    char challenge[OAP_S256_CHALLENGE_LEN];
    size_t n = 0;
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;

    /* The client derives its challenge (RFC 7636 appendix B). */
    CHECK_STATUS(oap_pkce_s256_challenge(S(VERIFIER), challenge, sizeof challenge, &n), OAP_STATUS_OK);
    CHECK(n == OAP_S256_CHALLENGE_LEN && memcmp(challenge, CHALLENGE, n) == 0);

    /* Phase 1: validation, and what the consent page shows. */
    snprintf(uri, sizeof uri,
             "/authorize?response_type=code&client_id=public-client&redirect_uri=%s"
             "&scope=read&state=xyz&code_challenge=%.*s&code_challenge_method=S256",
             PUBLIC_REDIRECT_ENC, (int)n, challenge);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    CHECK(str_is(oap_authorization_client_id(auth), "public-client"));
    CHECK(str_is(oap_authorization_redirect_uri(auth), PUBLIC_REDIRECT));
    CHECK(str_is(oap_authorization_scopes(auth), "read"));
    CHECK(str_is(oap_authorization_state(auth), "xyz"));
    CHECK(str_is(oap_authorization_response_type(auth), "code"));
    CHECK(str_is(oap_authorization_code_challenge(auth), CHALLENGE));
    CHECK(oap_authorization_code_challenge_method(auth) == OAP_PKCE_S256);

    /* Refusal: access_denied goes back to the client with its state. */
    {
        oap_response *denied = NULL;
        char error[64], state[64];
        CHECK_STATUS(oap_server_deny(server, auth, &denied), OAP_STATUS_OK);
        CHECK(oap_response_status(denied) == 302);
        CHECK(location_param(denied, "error", error, sizeof error) &&
              strcmp(error, "access_denied") == 0);
        CHECK(location_param(denied, "state", state, sizeof state) && strcmp(state, "xyz") == 0);
        oap_response_free(denied);
    }
    oap_authorization_free(auth);

    /* Phase 2 and the token request. */
    CHECK(authorize_public(code, sizeof code, "abc"));
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=%s"
             "&client_id=public-client&code_verifier=" VERIFIER,
             code, PUBLIC_REDIRECT_ENC);
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 200);
    CHECK(header_is(r, "Cache-Control", "no-store"));
    CHECK(header_is(r, "Pragma", "no-cache"));
    CHECK(body_has(r, "\"token_type\":\"Bearer\""));
    CHECK(body_has(r, "\"scope\":\"read\""));
    CHECK(json_field(r, "access_token", access, sizeof access) && strlen(access) == OAP_TOKEN_LEN);
    CHECK(json_field(r, "refresh_token", refresh, sizeof refresh));
    oap_response_free(r);
    CHECK(resource_status(access, "read") == 1);

    /* Replaying the code: invalid_grant, and the grant it started is revoked. */
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);
    CHECK(resource_status(access, "read") == 401);

    /* A wrong verifier fails (on a fresh code). */
    CHECK(authorize_public(code, sizeof code, "def"));
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=%s"
             "&client_id=public-client&code_verifier=%s",
             code, PUBLIC_REDIRECT_ENC, "wrong-verifier-wrong-verifier-wrong-verifier-0");
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);

    /* Missing PKCE for a public client: redirected invalid_request. */
    auth = NULL;
    r = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server,
                     get(&t, "/authorize?response_type=code&client_id=public-client&state=s1"),
                     &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth == NULL && r != NULL);
    CHECK(oap_response_status(r) == 302);
    {
        char error[64], desc[128];
        CHECK(location_param(r, "error", error, sizeof error) && strcmp(error, "invalid_request") == 0);
        CHECK(location_param(r, "error_description", desc, sizeof desc) &&
              strcmp(desc, "code challenge required") == 0);
    }
    oap_response_free(r);

    /* Unknown client: a fatal error, never redirected. */
    auth = NULL;
    r = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server, get(&t, "/authorize?response_type=code&client_id=nobody"), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth == NULL && r != NULL);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_request\""));
    CHECK(oap_response_header_value(r, S("Location"), &(oap_str){0}) == OAP_STATUS_NOT_FOUND);
    oap_response_free(r);
}

static void test_client_credentials_basic(void) {
    oap_response *r = token_request("grant_type=client_credentials", "conf-client", "conf-secret");
    char access[128];
    size_t i, count;
    int has_content_type = 0;
    CHECK(oap_response_status(r) == 200);
    CHECK(body_has(r, "\"scope\":\"read\"")); /* the client's default */
    CHECK(body_has(r, "\"expires_in\":3600"));
    CHECK(!body_has(r, "refresh_token"));
    CHECK(json_field(r, "access_token", access, sizeof access));
    count = oap_response_header_count(r);
    for (i = 0; i < count; i++) {
        oap_str name, value;
        CHECK_STATUS(oap_response_header(r, i, &name, &value), OAP_STATUS_OK);
        if (str_is(name, "Content-Type")) has_content_type = str_is(value, "application/json;charset=UTF-8");
    }
    CHECK(has_content_type);
    {
        oap_str name = S("unchanged"), value = S("unchanged");
        CHECK_STATUS(oap_response_header(r, count, &name, &value), OAP_STATUS_NOT_FOUND);
        CHECK(str_is(name, "unchanged") && str_is(value, "unchanged")); /* not written on failure */
    }
    oap_response_free(r);
    CHECK(resource_status(access, "read") == 1);
    CHECK(resource_status(access, "write") == 403);

    /* A client whose secret is stored as a SHA-256 digest. */
    r = token_request("grant_type=client_credentials&scope=read", "hashed-client", "hashed-secret");
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);
    r = token_request("grant_type=client_credentials&scope=read", "hashed-client", "hashed-secreT");
    CHECK(oap_response_status(r) == 401);
    oap_response_free(r);

    /* A scope the client may not have. */
    r = token_request("grant_type=client_credentials&scope=admin", "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_scope\""));
    oap_response_free(r);

    /* The password grant is off by default. */
    r = token_request("grant_type=password&username=alice&password=x", "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"unsupported_grant_type\""));
    oap_response_free(r);
}

/* Code flow for the confidential client; writes access and refresh tokens. */
static void confidential_tokens(char *access, char *refresh, size_t len) {
    char uri[256], code[128], body[512];
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL, *approved = NULL;
    snprintf(uri, sizeof uri, "/authorize?response_type=code&client_id=conf-client&scope=read+write");
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL);
    CHECK(str_is(oap_authorization_redirect_uri(auth), CONF_REDIRECT)); /* the only registered one */
    CHECK(oap_authorization_state(auth).ptr == NULL);
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("bob"), S("read write"),
                                      &approved),
                 OAP_STATUS_OK);
    CHECK(location_param(approved, "code", code, sizeof code));
    oap_response_free(approved);
    oap_authorization_free(auth);
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", code);
    r = token_request(body, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, len));
    CHECK(json_field(r, "refresh_token", refresh, len));
    oap_response_free(r);
}

static void test_refresh_rotation(void) {
    char access[128], refresh[128], access2[128], refresh2[128], body[256];
    oap_response *r;
    confidential_tokens(access, refresh, sizeof access);

    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s&scope=read", refresh);
    r = token_request(body, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access2, sizeof access2));
    CHECK(json_field(r, "refresh_token", refresh2, sizeof refresh2));
    CHECK(strcmp(refresh, refresh2) != 0); /* rotated */
    CHECK(body_has(r, "\"scope\":\"read\""));
    oap_response_free(r);
    CHECK(resource_status(access2, "read") == 1);
    CHECK(resource_status(access2, "write") == 403); /* narrowed */
    CHECK(memstore_calls(store, "consume_and_save") >= 1); /* rotated and saved in one */

    /* The rotated-out token again: reuse, so the whole grant is revoked. */
    r = token_request(body, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);
    CHECK(resource_status(access2, "read") == 401);
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s", refresh2);
    r = token_request(body, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 400);
    oap_response_free(r);
}

static void test_revocation_and_introspection(void) {
    char access[128], refresh[128], body[256];
    oap_response *r = NULL;
    test_request t;
    confidential_tokens(access, refresh, sizeof access);

    /* Introspection by the resource server's client. */
    snprintf(body, sizeof body, "token=%s", access);
    CHECK_STATUS(oap_server_introspection_response(server, post(&t, "/introspect", body, "rs-client", "rs-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(body_has(r, "\"active\":true"));
    CHECK(body_has(r, "\"client_id\":\"conf-client\""));
    CHECK(body_has(r, "\"scope\":\"read write\""));
    CHECK(body_has(r, "\"username\":\"bob\""));
    CHECK(body_has(r, "\"iss\":\"https://as.example\""));
    oap_response_free(r);

    /* A client not allowed to introspect. */
    CHECK_STATUS(oap_server_introspection_response(server, post(&t, "/introspect", body, "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"unauthorized_client\""));
    oap_response_free(r);

    /* Another client may not revoke conf-client's token. */
    CHECK_STATUS(oap_server_revocation_response(server, post(&t, "/revoke", body, "rs-client", "rs-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 400);
    oap_response_free(r);
    CHECK(resource_status(access, "read") == 1);

    /* Its owner may; refresh token revocation takes the grant with it. */
    snprintf(body, sizeof body, "token=%s&token_type_hint=refresh_token", refresh);
    CHECK_STATUS(oap_server_revocation_response(server, post(&t, "/revoke", body, "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(oap_response_body(r).len == 0);
    oap_response_free(r);
    CHECK(resource_status(access, "read") == 401);

    snprintf(body, sizeof body, "token=%s", access);
    CHECK_STATUS(oap_server_introspection_response(server, post(&t, "/introspect", body, "rs-client", "rs-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(body_has(r, "{\"active\":false}"));
    oap_response_free(r);

    /* Unknown tokens: 200 (RFC 7009 §2.2). */
    CHECK_STATUS(oap_server_revocation_response(server, post(&t, "/revoke", "token=unknown", "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);
}

static void test_resource(void) {
    test_request t;
    oap_token *granted = NULL;
    oap_response *denied = NULL;
    oap_str scopes[2];
    char access[128];
    oap_response *r = token_request("grant_type=client_credentials&scope=read+write", "conf-client",
                                    "conf-secret");
    CHECK(json_field(r, "access_token", access, sizeof access));
    oap_response_free(r);

    scopes[0] = S("read");
    scopes[1] = S("write");
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", access), scopes, 2, &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(granted != NULL && denied == NULL);
    CHECK(str_is(oap_token_client_id(granted), "conf-client"));
    CHECK(str_is(oap_token_scopes(granted), "read write"));
    CHECK(oap_token_has_scope(granted, S("write")));
    CHECK(!oap_token_has_scope(granted, S("admin")));
    CHECK(oap_token_username(granted).ptr == NULL); /* client credentials: no user */
    CHECK(oap_token_token_type(granted) == OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK(oap_token_exp(granted) > oap_token_iat(granted));
    CHECK(oap_token_aud_count(granted) == 0 && oap_token_aud(granted, 0).ptr == NULL);
    oap_token_free(granted);

    /* No token at all: 401 with a bare challenge naming the scope. */
    granted = NULL;
    CHECK_STATUS(oap_server_verify_bearer(server, get(&t, "/api"), scopes, 1, &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(granted == NULL && denied != NULL);
    CHECK(oap_response_status(denied) == 401);
    CHECK(header_is(denied, "WWW-Authenticate", "Bearer realm=\"oauth2\", scope=\"read\""));
    oap_response_free(denied);

    /* An unknown token: 401 invalid_token. */
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", "nope"), NULL, 0, &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(denied) == 401);
    CHECK(body_has(denied, "\"error\":\"invalid_token\""));
    oap_response_free(denied);
}

static void test_approval_edge_cases(void) {
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    char error[64];
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server, get(&t, "/authorize?response_type=code&client_id=conf-client&scope=read&state=q"),
                     &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL);
    /* Approving more than was asked for. */
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("bob"), S("read write"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 302);
    CHECK(location_param(r, "error", error, sizeof error) && strcmp(error, "invalid_scope") == 0);
    oap_response_free(r);
    /* Malformed scopes, absent user: refused before anything happens. */
    r = (oap_response *)&t;
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("bob"), S("bad\"quote"), &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK(r == (oap_response *)&t);
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S(NULL), S(NULL), &r),
                 OAP_STATUS_NULL_PARAMETER);
    /* Storage failing while saving the code: server_error, redirected. */
    memstore_force(store, "save_authorization_code", OAP_CB_ERROR);
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("bob"), S(NULL), &r),
                 OAP_STATUS_OK);
    memstore_force(store, NULL, OAP_CB_TRUE);
    CHECK(oap_response_status(r) == 302);
    CHECK(location_param(r, "error", error, sizeof error) && strcmp(error, "server_error") == 0);
    oap_response_free(r);
    oap_authorization_free(auth);
}

/* Several threads share one server. */
static void *worker(void *arg) {
    int i, *ok = (int *)arg;
    for (i = 0; i < 25; i++) {
        test_request t;
        oap_response *r = NULL;
        if (oap_server_token_response(server, post(&t, "/token", "grant_type=client_credentials",
                                                   "conf-client", "conf-secret"),
                                      &r) == OAP_STATUS_OK &&
            oap_response_status(r) == 200)
            (*ok)++;
        oap_response_free(r);
    }
    return NULL;
}

static void test_concurrent_requests(void) {
    pthread_t threads[4];
    int ok[4] = {0, 0, 0, 0}, i;
    for (i = 0; i < 4; i++) CHECK(pthread_create(&threads[i], NULL, worker, &ok[i]) == 0);
    for (i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(ok[i] == 25);
    }
}

/* validate_code hands the challenge back in oap_code_info: the library
 * checks the verifier against it and calls neither challenge callback. */
static void test_challenge_in_code_info(void) {
    char code[128], body[512];
    unsigned challenge_calls = memstore_calls(store, "get_code_challenge");
    unsigned method_calls = memstore_calls(store, "get_code_challenge_method");
    oap_response *r;
    memstore_challenge_in_code_info(store, true);

    CHECK(authorize_public(code, sizeof code, "in-info"));
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=%s"
             "&client_id=public-client&code_verifier=%s",
             code, PUBLIC_REDIRECT_ENC, CHALLENGE); /* the challenge as a plain verifier */
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);

    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=%s"
             "&client_id=public-client&code_verifier=" VERIFIER,
             code, PUBLIC_REDIRECT_ENC);
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);

    CHECK(memstore_calls(store, "get_code_challenge") == challenge_calls);
    CHECK(memstore_calls(store, "get_code_challenge_method") == method_calls);
    memstore_challenge_in_code_info(store, false);
}

/* A replayed public-client code, reported with its challenge through
 * oap_ctx_set_code_used_pkce: without the verifier (or with a wrong one)
 * the replay revokes nothing, since anyone may have seen the code in a URL;
 * with it, the grant is revoked. The challenge callbacks are never asked. */
static void test_used_code_with_its_challenge(void) {
    char code[128], body[512], access[128];
    unsigned challenge_calls, method_calls, revocations;
    const char *replays[] = {"", "&code_verifier=" CHALLENGE}; /* none; a wrong one */
    oap_response *r;
    size_t i;
    memstore_challenge_in_code_info(store, true);
    challenge_calls = memstore_calls(store, "get_code_challenge");
    method_calls = memstore_calls(store, "get_code_challenge_method");
    revocations = memstore_calls(store, "revoke_grant");

    CHECK(authorize_public(code, sizeof code, "used-pkce"));
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=%s"
             "&client_id=public-client&code_verifier=" VERIFIER,
             code, PUBLIC_REDIRECT_ENC);
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, sizeof access));
    oap_response_free(r);
    CHECK(resource_status(access, "read") == 1);

    for (i = 0; i < sizeof replays / sizeof replays[0]; i++) {
        snprintf(body, sizeof body,
                 "grant_type=authorization_code&code=%s&redirect_uri=%s"
                 "&client_id=public-client%s",
                 code, PUBLIC_REDIRECT_ENC, replays[i]);
        r = token_request(body, NULL, NULL);
        CHECK(oap_response_status(r) == 400);
        CHECK(body_has(r, "\"error\":\"invalid_grant\""));
        oap_response_free(r);
        CHECK(memstore_calls(store, "revoke_grant") == revocations);
        CHECK(resource_status(access, "read") == 1);
    }

    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&redirect_uri=%s"
             "&client_id=public-client&code_verifier=" VERIFIER,
             code, PUBLIC_REDIRECT_ENC);
    r = token_request(body, NULL, NULL);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);
    CHECK(memstore_calls(store, "revoke_grant") == revocations + 1);
    CHECK(resource_status(access, "read") == 401);

    CHECK(memstore_calls(store, "get_code_challenge") == challenge_calls);
    CHECK(memstore_calls(store, "get_code_challenge_method") == method_calls);
    memstore_challenge_in_code_info(store, false);
}

/* A save that loses a race: before it stores the tokens, a concurrent
 * request (a replayed code, a reused refresh token) revokes their grant.
 * The store must refuse them, and the client gets invalid_grant, not
 * tokens of a revoked grant: in the two steps of a store without
 * consume_and_save (save_bearer_token answers OAP_CB_FALSE, read as "the
 * grant ended") and in consume_and_save (OAP_CB_FALSE, spending nothing). */
static oap_validator racing_table;

static oap_cb_result revoked_before_save(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    CHECK(token->grant_id.ptr != NULL);
    CHECK(token->new_grant == 0); /* the code's grant, known to the store */
    CHECK(racing_table.revoke_grant(ud, token->grant_id, ctx) == OAP_CB_TRUE);
    return racing_table.save_bearer_token(ud, token, ctx);
}

static oap_cb_result revoked_before_consume(void *ud, const oap_consumed *consumed,
                                            const oap_issued_token *token, oap_ctx *ctx) {
    CHECK(consumed->kind == OAP_CONSUMED_AUTHORIZATION_CODE);
    CHECK(str_is(consumed->client_id, "conf-client"));
    CHECK(token->grant_id.ptr != NULL && token->new_grant == 0);
    CHECK(racing_table.revoke_grant(ud, token->grant_id, ctx) == OAP_CB_TRUE);
    return racing_table.consume_and_save(ud, consumed, token, ctx);
}

static void exchange_after_a_revocation(int in_one_step) {
    oap_config config = oap_config_default();
    oap_server *other = NULL;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    oap_validator v;
    test_request t;
    char code[128], body[256];

    config.issuer = S("https://as.example");
    racing_table = memstore_validator(store);
    v = racing_table;
    if (in_one_step) {
        v.consume_and_save = revoked_before_consume;
    } else {
        v.consume_and_save = NULL;
        v.save_bearer_token = revoked_before_save;
    }
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_OK);
    CHECK_STATUS(oap_server_validate_authorization_request(
                     other, get(&t, "/authorize?response_type=code&client_id=conf-client&scope=read"), &auth, &r),
                 OAP_STATUS_OK);
    CHECK_STATUS(oap_server_authorize(other, auth, get(&t, "/consent"), S("alice"), S(NULL), &r), OAP_STATUS_OK);
    CHECK(location_param(r, "code", code, sizeof code));
    oap_response_free(r);
    oap_authorization_free(auth);

    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", code);
    CHECK_STATUS(oap_server_token_response(other, post(&t, "/token", body, "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    CHECK(in_one_step || body_has(r, "revoked"));
    CHECK(!body_has(r, "access_token"));
    oap_response_free(r);
    oap_server_free(other);
}

static void test_tokens_of_a_grant_revoked_meanwhile_are_refused(void) {
    exchange_after_a_revocation(0);
    exchange_after_a_revocation(1);
}

/* new_grant: a token that starts a grant (a password grant's first refresh
 * token) says so, and the store records the grant; one that continues a
 * grant the store no longer knows (it ended while the request was served)
 * is refused, like one of a revoked grant, with invalid_grant. */
static oap_validator grant_table;
static int last_new_grant = -1;

static oap_cb_result recording_save(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    last_new_grant = token->new_grant;
    return grant_table.save_bearer_token(ud, token, ctx);
}

/* "forgotten-refresh" is a valid refresh token of a grant the store has no
 * record of; every other token is looked up in the store. */
static oap_cb_result forgotten_refresh(void *ud, oap_str refresh_token, oap_str client_id, oap_ctx *ctx) {
    oap_refresh_token_info info;
    if (!str_is(refresh_token, "forgotten-refresh"))
        return grant_table.validate_refresh_token(ud, refresh_token, client_id, ctx);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.client_id = S("refresh-client");
    info.user = S("alice");
    info.scopes = S("read");
    info.grant_id = S("forgotten-grant");
    return oap_ctx_set_refresh_token(ctx, &info) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

static oap_cb_result no_rotation(void *ud, oap_ctx *ctx) {
    (void)ud;
    (void)ctx;
    return OAP_CB_FALSE;
}

static void test_saves_of_unknown_grants_are_refused(void) {
    oap_config config = oap_config_default();
    oap_server *other = NULL;
    oap_response *r = NULL;
    oap_validator v;
    test_request t;
    char refresh[128], body[256];
    unsigned saves;

    config.issuer = S("https://as.example");
    config.grants |= OAP_GRANT_PASSWORD;
    grant_table = memstore_validator(store);
    v = grant_table;
    v.save_bearer_token = recording_save;
    v.validate_refresh_token = forgotten_refresh;
    v.rotate_refresh_token = no_rotation;
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_OK);

    /* A password grant starts a grant: new_grant 1, recorded. */
    CHECK_STATUS(oap_server_token_response(
                     other, post(&t, "/token", "grant_type=password&username=alice&password=pw&scope=read",
                                 "refresh-client", "refresh-secret"),
                     &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(last_new_grant == 1);
    CHECK(json_field(r, "refresh_token", refresh, sizeof refresh));
    oap_response_free(r);

    /* A refresh continues it: new_grant 0, and the store knows the grant. */
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s", refresh);
    CHECK_STATUS(oap_server_token_response(other, post(&t, "/token", body, "refresh-client", "refresh-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(last_new_grant == 0);
    oap_response_free(r);

    /* A refresh of a grant the store does not know: refused at the save. */
    saves = memstore_calls(store, "save_bearer_token");
    last_new_grant = -1;
    CHECK_STATUS(oap_server_token_response(
                     other, post(&t, "/token", "grant_type=refresh_token&refresh_token=forgotten-refresh",
                                 "refresh-client", "refresh-secret"),
                     &r),
                 OAP_STATUS_OK);
    CHECK(last_new_grant == 0);
    CHECK(memstore_calls(store, "save_bearer_token") == saves + 1);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    CHECK(!body_has(r, "access_token"));
    oap_response_free(r);
    oap_server_free(other);
}

int main(void) {
    setup();
    test_metadata();
    test_authorization_code_with_pkce();
    test_challenge_in_code_info();
    test_used_code_with_its_challenge();
    test_client_credentials_basic();
    test_refresh_rotation();
    test_revocation_and_introspection();
    test_resource();
    test_approval_edge_cases();
    test_concurrent_requests();
    test_tokens_of_a_grant_revoked_meanwhile_are_refused();
    test_saves_of_unknown_grants_are_refused();
    teardown();
    return report();
}
