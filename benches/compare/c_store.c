/*
 * The C column's validator (benches/compare/run.sh): an in-memory store
 * behind the oap_validator callback table, shaped like the Rust
 * MemoryValidator so the C ABI is measured on equal terms: hash tables
 * (open addressing) for clients, codes, access and refresh tokens, one
 * mutex around codes and tokens, strings copied in, the client secret kept
 * as its SHA-256 digest, expiry checked on every lookup, single-use codes
 * and rotated refresh tokens reported for replay detection. Each client is
 * registered with the library once (oap_registered_client_new) and handed
 * to requests by reference (oap_ctx_set_registered_client), as
 * MemoryValidator hands out an Arc of its client. Each access token is
 * kept as the library's own record of it, taken when it is saved
 * (oap_ctx_issued_access_token) and handed back by validate_bearer_token
 * and introspect_token with oap_ctx_set_token, as MemoryValidator keeps
 * its records parsed and clones a TokenInfo from one per lookup. (A
 * refresh token's, needed only when one is introspected, is copied per
 * request with oap_ctx_set_token_info.)
 *
 * A benchmark fixture, not a production store: nothing is ever freed
 * before c_store_free(), and revoke_grant scans every token.
 */
#define _POSIX_C_SOURCE 200809L
#include "c_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- strings ---- */

typedef struct text {
    char *ptr; /* NULL: absent */
    size_t len;
} text;

static text copy(oap_str s) {
    text t = {NULL, 0};
    if (s.ptr == NULL) return t;
    t.ptr = malloc(s.len + 1);
    if (t.ptr == NULL) abort();
    memcpy(t.ptr, s.ptr, s.len);
    t.ptr[s.len] = '\0';
    t.len = s.len;
    return t;
}

static oap_str view(text t) {
    oap_str s;
    s.ptr = t.ptr;
    s.len = t.len;
    return s;
}

static oap_str cstr(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = s ? strlen(s) : 0;
    return v;
}

static bool same(text t, oap_str s) {
    return t.ptr != NULL && s.ptr != NULL && t.len == s.len && memcmp(t.ptr, s.ptr, s.len) == 0;
}

