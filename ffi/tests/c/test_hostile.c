/*
 * Hostile and broken input through the C ABI: NULL pointers, invalid
 * UTF-8, bad struct sizes, wrong secrets, callbacks that fail, lie or are
 * missing, plus the pure helpers' edge cases.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stdint.h>
#include <time.h>

#include "memstore.h"
#include "testutil.h"

static memstore *store;

#define REDIRECT "https://client.example.com/cb"

static oap_server *new_server(const oap_validator *validator) {
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *server = NULL;
    CHECK_STATUS(oap_server_new(&config, validator, &server), OAP_STATUS_OK);
    return server;
}

static oap_response *cc_request(oap_server *server, const char *id, const char *secret) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", "grant_type=client_credentials", id, secret), &r),
                 OAP_STATUS_OK);
    return r;
}

static void test_null_arguments(void) {
    oap_validator v = memstore_validator(store);
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *server = new_server(&v);
    oap_server *untouched = (oap_server *)&config; /* must not be overwritten */
    oap_response *r = (oap_response *)&config;
    oap_token *tok = (oap_token *)&config;
    oap_authorization *auth = (oap_authorization *)&config;
    test_request t;
    oap_str s;
    bool b = true;
    size_t n = 99;
    uint64_t now = 7;

    CHECK_STATUS(oap_server_new(NULL, &v, &untouched), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_new(&config, NULL, &untouched), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_new(&config, &v, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK(untouched == (oap_server *)&config);

    CHECK_STATUS(oap_server_token_response(NULL, post(&t, "/token", "", NULL, NULL), &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_token_response(server, NULL, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", "", NULL, NULL), NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_revocation_response(server, NULL, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_introspection_response(NULL, NULL, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_metadata_response(NULL, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_metadata_response(server, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer(server, get(&t, "/"), NULL, 0, NULL, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer(server, get(&t, "/"), NULL, 3, &tok, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_validate_authorization_request(server, NULL, &auth, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, "/"), NULL, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_authorize(server, NULL, get(&t, "/"), S("alice"), S(NULL), &r), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_deny(server, NULL, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK(r == (oap_response *)&config && tok == (oap_token *)&config && auth == (oap_authorization *)&config);

    /* Accessors answer a neutral value. */
    CHECK(oap_response_status(NULL) == 0);
    CHECK(oap_response_header_count(NULL) == 0);
    CHECK(oap_response_body(NULL).ptr == NULL && oap_response_body(NULL).len == 0);
    CHECK_STATUS(oap_response_header(NULL, 0, &s, &s), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_response_header_value(NULL, S("a"), &s), OAP_STATUS_NULL_PARAMETER);
    CHECK(oap_authorization_client_id(NULL).ptr == NULL);
    CHECK(oap_authorization_state(NULL).ptr == NULL);
    CHECK(oap_authorization_code_challenge_method(NULL) == OAP_PKCE_NONE);
    CHECK(oap_token_client_id(NULL).ptr == NULL);
    CHECK(!oap_token_has_scope(NULL, S("read")));
    CHECK(oap_token_exp(NULL) == 0 && oap_token_aud_count(NULL) == 0);
    CHECK(oap_str_from_cstr(NULL).ptr == NULL);

    /* Context functions with no context. */
    CHECK_STATUS(oap_ctx_set_user(NULL, S("alice")), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_ctx_set_client(NULL, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_ctx_header(NULL, S("Host"), &s), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_ctx_now(NULL, &now), OAP_STATUS_NULL_PARAMETER);
    CHECK(now == 7);

    /* Helpers. */
    CHECK_STATUS(oap_constant_time_eq(oap_response_body(NULL), oap_response_body(NULL), NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_pkce_verify(S(NULL), S("x"), OAP_PKCE_S256, &b), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_generate_token(NULL, 64, &n), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_parse_bearer(S("Bearer x"), NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_form_parse(oap_response_body(NULL), NULL, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK(b == true && n == 99);

    /* Frees of NULL do nothing. */
    oap_response_free(NULL);
    oap_token_free(NULL);
    oap_authorization_free(NULL);
    oap_server_free(NULL);
    oap_server_free(server);
}

static void test_bad_structs(void) {
    oap_validator v = memstore_validator(store);
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *server = NULL;

    config.struct_size = 0;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_STRUCT_TOO_SMALL);
    config = oap_config_default();
    config.issuer = S("https://as.example");
    v.struct_size = sizeof(size_t);
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_STRUCT_TOO_SMALL);
    v = memstore_validator(store);
    config.access_token_lifetime = 0;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_INVALID_PARAMETER);
    config = oap_config_default();
    config.issuer = S("https://as.example");
    config.issuer.ptr = "\xff\xfe";
    config.issuer.len = 2;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_INVALID_UTF8);
    config = oap_config_default();
    config.issuer = S("https://as.example");
    config.realm.ptr = NULL;
    config.realm.len = 5; /* a broken view, not "absent" */
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_NULL_PARAMETER);
    config.realm.len = 0; /* absent: the default realm */
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    CHECK(server != NULL);
    oap_server_free(server);
}

/* RFC 9207, RFC 8414: an authorization server always has an absolute
 * issuer; a resource server (no grant) needs none and serves no
 * authorization endpoint or metadata. */
static void test_issuer_is_required(void) {
    static const char *const not_issuers[] = {
        "as.example", "https://", "https://as.example?x=1", "https://as.example#f",
        "http://as.example", "https://user@as.example", "ftp://as.example",
    };
    oap_validator v = memstore_validator(store);
    oap_config config = oap_config_default();
    oap_server *server = NULL;
    oap_response *r = NULL;
    size_t i;

    CHECK(config.issuer.len == 0);
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_INVALID_PARAMETER);
    CHECK(server == NULL);
    for (i = 0; i < sizeof not_issuers / sizeof not_issuers[0]; i++) {
        config.issuer = S(not_issuers[i]);
        CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_INVALID_PARAMETER);
        CHECK(server == NULL);
    }
    config.issuer = S("http://127.0.0.1:8080");
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    oap_server_free(server);
    server = NULL;

    config = oap_config_default();
    config.grants = 0;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 404);
    oap_response_free(r);
    oap_server_free(server);
}

static void test_bad_requests(oap_server *server) {
    test_request t;
    oap_response *r = NULL;
    int i;
    char names[30][16];

    /* Invalid UTF-8 in a header value, the method, the URI. */
    post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
    add_header(&t, "X-Bad", "\xc3\x28");
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_UTF8);
    post(&t, "/token", "grant_type=client_credentials", NULL, NULL);
    t.req.method.ptr = "P\xffST";
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_UTF8);
    get(&t, "/x");
    t.req.uri.ptr = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(server, &t.req, (oap_authorization **)&r, &r),
                 OAP_STATUS_NULL_PARAMETER);
    post(&t, "/token", "grant_type=client_credentials", NULL, NULL);
    t.req.body.ptr = NULL; /* len stays non-zero */
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_NULL_PARAMETER);
    post(&t, "/token", "", NULL, NULL);
    t.req.headers = NULL; /* headers_len is 1 */
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_NULL_PARAMETER);
    CHECK(r == NULL);

    /* Invalid UTF-8 in the body is the protocol's business: a 400. */
    post(&t, "/token", "grant_type=client_credentials&scope=%ff", "conf-client", "conf-secret");
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_request\""));
    oap_response_free(r);

    /* Many headers (more than the library keeps on its stack). */
    post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
    for (i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "X-Extra-%d", i);
        add_header(&t, names[i], "v");
    }
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);

    /* A GET to the token endpoint. */
    get(&t, "/token?grant_type=client_credentials");
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 405);
    oap_response_free(r);
}

