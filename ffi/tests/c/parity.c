/*
 * The client table (tests/data/client_table.txt, path in argv[1]) through
 * the C ABI: for each row, a server whose only client is the row's,
 * registered with oap_registered_client_new, over a small validator that
 * keeps the row's scopes; one request; the answer printed as
 * "row <line> <answer>" for tests/parity.rs to compare with the Rust API's.
 * Run by tests/parity.rs (cargo test -p oauth2-provider-ffi --test parity).
 */
#include "oauth2_provider.h"

#include "testutil.h"

#define CLIENT_ID "app"
#define SECRET "app-secret"
#define REDIRECT "https://app.example/cb"
#define REDIRECT_ENC "https%3A%2F%2Fapp.example%2Fcb"
/* RFC 7636 appendix B. */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

typedef struct row {
    const char *kind, *grants, *scopes, *defaults, *auth, *endpoint, *type, *scope;
    char scopes_sp[128], defaults_sp[128]; /* lists with spaces */
    oap_registered_client *client;
} row;

/* "a,b" -> "a b"; "-" -> "". */
static void spaced(const char *list, char *out, size_t out_len) {
    size_t i;
    if (strcmp(list, "-") == 0) list = "";
    snprintf(out, out_len, "%s", list);
    for (i = 0; out[i]; i++)
        if (out[i] == ',') out[i] = ' ';
}

static oap_grants grant_bits(const char *list) {
    static const struct {
        const char *name;
        oap_grants bit;
    } names[] = {
        {"authorization_code", OAP_GRANT_AUTHORIZATION_CODE},
        {"implicit", OAP_GRANT_IMPLICIT},
        {"password", OAP_GRANT_PASSWORD},
        {"client_credentials", OAP_GRANT_CLIENT_CREDENTIALS},
        {"refresh_token", OAP_GRANT_REFRESH_TOKEN},
    };
    oap_grants bits = 0;
    char copy[256], *name;
    size_t i;
    if (strcmp(list, "-") == 0) return 0;
    snprintf(copy, sizeof copy, "%s", list);
    for (name = strtok(copy, ","); name != NULL; name = strtok(NULL, ",")) {
        int known = 0;
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcmp(name, names[i].name) == 0) {
                bits |= names[i].bit;
                known = 1;
            }
        }
        if (!known) {
            fprintf(stderr, "unknown grant %s\n", name);
            exit(2);
        }
    }
    return bits;
}

/* Whether every space-delimited token of `want` is one of `allowed`'s. */
static int within(const char *allowed, oap_str want) {
    size_t i = 0;
    while (i < want.len) {
        size_t j = i, n;
        const char *p = allowed;
        int found = 0;
        while (j < want.len && want.ptr[j] != ' ') j++;
        n = j - i;
        while (n > 0 && *p) {
            const char *end = strchr(p, ' ');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len == n && memcmp(p, want.ptr + i, n) == 0) found = 1;
            p = end ? end + 1 : p + len;
        }
        if (n > 0 && !found) return 0;
        i = j + 1;
    }
    return 1;
}

/* ---- the validator: the row's client, its scopes, the user alice ---- */