static bool same_str(oap_str a, oap_str b) {
    return a.ptr != NULL && b.ptr != NULL && a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static void drop(text *t) {
    free(t->ptr);
    t->ptr = NULL;
}

/* Whether every space-delimited token of `want` is one of `allowed`. */
static bool scopes_within(text allowed, oap_str want) {
    size_t i = 0;
    while (i < want.len) {
        size_t j = i, n;
        bool found = false;
        while (j < want.len && want.ptr[j] != ' ') j++;
        n = j - i;
        if (n > 0) {
            size_t k = 0;
            while (k < allowed.len && !found) {
                size_t e = k;
                while (e < allowed.len && allowed.ptr[e] != ' ') e++;
                found = e - k == n && memcmp(allowed.ptr + k, want.ptr + i, n) == 0;
                k = e + 1;
            }
            if (!found) return false;
        }
        i = j + 1;
    }
    return true;
}

/* ---- a string-keyed hash table (open addressing, linear probing) ---- */

typedef struct table {
    text *keys;
    void **values;
    size_t cap, len; /* cap: a power of two; len <= cap / 2 */
} table;

/* Eight bytes at a time, multiply and fold (keys are random tokens and
 * registered identifiers). The tail is the key's last eight bytes,
 * overlapping the words before (a fixed-size load, no memcpy call); only
 * keys shorter than a word are read byte by byte. */
static uint64_t hash(oap_str key) {
    uint64_t h = 0x9e3779b97f4a7c15u ^ key.len, w = 0;
    size_t i = 0;
    for (; i + 8 <= key.len; i += 8) {
        memcpy(&w, key.ptr + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    if (key.len >= 8) {
        memcpy(&w, key.ptr + key.len - 8, 8);
    } else {
        w = 0;
        for (i = 0; i < key.len; i++) w |= (uint64_t)(unsigned char)key.ptr[i] << (8 * i);
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 29);
}

static void **slot(table *t, oap_str key, bool *found) {
    size_t mask = t->cap - 1, i = (size_t)hash(key) & mask;
    while (t->keys[i].ptr != NULL) {
        if (same(t->keys[i], key)) {
            *found = true;
            return &t->values[i];
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return &t->values[i];
}

static void table_init(table *t) {
    t->cap = 64;
    t->len = 0;
    t->keys = calloc(t->cap, sizeof *t->keys);
    t->values = calloc(t->cap, sizeof *t->values);
    if (t->keys == NULL || t->values == NULL) abort();
}

static void *table_get(table *t, oap_str key) {
    bool found;
    void **v = slot(t, key, &found);
    return found ? *v : NULL;
}

static void table_put(table *t, oap_str key, void *value);

static void grow(table *t) {
    table bigger;
    size_t i;
    bigger.cap = t->cap * 2;
    bigger.len = 0;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.values = calloc(bigger.cap, sizeof *bigger.values);
    if (bigger.keys == NULL || bigger.values == NULL) abort();
    for (i = 0; i < t->cap; i++) {
        if (t->keys[i].ptr != NULL) {
            bool found;
            void **v = slot(&bigger, view(t->keys[i]), &found);
            bigger.keys[v - bigger.values] = t->keys[i];
            *v = t->values[i];
            bigger.len++;
        }
    }
    free(t->keys);
    free(t->values);
    *t = bigger;
}

/* Inserts (the key is copied) or replaces. */
static void table_put(table *t, oap_str key, void *value) {
    bool found;
    void **v;
    if ((t->len + 1) * 2 > t->cap) grow(t);
    v = slot(t, key, &found);
    if (!found) {
        t->keys[v - t->values] = copy(key);
        t->len++;
    }
    *v = value;
}

/* ---- records ---- */

typedef struct client {
    text id, scopes, default_scopes;
    oap_registered_client *registered; /* id, secret digest, redirect URI, grants */
} client;

typedef struct code_record {
    text client_id, user, scopes, redirect_uri, challenge, grant_id;
    oap_pkce_method method;
    uint64_t expires_at;
    bool used;
} code_record;

typedef struct access_record {
    uint64_t expires_at; /* 0 once revoked */
    oap_token *info;     /* the token's information, checked once by the library */
} access_record;

enum { ACTIVE, ROTATED, REVOKED };

typedef struct refresh_record {
    text client_id, user, scopes, grant_id;
    uint64_t issued_at, expires_at; /* 0: does not expire */
    int state;
} refresh_record;

struct c_store {
    pthread_rwlock_t clients_lock;
    table clients;
    pthread_mutex_t lock; /* codes and tokens */
    table codes, access, refresh;
};

static uint64_t now(void) { return (uint64_t)time(NULL); }

c_store *c_store_new(void) {
    c_store *s = calloc(1, sizeof *s);
    if (s == NULL) abort();
    pthread_rwlock_init(&s->clients_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    table_init(&s->clients);
    table_init(&s->codes);
    table_init(&s->access);
    table_init(&s->refresh);
    return s;
}

static void free_table(table *t, void (*free_value)(void *)) {
    size_t i;
    for (i = 0; i < t->cap; i++) {
        if (t->keys[i].ptr != NULL) {
            drop(&t->keys[i]);
            free_value(t->values[i]);
        }
    }
    free(t->keys);
    free(t->values);
}

static void free_client(void *p) {
    client *c = p;
    drop(&c->id);
    oap_registered_client_free(c->registered);
    drop(&c->scopes);
    drop(&c->default_scopes);
    free(c);
}

static void free_code(void *p) {
    code_record *c = p;
    drop(&c->client_id);
    drop(&c->user);
    drop(&c->scopes);
    drop(&c->redirect_uri);
    drop(&c->challenge);
    drop(&c->grant_id);
    free(c);
}

static void free_access(void *p) {
    access_record *a = p;
    oap_token_free(a->info);
    free(a);
}

static void free_refresh(void *p) {
    refresh_record *r = p;
    drop(&r->client_id);
    drop(&r->user);
    drop(&r->scopes);
    drop(&r->grant_id);
    free(r);
}

void c_store_free(c_store *s) {
    if (s == NULL) return;
    free_table(&s->clients, free_client);
    free_table(&s->codes, free_code);
    free_table(&s->access, free_access);
    free_table(&s->refresh, free_refresh);
    pthread_rwlock_destroy(&s->clients_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void c_store_add_client(c_store *s, const char *client_id, const char *secret_sha256_hex,
                        const char *redirect_uri, oap_grants grants, const char *scopes,
                        const char *default_scopes, bool may_introspect) {
    client *c = calloc(1, sizeof *c);
    oap_client desc;
    oap_str uri = cstr(redirect_uri);
    if (c == NULL) abort();
    memset(&desc, 0, sizeof desc);
    desc.struct_size = sizeof desc;
    desc.client_id = cstr(client_id);
    desc.confidential = secret_sha256_hex != NULL;
    desc.secret_kind = desc.confidential ? OAP_SECRET_SHA256_HEX : OAP_SECRET_NONE;
    desc.secret = cstr(secret_sha256_hex);
    desc.redirect_uris = redirect_uri ? &uri : NULL;
    desc.redirect_uris_len = redirect_uri ? 1 : 0;
    desc.grants = grants;
    desc.may_introspect = may_introspect;
    if (oap_registered_client_new(&desc, &c->registered) != OAP_STATUS_OK) abort();
    c->id = copy(cstr(client_id));
    c->scopes = copy(cstr(scopes));
    c->default_scopes = copy(cstr(default_scopes));
    pthread_rwlock_wrlock(&s->clients_lock);
    table_put(&s->clients, cstr(client_id), c);
    pthread_rwlock_unlock(&s->clients_lock);
}

static client *find_client(c_store *s, oap_str id) {
    client *c;
    pthread_rwlock_rdlock(&s->clients_lock);
    c = table_get(&s->clients, id);
    pthread_rwlock_unlock(&s->clients_lock);
    return c; /* clients are never removed */
}

/* ---- callbacks ---- */

#define STORE(ud) ((c_store *)(ud))
#define OK(status) ((status) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR)

static oap_cb_result cb_find_client(void *ud, oap_str client_id, oap_ctx *ctx) {
    client *c = find_client(STORE(ud), client_id);
    if (c == NULL) return OAP_CB_FALSE;
    return OK(oap_ctx_set_registered_client(ctx, c->registered));
}

static oap_cb_result cb_validate_scopes(void *ud, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    client *c = find_client(STORE(ud), client_id);
    (void)ctx;
    if (c == NULL) return OAP_CB_FALSE;
    return scopes_within(c->scopes, scopes) ? OAP_CB_TRUE : OAP_CB_FALSE;
}

static oap_cb_result cb_get_default_scopes(void *ud, oap_str client_id, oap_ctx *ctx) {
    client *c = find_client(STORE(ud), client_id);
    if (c == NULL || c->default_scopes.len == 0) return OAP_CB_FALSE;
    return OK(oap_ctx_set_scopes(ctx, view(c->default_scopes)));
}

static oap_cb_result cb_save_authorization_code(void *ud, oap_str client_id,
                                                const oap_authorization_code *code, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    code_record *r = calloc(1, sizeof *r);
    (void)ctx;
    if (r == NULL) abort();
    r->client_id = copy(client_id);
    r->user = copy(code->user);
    r->scopes = copy(code->scopes);
    r->redirect_uri = copy(code->redirect_uri);
    r->challenge = copy(code->code_challenge);
    r->method = code->code_challenge_method;
    r->grant_id = copy(code->grant_id);
    r->expires_at = code->expires_at;
    pthread_mutex_lock(&s->lock);
    table_put(&s->codes, code->code, r);
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

static oap_cb_result cb_validate_code(void *ud, oap_str client_id, oap_str code, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && same(r->client_id, client_id) && r->expires_at > now()) {
        if (r->used) {
            /* A replay: with the code's challenge, a public client's replay
               revokes the grant only with the matching verifier, and the
               library needs no get_code_challenge(_method) call. */
            result = OK(oap_ctx_set_code_used_pkce(ctx, view(r->grant_id), view(r->challenge),
                                                   r->method));
        } else {
            oap_code_info info;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            info.client_id = view(r->client_id);
            info.user = view(r->user);
            info.scopes = view(r->scopes);
            info.redirect_uri = view(r->redirect_uri);
            info.grant_id = view(r->grant_id);
            info.expires_at = r->expires_at;
            /* The challenge with the code, as MemoryValidator hands it back:
               the library then needs no get_code_challenge(_method) call. */
            if (r->challenge.ptr != NULL) {
                info.code_challenge = view(r->challenge);
                info.code_challenge_method = r->method;
            }
            result = OK(oap_ctx_set_code(ctx, &info));
        }
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_get_code_challenge(void *ud, oap_str code, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && r->challenge.ptr != NULL)
        result = OK(oap_ctx_set_code_challenge(ctx, view(r->challenge)));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_get_code_challenge_method(void *ud, oap_str code, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && r->method != OAP_PKCE_NONE)
        result = OK(oap_ctx_set_code_challenge_method(ctx, r->method));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_invalidate_authorization_code(void *ud, oap_str client_id, oap_str code,
                                                      oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && !r->used && same(r->client_id, client_id)) {
        r->used = true;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_save_bearer_token(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    access_record *a = calloc(1, sizeof *a);
    if (a == NULL) abort();
    /* The library's TokenInfo of what it issued, as MemoryValidator builds
     * its AccessRecord from the IssuedToken: nothing parsed again. */
    if (oap_ctx_issued_access_token(ctx, &a->info) != OAP_STATUS_OK) {
        free(a);
        return OAP_CB_ERROR;
    }
    a->expires_at = token->issued_at + token->expires_in;
    pthread_mutex_lock(&s->lock);
    table_put(&s->access, token->access_token, a);
    if (token->refresh_token.ptr != NULL && token->refresh_token_is_new) {
        refresh_record *r = calloc(1, sizeof *r);
        if (r == NULL) abort();
        r->client_id = copy(token->client_id);
        r->user = copy(token->user);
        r->scopes = copy(token->refresh_scopes);
        /* A refresh token always has a family; should it not, it is its own. */
        r->grant_id = copy(token->grant_id.ptr ? token->grant_id : token->refresh_token);
        r->issued_at = token->issued_at;
        r->expires_at = token->refresh_expires_at;
        r->state = ACTIVE;
        table_put(&s->refresh, token->refresh_token, r);
    }
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

static oap_cb_result cb_validate_bearer_token(void *ud, oap_str token, const oap_str *scopes,
                                              size_t scopes_len, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    access_record *a;
    (void)scopes;
    (void)scopes_len; /* the library checks the required scopes */
    pthread_mutex_lock(&s->lock);
    a = table_get(&s->access, token);
    if (a != NULL && a->expires_at > now()) result = OK(oap_ctx_set_token(ctx, a->info));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_introspect_token(void *ud, oap_str token, oap_token_type hint,
                                         oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    access_record *a;
    refresh_record *r;
    uint64_t t = now();
    (void)hint; /* every type is tried, access tokens first */
    pthread_mutex_lock(&s->lock);
    a = table_get(&s->access, token);
    if (a != NULL && a->expires_at > t) {
        result = OK(oap_ctx_set_token(ctx, a->info));
    } else if ((r = table_get(&s->refresh, token)) != NULL && r->state == ACTIVE &&
               (r->expires_at == 0 || r->expires_at > t)) {
        oap_token_info info;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        info.token_type = OAP_TOKEN_TYPE_REFRESH_TOKEN;
        info.client_id = view(r->client_id);
        info.username = view(r->user);
        info.sub = view(r->user);
        info.scopes = view(r->scopes);
        info.exp = r->expires_at;
        info.iat = r->issued_at;
        info.grant_id = view(r->grant_id);
        result = OK(oap_ctx_set_token_info(ctx, &info));
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_validate_refresh_token(void *ud, oap_str refresh_token, oap_str client_id,
                                               oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    refresh_record *r;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->refresh, refresh_token);
    if (r != NULL && same(r->client_id, client_id) && (r->expires_at == 0 || r->expires_at > now())) {
        if (r->state == ROTATED) {
            result = OK(oap_ctx_set_refresh_token_rotated(ctx, view(r->grant_id)));
        } else if (r->state == ACTIVE) {
            oap_refresh_token_info info;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            info.client_id = view(r->client_id);
            info.user = view(r->user);
            info.scopes = view(r->scopes);
            info.grant_id = view(r->grant_id);
            info.expires_at = r->expires_at;
            result = OK(oap_ctx_set_refresh_token(ctx, &info));
        }
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_invalidate_refresh_token(void *ud, oap_str refresh_token, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    oap_cb_result result = OAP_CB_FALSE;
    refresh_record *r;
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->refresh, refresh_token);
    if (r != NULL && r->state == ACTIVE) {
        r->state = ROTATED;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

/* Under the lock: expires the grant's access tokens, revokes its refresh
 * tokens. */
static void revoke_grant_locked(c_store *s, oap_str grant_id) {
    size_t i;
    for (i = 0; i < s->access.cap; i++) {
        access_record *a = s->access.values[i];
        if (s->access.keys[i].ptr != NULL && same_str(oap_token_grant_id(a->info), grant_id))
            a->expires_at = 0;
    }
    for (i = 0; i < s->refresh.cap; i++) {
        refresh_record *r = s->refresh.values[i];
        if (s->refresh.keys[i].ptr != NULL && same(r->grant_id, grant_id)) r->state = REVOKED;
    }
}

static oap_cb_result cb_revoke_grant(void *ud, oap_str grant_id, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    revoke_grant_locked(s, grant_id);
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

static oap_cb_result cb_revoke_token(void *ud, oap_str token, oap_token_type hint, oap_ctx *ctx) {
    c_store *s = STORE(ud);
    access_record *a;
    refresh_record *r;
    (void)hint;
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    if ((a = table_get(&s->access, token)) != NULL) {
        a->expires_at = 0;
    } else if ((r = table_get(&s->refresh, token)) != NULL) {
        text grant = r->grant_id;
        revoke_grant_locked(s, view(grant));
    }
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

oap_validator c_store_validator(c_store *s) {
    oap_validator v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.user_data = s;
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
    return v;
}
