/*
 * test_sqlite.c: a server over an SQLite file, without callbacks
 * (oap_sqlite_open, oap_server_new_sqlite), as an nginx module would use it.
 *
 * Usage: test_sqlite DIR, an empty directory for the database file (the
 * Rust test makes one). DIR itself serves as a path that cannot be opened.
 */
#include "testutil.h"

#define ISSUER "https://auth.example.com"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static char db_path[4096];

/* The store's error log: no request of this program makes the store fail. */
static int store_failures = 0;

static void log_store_failure(void *user_data, oap_str message) {
    (void)user_data;
    fprintf(stderr, "store failed: %.*s\n", (int)message.len, message.ptr);
    store_failures++;
}

static oap_config server_config(void) {
    oap_config config = oap_config_default();
    config.issuer = S(ISSUER);
    return config;
}

/* The confidential client "svc": client credentials, secret "s3cret". */
static oap_client service_client(void) {
    oap_client client;
    memset(&client, 0, sizeof client);
    client.struct_size = sizeof client;
    client.client_id = S("svc");
    client.secret_kind = OAP_SECRET_PLAIN;
    client.secret = S("s3cret");
    client.grants = OAP_GRANT_CLIENT_CREDENTIALS;
    client.may_introspect = 1;
    return client;
}

/* A client credentials token for "svc" (scope NULL: the default ones),
 * copied into out; returns the HTTP status. */
static int issue_token(const oap_server *server, const char *scope, char *out, size_t out_len) {
    test_request t;
    char body[128];
    oap_response *r = NULL;
    int status;
    snprintf(body, sizeof body, "grant_type=client_credentials%s%s", scope ? "&scope=" : "",
             scope ? scope : "");
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, "svc", "s3cret"), &r),
                 OAP_STATUS_OK);
    if (r == NULL) return 0;
    status = oap_response_status(r);
    if (status == 200) CHECK(json_field(r, "access_token", out, out_len));
    oap_response_free(r);
    return status;
}

/* Checks `token` for a resource requiring `scope`: 200 when granted, else
 * the denial's status. */
static int check_bearer(const oap_server *server, const char *token, const char *scope) {
    test_request t;
    oap_str scopes[1];
    oap_token *info = NULL;
    oap_response *denied = NULL;
    int status = 0;
    scopes[0] = S(scope);
    CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", token), scopes, 1, &info,
                                          &denied),
                 OAP_STATUS_OK);
    if (info != NULL) {
        CHECK(str_is(oap_token_client_id(info), "svc"));
        CHECK(oap_token_has_scope(info, S(scope)));
        status = 200;
    } else if (denied != NULL) {
        status = oap_response_status(denied);
    }
    oap_token_free(info);
    oap_response_free(denied);
    return status;
}

static void count_grant(void *user_data, const oap_token *token) {
    (void)token;
    ++*(int *)user_data;
}

/* The other endpoints, unchanged for the caller on an SQLite server. */
static void test_other_endpoints(const oap_server *server, const char *token) {
    test_request t;
    oap_response *r = NULL;
    oap_str scope = S("read");
    char body[256];
    int granted = 0;

    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(r != NULL && oap_response_status(r) == 200 && body_has(r, "\"issuer\":\"" ISSUER "\""));
    oap_response_free(r);

    snprintf(body, sizeof body, "token=%s", token);
    post(&t, "/introspect", body, "svc", "s3cret");
    CHECK_STATUS(oap_server_introspection_response(server, &t.req, &r), OAP_STATUS_OK);
    CHECK(r != NULL && oap_response_status(r) == 200 && body_has(r, "\"active\":true") &&
          body_has(r, "\"client_id\":\"svc\""));
    oap_response_free(r);

    r = NULL;
    CHECK_STATUS(oap_server_verify_bearer_with(server, bearer_get(&t, "/api", token), &scope, 1,
                                               count_grant, &granted, &r),
                 OAP_STATUS_OK);
    CHECK(granted == 1 && r == NULL);
    oap_response_free(r);
}

