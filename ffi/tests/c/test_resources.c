/*
 * Resource indicators (RFC 8707) and protected resource metadata (RFC
 * 9728) through the C ABI: a client's resources (oap_client's resources,
 * and a description of the first version still accepted), `resource` at
 * the authorization and token endpoints (invalid_target), the audience
 * stored by the callbacks (oap_authorization_code, oap_issued_token,
 * oap_code_info, oap_refresh_token_info) and narrowed, never widened;
 * `aud` at introspection; oap_server_verify_bearer_at with
 * resource_metadata in its challenge; the metadata document and
 * protected_resources in the server's metadata. Run under valgrind by
 * .ci/run.
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stddef.h>

#include "memstore.h"
#include "testutil.h"

#define REDIRECT "https://app.example/cb"
#define API "https://api.example.com/"
#define PHOTOS "https://photos.example.com/v1"

static memstore *store;
static oap_server *server;

static void setup(void) {
    static const char *const resources[] = {API, PHOTOS};
    oap_config config = oap_config_default();
    oap_validator validator;
    store = memstore_new();
    memstore_add_client_with_resources(
        store, "app", "app-secret", OAP_SECRET_PLAIN, true, REDIRECT,
        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN | OAP_GRANT_CLIENT_CREDENTIALS,
        false, "read write", "read", resources, 2);
    /* No resources: may ask for none. */
    memstore_add_client(store, "plain", "plain-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, false, "read", "read");
    memstore_add_client(store, "rs-client", "rs-secret", OAP_SECRET_PLAIN, true, NULL,
                        OAP_GRANT_CLIENT_CREDENTIALS, true, "", "");
    validator = memstore_validator(store);
    config.issuer = S("https://as.example");
    config.protected_resources = S(API " " PHOTOS);
    CHECK_STATUS(oap_server_new(&config, &validator, &server), OAP_STATUS_OK);
}

static oap_response *token_request(const char *body, const char *id, const char *secret) {
    test_request t;
    oap_response *r = NULL;
    CHECK_STATUS(oap_server_token_response(server, post(&t, "/token", body, id, secret), &r),
                 OAP_STATUS_OK);
    return r;
}

/* Whether the response's WWW-Authenticate contains `needle`. */
static int challenge_has(const oap_response *r, const char *needle) {
    oap_str v;
    char buf[512];
    if (oap_response_header_value(r, S("WWW-Authenticate"), &v) != OAP_STATUS_OK ||
        v.len >= sizeof buf)
        return 0;
    memcpy(buf, v.ptr, v.len);
    buf[v.len] = '\0';
    return strstr(buf, needle) != NULL;
}

/* Whether a JSON error response's `error` is `error`. */
static int error_is(oap_response *r, const char *error) {
    char got[64];
    return json_field(r, "error", got, sizeof got) && strcmp(got, error) == 0;
}

/* The introspection response body of `token` contains `needle`. */
static int introspected_has(const char *token, const char *needle) {
    test_request t;
    oap_response *r = NULL;
    char body[600];
    int has;
    snprintf(body, sizeof body, "token=%s", token);
    CHECK_STATUS(oap_server_introspection_response(
                     server, post(&t, "/introspect", body, "rs-client", "rs-secret"), &r),
                 OAP_STATUS_OK);
    has = oap_response_status(r) == 200 && body_has(r, needle);
    oap_response_free(r);
    return has;
}

/* A code for `app`, asked for the resources in `query_resources`
 * (already form-encoded "&resource=..." pairs). 0 when refused. */
static int code_for(const char *query_resources, char *code, size_t len) {
    test_request t;
    char uri[512];
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    int ok = 0;
    snprintf(uri, sizeof uri, "/authorize?response_type=code&client_id=app&state=s1%s",
             query_resources);
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                 OAP_STATUS_OK);
    if (auth != NULL) {
        oap_response *approved = NULL;
        CHECK_STATUS(oap_server_authorize(server, auth, get(&t, "/consent"), S("alice"), S(NULL),
                                          &approved),
                     OAP_STATUS_OK);
        ok = location_param(approved, "code", code, len);
        oap_response_free(approved);
        oap_authorization_free(auth);
    }
    oap_response_free(r);
    return ok;
}

