/*
 * Registered clients (oap_registered_client_new, oap_ctx_set_registered_client,
 * oap_registered_client_free) through the public ABI: registration checks
 * the description once, requests share the registered client, the host's
 * memory is not used after registration, a request (or an authorization
 * handle) keeps its own reference when the host frees the handle meanwhile,
 * and misuse is an error status.
 * Also: the request view's UTF-8 check, byte by byte.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <pthread.h>

#include "memstore.h"
#include "testutil.h"

/* SHA-256 of "conf-secret", hex. */
#define SECRET_SHA256 "16cbeaefe9e2a50bf63fae5b5bd4b187b7c5cf39e5687180c371b9dbe31487ba"

static memstore *store;
static oap_registered_client *registered; /* what find_client hands back */
static oap_status last_setter_status;

static oap_server *new_server(oap_find_client_cb find_client) {
    oap_validator v = memstore_validator(store);
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *server = NULL;
    v.find_client = find_client;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    return server;
}

static int cc_status(oap_server *server, const char *id, const char *secret) {
    test_request t;
    oap_response *r = NULL;
    int status;
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", "grant_type=client_credentials", id, secret), &r),
                 OAP_STATUS_OK);
    status = oap_response_status(r);
    oap_response_free(r);
    return status;
}

/* A client description in memory the test scribbles over afterwards. */
typedef struct description {
    char id[32], secret[80], uri[64];
    oap_str uris[1];
    oap_client client;
} description;

static void describe(description *d, const char *id, oap_secret_kind kind, const char *secret) {
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", id);
    snprintf(d->secret, sizeof d->secret, "%s", secret ? secret : "");
    snprintf(d->uri, sizeof d->uri, "https://client.example.com/cb");
    d->uris[0] = S(d->uri);
    d->client.struct_size = sizeof d->client;
    d->client.client_id = S(d->id);
    d->client.secret_kind = kind;
    d->client.secret = secret ? S(d->secret) : S(NULL);
    d->client.confidential = secret != NULL;
    d->client.redirect_uris = d->uris;
    d->client.redirect_uris_len = 1;
    d->client.grants = OAP_GRANT_CLIENT_CREDENTIALS;
}

static oap_registered_client *register_client(const char *id, oap_secret_kind kind, const char *secret) {
    description d;
    oap_registered_client *c = NULL;
    describe(&d, id, kind, secret);
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_OK);
    /* The library copied everything: wreck the description. */
    memset(&d, 0xAB, sizeof d);
    return c;
}

/* find_client: the registered client, when the id matches. */
static oap_cb_result hands_back_registered(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud;
    if (!str_is(id, "conf-client")) return OAP_CB_FALSE;
    last_setter_status = oap_ctx_set_registered_client(ctx, registered);
    return OAP_CB_TRUE;
}

static void test_registration_errors(void) {
    description d;
    oap_registered_client *untouched = (oap_registered_client *)&d;
    oap_registered_client *c = untouched;

    CHECK_STATUS(oap_registered_client_new(NULL, &c), OAP_STATUS_NULL_PARAMETER);
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    CHECK_STATUS(oap_registered_client_new(&d.client, NULL), OAP_STATUS_NULL_PARAMETER);

    d.client.struct_size = 0;
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_STRUCT_TOO_SMALL);
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    d.client.secret_kind = 77;
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_INVALID_PARAMETER);
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, "not-hex");
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_INVALID_PARAMETER);
    /* 64 characters, one not a hex digit. */
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX,
             "16cbeaefe9e2a50bf63fae5b5bd4b187b7c5cf39e5687180c371b9dbe31487bg");
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_INVALID_PARAMETER);
    describe(&d, "conf-\xff-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_INVALID_UTF8);
    describe(&d, "conf-client", OAP_SECRET_PLAIN, "s\xc3");
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_INVALID_UTF8);
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    d.uris[0].ptr = NULL; /* NULL with a length */
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_NULL_PARAMETER);
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    d.client.redirect_uris = NULL; /* with redirect_uris_len 1 */
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_NULL_PARAMETER);
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    d.client.client_id = S(NULL);
    CHECK_STATUS(oap_registered_client_new(&d.client, &c), OAP_STATUS_NULL_PARAMETER);
    CHECK(c == untouched); /* out-parameter written only on success */

    CHECK_STATUS(oap_ctx_set_registered_client(NULL, NULL), OAP_STATUS_NULL_PARAMETER);
    oap_registered_client_free(NULL);
}

