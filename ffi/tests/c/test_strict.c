/*
 * What the C ABI refuses or reads strictly (issue 12, "The C ABI" and
 * finding 2): yes/no fields read as integers, a client with a secret is
 * confidential whatever its flag says, values that cannot be meant are
 * OAP_STATUS_INVALID_PARAMETER.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stddef.h>
#include <stdint.h>

#include "memstore.h"
#include "testutil.h"

#define REDIRECT "https://client.example.com/cb"
#define REDIRECT_ENC "https%3A%2F%2Fclient.example.com%2Fcb"
/* RFC 7636 appendix B. */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static memstore *store;

/* The client every find_client below hands back, described by the test. */
static oap_client described;
static oap_str described_uris[1];

/* The defaults, with the issuer every authorization server needs. */
static oap_config config_with_issuer(void) {
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    return config;
}

static void describe(const char *id, const char *secret, uint32_t grants) {
    /* Zero-initialised, as most C code does it: confidential stays 0. */
    memset(&described, 0, sizeof described);
    described.struct_size = sizeof described;
    described.client_id = S(id);
    described.secret_kind = secret ? OAP_SECRET_PLAIN : OAP_SECRET_NONE;
    described.secret = S(secret);
    described_uris[0] = S(REDIRECT);
    described.redirect_uris = described_uris;
    described.redirect_uris_len = 1;
    described.grants = grants;
}

static oap_cb_result find_described(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud;
    if (!str_is(id, "svc")) return OAP_CB_FALSE;
    return oap_ctx_set_client(ctx, &described) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

static oap_server *new_server(oap_config *config) {
    oap_validator v = memstore_validator(store);
    oap_server *server = NULL;
    v.find_client = find_described;
    CHECK_STATUS(oap_server_new(config, &v, &server), OAP_STATUS_OK);
    return server;
}

static oap_response *token_request(oap_server *server, const char *body, const char *id, const char *secret) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, id, secret), &r), OAP_STATUS_OK);
    return r;
}

/* Whether the response is the 401 invalid_client of a failed authentication. */
static int is_invalid_client(oap_response *r) {
    return oap_response_status(r) == 401 && body_has(r, "\"error\":\"invalid_client\"");
}

/* ---- yes/no fields are integers, any non-zero value is yes ---- */

static void test_flags_are_integers(void) {
    oap_config config = config_with_issuer();
    oap_server *server;
    oap_response *r;
    oap_token *tok = NULL;
    test_request t;
    char access[128], uri[256];

    /* Values a C bool cannot hold: read as yes, never undefined. */
    config.allow_plain_pkce = 2;
    config.bearer_in_query = 0x80;
    describe("svc", "svc-secret", OAP_GRANT_CLIENT_CREDENTIALS);
    described.confidential = 2;
    described.may_introspect = 0xFE;
    server = new_server(&config);

    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(body_has(r, "\"code_challenge_methods_supported\":[\"S256\",\"plain\"]"));
    oap_response_free(r);

    r = token_request(server, "grant_type=client_credentials&scope=read", "svc", "svc-secret");
    CHECK(oap_response_status(r) == 200 && json_field(r, "access_token", access, sizeof access));
    oap_response_free(r);

    /* The token in the query string: accepted (bearer_in_query). */
    snprintf(uri, sizeof uri, "/api?access_token=%s", access);
    r = NULL;
    CHECK_STATUS(oap_server_verify_bearer(server, get(&t, uri), NULL, 0, &tok, &r), OAP_STATUS_OK);
    CHECK(tok != NULL && r == NULL);
    oap_token_free(tok);
    oap_response_free(r);

    /* may_introspect = 0xFE: allowed. */
    {
        char body[256];
        snprintf(body, sizeof body, "token=%s", access);
        r = NULL;
        CHECK_STATUS(oap_server_introspection_response(server, post(&t, "/introspect", body, "svc", "svc-secret"),
                                                      &r),
                     OAP_STATUS_OK);
        CHECK(oap_response_status(r) == 200 && body_has(r, "\"active\":true"));
        oap_response_free(r);
    }
    oap_server_free(server);
}

