/*
 * The C ABI worker of benches/compare/run.sh: this library's C ABI
 * (include/oauth2_provider.h, the release liboauth2_provider.a) over a C
 * in-memory validator laid out like MemoryValidator (c_store.c: records
 * and short keys inline in open-addressing tables), driven by the
 * coordinator over a pipe with the protocol of the Rust worker (main.rs):
 *   start: the realm, --live N live access tokens (default 40000, issued
 *          through the ABI), the equivalence checks, then "ready";
 *   "batch OPERATION N": N inputs made untimed, the N calls timed, the
 *          mean ns per call printed; every response is freed inside the
 *          timed loop (the Rust worker drops its responses there too);
 *   "quit" or end of input: exit.
 * Bearer checks and introspections go over the live tokens in a scattered
 * order; the code exchange sends the percent-encoded redirect_uri.
 *
 * usage: c_driver [--live N] [--fill-random vdso]
 *
 * --fill-random vdso: the tokens' random bytes from the kernel's vDSO
 * (__vdso_getrandom, Linux >= 6.11) through oap_config.fill_random, as
 * glibc >= 2.41's getrandom() gets them; without it, the library's default
 * (getrandom(), a system call with an older glibc).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "c_store.h"
#include "oauth2_provider.h"

#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define WRONG_VERIFIER "xBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define UNKNOWN_TOKEN "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg"
#define REDIRECT_ENCODED "https%3A%2F%2Fclient.example.com%2Fcb"
/* SHA-256 of "conf-secret", hex: kept as a digest, as MemoryValidator does. */
#define SECRET_SHA256 "16cbeaefe9e2a50bf63fae5b5bd4b187b7c5cf39e5687180c371b9dbe31487ba"

static oap_server *server;
static char basic[256];
static size_t basic_len;
static char wrong_basic[256];
static size_t wrong_basic_len;
static const char *use_basic;
static size_t use_basic_len;

static oap_str S(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = strlen(s);
    return v;
}

static void die(const char *what) {
    fprintf(stderr, "c_driver: %s\n", what);
    exit(1);
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The vDSO's getrandom and the opaque state it needs (one: this driver is
 * single-threaded), set up as glibc 2.41 does for each thread. */
struct vgetrandom_params {
    uint32_t size_of_opaque_state, mmap_prot, mmap_flags, reserved[13];
};
typedef ssize_t (*vgetrandom_fn)(void *, size_t, unsigned int, void *, size_t);
static vgetrandom_fn vgetrandom;
static void *vgetrandom_state;
static size_t vgetrandom_state_len;

static int fill_from_vdso(void *user_data, uint8_t *buf, size_t len) {
    (void)user_data;
    return vgetrandom(buf, len, 0, vgetrandom_state, vgetrandom_state_len) == (ssize_t)len ? 0 : -1;
}

static void setup_vdso_getrandom(void) {
    struct vgetrandom_params params;
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD), *symbol;
    if (vdso == NULL || (symbol = dlsym(vdso, "__vdso_getrandom")) == NULL)
        die("no __vdso_getrandom in this kernel (Linux >= 6.11 has it)");
    memcpy(&vgetrandom, &symbol, sizeof vgetrandom);
    if (vgetrandom(NULL, 0, 0, &params, ~(size_t)0) != 0) die("__vdso_getrandom refused its setup");
    vgetrandom_state_len = params.size_of_opaque_state;
    vgetrandom_state = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), (int)params.mmap_prot,
                            (int)params.mmap_flags, -1, 0);
    if (vgetrandom_state == MAP_FAILED) die("mmap of the vDSO getrandom state");
}

/* A form POST with HTTP Basic to `endpoint`; returns the status (0 on an
 * ABI failure). */
typedef oap_status (*endpoint_fn)(const oap_server *, const oap_request *, oap_response **);