static void test_requests_share_it(void) {
    oap_server *server = new_server(hands_back_registered);
    int i;

    registered = register_client("conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    for (i = 0; i < 3; i++) {
        last_setter_status = OAP_STATUS_PANIC;
        CHECK(cc_status(server, "conf-client", "conf-secret") == 200);
        CHECK_STATUS(last_setter_status, OAP_STATUS_OK);
    }
    CHECK(cc_status(server, "conf-client", "wrong-secret") == 401);
    CHECK(cc_status(server, "conf-client", "conf-secre") == 401);
    CHECK(cc_status(server, "nobody", "conf-secret") == 401);
    oap_registered_client_free(registered);

    /* A plaintext secret; then the digest in uppercase hex. */
    registered = register_client("conf-client", OAP_SECRET_PLAIN, "conf-secret");
    CHECK(cc_status(server, "conf-client", "conf-secret") == 200);
    CHECK(cc_status(server, "conf-client", "conf-secret ") == 401);
    oap_registered_client_free(registered);
    registered = register_client("conf-client", OAP_SECRET_SHA256_HEX,
                                 "16CBEAEFE9E2A50BF63FAE5B5BD4B187B7C5CF39E5687180C371B9DBE31487BA");
    CHECK(cc_status(server, "conf-client", "conf-secret") == 200);
    oap_registered_client_free(registered);

    /* A registered client that may not use the grant. */
    {
        description d;
        describe(&d, "conf-client", OAP_SECRET_PLAIN, "conf-secret");
        d.client.grants = OAP_GRANT_AUTHORIZATION_CODE;
        CHECK_STATUS(oap_registered_client_new(&d.client, &registered), OAP_STATUS_OK);
        CHECK(cc_status(server, "conf-client", "conf-secret") == 400);
        oap_registered_client_free(registered);
    }
    registered = NULL;
    oap_server_free(server);
}

/* find_client that registers a client, hands it back, and frees its handle
 * before returning: the request must hold its own reference (valgrind sees
 * any use after free). */
