#define _POSIX_C_SOURCE 200809L
#include "memstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct ms_client {
    char *id, *secret, *redirect_uri, *scopes, *default_scopes;
    oap_secret_kind secret_kind;
    bool confidential, may_introspect;
    uint32_t grants;
} ms_client;

typedef struct ms_code {
    char *code, *client_id, *redirect_uri, *user, *scopes, *challenge, *grant_id;
    oap_pkce_method method;
    uint64_t expires_at;
    bool used;
} ms_code;

typedef struct ms_token {
    char *token, *client_id, *user, *scopes, *grant_id;
    bool refresh, revoked, rotated;
    uint64_t exp, iat;
} ms_token;

/* What the store knows of a grant (a token family), as MemoryValidator's
   GrantRecord: made when a code is saved, or a token that starts a grant
   (new_grant); kept until its last code or refresh token expires (then it
   counts as unknown); once revoked, no token of it may be saved. */
typedef struct ms_grant {
    char *id;
    bool revoked;
    uint64_t ends_at;
} ms_grant;

typedef struct ms_user {
    char *name, *password;
} ms_user;

#define MS_MAX_CALLBACK_NAMES 40

struct memstore {
    pthread_mutex_t lock;
    ms_client *clients;
    size_t n_clients;
    ms_user *users;
    size_t n_users;
    ms_code *codes;
    size_t n_codes, cap_codes;
    ms_token *tokens;
    size_t n_tokens, cap_tokens;
    /* Known grants, so that tokens a concurrent request saves for a
       revoked or ended one are refused (see oap_save_bearer_token_cb). */
    ms_grant *grants;
    size_t n_grants, cap_grants;
    char *forced_name;
    oap_cb_result forced_answer;
    bool challenge_in_code_info;
    const char *call_names[MS_MAX_CALLBACK_NAMES];
    unsigned call_counts[MS_MAX_CALLBACK_NAMES];
};

/* ---- small string helpers ---- */

static char *dup_str(oap_str s) {
    char *out;
    if (s.ptr == NULL) return NULL;
    out = malloc(s.len + 1);
    if (out == NULL) abort();
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return out;
}

static char *dup_c(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = s ? strlen(s) : 0;
    return dup_str(v);
}

static oap_str view(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = s ? strlen(s) : 0;
    return v;
}

static bool eq(const char *c, oap_str s) {
    return c != NULL && s.ptr != NULL && strlen(c) == s.len && memcmp(c, s.ptr, s.len) == 0;
}

static uint64_t now(void) { return (uint64_t)time(NULL); }

/* Whether every space-delimited token of `want` is in `allowed`. */
static bool scopes_within(const char *allowed, oap_str want) {
    size_t i = 0;
    if (allowed[0] == '\0') return true;
    while (i < want.len) {
        size_t j = i, n;
        const char *p = allowed;
        bool found = false;
        while (j < want.len && want.ptr[j] != ' ') j++;
        n = j - i;
        while (n > 0 && *p) {
            const char *end = strchr(p, ' ');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len == n && memcmp(p, want.ptr + i, n) == 0) found = true;
            p = end ? end + 1 : p + len;
        }
        if (n > 0 && !found) return false;
        i = j + 1;
    }
    return true;
}

/* ---- bookkeeping: forced answers and call counts (under the lock) ---- */

static bool forced(memstore *s, const char *name, oap_cb_result *answer) {
    size_t i;
    for (i = 0; i < MS_MAX_CALLBACK_NAMES; i++) {
        if (s->call_names[i] == NULL || strcmp(s->call_names[i], name) == 0) {
            s->call_names[i] = name;
            s->call_counts[i]++;
            break;
        }
    }
    if (s->forced_name != NULL && strcmp(s->forced_name, name) == 0) {
        *answer = s->forced_answer;
        return true;
    }
    return false;
}

#define ENTER(store_ptr, name)                                   \
    memstore *s = (memstore *)(store_ptr);                       \
    oap_cb_result forced_answer;                                 \
    pthread_mutex_lock(&s->lock);                                \
    if (forced(s, name, &forced_answer)) {                       \
        pthread_mutex_unlock(&s->lock);                          \
        return forced_answer;                                    \
    }

#define LEAVE(value)                 \
    do {                             \
        pthread_mutex_unlock(&s->lock); \
        return (value);              \
    } while (0)

static ms_client *find_client_locked(memstore *s, oap_str id) {
    size_t i;
    for (i = 0; i < s->n_clients; i++)
        if (eq(s->clients[i].id, id)) return &s->clients[i];
    return NULL;
}