static void test_wrong_secret(oap_server *server) {
    oap_response *r = cc_request(server, "conf-client", "wrong-secret");
    CHECK(oap_response_status(r) == 401);
    CHECK(body_has(r, "\"error\":\"invalid_client\""));
    CHECK(header_is(r, "WWW-Authenticate", "Basic realm=\"oauth2\", charset=\"UTF-8\""));
    oap_response_free(r);
    r = cc_request(server, "nobody", "conf-secret");
    CHECK(oap_response_status(r) == 401);
    CHECK(body_has(r, "\"error\":\"invalid_client\""));
    oap_response_free(r);
}

static void test_failing_callbacks(oap_server *server) {
    oap_response *r;
    static const oap_cb_result answers[] = {OAP_CB_ERROR, 42};
    size_t i;
    for (i = 0; i < 2; i++) {
        memstore_force(store, "find_client", answers[i]);
        r = cc_request(server, "conf-client", "conf-secret");
        CHECK(oap_response_status(r) == 500);
        CHECK(body_has(r, "\"error\":\"server_error\""));
        CHECK(body_has(r, "find_client"));
        oap_response_free(r);
    }
    memstore_force(store, "save_bearer_token", OAP_CB_ERROR);
    r = cc_request(server, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 500);
    CHECK(!body_has(r, "access_token"));
    oap_response_free(r);
    /* save_bearer_token answering FALSE: the grant was revoked meanwhile. */
    memstore_force(store, "save_bearer_token", OAP_CB_FALSE);
    r = cc_request(server, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    CHECK(!body_has(r, "access_token"));
    oap_response_free(r);
    /* Any other "done" callback answering FALSE is a failure. */
    {
        test_request t;
        char token[128], body[160];
        memstore_force(store, NULL, OAP_CB_TRUE);
        r = cc_request(server, "conf-client", "conf-secret");
        CHECK(json_field(r, "access_token", token, sizeof token));
        oap_response_free(r);
        snprintf(body, sizeof body, "token=%s", token);
        memstore_force(store, "revoke_token", OAP_CB_FALSE);
        CHECK_STATUS(oap_server_revocation_response(
                         server, post(&t, "/revoke", body, "conf-client", "conf-secret"), &r),
                     OAP_STATUS_OK);
    }
    CHECK(oap_response_status(r) == 500);
    CHECK(body_has(r, "revoke_token"));
    oap_response_free(r);
    memstore_force(store, NULL, OAP_CB_TRUE);
    r = cc_request(server, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);
}

/* Callbacks that misbehave in other ways. */
static oap_status last_setter_status;

static oap_cb_result claims_but_sets_nothing(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud; (void)id; (void)ctx;
    return OAP_CB_TRUE;
}

static oap_cb_result sets_the_wrong_value(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud;
    last_setter_status = oap_ctx_set_user(ctx, id);
    return OAP_CB_TRUE;
}

static oap_cb_result returns_another_client(void *ud, oap_str id, oap_ctx *ctx) {
    oap_client c;
    (void)ud; (void)id;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.client_id = S("someone-else");
    c.secret_kind = OAP_SECRET_PLAIN;
    c.secret = S("conf-secret");
    c.confidential = 1;
    c.grants = OAP_GRANT_ALL;
    oap_ctx_set_client(ctx, &c);
    return OAP_CB_TRUE;
}

static oap_cb_result bad_digest(void *ud, oap_str id, oap_ctx *ctx) {
    oap_client c;
    (void)ud;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.client_id = id;
    c.secret_kind = OAP_SECRET_SHA256_HEX;
    c.secret = S("not-hex");
    c.confidential = 1;
    c.grants = OAP_GRANT_ALL;
    last_setter_status = oap_ctx_set_client(ctx, &c);
    return OAP_CB_TRUE;
}

static oap_cb_result reads_the_request(void *ud, oap_str id, oap_ctx *ctx) {
    oap_str v;
    (void)ud; (void)id;
    /* find_client runs outside a request view. */
    last_setter_status = oap_ctx_header(ctx, S("Authorization"), &v);
    return OAP_CB_FALSE;
}

static void test_misbehaving_callbacks(void) {
    oap_find_client_cb bad[] = {claims_but_sets_nothing, sets_the_wrong_value, returns_another_client, bad_digest};
    size_t i;
    oap_server *server;
    oap_response *r;
    oap_validator v;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = memstore_validator(store);
        v.find_client = bad[i];
        server = new_server(&v);
        last_setter_status = OAP_STATUS_OK;
        r = cc_request(server, "conf-client", "conf-secret");
        CHECK(oap_response_status(r) == 500);
        CHECK(body_has(r, "\"error\":\"server_error\""));
        oap_response_free(r);
        if (i == 1) CHECK(last_setter_status == OAP_STATUS_WRONG_CONTEXT);
        if (i == 3) CHECK(last_setter_status == OAP_STATUS_INVALID_PARAMETER);
        oap_server_free(server);
    }
    v = memstore_validator(store);
    v.find_client = reads_the_request;
    server = new_server(&v);
    r = cc_request(server, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 401);
    CHECK(last_setter_status == OAP_STATUS_NOT_FOUND);
    oap_response_free(r);
    oap_server_free(server);
}

