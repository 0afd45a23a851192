/*
 * client_credentials.c: the smallest useful host of liboauth2_provider.
 *
 * It registers one confidential client, issues a token at the token
 * endpoint (client credentials grant, HTTP Basic), then protects an API
 * call with that token. Your server would feed real HTTP requests into the
 * same calls and send the responses back.
 *
 * Build against the installed library (make -C ffi install PREFIX=/usr/local,
 * see ffi/README.md):
 *   cc -std=c11 client_credentials.c $(pkg-config --cflags --libs oauth2_provider) \
 *      -o client_credentials
 * or with CMake (CMakeLists.txt beside this file):
 *   cmake -S examples/c -B build && cmake --build build
 * Or from the repository root, without installing:
 *   cargo build --release -p oauth2-provider-ffi
 *   cc -std=c11 -Iinclude examples/c/client_credentials.c \
 *      target/release/liboauth2_provider.a -lpthread -ldl -lm -o client_credentials
 */
#include "oauth2_provider.h"

#include <stdio.h>
#include <string.h>

/* ---- the validator: where the host keeps its data ---------------------- */

/* One client and room for a few tokens. A real host uses its database, and
 * locks: callbacks run concurrently when threads share the server. */
#define MAX_TOKENS 8
static struct {
    char token[OAP_TOKEN_LEN + 1];
    char scopes[64];
    unsigned long long expires_at;
} tokens[MAX_TOKENS];
static int token_count = 0;

static int same(oap_str a, const char *b) {
    return a.len == strlen(b) && memcmp(a.ptr, b, a.len) == 0;
}

