/*
 * oap_server_check_bearer, the header-only bearer check whose grant is lent
 * by an oap_bearer_check: for every Authorization value (valid, unknown,
 * expired, a refresh token, insufficient scope, another resource's token,
 * no header, no "Bearer ", empty, huge, non-ASCII, not UTF-8) and every
 * failure (a callback error, a malformed required scope, NULL arguments)
 * it answers exactly what oap_server_verify_bearer(_at) answers for a GET
 * carrying that header: the same status, the same response (status,
 * WWW-Authenticate, body), the same token fields. The grant stays
 * readable after the host frees what it handed back, until the next
 * check. Run under valgrind by .ci/run: a read of a dropped record fails.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <time.h>

#include "memstore.h"
#include "testutil.h"

#define API "https://api.example.com/"
#define PHOTOS "https://photos.example.com/"

static oap_token *good, *expired, *refresh; /* handed back by the callback */

static oap_token *make(const char *scopes, uint64_t exp, oap_token_type type, const char *user) {
    oap_token_info info;
    oap_str aud = S(API);
    oap_token *t = NULL;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.token_type = type;
    info.client_id = S("conf-client");
    info.username = S(user);
    info.sub = S(user);
    info.scopes = S(scopes);
    info.exp = exp;
    info.iat = 1000;
    info.aud = &aud;
    info.aud_len = 1;
    info.grant_id = S("grant-1");
    CHECK_STATUS(oap_token_new(&info, &t), OAP_STATUS_OK);
    return t;
}

