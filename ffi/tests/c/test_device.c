/*
 * The device authorization grant (RFC 8628) through the C ABI, over the C
 * in-memory validator's device callbacks: the device authorization
 * endpoint, polls answered authorization_pending then slow_down, the
 * verification page (oap_server_device_verification, then
 * oap_server_device_decision), tokens at the poll after approval, a
 * replay refused (and the grant revoked); a denial (access_denied), an
 * expired device code (expired_token), the per-user throttle on wrong
 * user codes; and a callback table from before the device callbacks,
 * which refuses the grant cleanly (server_error) and keeps working for
 * everything else. Then the same grant over the library's SQLite store
 * (oap_server_new_sqlite), whose validator keeps device authorizations.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stddef.h>
#include <time.h>

#include "memstore.h"
#include "testutil.h"

/* The grant type URN, form-encoded, as a printf format (%% for %). */
#define URN "urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Adevice_code"
#define VERIFICATION_URI "https://as.example/device"

static oap_config device_config(void) {
    oap_config config = oap_config_default();
    config.issuer = S("https://as.example");
    config.grants |= OAP_GRANT_DEVICE_CODE;
    config.device_verification_uri = S(VERIFICATION_URI);
    return config;
}

static oap_server *new_server(memstore *store, size_t struct_size) {
    oap_config config = device_config();
    oap_validator validator = memstore_validator(store);
    oap_server *server = NULL;
    validator.struct_size = struct_size;
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
    return server;
}

/* POST /device_authorization for the public client "tv". */
static oap_response *device_authorization(const oap_server *server, const char *body) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_device_authorization_response(
                     server, post(&t, "/device_authorization", body, NULL, NULL), &r),
                 OAP_STATUS_OK);
    return r;
}

/* A device authorization for "tv": its device and user codes. */
static bool start(const oap_server *server, char *device_code, size_t device_len,
                  char *user_code, size_t user_len) {
    oap_response *r = device_authorization(server, "client_id=tv&scope=read+write");
    bool ok = r != NULL && oap_response_status(r) == 200 &&
              json_field(r, "device_code", device_code, device_len) &&
              json_field(r, "user_code", user_code, user_len);
    CHECK(ok);
    oap_response_free(r);
    return ok;
}

/* A poll of the token endpoint by "tv": the response (to free). */
static oap_response *poll_token(const oap_server *server, const char *device_code) {
    char body[256];
    test_request t;
    oap_response *r = NULL;
    snprintf(body, sizeof body, "grant_type=" URN "&device_code=%s&client_id=tv", device_code);
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, NULL, NULL), &r),
                 OAP_STATUS_OK);
    return r;
}

/* Whether a poll is answered with the error `error` (400). */
static bool poll_says(const oap_server *server, const char *device_code, const char *error) {
    char got[64] = "";
    oap_response *r = poll_token(server, device_code);
    bool ok = r != NULL && oap_response_status(r) == 400 &&
              json_field(r, "error", got, sizeof got) && strcmp(got, error) == 0;
    if (!ok) fprintf(stderr, "poll: expected %s, got %s\n", error, got);
    oap_response_free(r);
    return ok;
}

/* The verification page's lookup by `subject`: the pending authorization,
 * or NULL with the error response's status and `error` in *status, error. */
static oap_device_pending *verify(const oap_server *server, const char *subject,
                                  const char *user_code, int *status, char *error,
                                  size_t error_len) {
    test_request t;
    oap_device_pending *pending = NULL;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_device_verification(server, get(&t, "/device"), S(subject),
                                                S(user_code), &pending, &r),
                 OAP_STATUS_OK);
    CHECK((pending == NULL) != (r == NULL));
    *status = r != NULL ? oap_response_status(r) : 0;
    error[0] = '\0';
    if (r != NULL) CHECK(json_field(r, "error", error, error_len));
    oap_response_free(r);
    return pending;
}

