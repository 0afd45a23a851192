/*
 * Pushed authorization requests (RFC 9126) through the C ABI, over the C
 * in-memory validator's pushed-request callbacks: the PAR endpoint
 * (201, no-store, JSON errors never redirected), request_uri at the
 * authorization endpoint bound to its client, used up by the response;
 * and a table from before those callbacks, which refuses PAR (fails
 * closed) and keeps working for everything else. Where pushing is
 * required (the server's switch, or a client's flag), a plain
 * authorization request is refused and a pushed one accepted.
 */
#include "oauth2_provider.h"

#include <stddef.h>

#include "memstore.h"
#include "testutil.h"

#define CONF_REDIRECT "https://client.example.com/cb"

static oap_server *new_server_with(memstore *store, size_t struct_size, oap_config config) {
    oap_validator validator = memstore_validator(store);
    oap_server *server = NULL;
    validator.struct_size = struct_size;
    config.issuer = S("https://as.example");
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
    return server;
}

static oap_server *new_server(memstore *store, size_t struct_size) {
    return new_server_with(store, struct_size, oap_config_default());
}

static oap_response *push(const oap_server *server, const char *body, const char *id,
                          const char *secret) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_pushed_authorization_response(server, post(&t, "/par", body, id, secret),
                                                          &r),
                 OAP_STATUS_OK);
    return r;
}

/* Validates /authorize?client_id=ID&request_uri=URI: the authorization, or
 * NULL with *status the error response's status. */
static oap_authorization *by_reference(const oap_server *server, const char *client_id,
                                       const char *request_uri, int *status) {
    char uri[512];
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    snprintf(uri, sizeof uri, "/authorize?client_id=%s&request_uri=%s", client_id, request_uri);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    *status = r != NULL ? oap_response_status(r) : 0;
    if (r != NULL) {
        oap_str location;
        CHECK(oap_response_header_value(r, S("Location"), &location) != OAP_STATUS_OK);
    }
    oap_response_free(r);
    return auth;
}

static void test_pushed_requests(memstore *store) {
    oap_server *server = new_server(store, sizeof(oap_validator));
    oap_authorization *auth;
    oap_response *r;
    test_request t;
    char request_uri[256], code[128];
    int status = 0;
    const char *body = "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb"
                       "&scope=read&state=par";

    r = push(server, body, "conf-client", "conf-secret");
    CHECK(r != NULL && oap_response_status(r) == 201);
    CHECK(r != NULL && header_is(r, "Cache-Control", "no-store"));
    CHECK(r != NULL && body_has(r, "\"expires_in\":60"));
    CHECK(r != NULL && json_field(r, "request_uri", request_uri, sizeof request_uri));
    CHECK(strncmp(request_uri, "urn:ietf:params:oauth:request_uri:", 34) == 0);
    oap_response_free(r);
    CHECK(memstore_calls(store, "save_pushed_request") == 1);

    /* Errors are JSON: a wrong secret (401), a request_uri in the body. */
    r = push(server, body, "conf-client", "wrong");
    CHECK(r != NULL && oap_response_status(r) == 401 && body_has(r, "invalid_client"));
    oap_response_free(r);
    r = push(server, "response_type=code&request_uri=x", "conf-client", "conf-secret");
    CHECK(r != NULL && oap_response_status(r) == 400 && body_has(r, "invalid_request"));
    oap_response_free(r);

    /* Bound to its client: another's use is refused, not spent. */
    CHECK(by_reference(server, "public-client", request_uri, &status) == NULL && status == 400);
    auth = by_reference(server, "conf-client", request_uri, &status);
    CHECK(auth != NULL);
    if (auth == NULL) {
        oap_server_free(server);
        return;
    }
    CHECK(memstore_calls(store, "find_pushed_request") == 2);
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && location_param(r, "code", code, sizeof code));
    CHECK(r != NULL && location_param(r, "state", code, sizeof code) && strcmp(code, "par") == 0);
    oap_response_free(r);
    CHECK(memstore_calls(store, "consume_pushed_request") == 1);
    /* Used up: the same authorization answered again gives no code. */
    CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL), &r),
                 OAP_STATUS_OK);
    CHECK(r != NULL && !location_param(r, "code", code, sizeof code));
    CHECK(r != NULL && location_param(r, "error", code, sizeof code) &&
          strcmp(code, "invalid_request") == 0);
    oap_response_free(r);
    oap_authorization_free(auth);
    CHECK(by_reference(server, "conf-client", request_uri, &status) == NULL && status == 400);

    /* A denial uses it up too. */
    r = push(server, body, "conf-client", "conf-secret");
    CHECK(r != NULL && json_field(r, "request_uri", request_uri, sizeof request_uri));
    oap_response_free(r);
    auth = by_reference(server, "conf-client", request_uri, &status);
    CHECK(auth != NULL);
    if (auth != NULL) {
        CHECK_STATUS(oap_server_deny(server, auth, &r), OAP_STATUS_OK);
        CHECK(r != NULL && location_param(r, "error", code, sizeof code) &&
              strcmp(code, "access_denied") == 0);
        oap_response_free(r);
        oap_authorization_free(auth);
    }
    CHECK(by_reference(server, "conf-client", request_uri, &status) == NULL && status == 400);

    /* A failing save: server_error, no request_uri. */
    memstore_force(store, "save_pushed_request", OAP_CB_ERROR);
    r = push(server, body, "conf-client", "conf-secret");
    CHECK(r != NULL && oap_response_status(r) == 500 && !body_has(r, "request_uri"));
    oap_response_free(r);
    memstore_force(store, NULL, OAP_CB_TRUE);
    oap_server_free(server);
}