/* A callback reading the request through its context. */
static char seen[512];
static uint64_t seen_now;
static oap_status find_client_now = OAP_STATUS_OK;
static oap_validator memstore_table;

static void append_seen(const char *label, oap_status status, oap_str value) {
    size_t used = strlen(seen);
    if (status == OAP_STATUS_OK)
        snprintf(seen + used, sizeof seen - used, "%s=%.*s;", label, (int)value.len, value.ptr);
    else
        snprintf(seen + used, sizeof seen - used, "%s:%u;", label, (unsigned)status);
}

static oap_cb_result inspecting_validate_scopes(void *ud, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    oap_str v;
    (void)ud;
    append_seen("client", OAP_STATUS_OK, client_id);
    append_seen("scopes", OAP_STATUS_OK, scopes);
    append_seen("method", oap_ctx_method(ctx, &v), v);
    append_seen("uri", oap_ctx_uri(ctx, &v), v);
    append_seen("ct", oap_ctx_header(ctx, S("content-type"), &v), v);
    append_seen("grant", oap_ctx_param(ctx, S("grant_type"), &v), v);
    append_seen("state", oap_ctx_param(ctx, S("state"), &v), v);
    append_seen("nonsense", oap_ctx_param(ctx, S("nonsense"), &v), v);
    append_seen("now", oap_ctx_now(ctx, &seen_now), S(""));
    append_seen("now-out", oap_ctx_now(ctx, NULL), S(""));
    /* A value validate_scopes does not take. */
    append_seen("set", oap_ctx_set_scopes(ctx, S("read")), v);
    return OAP_CB_TRUE;
}