/* The store: three tokens by value, "broken" a failing lookup. */
static oap_cb_result validate(void *ud, oap_str token, const oap_str *scopes, size_t n,
                              oap_ctx *ctx) {
    oap_token *t = NULL;
    (void)ud, (void)scopes, (void)n;
    if (str_is(token, "broken"))
        return OAP_CB_ERROR;
    if (str_is(token, "good"))
        t = good;
    else if (str_is(token, "old"))
        t = expired;
    else if (str_is(token, "refresh"))
        t = refresh;
    if (t == NULL)
        return OAP_CB_FALSE;
    return oap_ctx_set_token(ctx, t) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

static int same_str(oap_str a, oap_str b) {
    if ((a.ptr == NULL) != (b.ptr == NULL) || a.len != b.len)
        return 0;
    return a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0;
}

static oap_str header_of(const oap_response *r, const char *name) {
    oap_str v = {NULL, 0};
    if (oap_response_header_value(r, S(name), &v) != OAP_STATUS_OK)
        v.ptr = NULL, v.len = 0;
    return v;
}

static int same_response(const oap_response *a, const oap_response *b) {
    oap_bytes x = oap_response_body(a), y = oap_response_body(b);
    return oap_response_status(a) == oap_response_status(b) &&
           same_str(header_of(a, "WWW-Authenticate"), header_of(b, "WWW-Authenticate")) &&
           x.len == y.len && (x.len == 0 || memcmp(x.ptr, y.ptr, x.len) == 0);
}

/* Both checks of `value` (NULL: no Authorization header, `len` bytes) for
 * `resource` (NULL: any) requiring `scopes`: they must agree. Returns the
 * HTTP status (200 granted), or -status for a non-OK oap_status. */
static int compare(oap_server *server, oap_bearer_check *check, const char *value, size_t len,
                   oap_protected_resource *resource, const oap_str *scopes, size_t n) {
    oap_request req;
    oap_header auth;
    oap_token *token = NULL;
    oap_response *denied = NULL, *refused = NULL;
    const oap_bearer_grant *grant = (const oap_bearer_grant *)&grant; /* not NULL */
    oap_str value_str = {value, len};
    oap_status want, got;
    int status;

    memset(&req, 0, sizeof req);
    req.method = S("GET");
    req.uri = S("/photos");
    if (value != NULL) {
        auth.name = S("Authorization");
        auth.value = value_str;
        req.headers = &auth;
        req.headers_len = 1;
    }
    want = resource != NULL
               ? oap_server_verify_bearer_at(server, &req, resource, scopes, n, &token, &denied)
               : oap_server_verify_bearer(server, &req, scopes, n, &token, &denied);
    got = oap_server_check_bearer(server, check, value_str, resource, scopes, n, &grant,
                                  &refused);
    CHECK_STATUS(got, want);
    if (want != OAP_STATUS_OK)
        return -(int)want;

    CHECK((token == NULL) == (grant == NULL));
    CHECK((denied == NULL) == (refused == NULL));
    if (token != NULL && grant != NULL) {
        CHECK(grant->struct_size == sizeof(oap_bearer_grant));
        CHECK(same_str(grant->client_id, oap_token_client_id(token)));
        CHECK(same_str(grant->username, oap_token_username(token)));
        CHECK(same_str(grant->sub, oap_token_sub(token)));
        CHECK(same_str(grant->scopes, oap_token_scopes(token)));
        CHECK(same_str(grant->grant_id, oap_token_grant_id(token)));
        CHECK(grant->exp == oap_token_exp(token) && grant->iat == oap_token_iat(token));
    }
    if (denied != NULL && refused != NULL)
        CHECK(same_response(denied, refused));
    status = grant != NULL ? 200 : refused != NULL ? (int)oap_response_status(refused) : 0;
    oap_token_free(token);
    oap_response_free(denied);
    oap_response_free(refused);
    return status;
}

static int cmp(oap_server *server, oap_bearer_check *check, const char *value,
               oap_protected_resource *resource, const char *scope) {
    oap_str required = S(scope);
    return compare(server, check, value, value ? strlen(value) : 0, resource,
                   scope ? &required : NULL, scope ? 1 : 0);
}

static oap_protected_resource *resource_at(const char *id) {
    oap_protected_resource_config config;
    oap_protected_resource *r = NULL;
    memset(&config, 0, sizeof config);
    config.struct_size = sizeof config;
    config.resource = S(id);
    CHECK_STATUS(oap_protected_resource_new(&config, &r), OAP_STATUS_OK);
    return r;
}

int main(void) {
    memstore *store = memstore_new();
    oap_validator v = memstore_validator(store);
    oap_config config = oap_config_default();
    oap_server *server = NULL;
    oap_bearer_check *check = NULL;
    oap_protected_resource *api = resource_at(API), *photos = resource_at(PHOTOS);
    uint64_t now = (uint64_t)time(NULL);
    const oap_bearer_grant *grant = NULL;
    oap_response *r = NULL;
    oap_str bad_scope = S("read write"), read = S("read"), two[2];
    char *huge;
    size_t huge_len = 64 * 1024;

    v.validate_bearer_token = validate;
    config.issuer = S("https://as.example");
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);
    CHECK_STATUS(oap_bearer_check_new(&check), OAP_STATUS_OK);
    good = make("read write", now + 600, OAP_TOKEN_TYPE_ACCESS_TOKEN, "alice");
    expired = make("read", now - 1, OAP_TOKEN_TYPE_ACCESS_TOKEN, "alice");
    refresh = make("read", now + 600, OAP_TOKEN_TYPE_REFRESH_TOKEN, "alice");

    /* Granted, denied: the same answers. */
    CHECK(cmp(server, check, "Bearer good", NULL, "read") == 200);
    CHECK(cmp(server, check, "Bearer good", NULL, NULL) == 200);
    two[0] = S("read"), two[1] = S("write");
    CHECK(compare(server, check, "Bearer good", 11, NULL, two, 2) == 200);
    CHECK(cmp(server, check, "bearer   good", NULL, "read") == 200);
    CHECK(cmp(server, check, "Bearer unknown", NULL, "read") == 401);
    CHECK(cmp(server, check, "Bearer old", NULL, "read") == 401);
    CHECK(cmp(server, check, "Bearer refresh", NULL, "read") == 401);
    CHECK(cmp(server, check, "Bearer good", NULL, "admin") == 403);
    CHECK(cmp(server, check, "Bearer broken", NULL, "read") == 500);
    /* At a resource: its own token, another's. */
    CHECK(cmp(server, check, "Bearer good", api, "read") == 200);
    CHECK(cmp(server, check, "Bearer good", photos, "read") == 401);
    CHECK(cmp(server, check, "Bearer unknown", photos, NULL) == 401);
    /* Malformed values: no header, no "Bearer ", empty, no token, bad
     * token68, huge, non-ASCII, not UTF-8. */
    CHECK(cmp(server, check, NULL, NULL, "read") == 401);
    CHECK(cmp(server, check, NULL, api, "read") == 401);
    CHECK(cmp(server, check, "good", NULL, "read") == 401);
    CHECK(cmp(server, check, "Basic Z29vZDpnb29k", NULL, "read") == 401);
    CHECK(cmp(server, check, "", NULL, "read") == 401);
    CHECK(cmp(server, check, "Bearer", NULL, "read") == 400);
    CHECK(cmp(server, check, "Bearer    ", NULL, "read") == 400);
    CHECK(cmp(server, check, "Bearer a b", NULL, "read") == 400);
    CHECK(cmp(server, check, "Bearer goo\"d", NULL, "read") == 400);
    CHECK(cmp(server, check, "Bearer caf\xc3\xa9", NULL, "read") == 400);
    CHECK(cmp(server, check, "Bearer \xff\xfe", NULL, "read") == -(int)OAP_STATUS_INVALID_UTF8);
    huge = malloc(huge_len);
    CHECK(huge != NULL);
    if (huge != NULL) {
        memcpy(huge, "Bearer ", 7);
        memset(huge + 7, 'a', huge_len - 7);
        CHECK(compare(server, check, huge, huge_len, NULL, &read, 1) == 401);
        huge[huge_len / 2] = ' ';
        CHECK(compare(server, check, huge, huge_len, NULL, &read, 1) == 400);
        free(huge);
    }
    /* A required scope that is no scope token: the caller's mistake. */
    CHECK(compare(server, check, "Bearer good", 11, NULL, &bad_scope, 1) ==
          -(int)OAP_STATUS_INVALID_PARAMETER);

    /* The grant is the check's: readable after the host frees its token,
     * until the next check, which drops it (NULL grant on a denial). */
    CHECK_STATUS(oap_server_check_bearer(server, check, S("Bearer good"), NULL, &read, 1, &grant, &r),
                 OAP_STATUS_OK);
    CHECK(grant != NULL && r == NULL);
    oap_token_free(good);
    good = NULL;
    if (grant != NULL) {
        CHECK(str_is(grant->client_id, "conf-client"));
        CHECK(str_is(grant->username, "alice") && str_is(grant->sub, "alice"));
        CHECK(str_is(grant->scopes, "read write") && str_is(grant->grant_id, "grant-1"));
        CHECK(grant->exp == now + 600 && grant->iat == 1000);
    }
    CHECK_STATUS(oap_server_check_bearer(server, check, S("Bearer good"), NULL, &read, 1, &grant, &r),
                 OAP_STATUS_OK);
    CHECK(grant == NULL && r != NULL && oap_response_status(r) == 401);
    oap_response_free(r);

    /* NULL arguments. */
    r = NULL;
    CHECK_STATUS(oap_server_check_bearer(NULL, check, S("Bearer old"), NULL, NULL, 0, &grant, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_check_bearer(server, NULL, S("Bearer old"), NULL, NULL, 0, &grant, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_check_bearer(server, check, S("Bearer old"), NULL, NULL, 0, NULL, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_check_bearer(server, check, S("Bearer old"), NULL, NULL, 0, &grant, NULL),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_check_bearer(server, check, S("Bearer old"), NULL, NULL, 1, &grant, &r),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK(r == NULL);
    CHECK_STATUS(oap_bearer_check_new(NULL), OAP_STATUS_NULL_PARAMETER);

    oap_bearer_check_free(check);
    oap_bearer_check_free(NULL);
    oap_token_free(expired);
    oap_token_free(refresh);
    oap_protected_resource_free(api);
    oap_protected_resource_free(photos);
    oap_server_free(server);
    memstore_free(store);
    return report();
}
