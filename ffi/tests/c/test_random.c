/*
 * The host's source of randomness (oap_config.fill_random): the issued
 * tokens and codes are its bytes, one call per request; a failing source
 * is a 500 server_error that saves and spends nothing; a config from a
 * header without the field gets the operating system's generator.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stddef.h>
#include <stdint.h>

#include "memstore.h"
#include "testutil.h"

#define CONF_REDIRECT "https://client.example.com/cb"

/* A deterministic source: call n writes byte i as n * 101 + i. */
typedef struct filler {
    unsigned calls;
    size_t last_len;
    int fail;
} filler;

static int fill_pattern(void *user_data, uint8_t *buf, size_t len) {
    filler *f = (filler *)user_data;
    size_t i;
    if (f->fail) return -1;
    for (i = 0; i < len; i++) buf[i] = (uint8_t)(f->calls * 101u + i);
    f->calls++;
    f->last_len = len;
    return 0;
}

/* The token that call n of fill_pattern makes at value `index`: the 32
 * bytes in base64url without padding (43 characters). */
static void pattern_token(unsigned n, unsigned index, char out[44]) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t bytes[33];
    size_t i, o = 0;
    for (i = 0; i < 32; i++) bytes[i] = (uint8_t)(n * 101u + index * 32u + i);
    bytes[32] = 0;
    for (i = 0; i < 30; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    {
        uint32_t v = (uint32_t)bytes[30] << 16 | (uint32_t)bytes[31] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
}

static memstore *store;

static oap_server *new_server(filler *f, size_t struct_size) {
    oap_config config = oap_config_default();
    oap_validator v = memstore_validator(store);
    oap_server *server = NULL;
    config.issuer = S("https://as.example");
    config.fill_random = fill_pattern;
    config.fill_random_user_data = f;
    if (struct_size != 0) config.struct_size = struct_size;
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

/* alice approves conf-client's request for "read"; the redirect response. */
static oap_response *authorize(oap_server *server) {
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL, *approved = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server, get(&t, "/authorize?response_type=code&client_id=conf-client&scope=read&state=s"),
                     &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    oap_response_free(r);
    if (auth == NULL) return NULL;
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &approved),
                 OAP_STATUS_OK);
    oap_authorization_free(auth);
    return approved;
}

static int bearer_granted(oap_server *server, const char *token) {
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

static void test_tokens_are_the_hosts_bytes(void) {
    filler f = {0, 0, 0};
    oap_server *server = new_server(&f, 0);
    oap_response *r;
    char got[128], want[44], want2[44], body[256];

    r = token_request(server, "grant_type=client_credentials");
    CHECK(oap_response_status(r) == 200);
    pattern_token(0, 0, want);
    CHECK(json_field(r, "access_token", got, sizeof got) && strcmp(got, want) == 0);
    CHECK(f.calls == 1 && f.last_len == 32);
    oap_response_free(r);
    CHECK(bearer_granted(server, want));

    /* A code and its grant id: one call of 64 bytes. */
    r = authorize(server);
    CHECK(r != NULL && oap_response_status(r) == 302);
    pattern_token(1, 0, want);
    CHECK(location_param(r, "code", got, sizeof got) && strcmp(got, want) == 0);
    CHECK(f.calls == 2 && f.last_len == 64);
    oap_response_free(r);

    /* The exchange: an access and a refresh token, one call of 64 bytes. */
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", want);
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 200);
    pattern_token(2, 0, want);
    pattern_token(2, 1, want2);
    CHECK(json_field(r, "access_token", got, sizeof got) && strcmp(got, want) == 0);
    CHECK(json_field(r, "refresh_token", got, sizeof got) && strcmp(got, want2) == 0);
    CHECK(f.calls == 3 && f.last_len == 64);
    oap_response_free(r);

    oap_server_free(server);
}

static void test_a_failing_source_saves_nothing(void) {
    filler f = {0, 0, 0};
    oap_server *server = new_server(&f, 0);
    oap_response *r;
    char code[128], body[256], error[64];
    unsigned saved_tokens, saved_codes, spent_codes;

    /* A code made while the source works. */
    r = authorize(server);
    CHECK(r != NULL && location_param(r, "code", code, sizeof code));
    oap_response_free(r);

    f.fail = 1;
    saved_tokens = memstore_calls(store, "save_bearer_token");
    saved_codes = memstore_calls(store, "save_authorization_code");
    spent_codes = memstore_calls(store, "consume_and_save");

    r = token_request(server, "grant_type=client_credentials");
    CHECK(oap_response_status(r) == 500);
    CHECK(body_has(r, "\"error\":\"server_error\""));
    CHECK(body_has(r, "fill_random"));
    oap_response_free(r);

    /* The authorization endpoint sends the error back to the client. */
    r = authorize(server);
    CHECK(r != NULL && oap_response_status(r) == 302);
    CHECK(location_param(r, "error", error, sizeof error) && strcmp(error, "server_error") == 0);
    CHECK(!location_param(r, "code", error, sizeof error));
    oap_response_free(r);

    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s", code);
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 500);
    CHECK(body_has(r, "\"error\":\"server_error\""));
    oap_response_free(r);

    CHECK(memstore_calls(store, "save_bearer_token") == saved_tokens);
    CHECK(memstore_calls(store, "save_authorization_code") == saved_codes);
    CHECK(memstore_calls(store, "consume_and_save") == spent_codes);

    /* The code was not spent: once the source works, it is exchanged. */
    f.fail = 0;
    r = token_request(server, body);
    CHECK(oap_response_status(r) == 200);
    oap_response_free(r);

    oap_server_free(server);
}

/* A caller compiled against a header without fill_random passes the
 * shorter struct_size: the field is not read, the OS is used. A struct_size
 * that ends inside the new fields is refused: half a function pointer is
 * never called. */
static void test_an_older_config_uses_the_os(void) {
    filler f = {0, 0, 1};
    oap_server *server = new_server(&f, offsetof(oap_config, fill_random));
    oap_response *r = token_request(server, "grant_type=client_credentials");
    char got[128];
    oap_config config = oap_config_default();
    oap_validator v = memstore_validator(store);
    oap_server *refused = NULL;

    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", got, sizeof got) && strlen(got) == 43);
    CHECK(f.calls == 0);
    oap_response_free(r);
    oap_server_free(server);

    config.issuer = S("https://as.example");
    config.fill_random = fill_pattern;
    config.fill_random_user_data = &f;
    config.struct_size = offsetof(oap_config, fill_random) + 4;
    CHECK_STATUS(oap_server_new(&config, &v, &refused), OAP_STATUS_INVALID_PARAMETER);
    CHECK(refused == NULL && f.calls == 0);
}

int main(void) {
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, CONF_REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN |
                            OAP_GRANT_CLIENT_CREDENTIALS,
                        false, "read write", "read");

    test_tokens_are_the_hosts_bytes();
    test_a_failing_source_saves_nothing();
    test_an_older_config_uses_the_os();

    memstore_free(store);
    return report();
}