/* find_client runs outside any request: no time either. */
static oap_cb_result timing_find_client(void *ud, oap_str client_id, oap_ctx *ctx) {
    uint64_t now;
    find_client_now = oap_ctx_now(ctx, &now);
    return memstore_table.find_client(ud, client_id, ctx);
}

static void test_context_accessors(void) {
    oap_validator v = memstore_validator(store);
    oap_server *server;
    oap_response *r;
    test_request t;
    uint64_t before = (uint64_t)time(NULL);
    memstore_table = v;
    v.validate_scopes = inspecting_validate_scopes;
    v.find_client = timing_find_client;
    server = new_server(&v);
    seen[0] = '\0';
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token?x=1", "grant_type=client_credentials&scope=read",
                                                         "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    {
        static const char expected[] =
            "client=conf-client;scopes=read;method=POST;uri=/token?x=1;"
            "ct=application/x-www-form-urlencoded;grant=client_credentials;state:6;nonsense:6;"
            "now=;now-out:1;set:11;";
        CHECK(strcmp(seen, expected) == 0);
        if (strcmp(seen, expected) != 0) fprintf(stderr, "seen: %s\n", seen);
    }
    /* The request's time is the server's clock (the system's here). */
    CHECK(seen_now >= before && seen_now <= (uint64_t)time(NULL));
    CHECK_STATUS(find_client_now, OAP_STATUS_NOT_FOUND);
    /* The setter that did not apply failed the callback: server_error. */
    CHECK(oap_response_status(r) == 500);
    oap_response_free(r);
    oap_server_free(server);
}

