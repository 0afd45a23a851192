/*
 * A failed save, then its retry, through the C ABI: memstore spends a code
 * (or rotates a refresh token) and saves the tokens replacing it in one
 * step (consume_and_save), so a save it refuses leaves the credential
 * usable, and the client's retry gets its tokens instead of being taken
 * for a replay. The save is made to fail for real: the host's random
 * source repeats the bytes of a stored access token, which memstore must
 * refuse to overwrite. A store that does the two steps (consume_and_save
 * NULL) shows what that prevents: its retry is refused as a replay.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stdint.h>
#include <stdio.h>

#include "memstore.h"
#include "testutil.h"

/* Call n of the source writes byte i as n * 101 + i, unless it is told to
 * repeat the bytes of an earlier call once. */
typedef struct source {
    unsigned calls;
    int repeat;
    unsigned repeated_call;
} source;

static int fill(void *user_data, uint8_t *buf, size_t len) {
    source *src = (source *)user_data;
    unsigned n = src->calls++;
    size_t i;
    if (src->repeat) {
        n = src->repeated_call;
        src->repeat = 0;
    }
    for (i = 0; i < len; i++) buf[i] = (uint8_t)(n * 101u + i);
    return 0;
}

static memstore *store;

/* A server over a fresh store (a source starting again at call 0 would
 * repeat the tokens of the store before). */
static oap_server *new_server(source *src, int in_one_step) {
    oap_config config = oap_config_default();
    oap_validator v;
    oap_server *server = NULL;
    memstore_free(store);
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true,
                        "https://client.example.com/cb",
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN |
                            OAP_GRANT_CLIENT_CREDENTIALS,
                        false, "read write", "read");
    v = memstore_validator(store);
    config.issuer = S("https://as.example");
    config.fill_random = fill;
    config.fill_random_user_data = src;
    if (!in_one_step) v.consume_and_save = NULL;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    return server;
}

static oap_response *token_request(oap_server *server, const char *body) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    return r;
}

/* A code alice approved for conf-client, in `code`. */
static int new_code(oap_server *server, char *code, size_t len) {
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    int found = 0;
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server, get(&t, "/authorize?response_type=code&client_id=conf-client&scope=read"), &auth,
                     &r),
                 OAP_STATUS_OK);
    oap_response_free(r);
    r = NULL;
    if (auth == NULL) return 0;
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r), OAP_STATUS_OK);
    found = r != NULL && location_param(r, "code", code, len);
    oap_response_free(r);
    oap_authorization_free(auth);
    return found;
}

static int opens(oap_server *server, const char *token) {
    test_request t;
    oap_token *granted = NULL;
    oap_response *denied = NULL;
    int ok;
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", token), NULL, 0, &granted, &denied),
                 OAP_STATUS_OK);
    ok = granted != NULL;
    oap_token_free(granted);
    oap_response_free(denied);
    return ok;
}

/* A client credentials token, stored; `src` then repeats its bytes once. */
static void stored_token(oap_server *server, source *src, char *access, size_t len) {
    oap_response *r = token_request(server, "grant_type=client_credentials");
    access[0] = '\0';
    CHECK(oap_response_status(r) == 200 && json_field(r, "access_token", access, len));
    oap_response_free(r);
    src->repeated_call = src->calls - 1;
}

/* The response to a request whose save was refused: 500 server_error, no
 * tokens. */
static void check_refused(oap_response *r) {
    CHECK(oap_response_status(r) == 500);
    CHECK(body_has(r, "\"error\":\"server_error\""));
    CHECK(!body_has(r, "access_token"));
    oap_response_free(r);
}

static void test_a_code_exchange_is_retried(void) {
    source src = {0, 0, 0};
    oap_server *server = new_server(&src, 1);
    oap_response *r;
    char stored[128], code[128] = "", body[256], access[128] = "", refresh[128] = "",
                                       renewed[128] = "";
    unsigned revocations = memstore_calls(store, "revoke_grant");

    stored_token(server, &src, stored, sizeof stored);
    CHECK(new_code(server, code, sizeof code));
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", code);

    /* The exchange draws the stored token's value: memstore refuses the
       save, and spends nothing. */
    src.repeat = 1;
    check_refused(token_request(server, body));
    CHECK(opens(server, stored)); /* not replaced */

    /* The retry of the same code succeeds. */
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, sizeof access));
    CHECK(json_field(r, "refresh_token", refresh, sizeof refresh));
    oap_response_free(r);
    CHECK(opens(server, access));

    /* The same for a refresh: refused, then retried with the same token. */
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s", refresh);
    src.repeat = 1;
    check_refused(token_request(server, body));
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", renewed, sizeof renewed));
    oap_response_free(r);
    CHECK(opens(server, renewed));
    CHECK(opens(server, access)); /* the grant lives: no reuse was seen */
    CHECK(opens(server, stored));
    CHECK(memstore_calls(store, "revoke_grant") == revocations);

    /* Spent now: a second use of the code is the replay it always was. */
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", code);
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 400 && body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);
    CHECK(!opens(server, renewed));
    oap_server_free(server);
}

static void test_two_steps_refuse_the_retry(void) {
    source src = {0, 0, 0};
    oap_server *server = new_server(&src, 0);
    oap_response *r;
    char stored[128], code[128] = "", body[256];
    unsigned spent = memstore_calls(store, "invalidate_authorization_code");

    stored_token(server, &src, stored, sizeof stored);
    CHECK(new_code(server, code, sizeof code));
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", code);
    src.repeat = 1;
    check_refused(token_request(server, body));
    CHECK(memstore_calls(store, "invalidate_authorization_code") == spent + 1);

    /* The code was spent before the save failed: the retry is a replay. */
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 400);
    CHECK(body_has(r, "\"error\":\"invalid_grant\""));
    oap_response_free(r);
    CHECK(opens(server, stored));
    oap_server_free(server);
}

int main(void) {
    test_a_code_exchange_is_retried();
    test_two_steps_refuse_the_retry();

    memstore_free(store);
    return report();
}