static void authorization_endpoint(void) {
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *r = NULL;
    char error[64], state[16];
    /* Both resources, repeated: the consent page reads them. */
    CHECK_STATUS(oap_server_validate_authorization_request(
                     server,
                     get(&t, "/authorize?response_type=code&client_id=app&resource="
                             "https%3A%2F%2Fapi.example.com%2F&resource=" PHOTOS),
                     &auth, &r),
                 OAP_STATUS_OK);
    CHECK(auth != NULL && r == NULL);
    CHECK(oap_authorization_resource_count(auth) == 2);
    CHECK(str_is(oap_authorization_resource(auth, 0), API));
    CHECK(str_is(oap_authorization_resource(auth, 1), PHOTOS));
    CHECK(oap_authorization_resource(auth, 2).ptr == NULL);
    CHECK(oap_authorization_resource_count(NULL) == 0);
    CHECK(oap_authorization_resource(NULL, 0).ptr == NULL);
    oap_authorization_free(auth);
    /* Not allowed, relative, with a fragment: invalid_target, redirected. */
    {
        static const char *const bad[] = {
            "https%3A%2F%2Fother.example%2F",
            "%2Fapi",
            "https%3A%2F%2Fapi.example.com%2F%23top",
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char uri[256];
            auth = NULL;
            r = NULL;
            snprintf(uri, sizeof uri,
                     "/authorize?response_type=code&client_id=app&state=s1&resource=%s", bad[i]);
            CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &r),
                         OAP_STATUS_OK);
            CHECK(auth == NULL && r != NULL && oap_response_status(r) == 302);
            CHECK(location_param(r, "error", error, sizeof error) &&
                  strcmp(error, "invalid_target") == 0);
            CHECK(location_param(r, "state", state, sizeof state) && strcmp(state, "s1") == 0);
            oap_response_free(r);
        }
    }
}

static void code_exchange_and_refresh(void) {
    char code[128], body[512], access[128], refresh[128];
    oap_response *r;
    /* Asked for both, narrowed to PHOTOS at the exchange. */
    CHECK(code_for("&resource=https%3A%2F%2Fapi.example.com%2F&resource=" PHOTOS, code,
                   sizeof code));
    /* Wider than the grant: refused, and the code stays usable. */
    snprintf(body, sizeof body,
             "grant_type=authorization_code&code=%s&resource=https%%3A%%2F%%2Fother.example%%2F",
             code);
    r = token_request(body, "app", "app-secret");
    CHECK(oap_response_status(r) == 400 && error_is(r, "invalid_target"));
    oap_response_free(r);
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s&resource=" PHOTOS, code);
    r = token_request(body, "app", "app-secret");
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, sizeof access));
    CHECK(json_field(r, "refresh_token", refresh, sizeof refresh));
    oap_response_free(r);
    /* The access token is for PHOTOS; the refresh token keeps the grant's
       two (stored through oap_issued_token's refresh_audience). */
    CHECK(introspected_has(access, "\"aud\":\"" PHOTOS "\""));
    CHECK(introspected_has(refresh, "\"aud\":[\"" API "\",\"" PHOTOS "\"]"));
    /* A refresh without resource: the grant's audience (read back through
       oap_refresh_token_info's audience). */
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s", refresh);
    r = token_request(body, "app", "app-secret");
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, sizeof access));
    CHECK(json_field(r, "refresh_token", refresh, sizeof refresh));
    oap_response_free(r);
    CHECK(introspected_has(access, "\"aud\":[\"" API "\",\"" PHOTOS "\"]"));
    /* Narrowed to API; widening is refused. */
    snprintf(body, sizeof body,
             "grant_type=refresh_token&refresh_token=%s&resource=https%%3A%%2F%%2Fevil.example%%2F",
             refresh);
    r = token_request(body, "app", "app-secret");
    CHECK(oap_response_status(r) == 400 && error_is(r, "invalid_target"));
    oap_response_free(r);
    snprintf(body, sizeof body,
             "grant_type=refresh_token&refresh_token=%s&resource=https%%3A%%2F%%2Fapi.example.com%%2F",
             refresh);
    r = token_request(body, "app", "app-secret");
    CHECK(oap_response_status(r) == 200);
    CHECK(json_field(r, "access_token", access, sizeof access));
    oap_response_free(r);
    CHECK(introspected_has(access, "\"aud\":\"" API "\""));
    /* A code asked for nothing cannot be exchanged for a resource. */
    CHECK(code_for("", code, sizeof code));
    snprintf(body, sizeof body, "grant_type=authorization_code&code=%s&resource=" PHOTOS, code);
    r = token_request(body, "app", "app-secret");
    CHECK(oap_response_status(r) == 400 && error_is(r, "invalid_target"));
    oap_response_free(r);
}

/* A client-credentials token of `id` for `resources` (form-encoded). */
static int cc_token(const char *id, const char *secret, const char *resources, char *out,
                    size_t len) {
    char body[256];
    oap_response *r;
    int ok;
    snprintf(body, sizeof body, "grant_type=client_credentials%s", resources);
    r = token_request(body, id, secret);
    ok = oap_response_status(r) == 200 && json_field(r, "access_token", out, len);
    oap_response_free(r);
    return ok;
}