/* Required callbacks left NULL: server_error naming them. */
static void test_missing_required_callbacks(void) {
    oap_validator v = memstore_validator(store);
    oap_server *server;
    oap_response *r;
    test_request t;
    oap_token *tok = NULL;
    v.save_bearer_token = NULL;
    v.validate_bearer_token = NULL;
    server = new_server(&v);
    r = cc_request(server, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 500);
    CHECK(body_has(r, "save_bearer_token"));
    oap_response_free(r);
    r = NULL;
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", "some-token"), NULL, 0, &tok, &r),
                 OAP_STATUS_OK);
    CHECK(tok == NULL && oap_response_status(r) == 500);
    CHECK(body_has(r, "\"error\":\"server_error\""));
    oap_response_free(r);
    oap_server_free(server);

    /* An all-NULL table still answers every endpoint without crashing. */
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    server = new_server(&v);
    r = cc_request(server, "conf-client", "conf-secret");
    CHECK(oap_response_status(r) == 500);
    oap_response_free(r);
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);
    oap_server_free(server);
}

static oap_cb_result collect(void *user_data, oap_str name, oap_str value) {
    char *out = (char *)user_data;
    size_t used = strlen(out);
    snprintf(out + used, 256 - used, "[%.*s=%.*s]", (int)name.len, name.ptr, (int)value.len, value.ptr);
    return str_is(name, "stop") ? OAP_CB_FALSE : str_is(name, "fail") ? OAP_CB_ERROR : OAP_CB_TRUE;
}

static oap_bytes B(const char *s) {
    oap_bytes b;
    b.ptr = (const uint8_t *)s;
    b.len = strlen(s);
    return b;
}

