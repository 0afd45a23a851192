/*
 * Tokens the host keeps as the library's own records (oap_token_new,
 * oap_ctx_issued_access_token, oap_ctx_set_token) through the public ABI:
 * making one checks the description once and copies it (the host's memory
 * is not used afterwards), a request handed one takes its own copy (the
 * host may free it at once), the library still checks type, expiry and
 * scopes of what it is handed, and misuse (NULL, bad UTF-8, short
 * struct_size, unknown type, malformed scopes, the wrong callback) is an
 * error status. Also oap_server_verify_bearer_with, whose token is
 * borrowed for its callback. Run under valgrind by .ci/run: a use after
 * free would fail.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <time.h>

#include "memstore.h"
#include "testutil.h"

static memstore *store;
static oap_validator base; /* memstore's table, whose callbacks ours wrap */

/* What the test's callbacks do. */
static oap_token *held;              /* handed back by hands_back_held */
static oap_status last_setter_status; /* the last oap_ctx_set_token's */
static oap_status last_issued_status; /* the last oap_ctx_issued_access_token's */
static oap_token *issued;            /* taken by save_takes_issued */

/* A token description in memory the test scribbles over afterwards. */
typedef struct description {
    char client_id[32], user[32], scopes[64], grant_id[32], aud[32];
    oap_str auds[1];
    oap_token_info info;
} description;

static uint64_t now_s(void) { return (uint64_t)time(NULL); }

static void describe(description *d, const char *scopes, uint64_t exp) {
    memset(d, 0, sizeof *d);
    snprintf(d->client_id, sizeof d->client_id, "conf-client");
    snprintf(d->user, sizeof d->user, "alice");
    snprintf(d->scopes, sizeof d->scopes, "%s", scopes);
    snprintf(d->grant_id, sizeof d->grant_id, "grant-1");
    snprintf(d->aud, sizeof d->aud, "https://api.example.com");
    d->auds[0] = S(d->aud);
    d->info.struct_size = sizeof d->info;
    d->info.token_type = OAP_TOKEN_TYPE_ACCESS_TOKEN;
    d->info.client_id = S(d->client_id);
    d->info.username = S(d->user);
    d->info.sub = S(d->user);
    d->info.scopes = S(d->scopes);
    d->info.exp = exp;
    d->info.iat = 1000;
    d->info.aud = d->auds;
    d->info.aud_len = 1;
    d->info.grant_id = S(d->grant_id);
}

static void scribble(description *d) {
    memset(d->client_id, 'X', sizeof d->client_id - 1);
    memset(d->scopes, 'X', sizeof d->scopes - 1);
    memset(d->aud, 'X', sizeof d->aud - 1);
    memset(d->user, 'X', sizeof d->user - 1);
}

static oap_token *make(const char *scopes, uint64_t exp, oap_token_type type) {
    description d;
    oap_token *t = NULL;
    describe(&d, scopes, exp);
    d.info.token_type = type;
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_OK);
    scribble(&d);
    return t;
}

static oap_server *new_server(oap_validate_bearer_token_cb validate, oap_introspect_token_cb introspect,
                              oap_save_bearer_token_cb save) {
    oap_validator v = base;
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    oap_server *server = NULL;
    if (validate != NULL) v.validate_bearer_token = validate;
    if (introspect != NULL) v.introspect_token = introspect;
    if (save != NULL) v.save_bearer_token = save;
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    return server;
}

/* The bearer check of `token` for a resource requiring `scope`: the HTTP
 * status of the denial, or 200 with the granted token in *granted. */
static int check(oap_server *server, const char *scope, oap_token **granted) {
    test_request t;
    oap_token *token = NULL;
    oap_response *denied = NULL;
    oap_str required = S(scope);
    int status;
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/photos", "tok"), &required, 1,
                                          &token, &denied),
                 OAP_STATUS_OK);
    CHECK((token == NULL) != (denied == NULL));
    status = token != NULL ? 200 : oap_response_status(denied);
    oap_response_free(denied);
    if (granted != NULL)
        *granted = token;
    else
        oap_token_free(token);
    return status;
}

/* ---- callbacks ---- */

static oap_cb_result hands_back_held(void *ud, oap_str token, const oap_str *scopes, size_t n,
                                     oap_ctx *ctx) {
    (void)ud, (void)token, (void)scopes, (void)n;
    last_setter_status = oap_ctx_set_token(ctx, held);
    return OAP_CB_TRUE;
}

static oap_cb_result introspects_held(void *ud, oap_str token, oap_token_type hint, oap_ctx *ctx) {
    (void)ud, (void)token, (void)hint;
    last_setter_status = oap_ctx_set_token(ctx, held);
    return OAP_CB_TRUE;
}