static oap_response *post(endpoint_fn endpoint, const char *path, const char *body) {
    oap_header headers[2];
    oap_request request;
    oap_response *response = NULL;
    headers[0].name = S("Authorization");
    headers[0].value.ptr = use_basic;
    headers[0].value.len = use_basic_len;
    headers[1].name = S("Content-Type");
    headers[1].value = S("application/x-www-form-urlencoded");
    request.method = S("POST");
    request.uri = S(path);
    request.headers = headers;
    request.headers_len = 2;
    request.body.ptr = (const uint8_t *)body;
    request.body.len = strlen(body);
    if (endpoint(server, &request, &response) != OAP_STATUS_OK) return NULL;
    return response;
}

static int post_status(endpoint_fn endpoint, const char *path, const char *body) {
    oap_response *response = post(endpoint, path, body);
    int status = response ? oap_response_status(response) : 0;
    oap_response_free(response);
    return status;
}

/* The string value of "name" in a flat JSON body, malloc'd. */
static char *json_field(oap_bytes body, const char *name) {
    char key[64];
    const char *start, *end, *text = (const char *)body.ptr;
    char *out;
    snprintf(key, sizeof key, "\"%s\":\"", name);
    start = NULL;
    {
        size_t i, n = strlen(key);
        for (i = 0; i + n <= body.len; i++) {
            if (memcmp(text + i, key, n) == 0) {
                start = text + i + n;
                break;
            }
        }
    }
    if (start == NULL) die("field missing in JSON body");
    end = memchr(start, '"', body.len - (size_t)(start - text));
    if (end == NULL) die("unterminated JSON string");
    out = malloc((size_t)(end - start) + 1);
    if (out == NULL) abort();
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return out;
}

/* An authorization code for alice with an S256 challenge (set-up). */
static char *new_code(void) {
    static const char uri[] =
        "/authorize?response_type=code&client_id=conf-client&redirect_uri=" REDIRECT_ENCODED
        "&scope=read+write&state=xyz"
        "&code_challenge=" CHALLENGE "&code_challenge_method=S256";
    oap_request request;
    oap_authorization *authorization = NULL;
    oap_response *response = NULL;
    oap_str location, none = {NULL, 0};
    const char *start, *end;
    char *code;
    memset(&request, 0, sizeof request);
    request.method = S("GET");
    request.uri = S(uri);
    if (oap_server_validate_authorization_request(server, &request, &authorization, &response) !=
            OAP_STATUS_OK ||
        authorization == NULL)
        die("authorization request refused");
    if (oap_server_authorize(server, authorization, &request, S("alice"), none, &response) !=
            OAP_STATUS_OK ||
        oap_response_header_value(response, S("Location"), &location) != OAP_STATUS_OK)
        die("authorization failed");
    start = NULL;
    {
        size_t i;
        for (i = 0; i + 5 <= location.len; i++) {
            if (memcmp(location.ptr + i, "code=", 5) == 0) {
                start = location.ptr + i + 5;
                break;
            }
        }
    }
    if (start == NULL) die("no code in the redirect");
    end = memchr(start, '&', location.len - (size_t)(start - location.ptr));
    if (end == NULL) end = location.ptr + location.len;
    code = malloc((size_t)(end - start) + 1);
    if (code == NULL) abort();
    memcpy(code, start, (size_t)(end - start));
    code[end - start] = '\0';
    oap_response_free(response);
    oap_authorization_free(authorization);
    return code;
}

static char *exchange_body_with(const char *verifier) {
    char *code = new_code(), *body = malloc(256);
    if (body == NULL) abort();
    snprintf(body, 256,
             "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s", code,
             REDIRECT_ENCODED, verifier);
    free(code);
    return body;
}

static char *exchange_body(void) { return exchange_body_with(VERIFIER); }