/* The user's decision: NULL on success, else the error `error`. */
static bool decide(const oap_server *server, const char *subject, const char *user_code,
                   oap_device_decision decision, const char *scopes, char *error,
                   size_t error_len) {
    test_request t;
    oap_response *r = NULL;
    bool recorded;
    CHECK_STATUS(oap_server_device_decision(server, post(&t, "/device", "", NULL, NULL),
                                            S(subject), S(user_code), S(scopes), decision, &r),
                 OAP_STATUS_OK);
    recorded = r == NULL;
    error[0] = '\0';
    if (r != NULL) CHECK(json_field(r, "error", error, error_len));
    oap_response_free(r);
    return recorded;
}

/* "BCDF-GHJK" as a user might type it: "bcdf ghjk". */
static void typed(const char *user_code, char *out, size_t out_len) {
    size_t i, n = 0;
    for (i = 0; user_code[i] != '\0' && n + 1 < out_len; i++)
        out[n++] = user_code[i] == '-' ? ' ' : (char)(user_code[i] - 'A' + 'a');
    out[n] = '\0';
}

static void test_whole_flow(memstore *store) {
    oap_server *server = new_server(store, sizeof(oap_validator));
    oap_device_pending *pending;
    oap_response *r;
    char device_code[128], user_code[32], value[256], error[64], lower[32];
    char access_token[128];
    int status = 0;
    uint64_t now = (uint64_t)time(NULL);

    /* The device authorization response (RFC 8628 §3.2). */
    r = device_authorization(server, "client_id=tv&scope=read+write");
    CHECK(r != NULL && oap_response_status(r) == 200);
    CHECK(r != NULL && header_is(r, "Cache-Control", "no-store"));
    CHECK(r != NULL && json_field(r, "device_code", device_code, sizeof device_code));
    CHECK(strlen(device_code) == OAP_TOKEN_LEN);
    CHECK(r != NULL && json_field(r, "user_code", user_code, sizeof user_code));
    CHECK(strlen(user_code) == 9 && user_code[4] == '-');
    CHECK(r != NULL && json_field(r, "verification_uri", value, sizeof value) &&
          strcmp(value, VERIFICATION_URI) == 0);
    CHECK(r != NULL && json_field(r, "verification_uri_complete", value, sizeof value) &&
          strstr(value, user_code) != NULL);
    CHECK(r != NULL && body_has(r, "\"expires_in\":600") && body_has(r, "\"interval\":5"));
    oap_response_free(r);
    CHECK(memstore_calls(store, "save_device_authorization") == 1);

    /* Polls: pending, then too soon (slow_down, the interval grows). */
    CHECK(poll_says(server, device_code, "authorization_pending"));
    CHECK(poll_says(server, device_code, "slow_down"));
    CHECK(memstore_calls(store, "record_device_poll") >= 2);
    memstore_device_rewind(store, 60);

    /* The verification page, with the code as a user types it. */
    typed(user_code, lower, sizeof lower);
    pending = verify(server, "alice", lower, &status, error, sizeof error);
    CHECK(pending != NULL);
    CHECK(str_is(oap_device_pending_client_id(pending), "tv"));
    CHECK(str_is(oap_device_pending_scopes(pending), "read write"));
    CHECK(str_is(oap_device_pending_user_code(pending), user_code));
    CHECK(oap_device_pending_expires_at(pending) > now - 120 &&
          oap_device_pending_expires_at(pending) <= now + 600);
    CHECK(oap_device_pending_resource_count(pending) == 0);
    CHECK(oap_device_pending_resource(pending, 0).ptr == NULL);
    oap_device_pending_free(pending);
    /* NULL handles read as nothing. */
    CHECK(oap_device_pending_client_id(NULL).ptr == NULL);
    CHECK(oap_device_pending_expires_at(NULL) == 0);
    oap_device_pending_free(NULL);

    /* A wrong code: invalid_grant. Every code entered counts against
     * alice, the right one above too (counted before its lookup). */
    CHECK(verify(server, "alice", "BCDF-GHJK", &status, error, sizeof error) == NULL);
    CHECK(status == 400 && strcmp(error, "invalid_grant") == 0);
    CHECK(memstore_calls(store, "record_user_code_attempt") == 2);

    /* Approved for "read" only; a second decision is refused. */
    CHECK(!decide(server, "alice", user_code, OAP_DEVICE_DECISION_APPROVE, "admin", error,
                  sizeof error));
    CHECK(strcmp(error, "invalid_scope") == 0);
    CHECK(decide(server, "alice", user_code, OAP_DEVICE_DECISION_APPROVE, "read", error,
                 sizeof error));
    CHECK(!decide(server, "alice", user_code, OAP_DEVICE_DECISION_DENY, NULL, error,
                  sizeof error));
    CHECK(strcmp(error, "invalid_grant") == 0);

    /* A failing save: server_error, and the next poll still gets tokens. */
    memstore_force(store, "consume_device_code_and_save", OAP_CB_ERROR);
    r = poll_token(server, device_code);
    CHECK(r != NULL && oap_response_status(r) == 500 && !body_has(r, "access_token"));
    oap_response_free(r);
    memstore_force(store, NULL, OAP_CB_TRUE);
    memstore_device_rewind(store, 60);

    /* The tokens, for the approved scope. */
    r = poll_token(server, device_code);
    CHECK(r != NULL && oap_response_status(r) == 200);
    CHECK(r != NULL && json_field(r, "access_token", access_token, sizeof access_token));
    CHECK(r != NULL && json_field(r, "refresh_token", value, sizeof value));
    CHECK(r != NULL && json_field(r, "scope", value, sizeof value) && strcmp(value, "read") == 0);
    oap_response_free(r);
    CHECK(memstore_calls(store, "consume_device_code_and_save") == 2);
    {
        test_request t;
        oap_token *token = NULL;
        oap_str read = S("read");
        CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", access_token), &read,
                                              1, &token, &r),
                     OAP_STATUS_OK);
        CHECK(token != NULL && r == NULL);
        CHECK(token != NULL && str_is(oap_token_username(token), "alice"));
        CHECK(token != NULL && str_is(oap_token_client_id(token), "tv"));
        oap_token_free(token);
        oap_response_free(r);
    }

    /* A replay: invalid_grant, and the grant's tokens are revoked. */
    memstore_device_rewind(store, 60);
    CHECK(poll_says(server, device_code, "invalid_grant"));
    CHECK(memstore_calls(store, "revoke_grant") >= 1);
    {
        test_request t;
        oap_token *token = NULL;
        CHECK_STATUS(oap_server_verify_bearer(server, bearer_get(&t, "/api", access_token), NULL,
                                              0, &token, &r),
                     OAP_STATUS_OK);
        CHECK(token == NULL && r != NULL && oap_response_status(r) == 401);
        oap_token_free(token);
        oap_response_free(r);
    }
    /* Decided, the user code is no longer shown. */
    CHECK(verify(server, "alice", user_code, &status, error, sizeof error) == NULL);
    CHECK(status == 400 && strcmp(error, "invalid_grant") == 0);
    oap_server_free(server);
}