static void test_helpers(void) {
    bool equal = false, matches = true;
    char buf[OAP_BASIC_BUFFER_LEN], token1[OAP_TOKEN_LEN], token2[OAP_TOKEN_LEN], small[10];
    char pairs[256];
    size_t n = 0;
    oap_str id, secret, bearer;

    CHECK_STATUS(oap_constant_time_eq(B("s3cret"), B("s3cret"), &equal), OAP_STATUS_OK);
    CHECK(equal);
    CHECK_STATUS(oap_constant_time_eq(B("s3cret"), B("s3cret-longer"), &equal), OAP_STATUS_OK);
    CHECK(!equal);

    CHECK_STATUS(oap_pkce_verify(S("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                                 S("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), OAP_PKCE_S256, &matches),
                 OAP_STATUS_OK);
    CHECK(matches);
    CHECK_STATUS(oap_pkce_verify(S("short"), S("short"), OAP_PKCE_PLAIN, &matches), OAP_STATUS_OK);
    CHECK(!matches); /* verifier syntax: 43 to 128 characters */
    matches = true;
    CHECK_STATUS(oap_pkce_verify(S("a"), S("b"), 7, &matches), OAP_STATUS_INVALID_PARAMETER);
    CHECK(matches); /* untouched */
    CHECK_STATUS(oap_pkce_s256_challenge(S("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), small, sizeof small, &n),
                 OAP_STATUS_BUFFER_TOO_SMALL);

    CHECK_STATUS(oap_generate_token(token1, sizeof token1, &n), OAP_STATUS_OK);
    CHECK(n == OAP_TOKEN_LEN);
    CHECK_STATUS(oap_generate_token(token2, sizeof token2, &n), OAP_STATUS_OK);
    CHECK(memcmp(token1, token2, OAP_TOKEN_LEN) != 0);
    CHECK_STATUS(oap_generate_token(small, sizeof small, &n), OAP_STATUS_BUFFER_TOO_SMALL);

    /* RFC 6749 §2.3.1's example. */
    CHECK_STATUS(oap_parse_basic(S("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"), buf, sizeof buf, &id, &secret), OAP_STATUS_OK);
    CHECK(str_is(id, "s6BhdRkqt3") && str_is(secret, "gX1fBat3bV"));
    CHECK_STATUS(oap_parse_basic(S("Basic bm9jb2xvbg=="), buf, sizeof buf, &id, &secret), OAP_STATUS_MALFORMED);
    CHECK_STATUS(oap_parse_basic(S("Bearer abc"), buf, sizeof buf, &id, &secret), OAP_STATUS_MALFORMED);
    CHECK_STATUS(oap_parse_basic(S("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"), buf, 4, &id, &secret),
                 OAP_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(oap_parse_bearer(S("Bearer mF_9.B5f-4.1JqM"), &bearer), OAP_STATUS_OK);
    CHECK(str_is(bearer, "mF_9.B5f-4.1JqM"));
    CHECK_STATUS(oap_parse_bearer(S("Bearer "), &bearer), OAP_STATUS_MALFORMED);
    CHECK_STATUS(oap_parse_bearer(S("Basic abc"), &bearer), OAP_STATUS_MALFORMED);

    pairs[0] = '\0';
    CHECK_STATUS(oap_form_parse(B("a=1&&b=x+y%21&c"), collect, pairs), OAP_STATUS_OK);
    CHECK(strcmp(pairs, "[a=1][b=x y!][c=]") == 0);
    pairs[0] = '\0';
    CHECK_STATUS(oap_form_parse(B("a=1&stop=now&b=2"), collect, pairs), OAP_STATUS_OK);
    CHECK(strcmp(pairs, "[a=1][stop=now]") == 0);
    pairs[0] = '\0';
    CHECK_STATUS(oap_form_parse(B("fail=1&b=2"), collect, pairs), OAP_STATUS_CALLBACK_FAILED);
    pairs[0] = '\0';
    CHECK_STATUS(oap_form_parse(B("a=1&b=%zz&c=3"), collect, pairs), OAP_STATUS_MALFORMED);
    CHECK(strcmp(pairs, "[a=1]") == 0);
    CHECK_STATUS(oap_form_parse(B("a=%ff"), collect, pairs), OAP_STATUS_MALFORMED);

    /* Strings that are not UTF-8. */
    CHECK_STATUS(oap_parse_bearer(S("Bearer \xff"), &bearer), OAP_STATUS_INVALID_UTF8);
    CHECK_STATUS(oap_pkce_s256_challenge(S("\xc3"), buf, sizeof buf, &n), OAP_STATUS_INVALID_UTF8);
}

static void test_status_messages(void) {
    oap_str ok = oap_status_message(OAP_STATUS_OK);
    oap_str null_param = oap_status_message(OAP_STATUS_NULL_PARAMETER);
    oap_str unknown = oap_status_message(9999);
    CHECK(str_is(ok, "success"));
    CHECK(ok.ptr[ok.len] == '\0'); /* printable with %s too */
    CHECK(str_is(null_param, "a required pointer argument is NULL"));
    CHECK(str_is(unknown, "unknown status"));
    CHECK(oap_version().len > 0);
}

/* Argument shapes a C caller can plausibly produce by mistake, each of
 * which must be an oap_status, never undefined behaviour or an abort, and
 * never a silent default. */

/* A pending authorization of conf-client asking for "read". */
static oap_authorization *pending(oap_server *server) {
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server, get(&t, "/authorize?response_type=code&client_id=conf-client&scope=read"), &auth,
                     &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    return auth;
}

/* An oap_str with a NULL ptr and a non-zero len is a caller bug (a failed
 * allocation, a forgotten assignment), not "absent": absent would silently
 * fall back to a default, here "every requested scope". */
static oap_cb_result token_info_null_scopes(void *ud, oap_str token, const oap_str *scopes, size_t scopes_len,
                                            oap_ctx *ctx) {
    oap_token_info info;
    oap_status status;
    (void)ud; (void)token; (void)scopes; (void)scopes_len;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.token_type = OAP_TOKEN_TYPE_ACCESS_TOKEN;
    info.client_id = S("conf-client");
    info.scopes.ptr = NULL;
    info.scopes.len = 4;
    status = oap_ctx_set_token_info(ctx, &info);
    CHECK_STATUS(status, OAP_STATUS_NULL_PARAMETER);
    return OAP_CB_TRUE;
}

static void test_null_ptr_with_length(oap_server *server) {
    oap_authorization *auth = pending(server);
    oap_response *r = (oap_response *)&auth; /* must stay untouched */
    oap_str broken;
    test_request t;
    oap_config config;
    oap_validator v;
    oap_server *other = NULL;
    oap_token *tok = NULL;

    broken.ptr = NULL;
    broken.len = 4;
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), broken, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK(r == (oap_response *)&auth);
    oap_authorization_free(auth);

    v = memstore_validator(store);
    config = oap_config_default();
    config.issuer = S("https://as.example");
    config.realm = broken;
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_NULL_PARAMETER);
    CHECK(other == NULL);

    /* Inside a callback: the setter fails, and so does the callback. */
    v.validate_bearer_token = token_info_null_scopes;
    config = oap_config_default();
    config.issuer = S("https://as.example");
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_OK);
    r = NULL;
    CHECK_STATUS(oap_server_verify_bearer(other, bearer_get(&t, "/api", "tok"), NULL, 0, &tok, &r), OAP_STATUS_OK);
    CHECK(tok == NULL && oap_response_status(r) == 500);
    oap_response_free(r);
    oap_server_free(other);
}

