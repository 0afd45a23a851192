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
    config.realm = broken;
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_NULL_PARAMETER);
    CHECK(other == NULL);

    /* Inside a callback: the setter fails, and so does the callback. */
    v.validate_bearer_token = token_info_null_scopes;
    config = oap_config_default();
    CHECK_STATUS(oap_server_new(&config, &v, &other), OAP_STATUS_OK);
    r = NULL;
    CHECK_STATUS(oap_server_verify_bearer(other, bearer_get(&t, "/api", "tok"), NULL, 0, &tok, &r), OAP_STATUS_OK);
    CHECK(tok == NULL && oap_response_status(r) == 500);
    oap_response_free(r);
    oap_server_free(other);
}

int main(void) {
    oap_config config = oap_config_default();
    oap_validator v;
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_CLIENT_CREDENTIALS, false, "read", "read");
    /* Any scope allowed, none by default: a token with empty scopes. */
    memstore_add_client(store, "any-client", "any-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, false, "", "");
    v = memstore_validator(store);
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);

    test_null_ptr_with_length();

    oap_server_free(server);
    memstore_free(store);
    return report();
}