static void test_denied_and_expired(memstore *store) {
    oap_server *server = new_server(store, sizeof(oap_validator));
    char device_code[128], user_code[32], error[64];
    int status = 0;

    /* Denied: the next poll gets access_denied. */
    if (start(server, device_code, sizeof device_code, user_code, sizeof user_code)) {
        CHECK(decide(server, "bob", user_code, OAP_DEVICE_DECISION_DENY, NULL, error,
                     sizeof error));
        CHECK(poll_says(server, device_code, "access_denied"));
    }

    /* Expired: expired_token at the poll, invalid_grant at the page. */
    if (start(server, device_code, sizeof device_code, user_code, sizeof user_code)) {
        memstore_device_rewind(store, 601);
        CHECK(poll_says(server, device_code, "expired_token"));
        CHECK(verify(server, "bob", user_code, &status, error, sizeof error) == NULL);
        CHECK(status == 400 && strcmp(error, "invalid_grant") == 0);
        CHECK(!decide(server, "bob", user_code, OAP_DEVICE_DECISION_APPROVE, NULL, error,
                      sizeof error));
        CHECK(strcmp(error, "invalid_grant") == 0);
    }

    /* An unknown device code, another client's: invalid_grant. */
    CHECK(poll_says(server, "not-a-device-code", "invalid_grant"));
    if (start(server, device_code, sizeof device_code, user_code, sizeof user_code)) {
        char body[256];
        test_request t;
        oap_response *r = NULL;
        snprintf(body, sizeof body, "grant_type=" URN "&device_code=%s", device_code);
        CHECK_STATUS(oap_server_token_response(
                         server, post(&t, "/token", body, "console", "console-secret"), &r),
                     OAP_STATUS_OK);
        CHECK(r != NULL && oap_response_status(r) == 400 && body_has(r, "invalid_grant"));
        oap_response_free(r);
    }
    oap_server_free(server);
}