static ms_token *find_token_locked(memstore *s, oap_str token) {
    size_t i;
    for (i = 0; i < s->n_tokens; i++)
        if (eq(s->tokens[i].token, token)) return &s->tokens[i];
    return NULL;
}

static ms_code *find_code_locked(memstore *s, oap_str code) {
    size_t i;
    for (i = 0; i < s->n_codes; i++)
        if (eq(s->codes[i].code, code)) return &s->codes[i];
    return NULL;
}

/* The grant's record, NULL when unknown or ended (its last code or refresh
   token expired: a sweep would have dropped it). */
static ms_grant *find_grant_locked(memstore *s, oap_str grant_id) {
    size_t i;
    for (i = 0; i < s->n_grants; i++)
        if (eq(s->grants[i].id, grant_id)) return s->grants[i].ends_at > now() ? &s->grants[i] : NULL;
    return NULL;
}

/* Records the grant (or extends its record) until ends_at. */
static void keep_grant_locked(memstore *s, oap_str grant_id, uint64_t ends_at) {
    ms_grant *g;
    size_t i;
    for (i = 0; i < s->n_grants; i++) {
        if (eq(s->grants[i].id, grant_id)) {
            if (s->grants[i].ends_at < ends_at) s->grants[i].ends_at = ends_at;
            return;
        }
    }
    if (s->n_grants == s->cap_grants) {
        s->cap_grants = s->cap_grants ? s->cap_grants * 2 : 8;
        s->grants = realloc(s->grants, s->cap_grants * sizeof *s->grants);
        if (s->grants == NULL) abort();
    }
    g = &s->grants[s->n_grants++];
    g->id = dup_str(grant_id);
    g->revoked = false;
    g->ends_at = ends_at;
}

static void revoke_grant_locked(memstore *s, oap_str grant_id) {
    ms_grant *g = find_grant_locked(s, grant_id);
    size_t i;
    for (i = 0; i < s->n_tokens; i++)
        if (eq(s->tokens[i].grant_id, grant_id)) s->tokens[i].revoked = true;
    /* A grant no longer known needs no mark: a late save of it is refused
       anyway. */
    if (g != NULL) g->revoked = true;
}

/* ---- the callbacks ---- */