/* "Who is this client?" The library checks the secret itself. */
static oap_cb_result find_client(void *user_data, oap_str client_id, oap_ctx *ctx) {
    oap_client client;
    (void)user_data;
    if (!same(client_id, "reporting-job")) return OAP_CB_FALSE;
    memset(&client, 0, sizeof client);
    client.struct_size = sizeof client;
    client.client_id = client_id;
    client.secret_kind = OAP_SECRET_PLAIN;
    client.secret = (oap_str)OAP_STR_LIT("s3cret"); /* a secret: confidential */
    client.grants = OAP_GRANT_CLIENT_CREDENTIALS;
    return oap_ctx_set_client(ctx, &client) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

/* "May it have these scopes?" */
static oap_cb_result validate_scopes(void *user_data, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    (void)user_data; (void)client_id; (void)ctx;
    return same(scopes, "reports:read") ? OAP_CB_TRUE : OAP_CB_FALSE;
}

/* "Store this token." Strings are borrowed: copy them. */
static oap_cb_result save_bearer_token(void *user_data, const oap_issued_token *t, oap_ctx *ctx) {
    (void)user_data; (void)ctx;
    if (token_count == MAX_TOKENS || t->access_token.len > OAP_TOKEN_LEN || t->scopes.len >= 64)
        return OAP_CB_ERROR; /* the client gets a 500 server_error */
    memcpy(tokens[token_count].token, t->access_token.ptr, t->access_token.len);
    memcpy(tokens[token_count].scopes, t->scopes.ptr, t->scopes.len);
    tokens[token_count].expires_at = t->issued_at + t->expires_in;
    token_count++;
    return OAP_CB_TRUE;
}

/* "What does this bearer token grant?" The library checks expiry and scopes. */
static oap_cb_result validate_bearer_token(void *user_data, oap_str token, const oap_str *scopes,
                                           size_t scopes_len, oap_ctx *ctx) {
    int i;
    (void)user_data; (void)scopes; (void)scopes_len;
    for (i = 0; i < token_count; i++) {
        if (same(token, tokens[i].token)) {
            oap_token_info info;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            info.token_type = OAP_TOKEN_TYPE_ACCESS_TOKEN;
            info.client_id = (oap_str)OAP_STR_LIT("reporting-job");
            info.scopes = oap_str_from_cstr(tokens[i].scopes);
            info.exp = tokens[i].expires_at;
            return oap_ctx_set_token_info(ctx, &info) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
        }
    }
    return OAP_CB_FALSE; /* unknown token: 401 invalid_token */
}

/* ---- the host ------------------------------------------------------------ */

/* Copies the access token out of {"access_token":"...",...}. Response
 * bodies are not NUL-terminated: search within their length. */
static int copy_access_token(const oap_response *r, char out[OAP_TOKEN_LEN + 1]) {
    static const char key[] = "\"access_token\":\"";
    oap_bytes body = oap_response_body(r);
    size_t i, k = sizeof key - 1;
    for (i = 0; i + k + OAP_TOKEN_LEN <= body.len; i++) {
        if (memcmp(body.ptr + i, key, k) == 0) {
            memcpy(out, body.ptr + i + k, OAP_TOKEN_LEN);
            out[OAP_TOKEN_LEN] = '\0';
            return 1;
        }
    }
    return 0;
}

static void print_response(const char *what, const oap_response *r) {
    oap_bytes body = oap_response_body(r);
    printf("%s: HTTP %u %.*s\n", what, oap_response_status(r), (int)body.len, (const char *)body.ptr);
}

int main(void) {
    oap_config config = oap_config_default();
    oap_validator validator;
    oap_server *server = NULL;
    oap_response *response = NULL;
    oap_token *granted = NULL;
    char basic[256], bearer[128], token[OAP_TOKEN_LEN + 1];
    size_t basic_len = 0;
    const char *body = "grant_type=client_credentials&scope=reports%3Aread";
    oap_header token_headers[2];
    oap_header api_headers[1];
    oap_request token_request, api_request;
    oap_str required[1] = {OAP_STR_LIT("reports:read")};
    oap_status status;
    int granted_ok;

    /* 0. The library linked is the one this program was compiled against
     * (oap_version()'s text is NUL-terminated). */
    if (strcmp(oap_version().ptr, OAP_VERSION) != 0) {
        fprintf(stderr, "compiled against oauth2_provider %s, linked %s\n", OAP_VERSION, oap_version().ptr);
        return 1;
    }

    /* 1. A server: configuration plus the validator's callbacks. */
    config.issuer = (oap_str)OAP_STR_LIT("https://auth.example.com");
    memset(&validator, 0, sizeof validator);
    validator.struct_size = sizeof validator;
    validator.find_client = find_client;
    validator.validate_scopes = validate_scopes;
    validator.save_bearer_token = save_bearer_token;
    validator.validate_bearer_token = validate_bearer_token;
    status = oap_server_new(&config, &validator, &server);
    if (status != OAP_STATUS_OK) {
        oap_str m = oap_status_message(status);
        fprintf(stderr, "oap_server_new: %.*s\n", (int)m.len, m.ptr);
        return 1;
    }

    /* 2. The token endpoint: POST /token with HTTP Basic client credentials. */
    oap_basic_header_value(oap_str_from_cstr("reporting-job"), oap_str_from_cstr("s3cret"), basic,
                           sizeof basic - 1, &basic_len);
    token_headers[0].name = (oap_str)OAP_STR_LIT("Content-Type");
    token_headers[0].value = (oap_str)OAP_STR_LIT("application/x-www-form-urlencoded");
    token_headers[1].name = (oap_str)OAP_STR_LIT("Authorization");
    token_headers[1].value.ptr = basic;
    token_headers[1].value.len = basic_len;
    token_request.method = (oap_str)OAP_STR_LIT("POST");
    token_request.uri = (oap_str)OAP_STR_LIT("/token");
    token_request.headers = token_headers;
    token_request.headers_len = 2;
    token_request.body.ptr = (const uint8_t *)body;
    token_request.body.len = strlen(body);
    if (oap_server_token_response(server, &token_request, &response) != OAP_STATUS_OK) return 1;
    print_response("token endpoint", response);
    if (oap_response_status(response) != 200 || !copy_access_token(response, token)) return 1;
    oap_response_free(response);
    response = NULL;

    /* 3. The resource server: GET /reports with "Authorization: Bearer ...". */
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    api_headers[0].name = (oap_str)OAP_STR_LIT("Authorization");
    api_headers[0].value = oap_str_from_cstr(bearer);
    api_request.method = (oap_str)OAP_STR_LIT("GET");
    api_request.uri = (oap_str)OAP_STR_LIT("/reports");
    api_request.headers = api_headers;
    api_request.headers_len = 1;
    api_request.body.ptr = NULL;
    api_request.body.len = 0;
    if (oap_server_verify_bearer(server, &api_request, required, 1, &granted, &response) != OAP_STATUS_OK)
        return 1;
    granted_ok = granted != NULL;
    if (granted_ok) {
        oap_str client = oap_token_client_id(granted);
        printf("resource: access granted to %.*s\n", (int)client.len, client.ptr);
    } else {
        print_response("resource: access denied", response);
    }

    /* 4. Everything the library handed out is freed by its _free function. */
    oap_token_free(granted);
    oap_response_free(response);
    oap_server_free(server);
    return granted_ok ? 0 : 1;
}