/* ---- finding 2: a client with a secret is confidential ---- */

static void test_secret_makes_confidential(void) {
    oap_config config = config_with_issuer();
    oap_server *server;
    oap_response *r;
    oap_authorization *auth = NULL;
    test_request t;
    char refresh[128], code[128], body[512];

    config.grants = OAP_GRANT_ALL;
    describe("svc", "svc-secret", OAP_GRANT_PASSWORD | OAP_GRANT_REFRESH_TOKEN | OAP_GRANT_AUTHORIZATION_CODE);
    CHECK(described.confidential == 0);
    server = new_server(&config);

    /* Password grant by client_id alone: refused. */
    r = token_request(server, "grant_type=password&username=alice&password=wonderland&client_id=svc", NULL, NULL);
    CHECK(is_invalid_client(r));
    oap_response_free(r);
    /* With the secret: a refresh token to try next. */
    r = token_request(server, "grant_type=password&username=alice&password=wonderland", "svc", "svc-secret");
    CHECK(oap_response_status(r) == 200 && json_field(r, "refresh_token", refresh, sizeof refresh));
    oap_response_free(r);

    /* Refresh by client_id alone: refused, and the token still works after. */
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s&client_id=svc", refresh);
    r = token_request(server, body, NULL, NULL);
    CHECK(is_invalid_client(r));
    oap_response_free(r);
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s", refresh);
    r = token_request(server, body, "svc", "svc-secret");
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);

    /* Code grant by client_id alone (with PKCE): refused. */
    r = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server,
                     get(&t, "/authorize?response_type=code&client_id=svc&scope=read&code_challenge=" CHALLENGE
                             "&code_challenge_method=S256"),
                     &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    if (auth != NULL) {
        CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r), OAP_STATUS_OK);
        CHECK(location_param(r, "code", code, sizeof code));
        oap_response_free(r);
        oap_authorization_free(auth);
        snprintf(body, sizeof body,
                 "grant_type=authorization_code&code=%s&client_id=svc&redirect_uri=%s"
                 "&code_verifier=" VERIFIER,
                 code, REDIRECT_ENC);
        r = token_request(server, body, NULL, NULL);
        CHECK(is_invalid_client(r));
        oap_response_free(r);
    }
    oap_server_free(server);
}

/* A flag that contradicts the credentials is refused where the client is
 * described: confidential without a secret. */
static oap_cb_result find_contradiction(void *ud, oap_str id, oap_ctx *ctx) {
    oap_status *status = (oap_status *)ud;
    (void)id;
    describe("svc", NULL, OAP_GRANT_CLIENT_CREDENTIALS);
    described.confidential = 1;
    *status = oap_ctx_set_client(ctx, &described);
    return OAP_CB_TRUE;
}

static void test_contradicting_flag(void) {
    oap_config config = config_with_issuer();
    oap_validator v = memstore_validator(store);
    oap_registered_client *c = (oap_registered_client *)&config;
    oap_server *server = NULL;
    oap_status status = OAP_STATUS_OK;
    oap_response *r;

    describe("svc", NULL, OAP_GRANT_CLIENT_CREDENTIALS);
    described.confidential = 1;
    CHECK_STATUS(oap_registered_client_new(&described, &c), OAP_STATUS_INVALID_PARAMETER);
    CHECK(c == (oap_registered_client *)&config);

    /* Consistent descriptions are accepted: public, and secret with or
     * without the flag. */
    described.confidential = 0;
    CHECK_STATUS(oap_registered_client_new(&described, &c), OAP_STATUS_OK);
    oap_registered_client_free(c);
    describe("svc", "svc-secret", OAP_GRANT_CLIENT_CREDENTIALS);
    CHECK_STATUS(oap_registered_client_new(&described, &c), OAP_STATUS_OK);
    oap_registered_client_free(c);
    described.confidential = 1;
    CHECK_STATUS(oap_registered_client_new(&described, &c), OAP_STATUS_OK);
    oap_registered_client_free(c);

    /* Through oap_ctx_set_client: refused, the callback counts as failed. */
    v.find_client = find_contradiction;
    v.user_data = &status;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    r = token_request(server, "grant_type=client_credentials", "svc", "");
    CHECK(status == OAP_STATUS_INVALID_PARAMETER);
    CHECK(oap_response_status(r) == 500);
    oap_response_free(r);
    oap_server_free(server);
}