/* Lengths no object can have, e.g. (size_t)-1 meant as "NUL-terminated":
 * INVALID_PARAMETER, not a read past the buffer. */
static void test_impossible_lengths(oap_server *server) {
    char text[] = "Bearer abc";
    char buf[OAP_BASIC_BUFFER_LEN];
    oap_str huge, s, id, secret;
    oap_bytes huge_bytes;
    bool equal = true;
    test_request t;
    oap_response *r = (oap_response *)&t;
    oap_token *tok = (oap_token *)&t;
    oap_str scope = S("read");

    huge.ptr = text;
    huge.len = SIZE_MAX;
    huge_bytes.ptr = (const uint8_t *)text;
    huge_bytes.len = SIZE_MAX;
    s.ptr = NULL;
    CHECK_STATUS(oap_parse_bearer(huge, &s), OAP_STATUS_INVALID_PARAMETER);
    CHECK(s.ptr == NULL);
    CHECK_STATUS(oap_constant_time_eq(huge_bytes, huge_bytes, &equal), OAP_STATUS_INVALID_PARAMETER);
    CHECK(equal);
    CHECK_STATUS(oap_form_parse(huge_bytes, find_param, NULL), OAP_STATUS_INVALID_PARAMETER);
    huge.len = (size_t)PTRDIFF_MAX + 1;
    CHECK_STATUS(oap_pkce_verify(huge, S("x"), OAP_PKCE_S256, &equal), OAP_STATUS_INVALID_PARAMETER);

    /* A buffer "of any size". */
    CHECK_STATUS(oap_parse_basic(S("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"), buf, SIZE_MAX, &id, &secret),
                 OAP_STATUS_INVALID_PARAMETER);

    /* Request parts. */
    post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
    t.req.body.len = SIZE_MAX;
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_PARAMETER);
    post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
    t.req.uri.len = SIZE_MAX;
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_PARAMETER);
    post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
    t.req.headers_len = SIZE_MAX / 2; /* times sizeof(oap_header) overflows */
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_PARAMETER);
    CHECK(r == (oap_response *)&t);
    r = NULL;
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", "tok"), &scope, SIZE_MAX / 8, &tok, &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK(r == NULL);
}