static void test_opening(const char *dir) {
    oap_sqlite *store = NULL;
    oap_status status;
    oap_str message;

    CHECK_STATUS(oap_sqlite_open(S(db_path), NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_sqlite_open(S(NULL), &store), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_sqlite_open(S(""), &store), OAP_STATUS_INVALID_PARAMETER);
    CHECK(store == NULL);

    /* A directory is no database file: an error the host can log. */
    status = oap_sqlite_open(S(dir), &store);
    CHECK_STATUS(status, OAP_STATUS_STORE_FAILED);
    CHECK(store == NULL);
    message = oap_status_message(status);
    CHECK(message.len > 0 && strstr(message.ptr, "SQLite") != NULL);

    oap_sqlite_free(NULL);
}

static void test_clients(oap_sqlite *store) {
    oap_client client = service_client();
    oap_client bad;
    uint8_t removed = 2;

    CHECK_STATUS(oap_sqlite_add_client(store, &client, S("read write"), S("read"), 0),
                 OAP_STATUS_OK);
    CHECK_STATUS(oap_sqlite_add_client(store, &client, S("read write"), S("read"), 0),
                 OAP_STATUS_ALREADY_EXISTS);
    CHECK_STATUS(oap_sqlite_upsert_client(store, &client, S("read write"), S("read"), 0),
                 OAP_STATUS_OK);

    CHECK_STATUS(oap_sqlite_add_client(NULL, &client, S(NULL), S(NULL), 0),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_sqlite_add_client(store, NULL, S(NULL), S(NULL), 0),
                 OAP_STATUS_NULL_PARAMETER);

    /* What oap_client refuses, the store refuses. */
    bad = service_client();
    bad.client_id = S("bad");
    bad.secret_kind = OAP_SECRET_SHA256_HEX;
    bad.secret = S("not a digest");
    CHECK_STATUS(oap_sqlite_add_client(store, &bad, S(NULL), S(NULL), 0),
                 OAP_STATUS_INVALID_PARAMETER);
    bad = service_client();
    bad.client_id = S("bad");
    bad.secret_kind = OAP_SECRET_NONE;
    bad.confidential = 1;
    CHECK_STATUS(oap_sqlite_add_client(store, &bad, S(NULL), S(NULL), 0),
                 OAP_STATUS_INVALID_PARAMETER);
    bad = service_client();
    bad.client_id = S("bad");
    bad.grants = 1u << 10;
    CHECK_STATUS(oap_sqlite_add_client(store, &bad, S(NULL), S(NULL), 0),
                 OAP_STATUS_INVALID_PARAMETER);
    bad = service_client();
    bad.struct_size = 0;
    CHECK_STATUS(oap_sqlite_add_client(store, &bad, S(NULL), S(NULL), 0),
                 OAP_STATUS_STRUCT_TOO_SMALL);
    /* ... and what the store cannot keep. */
    bad = service_client();
    bad.client_id = S("");
    CHECK_STATUS(oap_sqlite_add_client(store, &bad, S(NULL), S(NULL), 0),
                 OAP_STATUS_INVALID_PARAMETER);
    bad = service_client();
    bad.client_id = S("bad");
    CHECK_STATUS(oap_sqlite_add_client(store, &bad, S("read \"quoted\""), S(NULL), 0),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_sqlite_remove_client(store, S("bad"), &removed), OAP_STATUS_OK);
    CHECK(removed == 0);
    CHECK_STATUS(oap_sqlite_remove_client(store, S("bad"), NULL), OAP_STATUS_NULL_PARAMETER);
}

/* Hashing a password is slow by design (PBKDF2, 600,000 iterations): few calls. */
static void test_users(oap_sqlite *store) {
    uint8_t ok = 2;
    CHECK_STATUS(oap_sqlite_add_user(store, S("alice"), S("wonderland")), OAP_STATUS_OK);
    CHECK_STATUS(oap_sqlite_add_user(store, S(""), S("x")), OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_sqlite_add_user(NULL, S("alice"), S("x")), OAP_STATUS_NULL_PARAMETER);

    CHECK_STATUS(oap_sqlite_check_user(store, S("alice"), S("wonderland"), &ok), OAP_STATUS_OK);
    CHECK(ok == 1);
    CHECK_STATUS(oap_sqlite_check_user(store, S("alice"), S("wrong"), &ok), OAP_STATUS_OK);
    CHECK(ok == 0);
    CHECK_STATUS(oap_sqlite_check_user(store, S("alice"), S("wonderland"), NULL),
                 OAP_STATUS_NULL_PARAMETER);
}

/* The authorization endpoint on an SQLite server: a public client with
 * PKCE, a code, its exchange. An authorization from it is refused by a
 * server of the other kind. */
static void test_authorization_code(oap_sqlite *store, const oap_server *server) {
    oap_client app;
    oap_str redirect = S("https://app.example/cb");
    oap_config config = server_config();
    oap_validator callbacks;
    oap_server *callback_server = NULL;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    test_request t;
    char code[128], body[512];

    memset(&app, 0, sizeof app);
    app.struct_size = sizeof app;
    app.client_id = S("app");
    app.redirect_uris = &redirect;
    app.redirect_uris_len = 1;
    app.grants = OAP_GRANT_AUTHORIZATION_CODE;
    CHECK_STATUS(oap_sqlite_add_client(store, &app, S("read"), S("read"), 0), OAP_STATUS_OK);

    CHECK_STATUS(oap_server_validate_authorization_request(
                     server,
                     get(&t, "/authorize?response_type=code&client_id=app&state=xyz"
                             "&code_challenge=" CHALLENGE "&code_challenge_method=S256"),
                     &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    if (auth == NULL) {
        oap_response_free(r);
        return;
    }
    CHECK(str_is(oap_authorization_client_id(auth), "app"));
    CHECK(str_is(oap_authorization_scopes(auth), "read"));

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.struct_size = sizeof callbacks;
    CHECK_STATUS(oap_server_new(&config, &callbacks, &callback_server), OAP_STATUS_OK);
    CHECK_STATUS(oap_server_authorize(callback_server, auth, get(&t, "/consent"), S("alice"),
                                      S(NULL), &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_server_deny(callback_server, auth, &r), OAP_STATUS_INVALID_PARAMETER);
    oap_server_free(callback_server);

    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r),
                 OAP_STATUS_OK);
    oap_authorization_free(auth);
    CHECK(r != NULL && oap_response_status(r) == 302);
    CHECK(r != NULL && location_param(r, "code", code, sizeof code));
    oap_response_free(r);
    r = NULL;

    snprintf(body, sizeof body,
             "grant_type=authorization_code&client_id=app&code=%s&code_verifier=" VERIFIER, code);
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, NULL, NULL), &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && oap_response_status(r) == 200 && body_has(r, "\"scope\":\"read\""));
    oap_response_free(r);
}