/* RFC 8628 §5.1: user code entries are throttled per user. */
static void test_throttle(memstore *store) {
    oap_server *server = new_server(store, sizeof(oap_validator));
    char device_code[128], user_code[32], error[64];
    int status = 0, i;
    if (!start(server, device_code, sizeof device_code, user_code, sizeof user_code)) {
        oap_server_free(server);
        return;
    }
    for (i = 0; i < 10; i++) {
        CHECK(verify(server, "mallory", "BBBB-BBBB", &status, error, sizeof error) == NULL);
        CHECK(status == 400 && strcmp(error, "invalid_grant") == 0);
    }
    /* Even the right code is refused now, without a lookup. */
    CHECK(verify(server, "mallory", user_code, &status, error, sizeof error) == NULL);
    CHECK(status == 503 && strcmp(error, "temporarily_unavailable") == 0);
    CHECK(!decide(server, "mallory", user_code, OAP_DEVICE_DECISION_APPROVE, NULL, error,
                  sizeof error));
    CHECK(strcmp(error, "temporarily_unavailable") == 0);
    /* Another user is not affected. */
    {
        oap_device_pending *pending = verify(server, "carol", user_code, &status, error,
                                             sizeof error);
        CHECK(pending != NULL);
        oap_device_pending_free(pending);
    }
    oap_server_free(server);

    /* A stricter throttle: two codes per window. */
    {
        oap_config config = device_config();
        oap_validator validator = memstore_validator(store);
        server = NULL;
        config.user_code_max_attempts = 2;
        config.user_code_attempts_window = 60;
        CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
        for (i = 0; i < 2; i++) {
            CHECK(verify(server, "dave", "CCCC-CCCC", &status, error, sizeof error) == NULL);
            CHECK(status == 400);
        }
        CHECK(verify(server, "dave", user_code, &status, error, sizeof error) == NULL);
        CHECK(status == 503 && strcmp(error, "temporarily_unavailable") == 0);
        oap_server_free(server);
    }
}

