/*
 * c_store: the C column's validator of benches/compare (c_driver.c), laid
 * out like the Rust MemoryValidator (src/memory.rs) so that C ABI / Rust
 * API compares the ABI, not two stores:
 *
 * - each map is one open-addressing table whose slots hold the record
 *   itself, key included: a code or token of up to 46 bytes (the
 *   library's are 43) is copied into its slot, as MemoryValidator's
 *   `Key` keeps it inline in the map's table; a longer one goes on the
 *   heap. A lookup hashes the presented bytes and compares them with
 *   the slot's, reading one slot (an access token's is 64 bytes, one
 *   cache line) instead of following a pointer to the key and another
 *   to the record, as ffi/tests/c/memstore.c does;
 * - the hash takes eight bytes per multiply, as MemoryValidator's
 *   StoreHasher, for the same reason: the keys are random values the
 *   library generated, or registered by the host;
 * - an access token's record is its expiry and the library's own record
 *   of it (oap_ctx_issued_access_token when saved, handed back with
 *   oap_ctx_set_token: a clone, as MemoryValidator clones the TokenInfo
 *   in its slot); the library allocates that record, so it is the one
 *   pointer a bearer check follows;
 * - a record's strings (a code's client, user, scopes, ...) are copied
 *   into one allocation per record;
 * - clients behind a read-write lock, codes, tokens and grants behind
 *   one mutex; each client registered with the library once
 *   (oap_registered_client_new) and handed out by reference, as
 *   MemoryValidator hands out an Arc of its client.
 *
 * The answers are memstore's (the C tests' store), which the driver's
 * equivalence checks hold it to: single-use codes and rotated refresh
 * tokens reported for replay detection (the code's PKCE challenge handed
 * back with it), spending and saving in one step under the mutex
 * (consume_and_save), grants recorded so that tokens of a revoked or
 * ended grant are refused at the save, expiry decided at the request's
 * time (oap_ctx_now). Revoking an access token sets its expiry to 0.
 *
 * A benchmark fixture, not a production store: nothing is forgotten
 * before c_store_free(), revoking a grant scans every token, and the
 * hash has a fixed seed (MemoryValidator seeds each map at random).
 */
#define _POSIX_C_SOURCE 200809L
#include "c_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ---- */

static oap_str cstr(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = s ? strlen(s) : 0;
    return v;
}