/* ---- values that cannot be meant are refused ---- */

static oap_status server_status(const oap_config *config) {
    oap_validator v = memstore_validator(store);
    oap_server *server = NULL;
    oap_status status = oap_server_new(config, &v, &server);
    CHECK((status == OAP_STATUS_OK) == (server != NULL));
    oap_server_free(server);
    return status;
}

static void test_lifetimes(void) {
    oap_config config = config_with_issuer();
    CHECK(OAP_MAX_LIFETIME == 315360000u);
    config.access_token_lifetime = OAP_MAX_LIFETIME;
    config.code_lifetime = OAP_MAX_LIFETIME;
    config.refresh_token_lifetime = OAP_MAX_LIFETIME;
    CHECK_STATUS(server_status(&config), OAP_STATUS_OK);

    config = config_with_issuer();
    config.access_token_lifetime = OAP_MAX_LIFETIME + 1;
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.access_token_lifetime = UINT64_MAX; /* "forever" */
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config = config_with_issuer();
    config.code_lifetime = OAP_MAX_LIFETIME + 1;
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config = config_with_issuer();
    config.refresh_token_lifetime = UINT64_MAX;
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.refresh_token_lifetime = 0; /* no longer "for ever": refused */
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    CHECK(oap_config_default().refresh_token_lifetime == 30u * 24 * 3600);
}

static oap_cb_result find_odd_grants(void *ud, oap_str id, oap_ctx *ctx) {
    oap_status *status = (oap_status *)ud;
    (void)id;
    describe("svc", "svc-secret", OAP_GRANT_CLIENT_CREDENTIALS | 0x100);
    *status = oap_ctx_set_client(ctx, &described);
    return OAP_CB_TRUE;
}

static void test_grant_masks(void) {
    oap_config config = config_with_issuer();
    oap_validator v = memstore_validator(store);
    oap_registered_client *c = NULL;
    oap_server *server = NULL;
    oap_status status = OAP_STATUS_OK;
    oap_response *r;

    config.grants = OAP_GRANT_ALL | 64; /* no grant has this bit */
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.grants = 1u << 31;
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.grants = OAP_GRANT_ALL;
    CHECK_STATUS(server_status(&config), OAP_STATUS_OK);

    describe("svc", "svc-secret", OAP_GRANT_ALL | 64);
    CHECK_STATUS(oap_registered_client_new(&described, &c), OAP_STATUS_INVALID_PARAMETER);
    CHECK(c == NULL);
    described.grants = OAP_GRANT_ALL;
    CHECK_STATUS(oap_registered_client_new(&described, &c), OAP_STATUS_OK);
    oap_registered_client_free(c);

    v.find_client = find_odd_grants;
    v.user_data = &status;
    config = config_with_issuer();
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    r = token_request(server, "grant_type=client_credentials", "svc", "svc-secret");
    CHECK(status == OAP_STATUS_INVALID_PARAMETER);
    CHECK(oap_response_status(r) == 500);
    oap_response_free(r);
    oap_server_free(server);
}

static void test_realm_controls(void) {
    oap_config config = config_with_issuer();
    config.realm = S("api\r\nX-Injected: 1");
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.realm = S("api\n");
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.realm = S("a\tb");
    CHECK_STATUS(server_status(&config), OAP_STATUS_INVALID_PARAMETER);
    config.realm = S("photos \"and\" more");
    CHECK_STATUS(server_status(&config), OAP_STATUS_OK);
}