static char *refresh_body(void) {
    char *exchange = exchange_body(), *token, *body = malloc(256);
    oap_response *response = post(oap_server_token_response, "/token", exchange);
    if (body == NULL) abort();
    if (response == NULL || oap_response_status(response) != 200) die("code exchange failed");
    token = json_field(oap_response_body(response), "refresh_token");
    snprintf(body, 256, "grant_type=refresh_token&refresh_token=%s", token);
    free(token);
    free(exchange);
    oap_response_free(response);
    return body;
}

static char *no_input(void) { return NULL; }

static int op_client_credentials(const char *input) {
    (void)input;
    return post_status(oap_server_token_response, "/token",
                       "grant_type=client_credentials&scope=read") == 200;
}

static int op_token(const char *body) {
    return post_status(oap_server_token_response, "/token", body) == 200;
}

/* The live tokens, in a scattered order, and the next one to use. */
static char **live_tokens;
static size_t live_count, live_next;

static char *next_token_with(const char *prefix) {
    char *out = malloc(128);
    if (out == NULL) abort();
    snprintf(out, 128, "%s%s", prefix, live_tokens[live_next]);
    live_next = (live_next + 1) % live_count;
    return out;
}

static char *next_introspection(void) { return next_token_with("token="); }
static char *next_bearer(void) { return next_token_with("Bearer "); }

static int op_introspection(const char *input) {
    oap_response *response = post(oap_server_introspection_response, "/introspect", input);
    oap_bytes body = oap_response_body(response);
    int ok = response != NULL && oap_response_status(response) == 200 && body.len > 14 &&
             memcmp(body.ptr, "{\"active\":true", 14) == 0;
    oap_response_free(response);
    return ok;
}

/* A resource server checks the Authorization header value alone with
 * oap_server_check_bearer: what the token grants is lent by the thread's
 * oap_bearer_check (no token handle to allocate and free, no callback), as
 * the Rust driver's Ok(info) is dropped after the check. */
static oap_bearer_check *bearer_check;

static int op_bearer_check(const char *input) {
    const oap_bearer_grant *grant = NULL;
    oap_response *denied = NULL;
    oap_str scope = S("read");
    int ok = oap_server_check_bearer(server, bearer_check, S(input), NULL, &scope, 1, &grant,
                                     &denied) == OAP_STATUS_OK &&
             grant != NULL && denied == NULL;
    oap_response_free(denied);
    return ok;
}

/* One call of the measured operation. Never inlined, so that an
 * instruction count can take it alone, as for the Rust driver:
 * valgrind --tool=callgrind --toggle-collect=timed_call ... */
__attribute__((noinline)) static int timed_call(int (*op)(const char *), const char *input) {
    return op(input);
}

/* One batch: n inputs made untimed, the n calls timed; ns per call. */
static double batch(int n, char *(*setup)(void), int (*op)(const char *)) {
    char **inputs = malloc((size_t)n * sizeof *inputs);
    double start, ns;
    int i;
    if (inputs == NULL) abort();
    for (i = 0; i < n; i++) inputs[i] = setup();
    start = now_us();
    for (i = 0; i < n; i++)
        if (!timed_call(op, inputs[i])) die("operation failed");
    ns = (now_us() - start) * 1e3 / n;
    for (i = 0; i < n; i++) free(inputs[i]);
    free(inputs);
    return ns;
}

static int contains(oap_bytes body, const char *needle) {
    size_t i, n = strlen(needle);
    for (i = 0; i + n <= body.len; i++)
        if (memcmp(body.ptr + i, needle, n) == 0) return 1;
    return 0;
}

/* A token of a 200 response's body, "Bearer "-prefixed when `bearer`. */
static char *token_of(oap_response *r, const char *field, int bearer) {
    char *token, *out = malloc(128);
    if (out == NULL) abort();
    if (r == NULL || oap_response_status(r) != 200) die("check: a token request failed");
    token = json_field(oap_response_body(r), field);
    snprintf(out, 128, "%s%s", bearer ? "Bearer " : "", token);
    free(token);
    oap_response_free(r);
    return out;
}