/* Pushed authorization requests (RFC 9126) over the SQLite store: the
 * public client "app" pushes, the request_uri is bound to it, used up by
 * the response; errors are JSON, never redirects. */
static void test_pushed_requests(const oap_server *server) {
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    test_request t;
    char request_uri[256], uri[512], code[128];
    const char *push = "response_type=code&client_id=app&state=par"
                       "&code_challenge=" CHALLENGE "&code_challenge_method=S256";

    CHECK_STATUS(oap_server_pushed_authorization_response(server, post(&t, "/par", push, NULL, NULL),
                                                          &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && oap_response_status(r) == 201);
    CHECK(r != NULL && header_is(r, "Cache-Control", "no-store"));
    CHECK(r != NULL && body_has(r, "\"expires_in\":60"));
    CHECK(r != NULL && json_field(r, "request_uri", request_uri, sizeof request_uri));
    CHECK(strncmp(request_uri, "urn:ietf:params:oauth:request_uri:", 34) == 0);
    oap_response_free(r);
    r = NULL;

    /* A request_uri in the body, a missing PKCE challenge: JSON 400s. */
    CHECK_STATUS(oap_server_pushed_authorization_response(
                     server, post(&t, "/par", "response_type=code&client_id=app&request_uri=x", NULL, NULL), &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && oap_response_status(r) == 400 && body_has(r, "invalid_request"));
    {
        oap_str location;
        CHECK(r != NULL && oap_response_header_value(r, S("Location"), &location) != OAP_STATUS_OK);
    }
    oap_response_free(r);
    r = NULL;

    /* Another client's use: refused, not redirected, not spent. */
    snprintf(uri, sizeof uri, "/authorize?client_id=svc&request_uri=%s", request_uri);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth == NULL && r != NULL && oap_response_status(r) == 400);
    oap_response_free(r);
    r = NULL;

    snprintf(uri, sizeof uri, "/authorize?client_id=app&request_uri=%s&state=ignored", request_uri);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    if (auth == NULL) {
        oap_response_free(r);
        return;
    }
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && location_param(r, "code", code, sizeof code));
    CHECK(r != NULL && location_param(r, "state", code, sizeof code) && strcmp(code, "par") == 0);
    oap_response_free(r);
    r = NULL;
    /* Used up: a second response gives no code, the request_uri is gone. */
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && !location_param(r, "code", code, sizeof code));
    oap_response_free(r);
    r = NULL;
    oap_authorization_free(auth);
    auth = NULL;
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth == NULL && r != NULL && oap_response_status(r) == 400);
    oap_response_free(r);
    oap_authorization_free(auth);
}

