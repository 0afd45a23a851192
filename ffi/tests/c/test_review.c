/*
 * Cases from the C ABI safety review: argument shapes a C caller can
 * plausibly produce by mistake, each of which must be an oap_status, never
 * undefined behaviour or an abort, and never a silent default.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stdint.h>

#include "memstore.h"
#include "testutil.h"

#define REDIRECT "https://client.example.com/cb"

static memstore *store;
static oap_server *server;

/* A pending authorization of conf-client asking for "read". */
static oap_authorization *pending(void) {
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

static void test_null_ptr_with_length(void) {
    oap_authorization *auth = pending();
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
static void test_impossible_lengths(void) {
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
static void test_empty_array_pointer(void) {
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

static void test_empty_strings_are_readable(void) {
    oap_authorization *auth = pending();
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

/* A save_bearer_token that loses a race: before it stores the tokens, a
 * concurrent request (a replayed code, a reused refresh token) revokes
 * their grant. The store must refuse them, and the client gets
 * invalid_grant, not tokens of a revoked grant. */
static oap_validator racing_table;

static oap_cb_result revoked_before_save(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    CHECK(token->grant_id.ptr != NULL);
    CHECK(token->new_grant == 0); /* the code's grant, known to the store */
    CHECK(racing_table.revoke_grant(ud, token->grant_id, ctx) == OAP_CB_TRUE);
    return racing_table.save_bearer_token(ud, token, ctx);
}

static void test_tokens_of_a_grant_revoked_meanwhile_are_refused(void) {
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *other = NULL;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    oap_validator v;
    test_request t;
    char code[128], body[256];

    racing_table = memstore_validator(store);
    v = racing_table;
    v.save_bearer_token = revoked_before_save;
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
    CHECK(body_has(r, "revoked"));
    CHECK(!body_has(r, "access_token"));
    oap_response_free(r);
    oap_server_free(other);
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
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_validator v;
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_CLIENT_CREDENTIALS, false, "read", "read");
    /* Any scope allowed, none by default: a token with empty scopes. */
    memstore_add_client(store, "any-client", "any-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, false, "", "");
    memstore_add_client(store, "refresh-client", "refresh-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_PASSWORD | OAP_GRANT_REFRESH_TOKEN, false, "read", "");
    memstore_add_user(store, "alice", "pw");
    v = memstore_validator(store);
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);

    test_null_ptr_with_length();
    test_empty_array_pointer();
    test_basic_in_place();
    test_empty_strings_are_readable();
    test_impossible_lengths();
    test_tokens_of_a_grant_revoked_meanwhile_are_refused();
    test_saves_of_unknown_grants_are_refused();

    oap_server_free(server);
    memstore_free(store);
    return report();
}
