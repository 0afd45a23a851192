/*
 * memstore: the C in-memory validator behind the oap_validator callback
 * table, used by the C tests (ffi/tests/c) and the C ABI benchmark
 * (ffi/benches/c, run by ffi/benches/abi_vs_rust.rs). The C column of
 * benches/compare does not use it: it has its own store,
 * benches/compare/c_store.c, which keeps each key and record inline in
 * its table's slot, as MemoryValidator does, where this one keeps them
 * behind pointers and counts its calls.
 *
 * Shaped like the Rust MemoryValidator, so that the ABI benchmark
 * compares like with like: hash tables (open addressing) for clients,
 * codes, access and refresh tokens and grants; a read-write lock around
 * the clients and users, one mutex around everything else; strings
 * copied in. Each client is registered with the library once
 * (oap_registered_client_new) and handed to requests by reference
 * (oap_ctx_set_registered_client), as MemoryValidator hands out an Arc
 * of its client. Each access token is
 * kept as the library's own record of it, taken when it is saved
 * (oap_ctx_issued_access_token) and handed back by validate_bearer_token
 * and introspect_token with oap_ctx_set_token. (A refresh token's, needed
 * only when one is introspected, is copied per request with
 * oap_ctx_set_token_info.)
 *
 * For the tests: every callback counts its calls (memstore_calls) and can
 * be made to answer a fixed result (memstore_force); grants are recorded,
 * so that tokens of a grant revoked or ended while a request was served
 * are refused at the save.
 *
 * The storage contract, as MemoryValidator keeps it: a code is spent, or
 * a refresh token rotated, in the same step that saves the tokens
 * replacing it (consume_and_save, under the one mutex), so a refused save
 * leaves it usable; a save never replaces a stored code or token; every
 * expiry decision is made at the request's time (oap_ctx_now), and
 * memstore_purge forgets, at a time the caller gives, what has expired.
 *
 * Device authorizations (RFC 8628) are kept by the digests of their
 * codes, as the library hands them; a decision, a poll, and the spending
 * of an approved one with the save of its tokens each happen under the
 * one mutex.
 *
 * A fixture, not a production store: nothing is forgotten before
 * memstore_purge() or memstore_free(), and revoking a grant scans every
 * token.
 */
#define _POSIX_C_SOURCE 200809L
#include "memstore.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Whether every space-delimited token of `want` is one of `allowed` (no
 * allowed scopes: only an empty request). */
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

/* Splits a space-delimited audience into at most `max` views of it; the
 * number of them. */