static void client_credentials(void) {
    char token[128];
    oap_response *r;
    CHECK(cc_token("app", "app-secret", "&resource=" PHOTOS, token, sizeof token));
    CHECK(introspected_has(token, "\"aud\":\"" PHOTOS "\""));
    CHECK(cc_token("app", "app-secret", "", token, sizeof token));
    CHECK(!introspected_has(token, "\"aud\""));
    /* A client with no resources may ask for none. */
    r = token_request("grant_type=client_credentials&resource=" PHOTOS, "plain", "plain-secret");
    CHECK(oap_response_status(r) == 400 && error_is(r, "invalid_target"));
    oap_response_free(r);
    /* Repeating another parameter is still an error. */
    r = token_request("grant_type=client_credentials&resource=" PHOTOS "&scope=read&scope=read",
                      "app", "app-secret");
    CHECK(oap_response_status(r) == 400 && error_is(r, "invalid_request"));
    oap_response_free(r);
}

static void bearer_check_at_a_resource(void) {
    oap_protected_resource_config config;
    oap_protected_resource *api = NULL, *lenient = NULL, *quiet = NULL;
    oap_token *granted = NULL;
    oap_response *denied = NULL;
    test_request t;
    char for_api[128], for_photos[128], for_none[128];
    memset(&config, 0, sizeof config);
    config.struct_size = sizeof config;
    config.resource = S(API);
    config.scopes_supported = S("read write");
    CHECK_STATUS(oap_protected_resource_new(&config, &api), OAP_STATUS_OK);
    config.accept_unrestricted_tokens = 1;
    CHECK_STATUS(oap_protected_resource_new(&config, &lenient), OAP_STATUS_OK);
    config.accept_unrestricted_tokens = 0;
    config.omit_resource_metadata = 1;
    CHECK_STATUS(oap_protected_resource_new(&config, &quiet), OAP_STATUS_OK);
    CHECK(str_is(oap_protected_resource_metadata_url(api),
                 "https://api.example.com/.well-known/oauth-protected-resource"));
    CHECK(oap_protected_resource_metadata_url(NULL).ptr == NULL);

    CHECK(cc_token("app", "app-secret", "&resource=https%3A%2F%2Fapi.example.com%2F", for_api,
                   sizeof for_api));
    CHECK(cc_token("app", "app-secret", "&resource=" PHOTOS, for_photos, sizeof for_photos));
    CHECK(cc_token("app", "app-secret", "", for_none, sizeof for_none));

    CHECK_STATUS(oap_server_verify_bearer_at(server, bearer_get(&t, "/", for_api), api, NULL, 0,
                                             &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(granted != NULL && denied == NULL);
    CHECK(oap_token_aud_count(granted) == 1 && str_is(oap_token_aud(granted, 0), API));
    oap_token_free(granted);

    /* Another resource's token: 401 invalid_token, resource_metadata. */
    granted = NULL;
    CHECK_STATUS(oap_server_verify_bearer_at(server, bearer_get(&t, "/", for_photos), api, NULL, 0,
                                             &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(granted == NULL && denied != NULL && oap_response_status(denied) == 401);
    CHECK(challenge_has(denied, "error=\"invalid_token\""));
    CHECK(challenge_has(denied, "resource_metadata=\"https://api.example.com/.well-known/"
                                "oauth-protected-resource\""));
    oap_response_free(denied);

    /* A token without audience: refused unless the resource accepts it. */
    denied = NULL;
    CHECK_STATUS(oap_server_verify_bearer_at(server, bearer_get(&t, "/", for_none), api, NULL, 0,
                                             &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(denied != NULL && oap_response_status(denied) == 401);
    oap_response_free(denied);
    denied = NULL;
    CHECK_STATUS(oap_server_verify_bearer_at(server, bearer_get(&t, "/", for_none), lenient, NULL,
                                             0, &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(granted != NULL && denied == NULL);
    oap_token_free(granted);
    granted = NULL;

    /* No token: the challenge names the metadata, unless omitted. */
    CHECK_STATUS(oap_server_verify_bearer_at(server, get(&t, "/"), api, NULL, 0, &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(header_is(denied, "WWW-Authenticate",
                    "Bearer realm=\"oauth2\", resource_metadata=\"https://api.example.com/"
                    ".well-known/oauth-protected-resource\""));
    oap_response_free(denied);
    CHECK_STATUS(oap_server_verify_bearer_at(server, get(&t, "/"), quiet, NULL, 0, &granted, &denied),
                 OAP_STATUS_OK);
    CHECK(header_is(denied, "WWW-Authenticate", "Bearer realm=\"oauth2\""));
    oap_response_free(denied);

    /* NULL resource; NULL server. */
    CHECK_STATUS(oap_server_verify_bearer_at(server, get(&t, "/"), NULL, NULL, 0, &granted, &denied),
                 OAP_STATUS_NULL_PARAMETER);
    CHECK_STATUS(oap_server_verify_bearer_at(NULL, get(&t, "/"), api, NULL, 0, &granted, &denied),
                 OAP_STATUS_NULL_PARAMETER);

    oap_protected_resource_free(api);
    oap_protected_resource_free(lenient);
    oap_protected_resource_free(quiet);
    oap_protected_resource_free(NULL);
}

static void metadata(void) {
    oap_protected_resource_config config;
    oap_protected_resource *resource = NULL;
    oap_response *r = NULL;
    memset(&config, 0, sizeof config);
    config.struct_size = sizeof config;
    config.resource = S(PHOTOS);
    config.scopes_supported = S("read");
    config.resource_name = S("Photos");
    CHECK_STATUS(oap_protected_resource_new(&config, &resource), OAP_STATUS_OK);
    CHECK(str_is(oap_protected_resource_metadata_url(resource),
                 "https://photos.example.com/.well-known/oauth-protected-resource/v1"));
    CHECK_STATUS(oap_server_protected_resource_metadata_response(server, resource, &r),
                 OAP_STATUS_OK);
    CHECK(oap_response_status(r) == 200);
    CHECK(body_has(r, "{\"resource\":\"" PHOTOS "\",\"authorization_servers\":[\"https://as.example\"],"
                      "\"scopes_supported\":[\"read\"],\"bearer_methods_supported\":[\"header\"],"
                      "\"resource_name\":\"Photos\"}"));
    oap_response_free(r);
    CHECK_STATUS(oap_server_protected_resource_metadata_response(server, NULL, &r),
                 OAP_STATUS_NULL_PARAMETER);
    oap_protected_resource_free(resource);
    /* The authorization server lists its protected resources. */
    CHECK_STATUS(oap_server_metadata_response(server, &r), OAP_STATUS_OK);
    CHECK(body_has(r, "\"protected_resources\":[\"" API "\",\"" PHOTOS "\"]"));
    oap_response_free(r);
    /* Bad descriptions. */
    resource = NULL;
    config.resource = S("http://api.example.com/");
    CHECK_STATUS(oap_protected_resource_new(&config, &resource), OAP_STATUS_INVALID_PARAMETER);
    config.resource = S(NULL);
    CHECK_STATUS(oap_protected_resource_new(&config, &resource), OAP_STATUS_INVALID_PARAMETER);
    config.resource = S(API);
    config.struct_size = 8;
    CHECK_STATUS(oap_protected_resource_new(&config, &resource), OAP_STATUS_STRUCT_TOO_SMALL);
    CHECK(resource == NULL);
    CHECK_STATUS(oap_protected_resource_new(NULL, &resource), OAP_STATUS_NULL_PARAMETER);
}

/* The ABI grows through struct_size: an oap_client of the first version
 * (without resources) is still accepted, with none; a size inside the
 * resources fields is refused; a malformed resource is refused. */
static void client_versions(void) {
    oap_client desc;
    oap_registered_client *c = NULL;
    oap_str bad = S("not a uri");
    oap_config config = oap_config_default();
    oap_server *s = NULL;
    oap_validator v;
    memset(&desc, 0, sizeof desc);
    desc.client_id = S("old");
    desc.grants = OAP_GRANT_CLIENT_CREDENTIALS;
    desc.struct_size = offsetof(oap_client, resources);
    CHECK_STATUS(oap_registered_client_new(&desc, &c), OAP_STATUS_OK);
    oap_registered_client_free(c);
    desc.struct_size = offsetof(oap_client, resources_len);
    CHECK_STATUS(oap_registered_client_new(&desc, &c), OAP_STATUS_INVALID_PARAMETER);
    desc.struct_size = sizeof desc;
    desc.resources = &bad;
    desc.resources_len = 1;
    CHECK_STATUS(oap_registered_client_new(&desc, &c), OAP_STATUS_INVALID_PARAMETER);
    /* A configuration of the second version (before protected_resources)
       still builds; a bad protected resource is refused. */
    v = memstore_validator(store);
    config.issuer = S("https://as.example");
    config.struct_size = offsetof(oap_config, protected_resources);
    CHECK_STATUS(oap_server_new(&config, &v, &s), OAP_STATUS_OK);
    oap_server_free(s);
    s = NULL;
    config.struct_size = sizeof config;
    config.protected_resources = S("https://ok.example/ http://not-loopback.example/");
    CHECK(oap_server_new(&config, &v, &s) != OAP_STATUS_OK);
    CHECK(s == NULL);
}

int main(void) {
    setup();
    authorization_endpoint();
    code_exchange_and_refresh();
    client_credentials();
    bearer_check_at_a_resource();
    metadata();
    client_versions();
    oap_server_free(server);
    memstore_free(store);
    return report();
}