/* What c_store must answer beyond the equivalence checks, as memstore.c
 * and MemoryValidator do: a replayed code, or a reused refresh token, is
 * refused and revokes its grant (the tokens issued from it stop working). */
static void check_store(void) {
    char *exchange = exchange_body(), *access, *refresh, body[256];
    oap_response *r = post(oap_server_token_response, "/token", exchange);
    access = token_of(r, "access_token", 1);
    if (!op_bearer_check(access)) die("check: a code's access token was refused");
    if (post_status(oap_server_token_response, "/token", exchange) != 400)
        die("check: a replayed code must give 400");
    if (op_bearer_check(access)) die("check: a replayed code must revoke its grant");
    free(access);
    free(exchange);

    refresh = refresh_body();
    r = post(oap_server_token_response, "/token", refresh);
    access = token_of(r, "access_token", 1);
    if (post_status(oap_server_token_response, "/token", refresh) != 400)
        die("check: a reused refresh token must give 400");
    if (op_bearer_check(access)) die("check: a reused refresh token must revoke its grant");
    free(access);
    r = post(oap_server_token_response, "/token", refresh);
    if (r == NULL || oap_response_status(r) != 400) die("check: a revoked refresh token");
    oap_response_free(r);
    snprintf(body, sizeof body, "token=%s", refresh + strlen("grant_type=refresh_token&refresh_token="));
    r = post(oap_server_introspection_response, "/introspect", body);
    if (r == NULL || oap_response_status(r) != 200 ||
        !contains(oap_response_body(r), "{\"active\":false"))
        die("check: a spent refresh token must introspect inactive");
    oap_response_free(r);
    free(refresh);
}

/* The answers every contender must give before it is timed. */
static void check(void) {
    oap_response *r;
    char *body;
    use_basic = wrong_basic;
    use_basic_len = wrong_basic_len;
    r = post(oap_server_token_response, "/token", "grant_type=client_credentials&scope=read");
    if (r == NULL || oap_response_status(r) != 401 ||
        !contains(oap_response_body(r), "\"invalid_client\""))
        die("check: a wrong secret must give 401 invalid_client");
    oap_response_free(r);
    use_basic = basic;
    use_basic_len = basic_len;
    body = exchange_body_with(WRONG_VERIFIER);
    r = post(oap_server_token_response, "/token", body);
    if (r == NULL || oap_response_status(r) != 400 ||
        !contains(oap_response_body(r), "\"invalid_grant\""))
        die("check: a wrong verifier must give 400 invalid_grant");
    oap_response_free(r);
    free(body);
    body = exchange_body();
    if (post_status(oap_server_token_response, "/token", body) != 200) die("check: exchange");
    free(body);
    if (op_bearer_check("Bearer " UNKNOWN_TOKEN)) die("check: an unknown token was accepted");
    r = post(oap_server_introspection_response, "/introspect", "token=" UNKNOWN_TOKEN);
    if (r == NULL || oap_response_status(r) != 200 ||
        !contains(oap_response_body(r), "{\"active\":false"))
        die("check: an unknown token must introspect inactive");
    oap_response_free(r);
    body = next_bearer();
    if (!op_bearer_check(body)) die("check: a live token was refused");
    free(body);
    body = next_introspection();
    if (!op_introspection(body)) die("check: a live token introspected inactive");
    free(body);
    live_next = 0;
    check_store();
}

static size_t gcd(size_t a, size_t b) { return b == 0 ? a : gcd(b, a % b); }

static int arg(int argc, char **argv, const char *name, int fallback) {
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return atoi(argv[i + 1]);
    return fallback;
}