static size_t split_audience(text audience, oap_str *out, size_t max) {
    size_t i = 0, n = 0;
    while (i < audience.len && n < max) {
        size_t j = i;
        while (j < audience.len && audience.ptr[j] != ' ') j++;
        if (j > i) {
            out[n].ptr = audience.ptr + i;
            out[n].len = j - i;
            n++;
        }
        i = j + 1;
    }
    return n;
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


static void table_alloc(table *t, size_t cap) {
    t->cap = cap;
    t->len = 0;
    t->keys = calloc(t->cap, sizeof *t->keys);
    t->values = calloc(t->cap, sizeof *t->values);
    if (t->keys == NULL || t->values == NULL) abort();
}

static void table_init(table *t) { table_alloc(t, 64); }

/* The value under `key`; NULL when absent (or `key` is). */
static void *table_get(table *t, oap_str key) {
    bool found;
    void **v;
    if (key.ptr == NULL) return NULL;
    v = slot(t, key, &found);
    return found ? *v : NULL;
}

/* Moves an entry (its key not copied) into a table that lacks it. */
static void move_into(table *t, text key, void *value) {
    bool found;
    void **v = slot(t, view(key), &found);
    t->keys[v - t->values] = key;
    *v = value;
    t->len++;
}

static void grow(table *t) {
    table bigger;
    size_t i;
    table_alloc(&bigger, t->cap * 2);
    for (i = 0; i < t->cap; i++)
        if (t->keys[i].ptr != NULL) move_into(&bigger, t->keys[i], t->values[i]);
    free(t->keys);
    free(t->values);
    *t = bigger;
}

/* Keeps the entries `keep` accepts at time `at` and frees the others, key
 * and value. The table is rebuilt: with linear probing, emptying a slot
 * would hide the keys probed past it. */
static void table_retain(table *t, bool (*keep)(const void *value, uint64_t at), uint64_t at,
                         void (*free_value)(void *)) {
    table kept;
    size_t i;
    table_alloc(&kept, t->cap);
    for (i = 0; i < t->cap; i++) {
        if (t->keys[i].ptr == NULL) continue;
        if (keep(t->values[i], at)) {
            move_into(&kept, t->keys[i], t->values[i]);
        } else {
            drop(&t->keys[i]);
            free_value(t->values[i]);
        }
    }
    free(t->keys);
    free(t->values);
    *t = kept;
}

/* Inserts (the key is copied) or replaces; returns the value replaced,
 * NULL if none. */
static void *table_put(table *t, oap_str key, void *value) {
    bool found;
    void **v, *old = NULL;
    if ((t->len + 1) * 2 > t->cap) grow(t);
    v = slot(t, key, &found);
    if (found) {
        old = *v;
    } else {
        t->keys[v - t->values] = copy(key);
        t->len++;
    }
    *v = value;
    return old;
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

/* ---- records ---- */

typedef struct client {
    text scopes, default_scopes;              /* "": none */
    oap_registered_client *registered; /* id, secret, redirect URI, grants */
} client;

typedef struct user {
    text password;
} user;

typedef struct code_record {
    text client_id, user, scopes, redirect_uri, challenge, grant_id;
    text audience; /* space-delimited resources (RFC 8707), "": none */
    oap_pkce_method method;
    uint64_t expires_at;
    bool used;
} code_record;

typedef struct access_record {
    uint64_t expires_at;
    bool revoked;
    oap_token *info; /* the token's information, checked once by the library */
} access_record;

typedef struct refresh_record {
    text client_id, user, scopes, grant_id;
    text audience; /* space-delimited resources (RFC 8707), "": none */
    uint64_t issued_at, expires_at; /* 0: does not expire */
    bool rotated, revoked;
} refresh_record;

/* What the store knows of a grant (a token family), as MemoryValidator's
 * GrantRecord: made when a code is saved, or a token that starts a grant
 * (new_grant); kept until its last code or refresh token expires (then it
 * counts as unknown); once revoked, no token of it may be saved. */
typedef struct grant_record {
    bool revoked;
    uint64_t ends_at;
} grant_record;

/* A pushed authorization request (RFC 9126), keyed by the 32-byte digest
 * of its request_uri; kept, marked used, until it expires. */
typedef struct pushed_record {
    text client_id, parameters;
    uint64_t expires_at;
    bool used;
} pushed_record;

/* A device authorization (RFC 8628), keyed by the 32-byte digest of its
 * device code; a user_code_record maps the digest of its user code to
 * that key. Kept, whatever its status, until it expires. */
typedef struct device_record {
    text client_id, scopes, audience, grant_id, user_id; /* user_id: when approved */
    uint64_t expires_at, interval, last_poll;
    oap_device_status status;
} device_record;

typedef struct user_code_record {
    uint8_t device_code[32];
    uint64_t expires_at;
} user_code_record;

/* The times one user entered a user code entry, oldest first. */
typedef struct failure_record {
    uint64_t *times;
    size_t len, cap;
} failure_record;

/* Whether a refresh token expiring at `expires_at` (0: never) is past it. */
static bool refresh_expired(const refresh_record *r, uint64_t t) {
    return r->expires_at != 0 && r->expires_at <= t;
}

/* ---- call counts and forced answers ---- */

enum callback {
    CB_FIND_CLIENT,
    CB_GET_DEFAULT_SCOPES,
    CB_VALIDATE_SCOPES,
    CB_SAVE_AUTHORIZATION_CODE,
    CB_VALIDATE_CODE,
    CB_INVALIDATE_AUTHORIZATION_CODE,
    CB_GET_CODE_CHALLENGE,
    CB_GET_CODE_CHALLENGE_METHOD,
    CB_SAVE_BEARER_TOKEN,
    CB_VALIDATE_BEARER_TOKEN,
    CB_INTROSPECT_TOKEN,
    CB_VALIDATE_REFRESH_TOKEN,
    CB_INVALIDATE_REFRESH_TOKEN,
    CB_REVOKE_TOKEN,
    CB_REVOKE_GRANT,
    CB_VALIDATE_USER,
    CB_CONSUME_AND_SAVE,
    CB_SAVE_PUSHED_REQUEST,
    CB_FIND_PUSHED_REQUEST,
    CB_CONSUME_PUSHED_REQUEST,
    CB_SAVE_DEVICE_AUTHORIZATION,
    CB_FIND_DEVICE_AUTHORIZATION,
    CB_DECIDE_DEVICE_AUTHORIZATION,
    CB_RECORD_DEVICE_POLL,
    CB_RECORD_USER_CODE_FAILURE,
    CB_USER_CODE_FAILURES,
    CB_INVALIDATE_DEVICE_CODE,
    CB_CONSUME_DEVICE_CODE_AND_SAVE,
    CB_COUNT
};

static const char *const callback_names[CB_COUNT] = {
    "find_client",         "get_default_scopes",
    "validate_scopes",     "save_authorization_code",
    "validate_code",       "invalidate_authorization_code",
    "get_code_challenge",  "get_code_challenge_method",
    "save_bearer_token",   "validate_bearer_token",
    "introspect_token",    "validate_refresh_token",
    "invalidate_refresh_token", "revoke_token",
    "revoke_grant",        "validate_user",
    "consume_and_save",    "save_pushed_request",
    "find_pushed_request", "consume_pushed_request",
    "save_device_authorization", "find_device_authorization",
    "decide_device_authorization", "record_device_poll",
    "record_user_code_attempt", "user_code_attempts",
    "invalidate_device_code", "consume_device_code_and_save",
};

static int callback_index(const char *name) {
    int i;
    for (i = 0; name != NULL && i < CB_COUNT; i++)
        if (strcmp(callback_names[i], name) == 0) return i;
    return -1;
}

struct memstore {
    pthread_rwlock_t clients_lock; /* clients and users */
    table clients, users;
    pthread_mutex_t lock; /* codes, tokens, grants */
    table codes, access, refresh, grants, pushed;
    table devices, user_codes, failures; /* RFC 8628 */
    atomic_bool challenge_in_code_info;
    /* 0: none; else (callback + 1) << 8 | answer. */
    atomic_uint forced;
    atomic_uint calls[CB_COUNT];
};

/* Counts the call; whether it is forced, and to answer what. */
static bool forced(memstore *s, enum callback cb, oap_cb_result *answer) {
    unsigned f;
    atomic_fetch_add_explicit(&s->calls[cb], 1, memory_order_relaxed);
    f = atomic_load_explicit(&s->forced, memory_order_relaxed);
    if (f == 0 || (f >> 8) != (unsigned)cb + 1) return false;
    *answer = (oap_cb_result)(f & 0xff);
    return true;
}

#define ENTER(ud, cb)                                \
    memstore *s = (memstore *)(ud);                  \
    oap_cb_result forced_answer;                     \
    if (forced(s, cb, &forced_answer)) return forced_answer

#define OK(status) ((status) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR)

/* ---- the store ---- */

memstore *memstore_new(void) {
    memstore *s = calloc(1, sizeof *s);
    int i;
    if (s == NULL) abort();
    pthread_rwlock_init(&s->clients_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    table_init(&s->clients);
    table_init(&s->users);
    table_init(&s->codes);
    table_init(&s->access);
    table_init(&s->refresh);
    table_init(&s->grants);
    table_init(&s->pushed);
    table_init(&s->devices);
    table_init(&s->user_codes);
    table_init(&s->failures);
    atomic_init(&s->challenge_in_code_info, false);
    atomic_init(&s->forced, 0);
    for (i = 0; i < CB_COUNT; i++) atomic_init(&s->calls[i], 0);
    return s;
}

static void free_client(void *p) {
    client *c = p;
    oap_registered_client_free(c->registered);
    drop(&c->scopes);
    drop(&c->default_scopes);
    free(c);
}

static void free_user(void *p) {
    user *u = p;
    drop(&u->password);
    free(u);
}

static void free_code(void *p) {
    code_record *c = p;
    drop(&c->client_id);
    drop(&c->user);
    drop(&c->scopes);
    drop(&c->redirect_uri);
    drop(&c->challenge);
    drop(&c->grant_id);
    drop(&c->audience);
    free(c);
}

static void free_pushed(void *p) {
    pushed_record *r = p;
    drop(&r->client_id);
    drop(&r->parameters);
    free(r);
}

static void free_device(void *p) {
    device_record *d = p;
    drop(&d->client_id);
    drop(&d->scopes);
    drop(&d->audience);
    drop(&d->grant_id);
    drop(&d->user_id);
    free(d);
}

static void free_failures(void *p) {
    failure_record *f = p;
    free(f->times);
    free(f);
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
    drop(&r->audience);
    free(r);
}

void memstore_free(memstore *s) {
    if (s == NULL) return;
    free_table(&s->clients, free_client);
    free_table(&s->users, free_user);
    free_table(&s->codes, free_code);
    free_table(&s->access, free_access);
    free_table(&s->refresh, free_refresh);
    free_table(&s->grants, free);
    free_table(&s->pushed, free_pushed);
    free_table(&s->devices, free_device);
    free_table(&s->user_codes, free);
    free_table(&s->failures, free_failures);
    pthread_rwlock_destroy(&s->clients_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void memstore_add_client(memstore *s, const char *client_id, const char *secret,
                         oap_secret_kind secret_kind, bool confidential, const char *redirect_uri,
                         uint32_t grants, bool may_introspect, const char *scopes,
                         const char *default_scopes) {
    memstore_add_client_with_resources(s, client_id, secret, secret_kind, confidential,
                                       redirect_uri, grants, may_introspect, scopes,
                                       default_scopes, NULL, 0);
}

void memstore_add_client_with_resources(memstore *s, const char *client_id, const char *secret,
                                        oap_secret_kind secret_kind, bool confidential,
                                        const char *redirect_uri, uint32_t grants,
                                        bool may_introspect, const char *scopes,
                                        const char *default_scopes,
                                        const char *const *resources, size_t resources_len) {
    oap_client desc;
    oap_str uri = cstr(redirect_uri);
    oap_str resource_views[8];
    size_t i;
    if (resources_len > 8) abort();
    for (i = 0; i < resources_len; i++) resource_views[i] = cstr(resources[i]);
    memset(&desc, 0, sizeof desc);
    desc.struct_size = sizeof desc;
    desc.client_id = cstr(client_id);
    desc.secret_kind = secret ? secret_kind : OAP_SECRET_NONE;
    desc.secret = cstr(secret);
    desc.confidential = confidential;
    desc.redirect_uris = redirect_uri ? &uri : NULL;
    desc.redirect_uris_len = redirect_uri ? 1 : 0;
    desc.grants = grants;
    desc.may_introspect = may_introspect;
    desc.resources = resources_len ? resource_views : NULL;
    desc.resources_len = resources_len;
    memstore_add_client_description(s, &desc, scopes, default_scopes);
}

void memstore_add_client_description(memstore *s, const oap_client *desc, const char *scopes,
                                     const char *default_scopes) {
    client *c = calloc(1, sizeof *c);
    if (c == NULL) abort();
    if (oap_registered_client_new(desc, &c->registered) != OAP_STATUS_OK) abort();
    c->scopes = copy(cstr(scopes ? scopes : ""));
    c->default_scopes = copy(cstr(default_scopes ? default_scopes : ""));
    pthread_rwlock_wrlock(&s->clients_lock);
    c = table_put(&s->clients, desc->client_id, c);
    pthread_rwlock_unlock(&s->clients_lock);
    if (c != NULL) free_client(c); /* registered again: the new one holds */
}

void memstore_add_user(memstore *s, const char *username, const char *password) {
    user *u = calloc(1, sizeof *u);
    if (u == NULL) abort();
    u->password = copy(cstr(password));
    pthread_rwlock_wrlock(&s->clients_lock);
    u = table_put(&s->users, cstr(username), u);
    pthread_rwlock_unlock(&s->clients_lock);
    if (u != NULL) free_user(u);
}

void memstore_force(memstore *s, const char *name, oap_cb_result answer) {
    int cb = callback_index(name);
    atomic_store(&s->forced, cb < 0 ? 0u : ((unsigned)cb + 1) << 8 | ((unsigned)answer & 0xff));
}

void memstore_challenge_in_code_info(memstore *s, bool enabled) {
    atomic_store(&s->challenge_in_code_info, enabled);
}

unsigned memstore_calls(memstore *s, const char *name) {
    int cb = callback_index(name);
    return cb < 0 ? 0 : atomic_load(&s->calls[cb]);
}

static bool code_live(const void *p, uint64_t at) {
    return ((const code_record *)p)->expires_at > at;
}

static bool access_live(const void *p, uint64_t at) {
    const access_record *a = p;
    return !a->revoked && a->expires_at > at;
}

/* Rotated refresh tokens stay until they expire: their reuse must still
 * revoke the grant. */
static bool refresh_live(const void *p, uint64_t at) {
    const refresh_record *r = p;
    return !r->revoked && !refresh_expired(r, at);
}

/* A grant, and with it its revocation, stays until its last code and
 * refresh token expired: none can be presented after. */
static bool pushed_live(const void *p, uint64_t at) {
    return ((const pushed_record *)p)->expires_at > at;
}

static bool device_live(const void *p, uint64_t at) {
    return ((const device_record *)p)->expires_at > at;
}

static bool user_code_live(const void *p, uint64_t at) {
    return ((const user_code_record *)p)->expires_at > at;
}

/* Wrong user codes are kept as long as the library's default throttle
 * window (oap_config.user_code_attempts_window) counts them. */
#define FAILURES_KEPT 300

/* Forgets the times of `f` older than the window at `at`. */
static void forget_old_failures(failure_record *f, uint64_t at) {
    size_t i, n = 0;
    for (i = 0; i < f->len; i++)
        if (f->times[i] + FAILURES_KEPT > at) f->times[n++] = f->times[i];
    f->len = n;
}

static bool failures_live(const void *p, uint64_t at) {
    (void)at; /* forget_old_failures ran first */
    return ((const failure_record *)p)->len > 0;
}

static bool grant_live(const void *p, uint64_t at) {
    return ((const grant_record *)p)->ends_at > at;
}

void memstore_purge(memstore *s, uint64_t now) {
    pthread_mutex_lock(&s->lock);
    table_retain(&s->codes, code_live, now, free_code);
    table_retain(&s->access, access_live, now, free_access);
    table_retain(&s->refresh, refresh_live, now, free_refresh);
    table_retain(&s->grants, grant_live, now, free);
    table_retain(&s->pushed, pushed_live, now, free_pushed);
    table_retain(&s->devices, device_live, now, free_device);
    table_retain(&s->user_codes, user_code_live, now, free);
    {
        size_t i;
        for (i = 0; i < s->failures.cap; i++)
            if (s->failures.keys[i].ptr != NULL) forget_old_failures(s->failures.values[i], now);
    }
    table_retain(&s->failures, failures_live, now, free_failures);
    pthread_mutex_unlock(&s->lock);
}

void memstore_device_rewind(memstore *s, uint64_t seconds) {
    size_t i;
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->devices.cap; i++) {
        device_record *d = s->devices.values[i];
        if (s->devices.keys[i].ptr == NULL) continue;
        d->expires_at = d->expires_at > seconds ? d->expires_at - seconds : 0;
        if (d->last_poll != 0) d->last_poll = d->last_poll > seconds ? d->last_poll - seconds : 1;
    }
    for (i = 0; i < s->user_codes.cap; i++) {
        user_code_record *u = s->user_codes.values[i];
        if (s->user_codes.keys[i].ptr == NULL) continue;
        u->expires_at = u->expires_at > seconds ? u->expires_at - seconds : 0;
    }
    pthread_mutex_unlock(&s->lock);
}

static client *find_client(memstore *s, oap_str id) {
    client *c;
    pthread_rwlock_rdlock(&s->clients_lock);
    c = table_get(&s->clients, id);
    pthread_rwlock_unlock(&s->clients_lock);
    return c; /* clients are replaced only while no request runs */
}

/* The grant's record, NULL when unknown or ended at `t` (its last code or
 * refresh token expired: a purge would have dropped it). Under the lock. */
static grant_record *find_grant_locked(memstore *s, oap_str grant_id, uint64_t t) {
    grant_record *g = table_get(&s->grants, grant_id);
    return g != NULL && g->ends_at > t ? g : NULL;
}

/* Records the grant (or extends its record) until ends_at. Under the lock. */
static void keep_grant_locked(memstore *s, oap_str grant_id, uint64_t ends_at) {
    grant_record *g;
    if (grant_id.ptr == NULL) return;
    g = table_get(&s->grants, grant_id);
    if (g != NULL) {
        if (g->ends_at < ends_at) g->ends_at = ends_at;
        return;
    }
    g = calloc(1, sizeof *g);
    if (g == NULL) abort();
    g->ends_at = ends_at;
    table_put(&s->grants, grant_id, g);
}

/* Revokes every token of the grant, and the grant. Under the lock. */
static void revoke_grant_locked(memstore *s, oap_str grant_id) {
    grant_record *g = table_get(&s->grants, grant_id);
    size_t i;
    for (i = 0; i < s->access.cap; i++) {
        access_record *a = s->access.values[i];
        if (s->access.keys[i].ptr != NULL && same_str(oap_token_grant_id(a->info), grant_id))
            a->revoked = true;
    }
    for (i = 0; i < s->refresh.cap; i++) {
        refresh_record *r = s->refresh.values[i];
        if (s->refresh.keys[i].ptr != NULL && same(r->grant_id, grant_id)) r->revoked = true;
    }
    /* A grant no longer known needs no mark: a late save of it is refused
       anyway. */
    if (g != NULL) g->revoked = true;
}

/* The records `token` is saved as, made before the lock is taken: the
 * access token (the library's record of it, oap_ctx_issued_access_token)
 * and, when it is new, the refresh token (else *refresh is NULL). False
 * when the library's record cannot be had. */
static bool new_records(const oap_issued_token *token, oap_ctx *ctx, access_record **access,
                        refresh_record **refresh) {
    access_record *a = calloc(1, sizeof *a);
    refresh_record *r = NULL;
    if (a == NULL) abort();
    /* The library's TokenInfo of what it issued, as MemoryValidator builds
     * its AccessRecord from the IssuedToken: nothing parsed again. */
    if (oap_ctx_issued_access_token(ctx, &a->info) != OAP_STATUS_OK) {
        free(a);
        return false;
    }
    a->expires_at = token->issued_at + token->expires_in;
    if (token->refresh_token.ptr != NULL && token->refresh_token_is_new) {
        r = calloc(1, sizeof *r);
        if (r == NULL) abort();
        r->client_id = copy(token->client_id);
        r->user = copy(token->user);
        r->scopes = copy(token->refresh_scopes);
        r->grant_id = copy(token->grant_id);
        r->audience = copy(token->refresh_audience);
        r->issued_at = token->issued_at;
        r->expires_at = token->refresh_expires_at;
    }
    *access = a;
    *refresh = r;
    return true;
}

/* Whether `token` may be saved at `t`: OAP_CB_TRUE; OAP_CB_FALSE when its
 * grant may not get it (revoked, or ended and not new); OAP_CB_ERROR when
 * its access token, or its new refresh token, is already stored: a save
 * never replaces another token's record. Under the lock; changes nothing. */
static oap_cb_result check_save_locked(memstore *s, const oap_issued_token *token, uint64_t t) {
    if (table_get(&s->access, token->access_token) != NULL) return OAP_CB_ERROR;
    if (token->refresh_token_is_new && table_get(&s->refresh, token->refresh_token) != NULL)
        return OAP_CB_ERROR;
    if (token->grant_id.ptr != NULL) {
        grant_record *g = find_grant_locked(s, token->grant_id, t);
        if (g != NULL ? g->revoked : !token->new_grant) return OAP_CB_FALSE;
    }
    return OAP_CB_TRUE;
}

/* Stores the records of `token`, which check_save_locked accepted, and
 * keeps its grant known as long as its refresh token. Under the lock. */
static void save_locked(memstore *s, const oap_issued_token *token, access_record *a,
                        refresh_record *r) {
    keep_grant_locked(s, token->grant_id,
                      token->refresh_expires_at != 0 ? token->refresh_expires_at : token->issued_at);
    table_put(&s->access, token->access_token, a);
    if (r != NULL) table_put(&s->refresh, token->refresh_token, r);
}

/* ---- callbacks ---- */

static oap_cb_result cb_find_client(void *ud, oap_str client_id, oap_ctx *ctx) {
    client *c;
    ENTER(ud, CB_FIND_CLIENT);
    c = find_client(s, client_id);
    if (c == NULL) return OAP_CB_FALSE;
    return OK(oap_ctx_set_registered_client(ctx, c->registered));
}

static oap_cb_result cb_get_default_scopes(void *ud, oap_str client_id, oap_ctx *ctx) {
    client *c;
    ENTER(ud, CB_GET_DEFAULT_SCOPES);
    c = find_client(s, client_id);
    if (c == NULL || c->default_scopes.len == 0) return OAP_CB_FALSE;
    return OK(oap_ctx_set_scopes(ctx, view(c->default_scopes)));
}

static oap_cb_result cb_validate_scopes(void *ud, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    client *c;
    (void)ctx;
    ENTER(ud, CB_VALIDATE_SCOPES);
    c = find_client(s, client_id);
    return c != NULL && scopes_within(c->scopes, scopes) ? OAP_CB_TRUE : OAP_CB_FALSE;
}

static oap_cb_result cb_validate_user(void *ud, oap_str username, oap_str password, oap_ctx *ctx) {
    user *u;
    bool known;
    ENTER(ud, CB_VALIDATE_USER);
    pthread_rwlock_rdlock(&s->clients_lock);
    u = table_get(&s->users, username);
    known = u != NULL && same(u->password, password);
    pthread_rwlock_unlock(&s->clients_lock);
    if (!known) return OAP_CB_FALSE;
    return OK(oap_ctx_set_user(ctx, username));
}

static oap_cb_result cb_save_authorization_code(void *ud, oap_str client_id,
                                                const oap_authorization_code *code, oap_ctx *ctx) {
    code_record *r;
    (void)ctx;
    ENTER(ud, CB_SAVE_AUTHORIZATION_CODE);
    r = calloc(1, sizeof *r);
    if (r == NULL) abort();
    r->client_id = copy(client_id);
    r->user = copy(code->user);
    r->scopes = copy(code->scopes);
    r->redirect_uri = copy(code->redirect_uri); /* absent when none was sent */
    r->challenge = copy(code->code_challenge);
    r->method = code->code_challenge_method;
    r->grant_id = copy(code->grant_id);
    r->audience = copy(code->audience);
    r->expires_at = code->expires_at;
    pthread_mutex_lock(&s->lock);
    /* A stored code is never replaced: the earlier one's holder would
       get this one's grant. */
    if (table_get(&s->codes, code->code) == NULL) {
        table_put(&s->codes, code->code, r);
        /* A code starts its grant, which lasts at least as long as the code. */
        keep_grant_locked(s, code->grant_id, code->expires_at);
        r = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (r == NULL) return OAP_CB_TRUE;
    free_code(r);
    return OAP_CB_ERROR;
}

static oap_cb_result cb_validate_code(void *ud, oap_str client_id, oap_str code, oap_ctx *ctx) {
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    bool with_challenge;
    uint64_t t;
    ENTER(ud, CB_VALIDATE_CODE);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    with_challenge = atomic_load_explicit(&s->challenge_in_code_info, memory_order_relaxed);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && same(r->client_id, client_id) && r->expires_at > t) {
        if (r->used) {
            /* A replay. With the code's challenge, a public client's replay
               revokes the grant only with the matching verifier, and the
               library needs no get_code_challenge(_method) call. */
            result = OK(with_challenge ? oap_ctx_set_code_used_pkce(ctx, view(r->grant_id),
                                                                    view(r->challenge), r->method)
                                       : oap_ctx_set_code_used(ctx, view(r->grant_id)));
        } else {
            oap_code_info info;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            info.client_id = view(r->client_id);
            info.user = view(r->user);
            info.scopes = view(r->scopes);
            info.redirect_uri = view(r->redirect_uri); /* ptr NULL: none was sent */
            info.grant_id = view(r->grant_id);
            info.expires_at = r->expires_at;
            info.audience = view(r->audience);
            /* The challenge with the code, as MemoryValidator hands it back. */
            if (with_challenge && r->challenge.ptr != NULL) {
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
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    ENTER(ud, CB_GET_CODE_CHALLENGE);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && r->challenge.ptr != NULL)
        result = OK(oap_ctx_set_code_challenge(ctx, view(r->challenge)));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_get_code_challenge_method(void *ud, oap_str code, oap_ctx *ctx) {
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    ENTER(ud, CB_GET_CODE_CHALLENGE_METHOD);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && r->method != OAP_PKCE_NONE)
        result = OK(oap_ctx_set_code_challenge_method(ctx, r->method));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_invalidate_authorization_code(void *ud, oap_str client_id, oap_str code,
                                                      oap_ctx *ctx) {
    oap_cb_result result = OAP_CB_FALSE;
    code_record *r;
    (void)client_id;
    (void)ctx;
    ENTER(ud, CB_INVALIDATE_AUTHORIZATION_CODE);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->codes, code);
    if (r != NULL && !r->used) {
        r->used = true;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_save_bearer_token(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    access_record *a;
    refresh_record *r;
    oap_cb_result result;
    uint64_t t;
    ENTER(ud, CB_SAVE_BEARER_TOKEN);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK || !new_records(token, ctx, &a, &r))
        return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    result = check_save_locked(s, token, t);
    if (result == OAP_CB_TRUE) save_locked(s, token, a, r);
    pthread_mutex_unlock(&s->lock);
    if (result != OAP_CB_TRUE) {
        free_access(a);
        if (r != NULL) free_refresh(r);
    }
    return result;
}

/* Spends the code, or rotates the refresh token, and saves the tokens
 * replacing it in one step under the lock: first whether it is unspent,
 * then whether the save would succeed, and only then both changes, so an
 * answer other than OAP_CB_TRUE leaves everything as it was (a refused
 * save leaves the credential usable for the client's retry). */
static oap_cb_result cb_consume_and_save(void *ud, const oap_consumed *consumed,
                                         const oap_issued_token *token, oap_ctx *ctx) {
    access_record *a;
    refresh_record *r, *spent_refresh = NULL;
    code_record *spent_code = NULL;
    oap_cb_result result = OAP_CB_FALSE;
    uint64_t t;
    ENTER(ud, CB_CONSUME_AND_SAVE);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK || !new_records(token, ctx, &a, &r))
        return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    switch (consumed->kind) {
    case OAP_CONSUMED_AUTHORIZATION_CODE:
        spent_code = table_get(&s->codes, consumed->value);
        if (spent_code != NULL && !spent_code->used && same(spent_code->client_id, consumed->client_id))
            result = check_save_locked(s, token, t);
        break;
    case OAP_CONSUMED_REFRESH_TOKEN:
        spent_refresh = table_get(&s->refresh, consumed->value);
        if (spent_refresh != NULL && !spent_refresh->rotated && !spent_refresh->revoked)
            result = check_save_locked(s, token, t);
        break;
    default:
        result = OAP_CB_ERROR; /* a kind of a later version: not understood */
    }
    if (result == OAP_CB_TRUE) {
        if (spent_code != NULL) spent_code->used = true;
        if (spent_refresh != NULL) spent_refresh->rotated = true;
        save_locked(s, token, a, r);
    }
    pthread_mutex_unlock(&s->lock);
    if (result != OAP_CB_TRUE) {
        free_access(a);
        if (r != NULL) free_refresh(r);
    }
    return result;
}

static oap_cb_result cb_validate_bearer_token(void *ud, oap_str token, const oap_str *scopes,
                                              size_t scopes_len, oap_ctx *ctx) {
    oap_cb_result result = OAP_CB_FALSE;
    access_record *a;
    uint64_t t;
    (void)scopes;
    (void)scopes_len; /* the library checks the required scopes */
    ENTER(ud, CB_VALIDATE_BEARER_TOKEN);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    a = table_get(&s->access, token);
    if (a != NULL && !a->revoked && a->expires_at > t)
        result = OK(oap_ctx_set_token(ctx, a->info));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_introspect_token(void *ud, oap_str token, oap_token_type hint,
                                         oap_ctx *ctx) {
    oap_cb_result result = OAP_CB_FALSE;
    access_record *a;
    refresh_record *r;
    uint64_t t;
    (void)hint; /* every type is tried, access tokens first */
    ENTER(ud, CB_INTROSPECT_TOKEN);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    a = table_get(&s->access, token);
    if (a != NULL) {
        if (!a->revoked && a->expires_at > t) result = OK(oap_ctx_set_token(ctx, a->info));
    } else if ((r = table_get(&s->refresh, token)) != NULL && !r->rotated && !r->revoked &&
               !refresh_expired(r, t)) {
        oap_token_info info;
        oap_str aud[8];
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        info.aud = aud;
        info.aud_len = split_audience(r->audience, aud, 8);
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
    oap_cb_result result = OAP_CB_FALSE;
    refresh_record *r;
    uint64_t t;
    ENTER(ud, CB_VALIDATE_REFRESH_TOKEN);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->refresh, refresh_token);
    if (r == NULL || !same(r->client_id, client_id)) {
        /* unknown, or another client's */
    } else if (r->rotated) {
        /* A reuse, reported whatever happened since: the library revokes
           the grant. */
        result = OK(oap_ctx_set_refresh_token_rotated(ctx, view(r->grant_id)));
    } else if (!r->revoked && !refresh_expired(r, t)) {
        oap_refresh_token_info info;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        info.client_id = view(r->client_id);
        info.user = view(r->user);
        info.scopes = view(r->scopes);
        info.grant_id = view(r->grant_id);
        info.expires_at = r->expires_at;
        info.audience = view(r->audience);
        result = OK(oap_ctx_set_refresh_token(ctx, &info));
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_invalidate_refresh_token(void *ud, oap_str refresh_token, oap_ctx *ctx) {
    oap_cb_result result = OAP_CB_FALSE;
    refresh_record *r;
    (void)ctx;
    ENTER(ud, CB_INVALIDATE_REFRESH_TOKEN);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->refresh, refresh_token);
    if (r != NULL && !r->rotated) {
        r->rotated = true;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_revoke_grant(void *ud, oap_str grant_id, oap_ctx *ctx) {
    (void)ctx;
    {
        ENTER(ud, CB_REVOKE_GRANT);
        pthread_mutex_lock(&s->lock);
        revoke_grant_locked(s, grant_id);
        pthread_mutex_unlock(&s->lock);
        return OAP_CB_TRUE;
    }
}

static oap_cb_result cb_revoke_token(void *ud, oap_str token, oap_token_type hint, oap_ctx *ctx) {
    access_record *a;
    refresh_record *r;
    (void)hint;
    (void)ctx;
    ENTER(ud, CB_REVOKE_TOKEN);
    pthread_mutex_lock(&s->lock);
    if ((a = table_get(&s->access, token)) != NULL) {
        a->revoked = true;
    } else if ((r = table_get(&s->refresh, token)) != NULL) {
        /* RFC 7009 §2.1: revoking a refresh token revokes its grant. */
        r->revoked = true;
        revoke_grant_locked(s, view(r->grant_id));
    }
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

/* The 32-byte digest of a request_uri as a table key. */
static oap_str digest_key(const uint8_t *digest) {
    oap_str k;
    k.ptr = (const char *)digest;
    k.len = 32;
    return k;
}

static oap_cb_result cb_save_pushed_request(void *ud, const uint8_t *digest, oap_str client_id,
                                            oap_str parameters, uint64_t expires_at,
                                            oap_ctx *ctx) {
    pushed_record *r;
    oap_cb_result result = OAP_CB_TRUE;
    (void)ctx;
    ENTER(ud, CB_SAVE_PUSHED_REQUEST);
    r = calloc(1, sizeof *r);
    if (r == NULL) abort();
    r->client_id = copy(client_id);
    r->parameters = copy(parameters);
    r->expires_at = expires_at;
    pthread_mutex_lock(&s->lock);
    if (table_get(&s->pushed, digest_key(digest)) != NULL) {
        result = OAP_CB_ERROR; /* a digest already stored: never replaced */
        free_pushed(r);
    } else {
        table_put(&s->pushed, digest_key(digest), r);
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_find_pushed_request(void *ud, const uint8_t *digest, oap_ctx *ctx) {
    pushed_record *r;
    oap_cb_result result = OAP_CB_FALSE;
    ENTER(ud, CB_FIND_PUSHED_REQUEST);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->pushed, digest_key(digest));
    if (r != NULL && !r->used)
        result = OK(oap_ctx_set_pushed_request(ctx, view(r->client_id), view(r->parameters),
                                               r->expires_at));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_consume_pushed_request(void *ud, const uint8_t *digest, oap_str client_id,
                                               oap_ctx *ctx) {
    pushed_record *r;
    oap_cb_result result = OAP_CB_FALSE;
    (void)ctx;
    ENTER(ud, CB_CONSUME_PUSHED_REQUEST);
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->pushed, digest_key(digest));
    if (r != NULL && !r->used && same(r->client_id, client_id)) {
        r->used = true;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

/* ---- the device authorization grant (RFC 8628) ---- */

/* The device record under a device code digest. Under the lock. */
static device_record *device_by_code_locked(memstore *s, const uint8_t *device_code) {
    return table_get(&s->devices, digest_key(device_code));
}

/* The device record under a user code digest. Under the lock. */
static device_record *device_by_user_code_locked(memstore *s, const uint8_t *user_code) {
    user_code_record *u = table_get(&s->user_codes, digest_key(user_code));
    return u != NULL ? device_by_code_locked(s, u->device_code) : NULL;
}

static oap_cb_result cb_save_device_authorization(void *ud, const uint8_t *device_code,
                                                  const uint8_t *user_code,
                                                  const oap_device_authorization *authorization,
                                                  oap_ctx *ctx) {
    device_record *d, *old;
    user_code_record *u, *old_u;
    oap_cb_result result = OAP_CB_TRUE;
    uint64_t t;
    ENTER(ud, CB_SAVE_DEVICE_AUTHORIZATION);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    d = calloc(1, sizeof *d);
    u = calloc(1, sizeof *u);
    if (d == NULL || u == NULL) abort();
    d->client_id = copy(authorization->client_id);
    d->scopes = copy(authorization->scopes);
    d->audience = copy(authorization->audience);
    d->grant_id = copy(authorization->grant_id);
    d->user_id = copy(authorization->user_id);
    d->expires_at = authorization->expires_at;
    d->interval = authorization->interval;
    d->last_poll = authorization->last_poll;
    d->status = authorization->status;
    memcpy(u->device_code, device_code, 32);
    u->expires_at = authorization->expires_at;
    pthread_mutex_lock(&s->lock);
    old = device_by_code_locked(s, device_code);
    old_u = table_get(&s->user_codes, digest_key(user_code));
    if ((old != NULL && old->expires_at > t) || (old_u != NULL && old_u->expires_at > t)) {
        result = OAP_CB_FALSE; /* a live authorization has either digest */
        free_device(d);
        free(u);
    } else {
        /* Expired ones under the same digests are replaced. */
        old = table_put(&s->devices, digest_key(device_code), d);
        if (old != NULL) free_device(old);
        old_u = table_put(&s->user_codes, digest_key(user_code), u);
        free(old_u);
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_find_device_authorization(void *ud, oap_device_code_kind kind,
                                                  const uint8_t *digest, oap_ctx *ctx) {
    device_record *d;
    oap_cb_result result = OAP_CB_FALSE;
    ENTER(ud, CB_FIND_DEVICE_AUTHORIZATION);
    pthread_mutex_lock(&s->lock);
    switch (kind) {
    case OAP_DEVICE_CODE_KIND_DEVICE_CODE:
        d = device_by_code_locked(s, digest);
        break;
    case OAP_DEVICE_CODE_KIND_USER_CODE:
        d = device_by_user_code_locked(s, digest);
        break;
    default:
        pthread_mutex_unlock(&s->lock);
        return OAP_CB_ERROR; /* a kind of a later version: not understood */
    }
    if (d != NULL) {
        oap_device_authorization a;
        memset(&a, 0, sizeof a);
        a.struct_size = sizeof a;
        a.client_id = view(d->client_id);
        a.scopes = view(d->scopes);
        a.audience = view(d->audience);
        a.grant_id = view(d->grant_id);
        a.user_id = view(d->user_id);
        a.expires_at = d->expires_at;
        a.interval = d->interval;
        a.last_poll = d->last_poll;
        a.status = d->status;
        result = OK(oap_ctx_set_device_authorization(ctx, &a));
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_decide_device_authorization(void *ud, const uint8_t *user_code,
                                                    oap_device_status status, oap_str user_id,
                                                    oap_str scopes, oap_ctx *ctx) {
    device_record *d;
    oap_cb_result result = OAP_CB_FALSE;
    (void)ctx;
    ENTER(ud, CB_DECIDE_DEVICE_AUTHORIZATION);
    if (status != OAP_DEVICE_APPROVED && status != OAP_DEVICE_DENIED) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    d = device_by_user_code_locked(s, user_code);
    if (d != NULL && d->status == OAP_DEVICE_PENDING) {
        d->status = status;
        if (status == OAP_DEVICE_APPROVED) {
            drop(&d->user_id);
            d->user_id = copy(user_id);
            drop(&d->scopes);
            d->scopes = copy(scopes);
        }
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_record_device_poll(void *ud, const uint8_t *device_code,
                                           uint64_t last_poll, bool slowed_down, oap_ctx *ctx) {
    device_record *d;
    (void)ctx;
    ENTER(ud, CB_RECORD_DEVICE_POLL);
    /* Grown under the lock: racing slow_downs each add their 5 s. */
    pthread_mutex_lock(&s->lock);
    d = device_by_code_locked(s, device_code);
    if (d != NULL) {
        d->last_poll = last_poll;
        if (slowed_down) {
            d->interval += 5;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

/* How many of `f`'s times are at or after `since`. */
static uint32_t failures_since(const failure_record *f, uint64_t since) {
    uint32_t n = 0;
    size_t i;
    for (i = 0; f != NULL && i < f->len; i++)
        if (f->times[i] >= since) n++;
    return n;
}

static oap_cb_result cb_record_user_code_attempt(void *ud, oap_str subject, uint64_t since,
                                                 uint32_t *count_out, oap_ctx *ctx) {
    failure_record *f;
    uint64_t t;
    ENTER(ud, CB_RECORD_USER_CODE_FAILURE);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    f = table_get(&s->failures, subject);
    if (f == NULL) {
        f = calloc(1, sizeof *f);
        if (f == NULL) abort();
        table_put(&s->failures, subject, f);
    }
    if (f->len == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->times = realloc(f->times, f->cap * sizeof *f->times);
        if (f->times == NULL) abort();
    }
    f->times[f->len++] = t;
    *count_out = failures_since(f, since);
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

static oap_cb_result cb_user_code_attempts(void *ud, oap_str subject, uint64_t since,
                                           uint32_t *count_out, oap_ctx *ctx) {
    (void)ctx;
    {
        ENTER(ud, CB_USER_CODE_FAILURES);
        pthread_mutex_lock(&s->lock);
        *count_out = failures_since(table_get(&s->failures, subject), since);
        pthread_mutex_unlock(&s->lock);
        return OAP_CB_TRUE;
    }
}

static oap_cb_result cb_invalidate_device_code(void *ud, oap_str client_id,
                                               const uint8_t *device_code, oap_ctx *ctx) {
    device_record *d;
    oap_cb_result result = OAP_CB_FALSE;
    (void)ctx;
    ENTER(ud, CB_INVALIDATE_DEVICE_CODE);
    pthread_mutex_lock(&s->lock);
    d = device_by_code_locked(s, device_code);
    if (d != NULL && d->status == OAP_DEVICE_APPROVED && same(d->client_id, client_id)) {
        d->status = OAP_DEVICE_USED;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

/* Marks the approved authorization used and saves its tokens in one step
 * under the lock, as cb_consume_and_save does for codes. */
static oap_cb_result cb_consume_device_code_and_save(void *ud, oap_str client_id,
                                                     const uint8_t *device_code,
                                                     const oap_issued_token *token,
                                                     oap_ctx *ctx) {
    access_record *a;
    refresh_record *r;
    device_record *d;
    oap_cb_result result = OAP_CB_FALSE;
    uint64_t t;
    ENTER(ud, CB_CONSUME_DEVICE_CODE_AND_SAVE);
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK || !new_records(token, ctx, &a, &r))
        return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    d = device_by_code_locked(s, device_code);
    if (d != NULL && d->status == OAP_DEVICE_APPROVED && same(d->client_id, client_id))
        result = check_save_locked(s, token, t);
    if (result == OAP_CB_TRUE) {
        d->status = OAP_DEVICE_USED;
        save_locked(s, token, a, r);
    }
    pthread_mutex_unlock(&s->lock);
    if (result != OAP_CB_TRUE) {
        free_access(a);
        if (r != NULL) free_refresh(r);
    }
    return result;
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
    v.consume_and_save = cb_consume_and_save;
    v.save_pushed_request = cb_save_pushed_request;
    v.find_pushed_request = cb_find_pushed_request;
    v.consume_pushed_request = cb_consume_pushed_request;
    v.save_device_authorization = cb_save_device_authorization;
    v.find_device_authorization = cb_find_device_authorization;
    v.decide_device_authorization = cb_decide_device_authorization;
    v.record_device_poll = cb_record_device_poll;
    v.record_user_code_attempt = cb_record_user_code_attempt;
    v.user_code_attempts = cb_user_code_attempts;
    v.invalidate_device_code = cb_invalidate_device_code;
    v.consume_device_code_and_save = cb_consume_device_code_and_save;
    return v;
}