/* A table from before the pushed-request callbacks: PAR is refused, the
 * rest works. */
static void test_old_table(memstore *store) {
    oap_server *server = new_server(store, offsetof(oap_validator, save_pushed_request));
    oap_response *r;
    int status = 0;
    r = push(server, "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb",
             "conf-client", "conf-secret");
    CHECK(r != NULL && oap_response_status(r) == 500 && body_has(r, "server_error"));
    oap_response_free(r);
    CHECK(by_reference(server, "conf-client", "urn:ietf:params:oauth:request_uri:x", &status) ==
              NULL &&
          status == 400);
    {
        test_request t;
        CHECK_STATUS(oap_server_token_response(
                         server, post(&t, "/token", "grant_type=client_credentials", "conf-client",
                                      "conf-secret"),
                         &r),
                     OAP_STATUS_OK);
        CHECK(r != NULL && oap_response_status(r) == 200);
        oap_response_free(r);
    }
    oap_server_free(server);
}

/* Pushes `body` for `client_id` and validates the authorization request
 * by reference: whether it gave an authorization (freed here). */
static bool pushed_accepted(const oap_server *server, const char *client_id, const char *secret,
                            const char *body) {
    char request_uri[256];
    int status = 0;
    oap_authorization *auth;
    oap_response *r = push(server, body, client_id, secret);
    bool pushed = r != NULL && oap_response_status(r) == 201 &&
                  json_field(r, "request_uri", request_uri, sizeof request_uri);
    oap_response_free(r);
    if (!pushed) return false;
    auth = by_reference(server, client_id, request_uri, &status);
    oap_authorization_free(auth);
    return auth != NULL;
}

/* A plain /authorize?... request: true when it gave an authorization;
 * otherwise the error redirected (its `error` in *error). */
static bool plain_accepted(const oap_server *server, const char *query, char *error,
                           size_t error_len) {
    char uri[512];
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    snprintf(uri, sizeof uri, "/authorize?%s", query);
    error[0] = '\0';
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    if (r != NULL) {
        CHECK(oap_response_status(r) == 302 && location_param(r, "error", error, error_len));
        oap_response_free(r);
    }
    oap_authorization_free(auth);
    return auth != NULL;
}