static void test_empty_user(void) {
    oap_config config = config_with_issuer();
    oap_server *server;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    test_request t;
    describe("svc", "svc-secret", OAP_GRANT_AUTHORIZATION_CODE);
    server = new_server(&config);
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server, get(&t, "/authorize?response_type=code&client_id=svc&scope=read"), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL);
    r = (oap_response *)&t; /* must stay untouched */
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S(""), S(NULL), &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK(r == (oap_response *)&t);
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 302);
    oap_response_free(r);
    oap_authorization_free(auth);
    oap_server_free(server);
}

static void granted(void *ud, const oap_token *token) {
    (void)token;
    *(int *)ud += 1;
}

static void test_required_scopes(void) {
    oap_config config = config_with_issuer();
    oap_server *server;
    oap_response *r;
    oap_token *tok;
    test_request t;
    char access[128];
    const char *bad[] = {"", "read write", "a\"b", "back\\slash", "caf\xc3\xa9", "tab\t"};
    oap_str scopes[2];
    size_t i;
    int calls = 0;

    describe("svc", "svc-secret", OAP_GRANT_CLIENT_CREDENTIALS);
    server = new_server(&config);
    r = token_request(server, "grant_type=client_credentials&scope=read", "svc", "svc-secret");
    CHECK(json_field(r, "access_token", access, sizeof access));
    oap_response_free(r);

    scopes[0] = S("read");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scopes[1] = S(bad[i]);
        tok = NULL;
        r = NULL;
        CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", access), scopes, 2, &tok, &r),
                     OAP_STATUS_INVALID_PARAMETER);
        CHECK(tok == NULL && r == NULL);
        CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/api", access), scopes, 2, granted, &calls,
                                                   &r),
                     OAP_STATUS_INVALID_PARAMETER);
        CHECK(calls == 0 && r == NULL);
    }
    /* Proper scope tokens: granted. */
    scopes[1] = S("read");
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/api", access), scopes, 2, granted, &calls, &r),
                 OAP_STATUS_OK);
    CHECK(calls == 1 && r == NULL);
    oap_server_free(server);
}

/* The PTRDIFF_MAX rule, the same in every function: the length is checked
 * first, whatever the pointer, and for buffers the library writes too. */
static void test_impossible_lengths_everywhere(void) {
    char buf[OAP_BASIC_BUFFER_LEN];
    size_t n = 0;
    oap_str out, id, secret, null_huge;
    oap_bytes null_huge_bytes;
    int equal = 0;
    test_request t;
    oap_response *r = NULL;
    oap_server *server;
    oap_config config = config_with_issuer();

    null_huge.ptr = NULL;
    null_huge.len = SIZE_MAX;
    null_huge_bytes.ptr = NULL;
    null_huge_bytes.len = (size_t)PTRDIFF_MAX + 1;
    CHECK_STATUS(oap_parse_bearer(null_huge, &out), OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_form_parse(null_huge_bytes, find_param, NULL), OAP_STATUS_INVALID_PARAMETER);
    {
        bool eq = false;
        CHECK_STATUS(oap_constant_time_eq(null_huge_bytes, null_huge_bytes, &eq), OAP_STATUS_INVALID_PARAMETER);
        equal = eq;
    }
    CHECK(!equal);

    /* Output buffers "of any size". */
    CHECK_STATUS(oap_pkce_s256_challenge(S(VERIFIER), buf, SIZE_MAX, &n), OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_generate_token(buf, SIZE_MAX, &n), OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_basic_header_value(S("a"), S("b"), buf, (size_t)PTRDIFF_MAX + 1, &n),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_parse_basic(S("Basic YTpi"), NULL, SIZE_MAX, &id, &secret), OAP_STATUS_INVALID_PARAMETER);
    CHECK(n == 0);
    /* Still fine with a real size. */
    CHECK_STATUS(oap_pkce_s256_challenge(S(VERIFIER), buf, sizeof buf, &n), OAP_STATUS_OK);
    CHECK(n == OAP_S256_CHALLENGE_LEN);

    /* An array with a NULL pointer and an impossible length. */
    describe("svc", "svc-secret", OAP_GRANT_CLIENT_CREDENTIALS);
    server = new_server(&config);
    post(&t, "/token", "grant_type=client_credentials", "svc", "svc-secret");
    t.req.headers = NULL;
    t.req.headers_len = SIZE_MAX / 2;
    CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/api", "x"), NULL, SIZE_MAX, granted, &equal,
                                               &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK(r == NULL);
    oap_server_free(server);
}

