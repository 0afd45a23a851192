/*
 * What the C ABI refuses or reads strictly (issue 12, "The C ABI" and
 * finding 2): yes/no fields read as integers, a client with a secret is
 * confidential whatever its flag says, values that cannot be meant are
 * OAP_STATUS_INVALID_PARAMETER.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stdint.h>

#include "memstore.h"
#include "testutil.h"

#define REDIRECT "https://client.example.com/cb"

static memstore *store;

/* The client every find_client below hands back, described by the test. */
static oap_client described;
static oap_str described_uris[1];

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

/* ---- yes/no fields are integers, any non-zero value is yes ---- */

static void test_flags_are_integers(void) {
    oap_config config = oap_config_default();
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

int main(void) {
    store = memstore_new();
    /* memstore's copy of svc gives the scopes; find_client is the test's. */
    memstore_add_client(store, "svc", "svc-secret", OAP_SECRET_PLAIN, true, REDIRECT, OAP_GRANT_ALL, true,
                        "read", "read");

    test_flags_are_integers();

    memstore_free(store);
    return report();
}