int main(int argc, char **argv) {
    oap_config config = server_config();
    oap_sqlite *store = NULL;
    oap_server *server = NULL;
    char revoked[128], kept[128];
    test_request t;
    oap_response *r = NULL;
    uint8_t ok = 0, removed = 0;
    uint64_t purged = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: test_sqlite DIR\n");
        return 2;
    }
    snprintf(db_path, sizeof db_path, "%s/oauth.db", argv[1]);

    test_opening(argv[1]);

    CHECK_STATUS(oap_sqlite_open(S(db_path), &store), OAP_STATUS_OK);
    if (store == NULL) return report();
    test_clients(store);
    test_users(store);

    CHECK_STATUS(oap_server_new_sqlite(&config, NULL, &server), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_new_sqlite(NULL, store, &server), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_new_sqlite(&config, store, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_new_sqlite(&config, store, &server), OAP_STATUS_OK);
    if (server == NULL) return report();
    CHECK_STATUS(oap_sqlite_set_error_log(store, log_store_failure, NULL), OAP_STATUS_OK);
    CHECK_STATUS(oap_sqlite_set_error_log(NULL, log_store_failure, NULL),
                 OAP_STATUS_NULL_PARAMETER);

    /* Issue, check, revoke, refused. */
    CHECK(issue_token(server, NULL, revoked, sizeof revoked) == 200);
    CHECK(check_bearer(server, revoked, "read") == 200);
    CHECK(check_bearer(server, revoked, "write") == 403); /* default scope: read only */
    CHECK_STATUS(oap_server_token_response(
                     server, post(&t, "/token", "grant_type=client_credentials", "svc", "wrong"),
                     &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && oap_response_status(r) == 401);
    oap_response_free(r);
    {
        char body[256];
        snprintf(body, sizeof body, "token=%s", revoked);
        post(&t, "/revoke", body, "svc", "s3cret");
        CHECK_STATUS(oap_server_revocation_response(server, &t.req, &r), OAP_STATUS_OK);
        CHECK(r != NULL && oap_response_status(r) == 200);
        oap_response_free(r);
    }
    CHECK(check_bearer(server, revoked, "read") == 401);

    CHECK(issue_token(server, "read write", kept, sizeof kept) == 200);
    test_other_endpoints(server, kept);
    test_authorization_code(store, server);
    test_pushed_requests(server);

    /* The server shares the store: freeing the handle first is safe. */
    oap_sqlite_free(store);
    CHECK(check_bearer(server, kept, "write") == 200);
    oap_server_free(server);

    /* A new process, in effect: the state is in the file. */
    store = NULL;
    server = NULL;
    CHECK_STATUS(oap_sqlite_open(S(db_path), &store), OAP_STATUS_OK);
    if (store == NULL) return report();
    CHECK_STATUS(oap_server_new_sqlite(&config, store, &server), OAP_STATUS_OK);
    if (server == NULL) return report();
    CHECK(check_bearer(server, kept, "write") == 200);
    CHECK(check_bearer(server, revoked, "read") == 401);
    CHECK_STATUS(oap_sqlite_check_user(store, S("alice"), S("wonderland"), &ok), OAP_STATUS_OK);
    CHECK(ok == 1);

    /* Admin while serving: a removed client's tokens go with it. */
    CHECK_STATUS(oap_sqlite_remove_client(store, S("svc"), &removed), OAP_STATUS_OK);
    CHECK(removed == 1);
    CHECK(check_bearer(server, kept, "read") == 401);

    CHECK_STATUS(oap_sqlite_purge(store, UINT64_MAX / 2, &purged), OAP_STATUS_OK);
    CHECK(purged > 0); /* at least the code and the token of test_authorization_code */
    CHECK_STATUS(oap_sqlite_purge(store, 0, NULL), OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_sqlite_purge(NULL, 0, &purged), OAP_STATUS_NULL_PARAMETER);

    oap_server_free(server);
    oap_sqlite_free(store);
    CHECK(store_failures == 0);
    return report();
}