/* Makes a token, hands it back and frees it before returning. */
static oap_cb_result makes_hands_back_frees(void *ud, oap_str token, const oap_str *scopes, size_t n,
                                            oap_ctx *ctx) {
    oap_token *t = make("read write", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    (void)ud, (void)token, (void)scopes, (void)n;
    last_setter_status = oap_ctx_set_token(ctx, t);
    oap_token_free(t);
    return OAP_CB_TRUE;
}

static oap_cb_result hands_back_null(void *ud, oap_str token, const oap_str *scopes, size_t n,
                                     oap_ctx *ctx) {
    (void)ud, (void)token, (void)scopes, (void)n;
    last_setter_status = oap_ctx_set_token(ctx, NULL);
    return OAP_CB_TRUE;
}

/* Asks for the issued token where there is none, then answers normally. */
static oap_cb_result asks_issued_then_validates(void *ud, oap_str token, const oap_str *scopes,
                                                size_t n, oap_ctx *ctx) {
    oap_token *t = NULL;
    last_issued_status = oap_ctx_issued_access_token(ctx, &t);
    CHECK(t == NULL);
    return base.validate_bearer_token(ud, token, scopes, n, ctx);
}

/* Takes the library's record of the access token, then saves as memstore does. */
static oap_cb_result save_takes_issued(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    CHECK_STATUS(oap_ctx_issued_access_token(NULL, &issued), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_ctx_issued_access_token(ctx, NULL), OAP_STATUS_NULL_PARAMETER);
    oap_token_free(issued);
    issued = NULL;
    last_issued_status = oap_ctx_issued_access_token(ctx, &issued);
    return base.save_bearer_token(ud, token, ctx);
}

/* Hands a token back from save_bearer_token: the wrong callback. */
static oap_cb_result save_sets_a_token(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    (void)ud, (void)token;
    last_setter_status = oap_ctx_set_token(ctx, held);
    return OAP_CB_TRUE;
}

/* ---- tests ---- */

static void test_new_errors(void) {
    description d;
    oap_token *t = (oap_token *)&d; /* must stay untouched on failure */
    oap_token *const sentinel = t;
    static const char bad_utf8[] = {'c', (char)0xff, 'x', 0};

    describe(&d, "read", 0);
    CHECK_STATUS(oap_token_new(NULL, &t), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_token_new(&d.info, NULL), OAP_STATUS_NULL_PARAMETER);

    d.info.struct_size = 0;
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_STRUCT_TOO_SMALL);
    d.info.struct_size = sizeof(size_t);
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_STRUCT_TOO_SMALL);

    describe(&d, "read", 0);
    d.info.client_id = S(bad_utf8);
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_INVALID_UTF8);

    describe(&d, "read", 0);
    d.auds[0] = S(bad_utf8);
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_INVALID_UTF8);

    describe(&d, "read", 0);
    d.info.client_id.ptr = NULL;
    d.info.client_id.len = 0; /* required */
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_NULL_PARAMETER);

    describe(&d, "read", 0);
    d.info.sub.ptr = NULL; /* NULL with a length: broken, not absent */
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_NULL_PARAMETER);

    describe(&d, "read", 0);
    d.info.aud = NULL; /* with aud_len 1 */
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_NULL_PARAMETER);

    describe(&d, "read", 0);
    d.info.token_type = 7;
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_INVALID_PARAMETER);

    describe(&d, "re\"ad", 0);
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_INVALID_PARAMETER);

    CHECK(t == sentinel);
}