static oap_cb_result cb_find_client(void *ud, oap_str client_id, oap_ctx *ctx) {
    row *r = (row *)ud;
    if (!str_is(client_id, CLIENT_ID)) return OAP_CB_FALSE;
    return oap_ctx_set_registered_client(ctx, r->client) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

static oap_cb_result cb_validate_scopes(void *ud, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    row *r = (row *)ud;
    (void)ctx;
    return str_is(client_id, CLIENT_ID) && within(r->scopes_sp, scopes) ? OAP_CB_TRUE : OAP_CB_FALSE;
}

static oap_cb_result cb_get_default_scopes(void *ud, oap_str client_id, oap_ctx *ctx) {
    row *r = (row *)ud;
    if (!str_is(client_id, CLIENT_ID) || r->defaults_sp[0] == '\0') return OAP_CB_FALSE;
    return oap_ctx_set_scopes(ctx, S(r->defaults_sp)) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

static oap_cb_result cb_validate_user(void *ud, oap_str username, oap_str password, oap_ctx *ctx) {
    (void)ud;
    if (!str_is(username, "alice") || !str_is(password, "wonderland")) return OAP_CB_FALSE;
    return oap_ctx_set_user(ctx, username) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

/* No code or refresh token exists. */
static oap_cb_result cb_validate_code(void *ud, oap_str client_id, oap_str code, oap_ctx *ctx) {
    (void)ud; (void)client_id; (void)code; (void)ctx;
    return OAP_CB_FALSE;
}

static oap_cb_result cb_validate_refresh_token(void *ud, oap_str token, oap_str client_id, oap_ctx *ctx) {
    (void)ud; (void)token; (void)client_id; (void)ctx;
    return OAP_CB_FALSE;
}

static oap_cb_result cb_save_bearer_token(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    (void)ud; (void)token; (void)ctx;
    return OAP_CB_TRUE;
}

/* ---- one row ---- */

static void answer_token(const oap_server *server, row *r, char *out, size_t out_len) {
    char body[512], field[256];
    test_request t;
    oap_response *resp = NULL;
    size_t i;
    snprintf(body, sizeof body, "grant_type=%s", r->type);
    if (strcmp(r->type, "password") == 0)
        strcat(body, "&username=alice&password=wonderland");
    else if (strcmp(r->type, "authorization_code") == 0)
        strcat(body, "&code=no-such-code&redirect_uri=" REDIRECT_ENC "&code_verifier=" VERIFIER);
    else if (strcmp(r->type, "refresh_token") == 0)
        strcat(body, "&refresh_token=no-such-token");
    if (strcmp(r->scope, "-") != 0) {
        strcat(body, "&scope=");
        strcat(body, r->scope);
        for (i = 0; body[i]; i++)
            if (body[i] == ',') body[i] = '+';
    }
    if (strcmp(r->auth, "id") == 0) strcat(body, "&client_id=" CLIENT_ID);
    CHECK_STATUS(oap_server_token_response(
                     server, post(&t, "/token", body, strcmp(r->auth, "secret") == 0 ? CLIENT_ID : NULL, SECRET),
                     &resp),
                 OAP_STATUS_OK);
    if (oap_response_status(resp) == 200) {
        if (!json_field(resp, "scope", field, sizeof field)) strcpy(field, "-");
        for (i = 0; field[i]; i++)
            if (field[i] == ' ') field[i] = ',';
    } else if (!json_field(resp, "error", field, sizeof field)) {
        strcpy(field, "?");
    }
    snprintf(out, out_len, "%u:%s", (unsigned)oap_response_status(resp), field);
    oap_response_free(resp);
}

static void answer_authorize(const oap_server *server, row *r, char *out, size_t out_len) {
    char uri[512], field[256];
    test_request t;
    oap_authorization *auth = NULL;
    oap_response *resp = NULL;
    size_t i;
    snprintf(uri, sizeof uri,
             "/authorize?response_type=%s&client_id=%s&redirect_uri=%s&state=s&code_challenge=%s"
             "&code_challenge_method=S256",
             r->type, CLIENT_ID, REDIRECT_ENC, CHALLENGE);
    if (strcmp(r->scope, "-") != 0) {
        strcat(uri, "&scope=");
        strcat(uri, r->scope);
        for (i = 0; uri[i]; i++)
            if (uri[i] == ',') uri[i] = '+';
    }
    CHECK_STATUS(oap_server_validate_authorization_request(server, get(&t, uri), &auth, &resp),
                 OAP_STATUS_OK);
    if (auth != NULL) {
        oap_str scopes = oap_authorization_scopes(auth);
        if (scopes.len == 0) {
            strcpy(field, "-");
        } else {
            snprintf(field, sizeof field, "%.*s", (int)scopes.len, scopes.ptr);
            for (i = 0; field[i]; i++)
                if (field[i] == ' ') field[i] = ',';
        }
        snprintf(out, out_len, "ok:%s", field);
        oap_authorization_free(auth);
        return;
    }
    if (oap_response_status(resp) == 302) {
        if (!location_param(resp, "error", field, sizeof field)) strcpy(field, "?");
    } else if (!json_field(resp, "error", field, sizeof field)) {
        strcpy(field, "?");
    }
    snprintf(out, out_len, "%u:%s", (unsigned)oap_response_status(resp), field);
    oap_response_free(resp);
}

static void run_row(row *r, unsigned line) {
    oap_client client;
    oap_str uris[1];
    oap_config config = oap_config_default();
    oap_validator v;
    oap_server *server = NULL;
    char answer[300];
    int confidential = strcmp(r->kind, "confidential") == 0;

    spaced(r->scopes, r->scopes_sp, sizeof r->scopes_sp);
    spaced(r->defaults, r->defaults_sp, sizeof r->defaults_sp);
    memset(&client, 0, sizeof client);
    client.struct_size = sizeof client;
    client.client_id = S(CLIENT_ID);
    client.secret_kind = confidential ? OAP_SECRET_PLAIN : OAP_SECRET_NONE;
    client.secret = confidential ? S(SECRET) : S(NULL);
    uris[0] = S(REDIRECT);
    client.redirect_uris = uris;
    client.redirect_uris_len = 1;
    client.grants = grant_bits(r->grants);
    CHECK_STATUS(oap_registered_client_new(&client, &r->client), OAP_STATUS_OK);

    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.user_data = r;
    v.find_client = cb_find_client;
    v.validate_scopes = cb_validate_scopes;
    v.get_default_scopes = cb_get_default_scopes;
    v.validate_user = cb_validate_user;
    v.validate_code = cb_validate_code;
    v.validate_refresh_token = cb_validate_refresh_token;
    v.save_bearer_token = cb_save_bearer_token;
    config.grants = OAP_GRANT_ALL;
    config.issuer = S("https://as.example");
    CHECK_STATUS(oap_server_new(&config, &v, &server), OAP_STATUS_OK);

    if (strcmp(r->endpoint, "token") == 0) {
        answer_token(server, r, answer, sizeof answer);
    } else if (strcmp(r->endpoint, "authorize") == 0) {
        answer_authorize(server, r, answer, sizeof answer);
    } else {
        fprintf(stderr, "line %u: unknown endpoint %s\n", line, r->endpoint);
        exit(2);
    }
    printf("row %u %s\n", line, answer);
    oap_server_free(server);
    oap_registered_client_free(r->client);
}

int main(int argc, char **argv) {
    char text[512];
    unsigned line = 0;
    FILE *table;
    if (argc != 2 || (table = fopen(argv[1], "r")) == NULL) {
        fprintf(stderr, "usage: parity <client table>\n");
        return 2;
    }
    while (fgets(text, sizeof text, table) != NULL) {
        const char *cols[9];
        char *p = text;
        size_t n = 0;
        row r;
        line++;
        while (n < 9 && (cols[n] = strtok(p, " \t\r\n")) != NULL) {
            p = NULL;
            n++;
        }
        if (n == 0 || cols[0][0] == '#') continue;
        if (n != 9) {
            fprintf(stderr, "line %u: %zu columns\n", line, n);
            return 2;
        }
        memset(&r, 0, sizeof r);
        r.kind = cols[0];
        r.grants = cols[1];
        r.scopes = cols[2];
        r.defaults = cols[3];
        r.auth = cols[4];
        r.endpoint = cols[5];
        r.type = cols[6];
        r.scope = cols[7];
        run_row(&r, line);
    }
    fclose(table);
    return report();
}