static oap_cb_result registers_hands_back_frees(void *ud, oap_str id, oap_ctx *ctx) {
    oap_registered_client *c;
    (void)ud;
    if (!str_is(id, "conf-client")) return OAP_CB_FALSE;
    c = register_client("conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    last_setter_status = oap_ctx_set_registered_client(ctx, c);
    oap_registered_client_free(c);
    return OAP_CB_TRUE;
}

/* Handing back a client registered under another id. */
static oap_cb_result hands_back_another(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud;
    (void)id;
    last_setter_status = oap_ctx_set_registered_client(ctx, registered);
    return OAP_CB_TRUE;
}

/* Claiming a client but handing back NULL. */
static oap_cb_result hands_back_null(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud;
    (void)id;
    last_setter_status = oap_ctx_set_registered_client(ctx, NULL);
    return OAP_CB_TRUE;
}

/* validate_scopes setting a client: the wrong context. */
static oap_cb_result scopes_sets_a_client(void *ud, oap_str id, oap_str scopes, oap_ctx *ctx) {
    (void)ud;
    (void)id;
    (void)scopes;
    last_setter_status = oap_ctx_set_registered_client(ctx, registered);
    return OAP_CB_TRUE;
}

static void test_lifetime_and_misuse(void) {
    oap_server *server = new_server(registers_hands_back_frees);
    oap_validator v;
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");

    last_setter_status = OAP_STATUS_PANIC;
    CHECK(cc_status(server, "conf-client", "conf-secret") == 200);
    CHECK_STATUS(last_setter_status, OAP_STATUS_OK);
    CHECK(cc_status(server, "conf-client", "bad") == 401);
    oap_server_free(server);

    registered = register_client("someone-else", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    server = new_server(hands_back_another);
    CHECK(cc_status(server, "conf-client", "conf-secret") == 500);
    CHECK_STATUS(last_setter_status, OAP_STATUS_OK);
    oap_server_free(server);

    server = new_server(hands_back_null);
    CHECK(cc_status(server, "conf-client", "conf-secret") == 500);
    CHECK_STATUS(last_setter_status, OAP_STATUS_NULL_PARAMETER);
    oap_server_free(server);

    oap_registered_client_free(registered);
    registered = register_client("conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    v = memstore_validator(store);
    v.find_client = hands_back_registered;
    v.validate_scopes = scopes_sets_a_client;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    CHECK(cc_status(server, "conf-client", "conf-secret") == 500);
    CHECK_STATUS(last_setter_status, OAP_STATUS_WRONG_CONTEXT);
    oap_server_free(server);
    oap_registered_client_free(registered);
    registered = NULL;
}

/* An authorization handle holds the client it validated: freeing the
 * registered client before oap_server_authorize is safe. */
static void test_authorization_keeps_it(void) {
    static const char uri[] =
        "/authorize?response_type=code&client_id=conf-client&scope=read&state=xyz"
        "&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    oap_server *server = new_server(hands_back_registered);
    oap_authorization *authorization = NULL;
    oap_response *r = NULL;
    description d;
    test_request t;
    char code[128];
    describe(&d, "conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    d.client.grants = OAP_GRANT_AUTHORIZATION_CODE;
    CHECK_STATUS(oap_registered_client_new(&d.client, &registered), OAP_STATUS_OK);
    memset(&d, 0xAB, sizeof d);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &authorization, &r), OAP_STATUS_OK);
    CHECK(authorization != NULL && r == NULL);
    oap_registered_client_free(registered);
    registered = NULL;
    CHECK(str_is(oap_authorization_client_id(authorization), "conf-client"));
    CHECK_STATUS(oap_server_authorize(server, authorization, get(&t, uri), S("alice"), S(NULL), &r), OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 302);
    CHECK(location_param(r, "code", code, sizeof code));
    oap_response_free(r);
    oap_authorization_free(authorization);
    oap_server_free(server);
}

/* Threads sharing one server and one registered client. */
#define THREADS 4
#define REQUESTS_PER_THREAD 25

static oap_cb_result hands_back_quietly(void *ud, oap_str id, oap_ctx *ctx) {
    (void)ud;
    if (!str_is(id, "conf-client")) return OAP_CB_FALSE;
    return oap_ctx_set_registered_client(ctx, registered) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

static void *worker(void *arg) {
    oap_server *server = arg;
    long ok = 0;
    int i;
    for (i = 0; i < REQUESTS_PER_THREAD; i++) {
        test_request t;
        oap_response *r = NULL;
        const char *secret = i % 5 == 4 ? "wrong" : "conf-secret";
        if (oap_server_token_response(server, post(&t, "/token", "grant_type=client_credentials", "conf-client", secret),
                                      &r) == OAP_STATUS_OK &&
            oap_response_status(r) == (i % 5 == 4 ? 401 : 200))
            ok++;
        oap_response_free(r);
    }
    return (void *)ok;
}

static void test_concurrent_requests(void) {
    oap_server *server = new_server(hands_back_quietly);
    pthread_t threads[THREADS];
    int i;
    registered = register_client("conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    for (i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, worker, server) == 0);
    for (i = 0; i < THREADS; i++) {
        void *ok = NULL;
        CHECK(pthread_join(threads[i], &ok) == 0);
        CHECK((long)ok == REQUESTS_PER_THREAD);
    }
    oap_server_free(server);
    oap_registered_client_free(registered);
    registered = NULL;
}

/* The request view's UTF-8 check: a stray byte at every position of header
 * values of every length up to 40 is refused, a valid two-byte sequence
 * accepted (the library scans ASCII a word at a time, so every offset and
 * tail length matters). */
static void test_request_utf8(void) {
    oap_server *server = new_server(hands_back_registered);
    char value[41];
    size_t len, at;
    registered = register_client("conf-client", OAP_SECRET_SHA256_HEX, SECRET_SHA256);
    for (len = 1; len <= 40; len++) {
        for (at = 0; at < len; at++) {
            test_request t;
            oap_response *r = (oap_response *)&t; /* must stay untouched */
            memset(value, 'a', len);
            value[len] = '\0';
            value[at] = (char)0x80;
            post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
            add_header(&t, "X-Test", value);
            CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_UTF8);
            CHECK(r == (oap_response *)&t);
            add_header(&t, "X-Other", "fine");
            t.headers[t.req.headers_len - 2].name = S(value); /* the bad bytes as a name */
            t.headers[t.req.headers_len - 2].value = S("v");
            CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_UTF8);
            if (at + 1 < len) {
                value[at] = (char)0xC3;
                value[at + 1] = (char)0xA9; /* é */
                post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
                add_header(&t, "X-Test", value);
                r = NULL;
                CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_OK);
                CHECK(oap_response_status(r) == 200);
                oap_response_free(r);
            }
        }
    }
    {
        /* The method and URI too. */
        test_request t;
        oap_response *r = NULL;
        post(&t, "/token\xff", "grant_type=client_credentials", "conf-client", "conf-secret");
        CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_UTF8);
        post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret");
        t.req.method = S("P\xc3ST");
        CHECK_STATUS(oap_server_token_response(server, &t.req, &r), OAP_STATUS_INVALID_UTF8);
        CHECK(r == NULL);
    }
    oap_server_free(server);
    oap_registered_client_free(registered);
    registered = NULL;
}

int main(void) {
    store = memstore_new();
    /* Used only for the other callbacks (scopes, tokens): find_client is ours. */
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, false, "read", "read");

    test_registration_errors();
    test_requests_share_it();
    test_lifetime_and_misuse();
    test_authorization_keeps_it();
    test_concurrent_requests();
    test_request_utf8();

    memstore_free(store);
    return report();
}