static void test_new_copies(void) {
    description d;
    oap_token *t = NULL;
    describe(&d, "read  write read", 5000);
    CHECK_STATUS(oap_token_new(&d.info, &t), OAP_STATUS_OK);
    scribble(&d); /* the token keeps its own copy */
    CHECK(str_is(oap_token_client_id(t), "conf-client"));
    CHECK(str_is(oap_token_username(t), "alice"));
    CHECK(str_is(oap_token_sub(t), "alice"));
    CHECK(str_is(oap_token_scopes(t), "read write")); /* parsed once: normalised */
    CHECK(oap_token_has_scope(t, S("write")));
    CHECK(oap_token_exp(t) == 5000 && oap_token_iat(t) == 1000);
    CHECK(oap_token_token_type(t) == OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK(oap_token_aud_count(t) == 1 && str_is(oap_token_aud(t, 0), "https://api.example.com"));
    CHECK(oap_token_aud(t, 1).ptr == NULL);
    CHECK(str_is(oap_token_grant_id(t), "grant-1"));
    CHECK(oap_token_iss(t).ptr == NULL);
    oap_token_free(t);
    oap_token_free(NULL);
}

static void test_set_token_grants_and_checks(void) {
    oap_server *server = new_server(hands_back_held, NULL, NULL);
    oap_token *granted = NULL;

    held = make("read", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK(check(server, "read", &granted) == 200);
    CHECK_STATUS(last_setter_status, OAP_STATUS_OK);
    CHECK(granted != held);
    /* The granted token is the request's own: it outlives the host's. */
    oap_token_free(held);
    held = NULL;
    CHECK(str_is(oap_token_client_id(granted), "conf-client"));
    CHECK(str_is(oap_token_scopes(granted), "read"));
    CHECK(oap_token_aud_count(granted) == 1);

    /* A granted token can itself be handed back. */
    held = granted;
    CHECK(check(server, "read", NULL) == 200);
    oap_token_free(held);

    /* What the host hands back is still checked by the library. */
    held = make("read", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK(check(server, "admin", NULL) == 403);
    oap_token_free(held);
    held = make("read", now_s() - 1, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK(check(server, "read", NULL) == 401);
    oap_token_free(held);
    held = make("read", 0, OAP_TOKEN_TYPE_REFRESH_TOKEN);
    CHECK(check(server, "read", NULL) == 401);
    oap_token_free(held);
    held = NULL;

    oap_server_free(server);
}

static void test_lifetime_and_misuse(void) {
    oap_server *server;

    /* Made, handed back and freed inside the callback: the request copied it. */
    server = new_server(makes_hands_back_frees, NULL, NULL);
    CHECK(check(server, "write", NULL) == 200);
    CHECK_STATUS(last_setter_status, OAP_STATUS_OK);
    oap_server_free(server);

    /* NULL token: an error status, and the callback counts as failed. */
    server = new_server(hands_back_null, NULL, NULL);
    CHECK(check(server, "read", NULL) == 500);
    CHECK_STATUS(last_setter_status, OAP_STATUS_NULL_PARAMETER);
    oap_server_free(server);

    CHECK_STATUS(oap_ctx_set_token(NULL, NULL), OAP_STATUS_NULL_PARAMETER);

    /* From another callback: the wrong context, and that callback fails. */
    held = make("read", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    server = new_server(NULL, NULL, save_sets_a_token);
    {
        test_request t;
        oap_response *r = NULL;
        CHECK_STATUS(oap_server_token_response(
                         server, post(&t, "/token", "grant_type=client_credentials", "conf-client", "conf-secret"), &r),
                     OAP_STATUS_OK);
        CHECK(oap_response_status(r) == 500);
        oap_response_free(r);
    }
    CHECK_STATUS(last_setter_status, OAP_STATUS_WRONG_CONTEXT);
    oap_server_free(server);
    oap_token_free(held);
    held = NULL;
}

static void test_issued_access_token(void) {
    oap_server *server = new_server(asks_issued_then_validates, NULL, save_takes_issued);
    test_request t;
    oap_response *r = NULL;
    char access[128];

    CHECK_STATUS(oap_server_token_response(
                     server, post(&t, "/token", "grant_type=client_credentials&scope=read", "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, sizeof access));
    oap_response_free(r);
    CHECK_STATUS(last_issued_status, OAP_STATUS_OK);
    CHECK(issued != NULL);
    if (issued != NULL) {
        uint64_t iat = oap_token_iat(issued);
        CHECK(oap_token_token_type(issued) == OAP_TOKEN_TYPE_ACCESS_TOKEN);
        CHECK(str_is(oap_token_client_id(issued), "conf-client"));
        CHECK(str_is(oap_token_scopes(issued), "read"));
        CHECK(oap_token_username(issued).ptr == NULL); /* client credentials: no user */
        CHECK(oap_token_sub(issued).ptr == NULL);
        CHECK(iat > 0 && oap_token_exp(issued) == iat + 3600);
        CHECK(oap_token_aud_count(issued) == 0 && oap_token_iss(issued).ptr == NULL);
    }

    /* Outside a save callback it is the wrong context, which does not fail
     * the callback: memstore then answers normally. */
    {
        oap_token *token = NULL;
        oap_response *denied = NULL;
        oap_str required = S("read");
        CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/photos", access), &required, 1,
                                              &token, &denied),
                     OAP_STATUS_OK);
        CHECK(token != NULL && denied == NULL);
        CHECK_STATUS(last_issued_status, OAP_STATUS_WRONG_CONTEXT);
        oap_token_free(token);
        oap_response_free(denied);
    }
    oap_server_free(server);

    /* The issued token handed back grants the check. */
    held = issued;
    server = new_server(hands_back_held, NULL, NULL);
    CHECK(check(server, "read", NULL) == 200);
    oap_server_free(server);
    oap_token_free(issued);
    issued = NULL;
    held = NULL;
}

static void test_introspection(void) {
    oap_server *server = new_server(NULL, introspects_held, NULL);
    test_request t;
    oap_response *r = NULL;

    held = make("read", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK_STATUS(oap_server_introspection_response(
                     server, post(&t, "/introspect", "token=tok", "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(body_has(r, "\"active\":true"));
    CHECK(body_has(r, "\"client_id\":\"conf-client\""));
    CHECK(body_has(r, "\"aud\":\"https://api.example.com\""));
    CHECK_STATUS(last_setter_status, OAP_STATUS_OK);
    oap_response_free(r);
    oap_token_free(held);

    /* Expired: inactive, whatever the host handed back. */
    held = make("read", now_s() - 1, OAP_TOKEN_TYPE_ACCESS_TOKEN);
    CHECK_STATUS(oap_server_introspection_response(
                     server, post(&t, "/introspect", "token=tok", "conf-client", "conf-secret"), &r),
                 OAP_STATUS_OK);
    CHECK(body_has(r, "{\"active\":false}"));
    oap_response_free(r);
    oap_token_free(held);
    held = NULL;
    oap_server_free(server);
}

/* ---- oap_server_verify_bearer_with ---- */

typedef struct seen {
    int calls;
    int client_ok, scopes_ok;
} seen;

static void records_grant(void *user_data, const oap_token *token) {
    seen *s = user_data;
    s->calls++;
    s->client_ok = str_is(oap_token_client_id(token), "conf-client");
    s->scopes_ok = oap_token_has_scope(token, S("read")) && !oap_token_has_scope(token, S("admin"));
}

static void test_verify_bearer_with(void) {
    oap_server *server = new_server(hands_back_held, NULL, NULL);
    test_request t;
    oap_response *r = (oap_response *)&t; /* must be written on success only */
    oap_response *const sentinel = r;
    oap_str read = S("read"), admin = S("admin"), bad[1];
    static const char bad_utf8[] = {'r', (char)0xc3, 0};
    seen s;

    held = make("read", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);

    memset(&s, 0, sizeof s);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), &read, 1,
                                               records_grant, &s, &r),
                 OAP_STATUS_OK);
    CHECK(r == NULL);
    CHECK(s.calls == 1 && s.client_ok && s.scopes_ok);

    /* Denied: no call, the response to send. */
    memset(&s, 0, sizeof s);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), &admin, 1,
                                               records_grant, &s, &r),
                 OAP_STATUS_OK);
    CHECK(s.calls == 0 && r != NULL && oap_response_status(r) == 403);
    oap_response_free(r);
    CHECK_STATUS(oap_server_verify_bearer_with(server, get(&t, "/photos"), &read, 1, records_grant, &s, &r),
                 OAP_STATUS_OK);
    CHECK(s.calls == 0 && r != NULL && oap_response_status(r) == 401);
    CHECK(header_is(r, "WWW-Authenticate", "Bearer realm=\"oauth2\", scope=\"read\""));
    oap_response_free(r);

    /* Misuse: an error status, no call, *response_out untouched. */
    r = sentinel;
    memset(&s, 0, sizeof s);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), &read, 1, NULL, &s, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), &read, 1,
                                               records_grant, &s, NULL),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer_with(NULL, bearer_get(&t, "/photos", "tok"), &read, 1,
                                               records_grant, &s, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer_with(server, NULL, &read, 1, records_grant, &s, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), NULL, 1,
                                               records_grant, &s, &r),
                 OAP_STATUS_NULL_PARAMETER);
    bad[0] = S(bad_utf8);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), bad, 1,
                                               records_grant, &s, &r),
                 OAP_STATUS_INVALID_UTF8);
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), &read,
                                               (size_t)-1, records_grant, &s, &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK(s.calls == 0 && r == sentinel);

    /* Many required scopes (past the on-stack array), all granted. */
    {
        static const char *const names[11] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
        oap_str many[12];
        size_t i;
        oap_token_free(held);
        held = make("a b c d e f g h i j k read", now_s() + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN);
        for (i = 0; i < 11; i++) many[i] = S(names[i]);
        many[11] = read;
        memset(&s, 0, sizeof s);
        CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), many, 12,
                                                   records_grant, &s, &r),
                     OAP_STATUS_OK);
        CHECK(s.calls == 1 && r == NULL);
        /* No scope required: NULL with 0. */
        memset(&s, 0, sizeof s);
        CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/photos", "tok"), NULL, 0,
                                                   records_grant, &s, &r),
                     OAP_STATUS_OK);
        CHECK(s.calls == 1 && r == NULL);
    }

    oap_token_free(held);
    held = NULL;
    oap_server_free(server);
}

int main(void) {
    store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, true, "read write admin", "read");
    base = memstore_validator(store);

    test_new_errors();
    test_new_copies();
    test_set_token_grants_and_checks();
    test_lifetime_and_misuse();
    test_issued_access_token();
    test_introspection();
    test_verify_bearer_with();

    memstore_free(store);
    return report();
}