static bool same(oap_str a, oap_str b) {
    return a.ptr != NULL && b.ptr != NULL && a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Whether every space-delimited token of `want` is one of `allowed` (no
 * allowed scopes: only an empty request). */
static bool scopes_within(oap_str allowed, oap_str want) {
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
static size_t split_audience(oap_str audience, oap_str *out, size_t max) {
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

/* A record's strings, copied into one allocation: `lens[i]` is the i-th
 * one's length, ABSENT for none (a NULL `ptr`). */
#define ABSENT UINT32_MAX

static char *pack(const oap_str *in, size_t n, uint32_t *lens) {
    size_t total = 0, i;
    char *block, *at;
    for (i = 0; i < n; i++) {
        if (in[i].ptr == NULL) {
            lens[i] = ABSENT;
            continue;
        }
        if (in[i].len >= ABSENT) abort();
        lens[i] = (uint32_t)in[i].len;
        total += in[i].len;
    }
    /* Never NULL: an empty string present is a non-NULL pointer. */
    block = malloc(total > 0 ? total : 1);
    if (block == NULL) abort();
    for (at = block, i = 0; i < n; i++) {
        if (lens[i] == ABSENT) continue;
        memcpy(at, in[i].ptr, in[i].len);
        at += in[i].len;
    }
    return block;
}

/* The i-th string of a block `pack` made. */
static oap_str unpack(const char *block, const uint32_t *lens, size_t i) {
    size_t offset = 0, j;
    oap_str s = {NULL, 0};
    for (j = 0; j < i; j++)
        if (lens[j] != ABSENT) offset += lens[j];
    if (lens[i] != ABSENT) {
        s.ptr = block + offset;
        s.len = lens[i];
    }
    return s;
}

/* ---- keys, inline in their slot ---- */

/* Bytes kept inline: a generated code or token (43) fits, and the key is
 * 48 bytes with its length and state, as MemoryValidator's `Key`. */
#define KEY_INLINE 46

enum key_state { KEY_EMPTY = 0, KEY_INLINE_BYTES, KEY_HEAP };

/* Inline: `len` bytes of `bytes`. On the heap: `bytes` holds the copy's
 * pointer, then its length. */
typedef struct key {
    char bytes[KEY_INLINE];
    uint8_t len;
    uint8_t state; /* enum key_state; KEY_EMPTY: a free slot */
} key;

_Static_assert(sizeof(key) == 48, "a key is 48 bytes, as MemoryValidator's");

static oap_str key_view(const key *k) {
    oap_str s;
    if (k->state == KEY_HEAP) {
        memcpy(&s.ptr, k->bytes, sizeof s.ptr);
        memcpy(&s.len, k->bytes + sizeof s.ptr, sizeof s.len);
    } else {
        s.ptr = k->bytes;
        s.len = k->len;
    }
    return s;
}

static bool key_is(const key *k, oap_str s) {
    if (k->state == KEY_INLINE_BYTES) return k->len == s.len && memcmp(k->bytes, s.ptr, s.len) == 0;
    return same(key_view(k), s);
}

static void key_set(key *k, oap_str s) {
    if (s.len <= KEY_INLINE) {
        memcpy(k->bytes, s.ptr, s.len);
        k->len = (uint8_t)s.len;
        k->state = KEY_INLINE_BYTES;
    } else {
        char *copy = malloc(s.len);
        if (copy == NULL) abort();
        memcpy(copy, s.ptr, s.len);
        memcpy(k->bytes, &copy, sizeof copy);
        memcpy(k->bytes + sizeof copy, &s.len, sizeof s.len);
        k->state = KEY_HEAP;
    }
}

static void key_drop(key *k) {
    char *copy;
    if (k->state != KEY_HEAP) return;
    memcpy(&copy, k->bytes, sizeof copy);
    free(copy);
}

/* Eight bytes per multiply and fold; the tail is the key's last eight
 * bytes, overlapping the words before (keys shorter than a word are read
 * byte by byte). */
static uint64_t hash(oap_str k) {
    uint64_t h = 0x9e3779b97f4a7c15u ^ k.len, w = 0;
    size_t i = 0;
    for (; i + 8 <= k.len; i += 8) {
        memcpy(&w, k.ptr + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    if (k.len >= 8) {
        memcpy(&w, k.ptr + k.len - 8, 8);
    } else {
        w = 0;
        for (i = 0; i < k.len; i++) w |= (uint64_t)(unsigned char)k.ptr[i] << (8 * i);
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 29);
}

/* ---- a table of records, each starting with its key ---- */

/* Open addressing, linear probing, at most half full; `cap` slots of
 * `size` bytes, on a cache-line boundary. Slots move when the table
 * grows: a pointer to one is good until the next insert. */
typedef struct table {
    unsigned char *slots;
    size_t size, cap, len; /* cap: a power of two, at least 64 */
} table;

static void table_init(table *t, size_t size, size_t cap) {
    t->size = size;
    t->cap = cap;
    t->len = 0;
    /* size * cap is a multiple of 64, as aligned_alloc asks. */
    t->slots = aligned_alloc(64, size * cap);
    if (t->slots == NULL) abort();
    memset(t->slots, 0, size * cap); /* every key KEY_EMPTY */
}

static key *slot_at(const table *t, size_t i) { return (key *)(void *)(t->slots + i * t->size); }

/* The slot holding `k`, or the free slot where it would go. */
static key *probe(const table *t, oap_str k) {
    size_t mask = t->cap - 1, i = (size_t)hash(k) & mask;
    key *s;
    while ((s = slot_at(t, i))->state != KEY_EMPTY && !key_is(s, k)) i = (i + 1) & mask;
    return s;
}

/* The record under `k`; NULL when absent (or `k` is). */
static void *table_get(const table *t, oap_str k) {
    key *s;
    if (k.ptr == NULL) return NULL;
    s = probe(t, k);
    return s->state == KEY_EMPTY ? NULL : s;
}

static void grow(table *t) {
    table bigger;
    size_t i;
    table_init(&bigger, t->size, t->cap * 2);
    for (i = 0; i < t->cap; i++) {
        key *s = slot_at(t, i);
        if (s->state == KEY_EMPTY) continue;
        memcpy(probe(&bigger, key_view(s)), s, t->size);
        bigger.len++;
    }
    free(t->slots);
    *t = bigger;
}

/* A new record under `k`, which the table lacks (the caller looked): its
 * key copied in, the rest zero. */
static void *table_insert(table *t, oap_str k) {
    key *s;
    if ((t->len + 1) * 2 > t->cap) grow(t);
    s = probe(t, k);
    key_set(s, k);
    t->len++;
    return s;
}

static void table_free(table *t, void (*free_record)(key *)) {
    size_t i;
    for (i = 0; i < t->cap; i++) {
        key *s = slot_at(t, i);
        if (s->state == KEY_EMPTY) continue;
        if (free_record != NULL) free_record(s);
        key_drop(s);
    }
    free(t->slots);
}

/* ---- records ---- */

enum { CLIENT_SCOPES, CLIENT_DEFAULT_SCOPES, CLIENT_FIELDS };

typedef struct client_slot {
    key k;                             /* the client_id */
    oap_registered_client *registered; /* id, secret, redirect URI, grants */
    char *strings;                     /* scopes, default scopes ("": none) */
    uint32_t lens[CLIENT_FIELDS];
} client_slot;

enum {
    CODE_CLIENT_ID,
    CODE_USER,
    CODE_SCOPES,
    CODE_REDIRECT_URI, /* absent when none was sent */
    CODE_CHALLENGE,
    CODE_GRANT_ID,
    CODE_AUDIENCE, /* space-delimited resources (RFC 8707), "": none */
    CODE_FIELDS
};

typedef struct code_slot {
    key k;
    uint64_t expires_at;
    char *strings;
    uint32_t lens[CODE_FIELDS];
    oap_pkce_method method;
    bool used;
} code_slot;

/* One cache line: the key, the expiry (0 once revoked) and the library's
 * record of the token. */
typedef struct access_slot {
    key k;
    uint64_t expires_at;
    oap_token *info;
} access_slot;

_Static_assert(sizeof(access_slot) == 64, "an access token's slot is one cache line");

enum {
    REFRESH_CLIENT_ID,
    REFRESH_USER,
    REFRESH_SCOPES,
    REFRESH_GRANT_ID,
    REFRESH_AUDIENCE, /* space-delimited resources (RFC 8707), "": none */
    REFRESH_FIELDS
};

typedef struct refresh_slot {
    key k;
    uint64_t issued_at, expires_at; /* expires_at 0: does not expire */
    char *strings;
    uint32_t lens[REFRESH_FIELDS];
    bool rotated, revoked;
} refresh_slot;

/* What the store knows of a grant (a token family), as MemoryValidator's
 * GrantRecord: made when a code is saved, or a token that starts a grant
 * (new_grant); known until its last code or refresh token expires; once
 * revoked, no token of it may be saved. */
typedef struct grant_slot {
    key k;
    uint64_t ends_at;
    bool revoked;
} grant_slot;

static oap_str client_field(const client_slot *c, size_t f) { return unpack(c->strings, c->lens, f); }
static oap_str code_field(const code_slot *c, size_t f) { return unpack(c->strings, c->lens, f); }
static oap_str refresh_field(const refresh_slot *r, size_t f) {
    return unpack(r->strings, r->lens, f);
}

static bool refresh_expired(const refresh_slot *r, uint64_t t) {
    return r->expires_at != 0 && r->expires_at <= t;
}

struct c_store {
    pthread_rwlock_t clients_lock;
    table clients;
    pthread_mutex_t lock; /* codes, tokens, grants */
    table codes, access, refresh, grants;
};

#define OK(status) ((status) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR)

c_store *c_store_new(void) {
    c_store *s = calloc(1, sizeof *s);
    if (s == NULL) abort();
    pthread_rwlock_init(&s->clients_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    table_init(&s->clients, sizeof(client_slot), 64);
    table_init(&s->codes, sizeof(code_slot), 64);
    table_init(&s->access, sizeof(access_slot), 64);
    table_init(&s->refresh, sizeof(refresh_slot), 64);
    table_init(&s->grants, sizeof(grant_slot), 64);
    return s;
}

static void free_client(key *k) {
    client_slot *c = (client_slot *)k;
    oap_registered_client_free(c->registered);
    free(c->strings);
}

static void free_code(key *k) { free(((code_slot *)k)->strings); }
static void free_access(key *k) { oap_token_free(((access_slot *)k)->info); }
static void free_refresh(key *k) { free(((refresh_slot *)k)->strings); }

void c_store_free(c_store *s) {
    if (s == NULL) return;
    table_free(&s->clients, free_client);
    table_free(&s->codes, free_code);
    table_free(&s->access, free_access);
    table_free(&s->refresh, free_refresh);
    table_free(&s->grants, NULL);
    pthread_rwlock_destroy(&s->clients_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void c_store_add_client(c_store *s, const char *client_id, const char *secret,
                        oap_secret_kind secret_kind, bool confidential, const char *redirect_uri,
                        uint32_t grants, bool may_introspect, const char *scopes,
                        const char *default_scopes) {
    oap_client desc;
    oap_registered_client *registered;
    oap_str uri = cstr(redirect_uri), strings[CLIENT_FIELDS];
    client_slot *c;
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
    if (oap_registered_client_new(&desc, &registered) != OAP_STATUS_OK) abort();
    strings[CLIENT_SCOPES] = cstr(scopes ? scopes : "");
    strings[CLIENT_DEFAULT_SCOPES] = cstr(default_scopes ? default_scopes : "");
    pthread_rwlock_wrlock(&s->clients_lock);
    c = table_get(&s->clients, desc.client_id);
    if (c != NULL) {
        /* Registered again: the new one holds. */
        free_client(&c->k);
    } else {
        c = table_insert(&s->clients, desc.client_id);
    }
    c->registered = registered;
    c->strings = pack(strings, CLIENT_FIELDS, c->lens);
    pthread_rwlock_unlock(&s->clients_lock);
}

/* ---- under the mutex ---- */

/* The grant's record, NULL when unknown or ended at `t` (its last code or
 * refresh token expired). */
static grant_slot *find_grant_locked(c_store *s, oap_str grant_id, uint64_t t) {
    grant_slot *g = table_get(&s->grants, grant_id);
    return g != NULL && g->ends_at > t ? g : NULL;
}

/* Records the grant (or extends its record) until ends_at. */
static void keep_grant_locked(c_store *s, oap_str grant_id, uint64_t ends_at) {
    grant_slot *g;
    if (grant_id.ptr == NULL) return;
    g = table_get(&s->grants, grant_id);
    if (g == NULL) {
        g = table_insert(&s->grants, grant_id);
        g->ends_at = ends_at;
    } else if (g->ends_at < ends_at) {
        g->ends_at = ends_at;
    }
}

/* Revokes every token of the grant, and the grant. */
static void revoke_grant_locked(c_store *s, oap_str grant_id) {
    grant_slot *g = table_get(&s->grants, grant_id);
    size_t i;
    for (i = 0; i < s->access.cap; i++) {
        access_slot *a = (access_slot *)slot_at(&s->access, i);
        if (a->k.state != KEY_EMPTY && same(oap_token_grant_id(a->info), grant_id))
            a->expires_at = 0;
    }
    for (i = 0; i < s->refresh.cap; i++) {
        refresh_slot *r = (refresh_slot *)slot_at(&s->refresh, i);
        if (r->k.state != KEY_EMPTY && same(refresh_field(r, REFRESH_GRANT_ID), grant_id))
            r->revoked = true;
    }
    /* A grant no longer known needs no mark: a late save of it is refused
       anyway. */
    if (g != NULL) g->revoked = true;
}

/* What `token` is saved as, made before the mutex is taken: the library's
 * record of the access token, and the new refresh token's strings (NULL
 * when it is not new). False when the library's record cannot be had. */
typedef struct pending {
    oap_token *info;
    char *refresh_strings;
    uint32_t refresh_lens[REFRESH_FIELDS];
} pending;

static bool prepare(const oap_issued_token *token, oap_ctx *ctx, pending *p) {
    /* The library's TokenInfo of what it issued, as MemoryValidator keeps
       the one it builds from the IssuedToken: nothing parsed again. */
    if (oap_ctx_issued_access_token(ctx, &p->info) != OAP_STATUS_OK) return false;
    p->refresh_strings = NULL;
    if (token->refresh_token.ptr != NULL && token->refresh_token_is_new) {
        oap_str strings[REFRESH_FIELDS];
        strings[REFRESH_CLIENT_ID] = token->client_id;
        strings[REFRESH_USER] = token->user;
        strings[REFRESH_SCOPES] = token->refresh_scopes;
        strings[REFRESH_GRANT_ID] = token->grant_id;
        strings[REFRESH_AUDIENCE] = token->refresh_audience;
        p->refresh_strings = pack(strings, REFRESH_FIELDS, p->refresh_lens);
    }
    return true;
}

static void discard(pending *p) {
    oap_token_free(p->info);
    free(p->refresh_strings);
}

/* Whether `token` may be saved at `t`: OAP_CB_TRUE; OAP_CB_FALSE when its
 * grant may not get it (revoked, or ended and not new); OAP_CB_ERROR when
 * its access token, or its new refresh token, is already stored: a save
 * never replaces another token's record. Changes nothing. */
static oap_cb_result check_save_locked(c_store *s, const oap_issued_token *token, uint64_t t) {
    if (table_get(&s->access, token->access_token) != NULL) return OAP_CB_ERROR;
    if (token->refresh_token_is_new && table_get(&s->refresh, token->refresh_token) != NULL)
        return OAP_CB_ERROR;
    if (token->grant_id.ptr != NULL) {
        grant_slot *g = find_grant_locked(s, token->grant_id, t);
        if (g != NULL ? g->revoked : !token->new_grant) return OAP_CB_FALSE;
    }
    return OAP_CB_TRUE;
}

/* Stores `token`, which check_save_locked accepted, and keeps its grant
 * known as long as its refresh token. */
static void save_locked(c_store *s, const oap_issued_token *token, pending *p) {
    access_slot *a;
    keep_grant_locked(s, token->grant_id,
                      token->refresh_expires_at != 0 ? token->refresh_expires_at : token->issued_at);
    a = table_insert(&s->access, token->access_token);
    a->expires_at = token->issued_at + token->expires_in;
    a->info = p->info;
    if (p->refresh_strings != NULL) {
        refresh_slot *r = table_insert(&s->refresh, token->refresh_token);
        r->issued_at = token->issued_at;
        r->expires_at = token->refresh_expires_at;
        r->strings = p->refresh_strings;
        memcpy(r->lens, p->refresh_lens, sizeof r->lens);
    }
}

/* ---- callbacks ---- */

static oap_cb_result cb_find_client(void *ud, oap_str client_id, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    client_slot *c;
    pthread_rwlock_rdlock(&s->clients_lock);
    c = table_get(&s->clients, client_id);
    if (c != NULL) result = OK(oap_ctx_set_registered_client(ctx, c->registered));
    pthread_rwlock_unlock(&s->clients_lock);
    return result;
}

static oap_cb_result cb_get_default_scopes(void *ud, oap_str client_id, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    client_slot *c;
    pthread_rwlock_rdlock(&s->clients_lock);
    c = table_get(&s->clients, client_id);
    if (c != NULL && c->lens[CLIENT_DEFAULT_SCOPES] > 0)
        result = OK(oap_ctx_set_scopes(ctx, client_field(c, CLIENT_DEFAULT_SCOPES)));
    pthread_rwlock_unlock(&s->clients_lock);
    return result;
}

static oap_cb_result cb_validate_scopes(void *ud, oap_str client_id, oap_str scopes, oap_ctx *ctx) {
    c_store *s = ud;
    client_slot *c;
    bool within;
    (void)ctx;
    pthread_rwlock_rdlock(&s->clients_lock);
    c = table_get(&s->clients, client_id);
    within = c != NULL && scopes_within(client_field(c, CLIENT_SCOPES), scopes);
    pthread_rwlock_unlock(&s->clients_lock);
    return within ? OAP_CB_TRUE : OAP_CB_FALSE;
}

static oap_cb_result cb_save_authorization_code(void *ud, oap_str client_id,
                                                const oap_authorization_code *code, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_ERROR;
    oap_str strings[CODE_FIELDS];
    uint32_t lens[CODE_FIELDS];
    char *block;
    (void)ctx;
    strings[CODE_CLIENT_ID] = client_id;
    strings[CODE_USER] = code->user;
    strings[CODE_SCOPES] = code->scopes;
    strings[CODE_REDIRECT_URI] = code->redirect_uri;
    strings[CODE_CHALLENGE] = code->code_challenge;
    strings[CODE_GRANT_ID] = code->grant_id;
    strings[CODE_AUDIENCE] = code->audience;
    block = pack(strings, CODE_FIELDS, lens);
    pthread_mutex_lock(&s->lock);
    /* A stored code is never replaced: the earlier one's holder would get
       this one's grant. */
    if (code->code.ptr != NULL && table_get(&s->codes, code->code) == NULL) {
        code_slot *c = table_insert(&s->codes, code->code);
        c->expires_at = code->expires_at;
        c->strings = block;
        memcpy(c->lens, lens, sizeof c->lens);
        c->method = code->code_challenge_method;
        /* A code starts its grant, which lasts at least as long as the code. */
        keep_grant_locked(s, code->grant_id, code->expires_at);
        block = NULL;
        result = OAP_CB_TRUE;
    }
    pthread_mutex_unlock(&s->lock);
    free(block);
    return result;
}

static oap_cb_result cb_validate_code(void *ud, oap_str client_id, oap_str code, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    code_slot *c;
    uint64_t t;
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    c = table_get(&s->codes, code);
    if (c != NULL && same(code_field(c, CODE_CLIENT_ID), client_id) && c->expires_at > t) {
        if (c->used) {
            /* A replay, with the code's challenge: a public client's replay
               revokes the grant only with the matching verifier. */
            result = OK(oap_ctx_set_code_used_pkce(ctx, code_field(c, CODE_GRANT_ID),
                                                   code_field(c, CODE_CHALLENGE), c->method));
        } else {
            oap_code_info info;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            info.client_id = code_field(c, CODE_CLIENT_ID);
            info.user = code_field(c, CODE_USER);
            info.scopes = code_field(c, CODE_SCOPES);
            info.redirect_uri = code_field(c, CODE_REDIRECT_URI);
            info.grant_id = code_field(c, CODE_GRANT_ID);
            info.expires_at = c->expires_at;
            info.audience = code_field(c, CODE_AUDIENCE);
            /* The challenge with the code, as MemoryValidator hands it back. */
            if (c->lens[CODE_CHALLENGE] != ABSENT) {
                info.code_challenge = code_field(c, CODE_CHALLENGE);
                info.code_challenge_method = c->method;
            }
            result = OK(oap_ctx_set_code(ctx, &info));
        }
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_get_code_challenge(void *ud, oap_str code, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    code_slot *c;
    pthread_mutex_lock(&s->lock);
    c = table_get(&s->codes, code);
    if (c != NULL && c->lens[CODE_CHALLENGE] != ABSENT)
        result = OK(oap_ctx_set_code_challenge(ctx, code_field(c, CODE_CHALLENGE)));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_get_code_challenge_method(void *ud, oap_str code, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    code_slot *c;
    pthread_mutex_lock(&s->lock);
    c = table_get(&s->codes, code);
    if (c != NULL && c->method != OAP_PKCE_NONE)
        result = OK(oap_ctx_set_code_challenge_method(ctx, c->method));
    pthread_mutex_unlock(&s->lock);
    return result;
}

/* Marks an unused code of `client_id` used; whether this call did. Under
 * the mutex. */
static bool spend_code_locked(c_store *s, oap_str client_id, oap_str code) {
    code_slot *c = table_get(&s->codes, code);
    if (c == NULL || c->used || !same(code_field(c, CODE_CLIENT_ID), client_id)) return false;
    c->used = true;
    return true;
}

static oap_cb_result cb_invalidate_authorization_code(void *ud, oap_str client_id, oap_str code,
                                                      oap_ctx *ctx) {
    c_store *s = ud;
    bool spent;
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    spent = spend_code_locked(s, client_id, code);
    pthread_mutex_unlock(&s->lock);
    return spent ? OAP_CB_TRUE : OAP_CB_FALSE;
}

static oap_cb_result cb_save_bearer_token(void *ud, const oap_issued_token *token, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result;
    pending p;
    uint64_t t;
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK || !prepare(token, ctx, &p)) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    result = check_save_locked(s, token, t);
    if (result == OAP_CB_TRUE) save_locked(s, token, &p);
    pthread_mutex_unlock(&s->lock);
    if (result != OAP_CB_TRUE) discard(&p);
    return result;
}

/* Spends the code, or rotates the refresh token, and saves the tokens
 * replacing it in one step under the mutex: first whether it is unspent,
 * then whether the save would succeed, and only then both changes, so an
 * answer other than OAP_CB_TRUE leaves everything as it was. */
static oap_cb_result cb_consume_and_save(void *ud, const oap_consumed *consumed,
                                         const oap_issued_token *token, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    code_slot *code;
    refresh_slot *refresh;
    pending p;
    uint64_t t;
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK || !prepare(token, ctx, &p)) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    switch (consumed->kind) {
    case OAP_CONSUMED_AUTHORIZATION_CODE:
        code = table_get(&s->codes, consumed->value);
        if (code != NULL && !code->used && same(code_field(code, CODE_CLIENT_ID), consumed->client_id))
            result = check_save_locked(s, token, t);
        /* Spent before the save, which may move the tables' slots. */
        if (result == OAP_CB_TRUE) code->used = true;
        break;
    case OAP_CONSUMED_REFRESH_TOKEN:
        refresh = table_get(&s->refresh, consumed->value);
        if (refresh != NULL && !refresh->rotated && !refresh->revoked)
            result = check_save_locked(s, token, t);
        if (result == OAP_CB_TRUE) refresh->rotated = true;
        break;
    default:
        result = OAP_CB_ERROR; /* a kind of a later version: not understood */
    }
    if (result == OAP_CB_TRUE) save_locked(s, token, &p);
    pthread_mutex_unlock(&s->lock);
    if (result != OAP_CB_TRUE) discard(&p);
    return result;
}

static oap_cb_result cb_validate_bearer_token(void *ud, oap_str token, const oap_str *scopes,
                                              size_t scopes_len, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    access_slot *a;
    uint64_t t;
    (void)scopes;
    (void)scopes_len; /* the library checks the required scopes */
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    a = table_get(&s->access, token);
    if (a != NULL && a->expires_at > t) result = OK(oap_ctx_set_token(ctx, a->info));
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_introspect_token(void *ud, oap_str token, oap_token_type hint,
                                         oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    access_slot *a;
    refresh_slot *r;
    uint64_t t;
    (void)hint; /* every type is tried, access tokens first */
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    a = table_get(&s->access, token);
    if (a != NULL) {
        if (a->expires_at > t) result = OK(oap_ctx_set_token(ctx, a->info));
    } else if ((r = table_get(&s->refresh, token)) != NULL && !r->rotated && !r->revoked &&
               !refresh_expired(r, t)) {
        oap_token_info info;
        oap_str aud[8];
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        info.aud = aud;
        info.aud_len = split_audience(refresh_field(r, REFRESH_AUDIENCE), aud, 8);
        info.token_type = OAP_TOKEN_TYPE_REFRESH_TOKEN;
        info.client_id = refresh_field(r, REFRESH_CLIENT_ID);
        info.username = refresh_field(r, REFRESH_USER);
        info.sub = refresh_field(r, REFRESH_USER);
        info.scopes = refresh_field(r, REFRESH_SCOPES);
        info.exp = r->expires_at;
        info.iat = r->issued_at;
        info.grant_id = refresh_field(r, REFRESH_GRANT_ID);
        result = OK(oap_ctx_set_token_info(ctx, &info));
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_validate_refresh_token(void *ud, oap_str refresh_token, oap_str client_id,
                                               oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    refresh_slot *r;
    uint64_t t;
    if (oap_ctx_now(ctx, &t) != OAP_STATUS_OK) return OAP_CB_ERROR;
    pthread_mutex_lock(&s->lock);
    r = table_get(&s->refresh, refresh_token);
    if (r == NULL || !same(refresh_field(r, REFRESH_CLIENT_ID), client_id)) {
        /* unknown, or another client's */
    } else if (r->rotated) {
        /* A reuse, reported whatever happened since: the library revokes
           the grant. */
        result = OK(oap_ctx_set_refresh_token_rotated(ctx, refresh_field(r, REFRESH_GRANT_ID)));
    } else if (!r->revoked && !refresh_expired(r, t)) {
        oap_refresh_token_info info;
        memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        info.client_id = refresh_field(r, REFRESH_CLIENT_ID);
        info.user = refresh_field(r, REFRESH_USER);
        info.scopes = refresh_field(r, REFRESH_SCOPES);
        info.grant_id = refresh_field(r, REFRESH_GRANT_ID);
        info.expires_at = r->expires_at;
        info.audience = refresh_field(r, REFRESH_AUDIENCE);
        result = OK(oap_ctx_set_refresh_token(ctx, &info));
    }
    pthread_mutex_unlock(&s->lock);
    return result;
}

static oap_cb_result cb_invalidate_refresh_token(void *ud, oap_str refresh_token, oap_ctx *ctx) {
    c_store *s = ud;
    oap_cb_result result = OAP_CB_FALSE;
    refresh_slot *r;
    (void)ctx;
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
    c_store *s = ud;
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    revoke_grant_locked(s, grant_id);
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

static oap_cb_result cb_revoke_token(void *ud, oap_str token, oap_token_type hint, oap_ctx *ctx) {
    c_store *s = ud;
    access_slot *a;
    refresh_slot *r;
    (void)hint;
    (void)ctx;
    pthread_mutex_lock(&s->lock);
    if ((a = table_get(&s->access, token)) != NULL) {
        a->expires_at = 0;
    } else if ((r = table_get(&s->refresh, token)) != NULL) {
        /* RFC 7009 §2.1: revoking a refresh token revokes its grant. */
        r->revoked = true;
        revoke_grant_locked(s, refresh_field(r, REFRESH_GRANT_ID));
    }
    pthread_mutex_unlock(&s->lock);
    return OAP_CB_TRUE;
}

oap_validator c_store_validator(c_store *store) {
    oap_validator v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.user_data = store;
    v.find_client = cb_find_client;
    v.get_default_scopes = cb_get_default_scopes;
    v.validate_scopes = cb_validate_scopes;
    v.save_authorization_code = cb_save_authorization_code;
    v.validate_code = cb_validate_code;
    v.get_code_challenge = cb_get_code_challenge;
    v.get_code_challenge_method = cb_get_code_challenge_method;
    v.invalidate_authorization_code = cb_invalidate_authorization_code;
    v.save_bearer_token = cb_save_bearer_token;
    v.consume_and_save = cb_consume_and_save;
    v.validate_bearer_token = cb_validate_bearer_token;
    v.introspect_token = cb_introspect_token;
    v.validate_refresh_token = cb_validate_refresh_token;
    v.invalidate_refresh_token = cb_invalidate_refresh_token;
    v.revoke_grant = cb_revoke_grant;
    v.revoke_token = cb_revoke_token;
    return v;
}