int main(int argc, char **argv) {
    int live = arg(argc, argv, "--live", 40000), i;
    size_t n, stride, k;
    char line[256], op[64], **issued;
    oap_config config = oap_config_default();
    oap_validator validator;
    c_store *store = c_store_new();
    static const struct {
        const char *name;
        char *(*setup)(void);
        int (*op)(const char *);
    } ops[] = {
        {"client_credentials", no_input, op_client_credentials},
        {"auth_code_pkce", exchange_body, op_token},
        {"refresh_rotation", refresh_body, op_token},
        {"introspection", next_introspection, op_introspection},
        {"bearer_check", next_bearer, op_bearer_check},
    };

    for (i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--fill-random") == 0) {
            if (strcmp(argv[i + 1], "vdso") != 0) die("--fill-random takes vdso");
            setup_vdso_getrandom();
            config.fill_random = fill_from_vdso;
        }
    }
    if (live < 1) die("--live must be positive");

    c_store_add_client(store, "conf-client", SECRET_SHA256, OAP_SECRET_SHA256_HEX, true,
                       "https://client.example.com/cb",
                       OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN |
                           OAP_GRANT_CLIENT_CREDENTIALS,
                       true, "read write", "read");
    validator = c_store_validator(store);
    config.issuer = S("https://as.example");
    config.grants =
        OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN | OAP_GRANT_CLIENT_CREDENTIALS;
    if (oap_server_new(&config, &validator, &server) != OAP_STATUS_OK) die("oap_server_new");
    if (oap_bearer_check_new(&bearer_check) != OAP_STATUS_OK) die("oap_bearer_check_new");
    if (oap_basic_header_value(S("conf-client"), S("conf-secret"), basic, sizeof basic,
                               &basic_len) != OAP_STATUS_OK ||
        oap_basic_header_value(S("conf-client"), S("not-the-secret"), wrong_basic,
                               sizeof wrong_basic, &wrong_basic_len) != OAP_STATUS_OK)
        die("oap_basic_header_value");
    use_basic = basic;
    use_basic_len = basic_len;

    /* The live tokens, issued through the ABI, visited in a scattered
     * order (a stride coprime with their count), as the Rust worker does. */
    n = (size_t)live;
    issued = malloc(n * sizeof *issued);
    live_tokens = malloc(n * sizeof *live_tokens);
    if (issued == NULL || live_tokens == NULL) abort();
    for (k = 0; k < n; k++) {
        oap_response *r =
            post(oap_server_token_response, "/token", "grant_type=client_credentials&scope=read");
        if (r == NULL || oap_response_status(r) != 200) die("client credentials failed");
        issued[k] = json_field(oap_response_body(r), "access_token");
        if (strlen(issued[k]) != OAP_TOKEN_LEN) die("unexpected token length");
        oap_response_free(r);
    }
    for (stride = n / 2 + 1; gcd(stride, n) != 1; stride++) {
    }
    for (k = 0; k < n; k++) live_tokens[k] = issued[(k * stride) % n];
    free(issued);
    live_count = n;
    check();
    printf("ready\n");
    fflush(stdout);

    while (fgets(line, sizeof line, stdin) != NULL) {
        int count = 0, found = 0;
        if (strncmp(line, "quit", 4) == 0) break;
        if (sscanf(line, "batch %63s %d", op, &count) != 2 || count < 1) die("unknown command");
        for (i = 0; i < (int)(sizeof ops / sizeof ops[0]); i++) {
            if (strcmp(op, ops[i].name) != 0) continue;
            printf("%.1f\n", batch(count, ops[i].setup, ops[i].op));
            found = 1;
        }
        /* c_store.c keeps no device authorizations or pushed requests:
         * those rows are the Rust API's alone. */
        if (!found && (strcmp(op, "device_poll") == 0 || strcmp(op, "par_push") == 0)) {
            printf("n/a\n");
            found = 1;
        }
        if (!found) die("unknown operation");
        fflush(stdout);
    }
    for (k = 0; k < n; k++) free(live_tokens[k]);
    free(live_tokens);
    oap_bearer_check_free(bearer_check);
    oap_server_free(server);
    c_store_free(store);
    return 0;
}