/* ---- a struct_size that ends inside a field ---- */

static oap_status cut_status;

static oap_cb_result code_cut_in_half(void *ud, oap_str client_id, oap_str code, oap_ctx *ctx) {
    oap_code_info info;
    (void)ud; (void)code;
    memset(&info, 0, sizeof info);
    info.client_id = client_id;
    info.user = S("alice");
    info.scopes = S("read");
    info.grant_id = S("g1");
    info.expires_at = UINT64_MAX;
    /* The first version ends at code_challenge; this size ends inside it.
     * (The challenge is absent, so even a half copy would read zeros.) */
    info.struct_size = offsetof(oap_code_info, code_challenge) + sizeof(void *) / 2;
    cut_status = oap_ctx_set_code(ctx, &info);
    return OAP_CB_TRUE;
}

static void test_struct_size_inside_a_field(void) {
    oap_config config = config_with_issuer();
    oap_validator v = memstore_validator(store);
    oap_server *server = NULL;
    oap_response *r;
    oap_config cut;

    v.validate_code = code_cut_in_half;
    v.find_client = find_described;
    describe("svc", "svc-secret", OAP_GRANT_AUTHORIZATION_CODE);
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    r = token_request(server, "grant_type=authorization_code&code=abc", "svc", "svc-secret");
    CHECK_STATUS(cut_status, OAP_STATUS_INVALID_PARAMETER);
    CHECK(oap_response_status(r) == 500);
    oap_response_free(r);
    oap_server_free(server);

    /* Inside the second version's fields: refused. */
    cut = config_with_issuer();
    cut.struct_size = sizeof cut - 1;
    CHECK_STATUS(server_status(&cut), OAP_STATUS_INVALID_PARAMETER);
    /* Below the first version: too small, as before. */
    cut.struct_size = offsetof(oap_config, fill_random) - 1;
    CHECK_STATUS(server_status(&cut), OAP_STATUS_STRUCT_TOO_SMALL);

    /* The validator table the same way: its first version ends at
       consume_and_save; a size inside that pointer is refused, one below
       the first version too small. */
    server = NULL;
    v = memstore_validator(store);
    v.struct_size = offsetof(oap_validator, consume_and_save) + sizeof(void *) / 2;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_INVALID_PARAMETER);
    v.struct_size = offsetof(oap_validator, consume_and_save) - 1;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_STRUCT_TOO_SMALL);
    CHECK(server == NULL);
    v.struct_size = offsetof(oap_validator, consume_and_save);
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    oap_server_free(server);
}

int main(void) {
    store = memstore_new();
    /* memstore's copy of svc gives the scopes; find_client is the test's. */
    memstore_add_client(store, "svc", "svc-secret", OAP_SECRET_PLAIN, true, REDIRECT, OAP_GRANT_ALL, true,
                        "read", "read");
    memstore_add_user(store, "alice", "wonderland");

    test_flags_are_integers();
    test_secret_makes_confidential();
    test_contradicting_flag();
    test_lifetimes();
    test_grant_masks();
    test_realm_controls();
    test_empty_user();
    test_required_scopes();
    test_impossible_lengths_everywhere();
    test_struct_size_inside_a_field();

    memstore_free(store);
    return report();
}