/* An empty array's pointer is not looked at, whatever it is. */
static void test_empty_array_pointer(oap_server *server) {
    oap_header storage[2];
    test_request t;
    oap_response *r = NULL;
    post(&t, "/token", "grant_type=client_credentials", NULL, NULL);
    t.req.headers = (const oap_header *)(const void *)((const char *)storage + 1); /* misaligned */
    t.req.headers_len = 0;
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_OK);
    /* Read as "no headers": no Content-Type, so the form is refused. */
    CHECK(oap_response_status(r) == 400 && body_has(r, "\"error\":\"invalid_request\""));
    oap_response_free(r);
}

/* Decoding a Basic header in place, a common C idiom, would alias the input
 * being read: refused. */
static void test_basic_in_place(void) {
    char header[] = "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW";
    char both[64 + OAP_BASIC_BUFFER_LEN];
    oap_str id, secret;
    id.ptr = NULL;
    CHECK_STATUS(oap_parse_basic(S(header), header, sizeof header, &id, &secret), OAP_STATUS_INVALID_PARAMETER);
    CHECK(id.ptr == NULL);
    /* Overlapping from either side. */
    memcpy(both, header, sizeof header);
    CHECK_STATUS(oap_parse_basic(S(both), both + 10, sizeof both - 10, &id, &secret),
                 OAP_STATUS_INVALID_PARAMETER);
    memcpy(both + 64, header, sizeof header);
    CHECK_STATUS(oap_parse_basic(S(both + 64), both, sizeof both, &id, &secret), OAP_STATUS_INVALID_PARAMETER);
    /* Adjacent but disjoint is fine. */
    CHECK_STATUS(oap_parse_basic(S(both + 64), both, 64, &id, &secret), OAP_STATUS_OK);
    CHECK(str_is(id, "s6BhdRkqt3") && str_is(secret, "gX1fBat3bV"));
}

/* Empty strings and bodies the library hands out point to readable memory
 * (a NUL byte), so memcpy(dst, s.ptr, 0) and friends are defined in C. */
static int empty_seen, empty_readable;

static oap_cb_result check_empty_scopes(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    (void)ud; (void)ctx;
    if (token->scopes.len == 0) {
        empty_seen++;
        if (token->scopes.ptr != NULL && token->scopes.ptr[0] == '\0') empty_readable++;
    }
    return OAP_CB_TRUE;
}

static void test_empty_strings_are_readable(oap_server *server) {
    oap_authorization *auth = pending(server);
    oap_response *r = NULL;
    oap_bytes body;
    oap_validator v;
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *other = NULL;

    CHECK_STATUS(oap_server_deny(server, auth, &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 302);
    body = oap_response_body(r);
    CHECK(body.len == 0 && body.ptr != NULL && body.ptr[0] == 0);
    oap_response_free(r);
    oap_authorization_free(auth);

    v = memstore_validator(store);
    v.save_bearer_token = check_empty_scopes;
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_OK);
    r = NULL;
    {
        test_request t;
        CHECK_STATUS(oap_server_token_response(
                         other, post(&t, "/token", "grant_type=client_credentials", "any-client", "any-secret"), &r),
                     OAP_STATUS_OK);
    }
    CHECK(oap_response_status(r) == 200);
    CHECK(empty_seen == 1 && empty_readable == 1);
    oap_response_free(r);
    oap_server_free(other);
}

int main(void) {
    oap_validator v;
    oap_server *server;
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_CLIENT_CREDENTIALS, false, "read", "read");
    /* Any scope allowed, none by default: a token with empty scopes. */
    memstore_add_client(store, "any-client", "any-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, false, "", "");
    v = memstore_validator(store);
    server = new_server(&v);

    test_null_arguments();
    test_bad_structs();
    test_issuer_is_required();
    test_bad_requests(server);
    test_wrong_secret(server);
    test_failing_callbacks(server);
    test_misbehaving_callbacks();
    test_missing_required_callbacks();
    test_context_accessors();
    test_helpers();
    test_status_messages();
    test_null_ptr_with_length(server);
    test_empty_array_pointer(server);
    test_basic_in_place();
    test_empty_strings_are_readable(server);
    test_impossible_lengths(server);

    oap_server_free(server);
    memstore_free(store);
    return report();
}