/* RFC 9126 §5–6: the server's switch and a client's own flag. */
static void test_required(memstore *store) {
    const char *conf_body = "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb"
                            "&scope=read";
    const char *conf_query = "client_id=conf-client&response_type=code&redirect_uri="
                             "https%3A%2F%2Fclient.example.com%2Fcb&scope=read";
    const char *strict_query = "client_id=strict-client&response_type=code&redirect_uri="
                               "https%3A%2F%2Fclient.example.com%2Fcb&scope=read";
    char error[64];
    oap_config config = oap_config_default();
    oap_server *server;
    oap_response *r;

    /* The default: plain requests pass, the metadata says PAR is optional. */
    server = new_server(store, sizeof(oap_validator));
    CHECK(plain_accepted(server, conf_query, error, sizeof error));
    /* A client requiring it is refused a plain request even here. */
    CHECK(!plain_accepted(server, strict_query, error, sizeof error));
    CHECK(strcmp(error, "invalid_request") == 0);
    CHECK(pushed_accepted(server, "strict-client", "strict-secret", conf_body));
    CHECK(pushed_accepted(server, "conf-client", "conf-secret", conf_body));
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(r != NULL && body_has(r, "\"require_pushed_authorization_requests\":false"));
    CHECK(r != NULL && body_has(r, "\"pushed_authorization_request_endpoint\":"
                                   "\"https://as.example/par\""));
    oap_response_free(r);
    oap_server_free(server);

    /* The server's switch: every client must push; the lifetime and the
     * endpoint path are the configured ones. */
    config.require_pushed_authorization_requests = 1;
    config.pushed_request_lifetime = 90;
    config.pushed_authorization_endpoint = S("/oauth/par");
    server = new_server_with(store, sizeof(oap_validator), config);
    CHECK(!plain_accepted(server, conf_query, error, sizeof error));
    CHECK(strcmp(error, "invalid_request") == 0);
    CHECK(pushed_accepted(server, "conf-client", "conf-secret", conf_body));
    r = push(server, conf_body, "conf-client", "conf-secret");
    CHECK(r != NULL && oap_response_status(r) == 201 && body_has(r, "\"expires_in\":90"));
    oap_response_free(r);
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(r != NULL && body_has(r, "\"require_pushed_authorization_requests\":true"));
    CHECK(r != NULL && body_has(r, "\"https://as.example/oauth/par\""));
    oap_response_free(r);
    oap_server_free(server);

    /* A lifetime out of range is refused; 0 is the default (60). */
    {
        oap_server *refused = NULL;
        oap_validator validator = memstore_validator(store);
        config = oap_config_default();
        config.issuer = S("https://as.example");
        config.pushed_request_lifetime = OAP_MAX_LIFETIME + 1;
        CHECK_STATUS(oap_server_new(&config, &validator, &refused), OAP_STATUS_INVALID_PARAMETER);
        CHECK(refused == NULL);
        config.pushed_request_lifetime = 0;
        server = new_server_with(store, sizeof(oap_validator), config);
        r = push(server, conf_body, "conf-client", "conf-secret");
        CHECK(r != NULL && body_has(r, "\"expires_in\":60"));
        oap_response_free(r);
        oap_server_free(server);
    }

    /* A configuration of the third version (no PAR fields): not required. */
    config = oap_config_default();
    config.struct_size = offsetof(oap_config, require_pushed_authorization_requests);
    config.require_pushed_authorization_requests = 1; /* past its size: not read */
    server = new_server_with(store, sizeof(oap_validator), config);
    CHECK(plain_accepted(server, conf_query, error, sizeof error));
    r = push(server, conf_body, "conf-client", "conf-secret");
    CHECK(r != NULL && body_has(r, "\"expires_in\":60"));
    oap_response_free(r);
    oap_server_free(server);
}

int main(void) {
    memstore *store = memstore_new();
    memstore_add_client(store, "conf-client", "conf-secret", OAP_SECRET_PLAIN, true, CONF_REDIRECT,
                        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_CLIENT_CREDENTIALS, false,
                        "read write", "read");
    memstore_add_client(store, "public-client", NULL, OAP_SECRET_NONE, false,
                        "http://127.0.0.1:9999/callback", OAP_GRANT_AUTHORIZATION_CODE, false,
                        "read", "read");
    {
        oap_client strict;
        oap_str uri = S(CONF_REDIRECT);
        memset(&strict, 0, sizeof strict);
        strict.struct_size = sizeof strict;
        strict.client_id = S("strict-client");
        strict.secret_kind = OAP_SECRET_PLAIN;
        strict.secret = S("strict-secret");
        strict.redirect_uris = &uri;
        strict.redirect_uris_len = 1;
        strict.grants = OAP_GRANT_AUTHORIZATION_CODE;
        strict.require_pushed_authorization_requests = 1;
        memstore_add_client_description(store, &strict, "read", "read");
    }
    memstore_add_user(store, "alice", "pw");
    test_pushed_requests(store);
    test_old_table(store);
    test_required(store);
    memstore_free(store);
    return report();
}