static oap_cb_result cb_find_client(void *ud, oap_str client_id, oap_ctx *ctx) {
    ms_client *c;
    oap_client out;
    oap_str uris[1];
    ENTER(ud, "find_client");
    c = find_client_locked(s, client_id);
    if (c == NULL) LEAVE(OAP_CB_FALSE);
    memset(&out, 0, sizeof out);
    out.struct_size = sizeof out;
    out.client_id = view(c->id);
    out.secret_kind = c->secret_kind;
    out.secret = view(c->secret);
    out.confidential = c->confidential;
    if (c->redirect_uri != NULL) {
        uris[0] = view(c->redirect_uri);
        out.redirect_uris = uris;
        out.redirect_uris_len = 1;
    }
    out.grants = c->grants;
    out.may_introspect = c->may_introspect;
    /* The library copies the client: our strings need not outlive the call. */
    if (oap_ctx_set_client(ctx, &out) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_get_default_scopes(void *ud, oap_str client_id, oap_ctx *ctx) {
    ms_client *c;
    ENTER(ud, "get_default_scopes");
    c = find_client_locked(s, client_id);
    if (c == NULL || c->default_scopes[0] == '\0') LEAVE(OAP_CB_FALSE);
    if (oap_ctx_set_scopes(ctx, view(c->default_scopes)) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_validate_scopes(void *ud, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    ms_client *c;
    (void)ctx;
    ENTER(ud, "validate_scopes");
    c = find_client_locked(s, client_id);
    LEAVE(c != NULL && scopes_within(c->scopes, scopes) ? OAP_CB_TRUE : OAP_CB_FALSE);
}

static oap_cb_result cb_save_authorization_code(void *ud, oap_str client_id,
                                                const oap_authorization_code *code, oap_ctx *ctx) {
    ms_code *c;
    (void)client_id;
    (void)ctx;
    ENTER(ud, "save_authorization_code");
    if (s->n_codes == s->cap_codes) {
        s->cap_codes = s->cap_codes ? s->cap_codes * 2 : 16;
        s->codes = realloc(s->codes, s->cap_codes * sizeof *s->codes);
        if (s->codes == NULL) abort();
    }
    c = &s->codes[s->n_codes++];
    c->code = dup_str(code->code);
    c->client_id = dup_str(code->client_id);
    c->redirect_uri = dup_str(code->redirect_uri); /* NULL when none was sent */
    c->user = dup_str(code->user);
    c->scopes = dup_str(code->scopes);
    c->challenge = dup_str(code->code_challenge);
    c->method = code->code_challenge_method;
    c->grant_id = dup_str(code->grant_id);
    c->expires_at = code->expires_at;
    c->used = false;
    /* A code starts its grant, which lasts at least as long as the code. */
    keep_grant_locked(s, code->grant_id, code->expires_at);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_validate_code(void *ud, oap_str client_id, oap_str code, oap_ctx *ctx) {
    ms_code *c;
    oap_code_info info;
    ENTER(ud, "validate_code");
    c = find_code_locked(s, code);
    if (c == NULL || !eq(c->client_id, client_id) || c->expires_at <= now()) LEAVE(OAP_CB_FALSE);
    if (c->used) {
        oap_status st = s->challenge_in_code_info
                            ? oap_ctx_set_code_used_pkce(ctx, view(c->grant_id), view(c->challenge),
                                                         c->method)
                            : oap_ctx_set_code_used(ctx, view(c->grant_id));
        if (st != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
        LEAVE(OAP_CB_TRUE);
    }
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.client_id = view(c->client_id);
    info.user = view(c->user);
    info.scopes = view(c->scopes);
    info.redirect_uri = view(c->redirect_uri); /* ptr NULL: none was sent */
    info.grant_id = view(c->grant_id);
    info.expires_at = c->expires_at;
    if (s->challenge_in_code_info && c->challenge != NULL) {
        info.code_challenge = view(c->challenge);
        info.code_challenge_method = c->method;
    }
    if (oap_ctx_set_code(ctx, &info) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_invalidate_authorization_code(void *ud, oap_str client_id, oap_str code,
                                                      oap_ctx *ctx) {
    ms_code *c;
    (void)client_id;
    (void)ctx;
    ENTER(ud, "invalidate_authorization_code");
    c = find_code_locked(s, code);
    if (c == NULL || c->used) LEAVE(OAP_CB_FALSE);
    c->used = true;
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_get_code_challenge(void *ud, oap_str code, oap_ctx *ctx) {
    ms_code *c;
    ENTER(ud, "get_code_challenge");
    c = find_code_locked(s, code);
    if (c == NULL || c->challenge == NULL) LEAVE(OAP_CB_FALSE);
    if (oap_ctx_set_code_challenge(ctx, view(c->challenge)) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_get_code_challenge_method(void *ud, oap_str code, oap_ctx *ctx) {
    ms_code *c;
    ENTER(ud, "get_code_challenge_method");
    c = find_code_locked(s, code);
    if (c == NULL || c->method == OAP_PKCE_NONE) LEAVE(OAP_CB_FALSE);
    if (oap_ctx_set_code_challenge_method(ctx, c->method) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static void add_token_locked(memstore *s, oap_str token, bool refresh, const oap_issued_token *t,
                             oap_str scopes, uint64_t exp) {
    ms_token *k;
    if (s->n_tokens == s->cap_tokens) {
        s->cap_tokens = s->cap_tokens ? s->cap_tokens * 2 : 16;
        s->tokens = realloc(s->tokens, s->cap_tokens * sizeof *s->tokens);
        if (s->tokens == NULL) abort();
    }
    k = &s->tokens[s->n_tokens++];
    k->token = dup_str(token);
    k->client_id = dup_str(t->client_id);
    k->user = dup_str(t->user);
    k->scopes = dup_str(scopes);
    k->grant_id = dup_str(t->grant_id);
    k->refresh = refresh;
    k->revoked = false;
    k->rotated = false;
    k->exp = exp;
    k->iat = t->issued_at;
}

static oap_cb_result cb_save_bearer_token(void *ud, const oap_issued_token *t, oap_ctx *ctx) {
    (void)ctx;
    {
        ENTER(ud, "save_bearer_token");
        if (t->grant_id.ptr != NULL) {
            ms_grant *g = find_grant_locked(s, t->grant_id);
            uint64_t ends_at = t->refresh_expires_at != 0 ? t->refresh_expires_at : t->issued_at;
            /* Revoked meanwhile, or ended (unknown) and not new: refused. */
            if (g != NULL ? g->revoked : !t->new_grant) LEAVE(OAP_CB_FALSE);
            keep_grant_locked(s, t->grant_id, ends_at);
        }
        add_token_locked(s, t->access_token, false, t, t->scopes, t->issued_at + t->expires_in);
        if (t->refresh_token.ptr != NULL && t->refresh_token_is_new)
            add_token_locked(s, t->refresh_token, true, t, t->refresh_scopes, t->refresh_expires_at);
        LEAVE(OAP_CB_TRUE);
    }
}

static void fill_info(oap_token_info *info, const ms_token *k) {
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->token_type = k->refresh ? OAP_TOKEN_TYPE_REFRESH_TOKEN : OAP_TOKEN_TYPE_ACCESS_TOKEN;
    info->client_id = view(k->client_id);
    info->username = view(k->user);
    info->sub = view(k->user);
    info->scopes = view(k->scopes);
    info->exp = k->exp;
    info->iat = k->iat;
    info->grant_id = view(k->grant_id);
}

static oap_cb_result cb_validate_bearer_token(void *ud, oap_str token, const oap_str *scopes,
                                              size_t scopes_len, oap_ctx *ctx) {
    ms_token *k;
    oap_token_info info;
    (void)scopes;
    (void)scopes_len; /* the library checks the scopes itself */
    ENTER(ud, "validate_bearer_token");
    k = find_token_locked(s, token);
    if (k == NULL || k->refresh || k->revoked) LEAVE(OAP_CB_FALSE);
    fill_info(&info, k);
    if (oap_ctx_set_token_info(ctx, &info) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_introspect_token(void *ud, oap_str token, oap_token_type hint, oap_ctx *ctx) {
    ms_token *k;
    oap_token_info info;
    (void)hint; /* every type is searched anyway */
    ENTER(ud, "introspect_token");
    k = find_token_locked(s, token);
    if (k == NULL || k->revoked || k->rotated) LEAVE(OAP_CB_FALSE);
    fill_info(&info, k);
    if (oap_ctx_set_token_info(ctx, &info) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_validate_refresh_token(void *ud, oap_str refresh_token, oap_str client_id,
                                               oap_ctx *ctx) {
    ms_token *k;
    oap_refresh_token_info info;
    ENTER(ud, "validate_refresh_token");
    k = find_token_locked(s, refresh_token);
    if (k == NULL || !k->refresh || !eq(k->client_id, client_id)) LEAVE(OAP_CB_FALSE);
    if (k->rotated) {
        if (oap_ctx_set_refresh_token_rotated(ctx, view(k->grant_id)) != OAP_STATUS_OK)
            LEAVE(OAP_CB_ERROR);
        LEAVE(OAP_CB_TRUE);
    }
    if (k->revoked || (k->exp != 0 && k->exp <= now())) LEAVE(OAP_CB_FALSE);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.client_id = view(k->client_id);
    info.user = view(k->user);
    info.scopes = view(k->scopes);
    info.grant_id = view(k->grant_id);
    info.expires_at = k->exp;
    if (oap_ctx_set_refresh_token(ctx, &info) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_invalidate_refresh_token(void *ud, oap_str refresh_token, oap_ctx *ctx) {
    ms_token *k;
    (void)ctx;
    ENTER(ud, "invalidate_refresh_token");
    k = find_token_locked(s, refresh_token);
    if (k == NULL || k->rotated) LEAVE(OAP_CB_FALSE);
    k->rotated = true;
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_revoke_token(void *ud, oap_str token, oap_token_type hint, oap_ctx *ctx) {
    ms_token *k;
    (void)hint;
    (void)ctx;
    ENTER(ud, "revoke_token");
    k = find_token_locked(s, token);
    if (k != NULL) {
        k->revoked = true;
        /* RFC 7009 §2.1: revoking a refresh token revokes its grant. */
        if (k->refresh) revoke_grant_locked(s, view(k->grant_id));
    }
    LEAVE(OAP_CB_TRUE);
}

static oap_cb_result cb_revoke_grant(void *ud, oap_str grant_id, oap_ctx *ctx) {
    (void)ctx;
    {
        ENTER(ud, "revoke_grant");
        revoke_grant_locked(s, grant_id);
        LEAVE(OAP_CB_TRUE);
    }
}

static oap_cb_result cb_validate_user(void *ud, oap_str username, oap_str password, oap_ctx *ctx) {
    size_t i;
    ENTER(ud, "validate_user");
    for (i = 0; i < s->n_users; i++) {
        if (eq(s->users[i].name, username) && eq(s->users[i].password, password)) {
            if (oap_ctx_set_user(ctx, username) != OAP_STATUS_OK) LEAVE(OAP_CB_ERROR);
            LEAVE(OAP_CB_TRUE);
        }
    }
    LEAVE(OAP_CB_FALSE);
}

/* ---- the store ---- */

memstore *memstore_new(void) {
    memstore *s = calloc(1, sizeof *s);
    if (s == NULL) abort();
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void memstore_free(memstore *s) {
    size_t i;
    if (s == NULL) return;
    for (i = 0; i < s->n_clients; i++) {
        ms_client *c = &s->clients[i];
        free(c->id); free(c->secret); free(c->redirect_uri); free(c->scopes); free(c->default_scopes);
    }
    for (i = 0; i < s->n_users; i++) {
        free(s->users[i].name);
        free(s->users[i].password);
    }
    for (i = 0; i < s->n_codes; i++) {
        ms_code *c = &s->codes[i];
        free(c->code); free(c->client_id); free(c->redirect_uri); free(c->user);
        free(c->scopes); free(c->challenge); free(c->grant_id);
    }
    for (i = 0; i < s->n_tokens; i++) {
        ms_token *k = &s->tokens[i];
        free(k->token); free(k->client_id); free(k->user); free(k->scopes); free(k->grant_id);
    }
    free(s->clients);
    free(s->users);
    free(s->codes);
    for (i = 0; i < s->n_grants; i++) free(s->grants[i].id);
    free(s->tokens);
    free(s->grants);
    free(s->forced_name);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void memstore_add_client(memstore *s, const char *client_id, const char *secret,
                         oap_secret_kind secret_kind, bool confidential, const char *redirect_uri,
                         uint32_t grants, bool may_introspect, const char *scopes,
                         const char *default_scopes) {
    ms_client *c;
    pthread_mutex_lock(&s->lock);
    s->clients = realloc(s->clients, (s->n_clients + 1) * sizeof *s->clients);
    if (s->clients == NULL) abort();
    c = &s->clients[s->n_clients++];
    c->id = dup_c(client_id);
    c->secret = dup_c(secret);
    c->secret_kind = secret ? secret_kind : OAP_SECRET_NONE;
    c->confidential = confidential;
    c->redirect_uri = dup_c(redirect_uri);
    c->grants = grants;
    c->may_introspect = may_introspect;
    c->scopes = dup_c(scopes ? scopes : "");
    c->default_scopes = dup_c(default_scopes ? default_scopes : "");
    pthread_mutex_unlock(&s->lock);
}

void memstore_add_user(memstore *s, const char *username, const char *password) {
    pthread_mutex_lock(&s->lock);
    s->users = realloc(s->users, (s->n_users + 1) * sizeof *s->users);
    if (s->users == NULL) abort();
    s->users[s->n_users].name = dup_c(username);
    s->users[s->n_users].password = dup_c(password);
    s->n_users++;
    pthread_mutex_unlock(&s->lock);
}

void memstore_force(memstore *s, const char *name, oap_cb_result answer) {
    pthread_mutex_lock(&s->lock);
    free(s->forced_name);
    s->forced_name = dup_c(name);
    s->forced_answer = answer;
    pthread_mutex_unlock(&s->lock);
}

void memstore_challenge_in_code_info(memstore *s, bool enabled) {
    pthread_mutex_lock(&s->lock);
    s->challenge_in_code_info = enabled;
    pthread_mutex_unlock(&s->lock);
}

unsigned memstore_calls(memstore *s, const char *name) {
    unsigned n = 0;
    size_t i;
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < MS_MAX_CALLBACK_NAMES && s->call_names[i] != NULL; i++)
        if (strcmp(s->call_names[i], name) == 0) n = s->call_counts[i];
    pthread_mutex_unlock(&s->lock);
    return n;
}

oap_validator memstore_validator(memstore *store) {
    oap_validator v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.user_data = store;
    v.find_client = cb_find_client;
    v.get_code_challenge = cb_get_code_challenge;
    v.get_code_challenge_method = cb_get_code_challenge_method;
    v.get_default_scopes = cb_get_default_scopes;
    v.introspect_token = cb_introspect_token;
    v.invalidate_authorization_code = cb_invalidate_authorization_code;
    v.revoke_token = cb_revoke_token;
    v.revoke_grant = cb_revoke_grant;
    v.invalidate_refresh_token = cb_invalidate_refresh_token;
    v.save_authorization_code = cb_save_authorization_code;
    v.save_bearer_token = cb_save_bearer_token;
    v.validate_bearer_token = cb_validate_bearer_token;
    v.validate_code = cb_validate_code;
    v.validate_refresh_token = cb_validate_refresh_token;
    v.validate_scopes = cb_validate_scopes;
    v.validate_user = cb_validate_user;
    return v;
}