/* Configuration, metadata, the client's grant, hostile arguments. */
static void test_configuration(memstore *store) {
    oap_config config = device_config();
    oap_validator validator = memstore_validator(store);
    oap_server *server = NULL;
    oap_device_pending *pending = NULL;
    oap_response *r = NULL;
    test_request t;

    /* The grant needs a verification URI, an https one. */
    config.device_verification_uri = S(NULL);
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_INVALID_PARAMETER);
    config.device_verification_uri = S("http://as.example/device");
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_INVALID_PARAMETER);
    CHECK(server == NULL);
    /* Another lifetime and interval, and an endpoint path. */
    config = device_config();
    config.device_code_lifetime = 120;
    config.device_poll_interval = 7;
    config.device_authorization_endpoint = S("/oauth/device");
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
    r = device_authorization(server, "client_id=tv");
    CHECK(r != NULL && oap_response_status(r) == 200);
    CHECK(r != NULL && body_has(r, "\"expires_in\":120") && body_has(r, "\"interval\":7"));
    oap_response_free(r);
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(r != NULL &&
          body_has(r, "\"device_authorization_endpoint\":\"https://as.example/oauth/device\""));
    CHECK(r != NULL && body_has(r, "urn:ietf:params:oauth:grant-type:device_code"));
    oap_response_free(r);

    /* A client without the device grant: unauthorized_client. */
    r = device_authorization(server, "client_id=web");
    CHECK(r != NULL && oap_response_status(r) == 400 && body_has(r, "unauthorized_client"));
    oap_response_free(r);

    /* Hostile arguments: statuses, nothing written. */
    CHECK_STATUS(oap_server_device_verification(server, get(&t, "/device"), S("alice"),
                                                S("BCDF-GHJK"), NULL, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_device_verification(server, get(&t, "/device"), S(""),
                                                S("BCDF-GHJK"), &pending, &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK(pending == NULL);
    CHECK_STATUS(oap_server_device_decision(server, get(&t, "/device"), S("alice"),
                                            S("BCDF-GHJK"), S(NULL), 7, &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_server_device_decision(server, get(&t, "/device"), S("alice"),
                                            S("BCDF-GHJK"), S("bad\"scope"),
                                            OAP_DEVICE_DECISION_APPROVE, &r),
                 OAP_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(oap_server_device_authorization_response(NULL, get(&t, "/"), &r),
                 OAP_STATUS_NULL_PARAMETER);
    oap_server_free(server);

    /* A server without the grant: the endpoint refuses every client. */
    config = oap_config_default();
    config.issuer = S("https://as.example");
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
    r = device_authorization(server, "client_id=tv");
    CHECK(r != NULL && oap_response_status(r) >= 400 && !body_has(r, "device_code"));
    oap_response_free(r);
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(r != NULL && !body_has(r, "device_code"));
    oap_response_free(r);
    oap_server_free(server);
}

/* A user_code_attempts that answers without writing its count. */
static oap_cb_result silent_failures(void *user_data, oap_str subject, uint64_t since,
                                     uint32_t *count_out, oap_ctx *ctx) {
    (void)user_data;
    (void)subject;
    (void)since;
    (void)count_out;
    (void)ctx;
    return OAP_CB_TRUE;
}

/* A count the host did not write fails closed: the user is refused. */
static void test_unwritten_count(memstore *store) {
    oap_config config = device_config();
    oap_validator validator = memstore_validator(store);
    oap_server *server = NULL;
    char error[64];
    int status = 0;
    validator.user_code_attempts = silent_failures;
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
    CHECK(verify(server, "erin", "BCDF-GHJK", &status, error, sizeof error) == NULL);
    CHECK(status == 503 && strcmp(error, "temporarily_unavailable") == 0);
    oap_server_free(server);
}

/* A table from before the device callbacks: the grant is refused
 * (server_error), the rest works. */
static void test_old_table(memstore *store) {
    oap_server *server = new_server(store, offsetof(oap_validator, save_device_authorization));
    char error[64];
    int status = 0;
    unsigned saves = memstore_calls(store, "save_device_authorization");
    oap_response *r = device_authorization(server, "client_id=tv&scope=read");
    CHECK(r != NULL && oap_response_status(r) == 500 && body_has(r, "server_error"));
    CHECK(r != NULL && !body_has(r, "device_code"));
    oap_response_free(r);
    CHECK(memstore_calls(store, "save_device_authorization") == saves);
    CHECK(verify(server, "alice", "BCDF-GHJK", &status, error, sizeof error) == NULL);
    CHECK(status == 500 && strcmp(error, "server_error") == 0);
    CHECK(poll_says(server, "whatever", "invalid_grant"));
    {
        test_request t;
        CHECK_STATUS(oap_server_token_response(
                         server, post(&t, "/token", "grant_type=client_credentials", "console",
                                      "console-secret"),
                         &r),
                     OAP_STATUS_OK);
        CHECK(r != NULL && oap_response_status(r) == 200);
        oap_response_free(r);
    }
    oap_server_free(server);
}

/* The grant over the SQLite store: no callback to write. Its clock is the
 * system's, so the replay waits out a one-second polling interval. */
static void test_sqlite_store(void) {
    oap_sqlite *store = NULL;
    oap_server *server = NULL;
    oap_config config = device_config();
    oap_client tv;
    oap_response *r;
    char device_code[128], user_code[32], error[64];
    int status = 0;
    struct timespec pause = {2, 0};

    CHECK_STATUS(oap_sqlite_open(S(":memory:"), &store), OAP_STATUS_OK);
    memset(&tv, 0, sizeof tv);
    tv.struct_size = sizeof tv;
    tv.client_id = S("tv");
    tv.grants = OAP_GRANT_DEVICE_CODE | OAP_GRANT_REFRESH_TOKEN;
    CHECK_STATUS(oap_sqlite_add_client(store, &tv, S("read write"), S("read"), 0), OAP_STATUS_OK);
    config.device_poll_interval = 1;
    CHECK_STATUS(oap_server_new_sqlite(&config, store, &server), OAP_STATUS_OK);
    oap_sqlite_free(store); /* the server keeps its share */
    if (server == NULL) return;

    if (start(server, device_code, sizeof device_code, user_code, sizeof user_code)) {
        oap_device_pending *pending;
        CHECK(poll_says(server, device_code, "authorization_pending"));
        pending = verify(server, "alice", user_code, &status, error, sizeof error);
        CHECK(pending != NULL && str_is(oap_device_pending_scopes(pending), "read write"));
        oap_device_pending_free(pending);
        CHECK(decide(server, "alice", user_code, OAP_DEVICE_DECISION_APPROVE, NULL, error,
                     sizeof error));
        nanosleep(&pause, NULL);
        r = poll_token(server, device_code);
        CHECK(r != NULL && oap_response_status(r) == 200 && body_has(r, "\"access_token\""));
        oap_response_free(r);
        nanosleep(&pause, NULL);
        CHECK(poll_says(server, device_code, "invalid_grant"));
    }
    if (start(server, device_code, sizeof device_code, user_code, sizeof user_code)) {
        CHECK(decide(server, "bob", user_code, OAP_DEVICE_DECISION_DENY, NULL, error,
                     sizeof error));
        CHECK(poll_says(server, device_code, "access_denied"));
    }
    CHECK(verify(server, "alice", "BBBB-BBBB", &status, error, sizeof error) == NULL);
    CHECK(status == 400 && strcmp(error, "invalid_grant") == 0);
    oap_server_free(server);
}

int main(void) {
    memstore *store = memstore_new();
    memstore_add_client(store, "tv", NULL, OAP_SECRET_NONE, false, NULL,
                        OAP_GRANT_DEVICE_CODE | OAP_GRANT_REFRESH_TOKEN, false, "read write",
                        "read");
    memstore_add_client(store, "console", "console-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_DEVICE_CODE | OAP_GRANT_CLIENT_CREDENTIALS, false, "read",
                        "read");
    memstore_add_client(store, "web", NULL, OAP_SECRET_NONE, false,
                        "http://127.0.0.1:9999/callback", OAP_GRANT_AUTHORIZATION_CODE, false,
                        "read", "read");
    test_whole_flow(store);
    test_denied_and_expired(store);
    test_throttle(store);
    test_configuration(store);
    test_unwritten_count(store);
    test_old_table(store);
    memstore_free(store);
    test_sqlite_store();
    return report();
}
