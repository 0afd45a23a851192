/*
 * ngx_http_oauth2_module: an OAuth 2.0 authorization server and resource
 * server inside nginx, through the C ABI of liboauth2_provider.
 *
 * - Tokens and grants live in a shared-memory zone (slab pool + red-black
 *   tree, one ngx_shmtx lock), so every worker process sees an issuance or
 *   a revocation on its next request; the zone survives a reload. The
 *   module implements the library's oap_validator callback table over it.
 *   Expired entries are evicted (a few per insertion, all of them when the
 *   slab pool is full); a zone still full answers server_error (500) and
 *   changes nothing.
 * - With oauth2_sqlite, the library's SQLite store keeps tokens, codes and
 *   grants instead (a connection per worker): they survive a restart, at
 *   the price of blocking disk I/O in the event loop.
 * - Clients and users come from the configuration; each client is
 *   registered with the library once (oap_registered_client_new).
 * - Endpoints are content handlers (oauth2_endpoint token | revocation |
 *   introspection | metadata | resource); a body is read into memory, and
 *   one that would be spooled to a file (over client_body_buffer_size) is
 *   answered 413.
 * - The bearer check (oauth2_bearer) runs in the access phase and sets
 *   $oauth2_client_id, $oauth2_user, $oauth2_scope and $oauth2_error.
 * - Randomness is the library's default (getrandom on every request): no
 *   random value is drawn before the workers are forked.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <oauth2_provider.h>

#define NGX_HTTP_OAUTH2_ENDPOINT_NONE           0
#define NGX_HTTP_OAUTH2_ENDPOINT_TOKEN          1
#define NGX_HTTP_OAUTH2_ENDPOINT_REVOCATION     2
#define NGX_HTTP_OAUTH2_ENDPOINT_INTROSPECTION  3
#define NGX_HTTP_OAUTH2_ENDPOINT_METADATA       4
#define NGX_HTTP_OAUTH2_ENDPOINT_RESOURCE       5
#define NGX_HTTP_OAUTH2_ENDPOINT_AUTHORIZATION  6

/* Kinds of entries in the zone. */
#define NGX_HTTP_OAUTH2_ACCESS   1
#define NGX_HTTP_OAUTH2_REFRESH  2
#define NGX_HTTP_OAUTH2_GRANT    3
#define NGX_HTTP_OAUTH2_CODE     4
#define NGX_HTTP_OAUTH2_CSRF     5   /* a consent form's token */

/* The strings of an entry. */
#define NGX_HTTP_OAUTH2_F_KEY     0
#define NGX_HTTP_OAUTH2_F_CLIENT  1
#define NGX_HTTP_OAUTH2_F_USER    2
#define NGX_HTTP_OAUTH2_F_SCOPES  3
#define NGX_HTTP_OAUTH2_F_GRANT   4
#define NGX_HTTP_OAUTH2_F_REDIRECT   5   /* a code's redirect_uri as sent */
#define NGX_HTTP_OAUTH2_F_CHALLENGE  6   /* a code's PKCE challenge */
#define NGX_HTTP_OAUTH2_NFIELDS   7

/* How long a consent form's CSRF token may be used, in seconds, unless
 * oauth2_consent_ttl says otherwise. */
#define NGX_HTTP_OAUTH2_CSRF_TTL  300

/* The share of the zone CSRF tokens may take: 1/8. Anyone nginx
 * authenticates can ask for consent pages; a flood of them pushes out
 * older consent forms, never tokens, codes or grants. */
#define NGX_HTTP_OAUTH2_CSRF_SHARE  8

/* How many of the oldest entries each insertion looks at for eviction. */
#define NGX_HTTP_OAUTH2_SWEEP     2

/* Slots of each worker's cache of the library's token records. */
#define NGX_HTTP_OAUTH2_CACHE     1024
#define NGX_HTTP_OAUTH2_CACHE_KEY 64


typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    secret;
    ngx_array_t                  redirect_uris;   /* of oap_str */
    ngx_uint_t                   grants;
    ngx_str_t                    scopes;
    ngx_str_t                    default_scopes;
    ngx_flag_t                   introspect;
    ngx_flag_t                   pkce;
    oap_registered_client       *registered;
} ngx_http_oauth2_client_t;


typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    password;
} ngx_http_oauth2_user_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;      /* oldest (or longest unswept) first */
    ngx_queue_t                  csrf;       /* CSRF tokens, oldest first */
    size_t                       csrf_size;  /* the bytes they take */
    size_t                       csrf_max;   /* ... at most */
} ngx_http_oauth2_shctx_t;


typedef struct {
    ngx_http_oauth2_shctx_t     *sh;
    ngx_slab_pool_t             *shpool;
} ngx_http_oauth2_zone_t;


typedef struct {
    ngx_rbtree_node_t            node;       /* key: a hash of kind + key */
    ngx_queue_t                  queue;
    uint64_t                     iat;
    uint64_t                     exp;        /* 0: never (refresh tokens) */
    u_char                       kind;
    u_char                       revoked;
    u_char                       rotated;
    u_char                       present;    /* a bit per field: not absent */
    u_char                       method;     /* a code's PKCE method */
    uint32_t                     grant_hash; /* the tree key of its grant */
    uint32_t                     len[NGX_HTTP_OAUTH2_NFIELDS];
    u_char                       data[1];
} ngx_http_oauth2_entry_t;


typedef struct {
    ngx_shm_zone_t              *shm_zone;
    ngx_str_t                    issuer;
    ngx_str_t                    realm;
    ngx_str_t                    scopes_supported;
    time_t                       consent_ttl;
    ngx_str_t                    sqlite;     /* oauth2_sqlite's path */
    oap_server                  *zone_server;  /* a worker's, over the zone */
    ngx_uint_t                   grants;
    ngx_array_t                  clients;    /* of ngx_http_oauth2_client_t */
    ngx_array_t                  users;      /* of ngx_http_oauth2_user_t */
    oap_server                  *server;
    ngx_log_t                   *log;
} ngx_http_oauth2_main_conf_t;


typedef struct {
    ngx_uint_t                   endpoint;
    ngx_flag_t                   bearer;
    ngx_array_t                 *scopes;     /* of oap_str; NULL: none */
    ngx_http_complex_value_t    *owner;      /* NULL: $remote_user */
} ngx_http_oauth2_loc_conf_t;


/* What the bearer check found, for the variables and the resource. */
typedef struct {
    ngx_uint_t                   granted;
    ngx_uint_t                   has_user;
    ngx_str_t                    client_id;
    ngx_str_t                    user;
    ngx_str_t                    scope;
    ngx_str_t                    error;
    ngx_http_request_t          *request;
} ngx_http_oauth2_req_t;


/* A worker's record of an access token, made once by oap_token_new and
 * handed to later requests with oap_ctx_set_token (no per-request copy or
 * parsing), with the zone's hash of the token (not computed again for the
 * zone's lookup). What a token grants never changes; whether it is still valid
 * (expired, revoked, its grant revoked) is read from the zone every time. */
typedef struct {
    u_char                       key[NGX_HTTP_OAUTH2_CACHE_KEY];
    size_t                       len;
    uint32_t                     hash;       /* the zone's, of key */
    oap_token                   *token;
} ngx_http_oauth2_cached_t;


static ngx_http_oauth2_cached_t  *ngx_http_oauth2_cache;

/* The worker's bearer check: it keeps the record of the last token it
 * granted, lent to the access handler until the next check (made on first
 * use, freed at exit). */
static oap_bearer_check          *ngx_http_oauth2_check;


static ngx_int_t ngx_http_oauth2_add_variables(ngx_conf_t *cf);
static void ngx_http_oauth2_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_oauth2_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_oauth2_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_oauth2_init(ngx_conf_t *cf);
static void *ngx_http_oauth2_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_oauth2_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_oauth2_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_oauth2_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_oauth2_client(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_oauth2_user(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_oauth2_grants(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_oauth2_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_oauth2_bearer_scopes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_oauth2_authorize(ngx_http_request_t *r,
    oap_request *req);
static ngx_int_t ngx_http_oauth2_copy(ngx_pool_t *pool, ngx_str_t *dst,
    oap_str src);
static char *ngx_http_oauth2_resource_owner(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_oauth2_refuse(ngx_http_request_t *r,
    ngx_uint_t status, oap_response *resp, const char *json);
static ngx_int_t ngx_http_oauth2_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_command_t  ngx_http_oauth2_commands[] = {

    { ngx_string("oauth2_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_oauth2_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("oauth2_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_oauth2_main_conf_t, issuer),
      NULL },

    { ngx_string("oauth2_realm"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_oauth2_main_conf_t, realm),
      NULL },

    { ngx_string("oauth2_scopes_supported"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_oauth2_main_conf_t, scopes_supported),
      NULL },

    { ngx_string("oauth2_consent_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_oauth2_main_conf_t, consent_ttl),
      NULL },

    { ngx_string("oauth2_sqlite"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_oauth2_main_conf_t, sqlite),
      NULL },

    { ngx_string("oauth2_grants"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_oauth2_grants,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("oauth2_client"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_oauth2_client,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("oauth2_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_oauth2_user,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("oauth2_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_oauth2_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("oauth2_bearer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_oauth2_loc_conf_t, bearer),
      NULL },

    { ngx_string("oauth2_bearer_scopes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_oauth2_bearer_scopes,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("oauth2_resource_owner"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_oauth2_resource_owner,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_oauth2_module_ctx = {
    ngx_http_oauth2_add_variables,         /* preconfiguration */
    ngx_http_oauth2_init,                  /* postconfiguration */

    ngx_http_oauth2_create_main_conf,      /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_oauth2_create_loc_conf,       /* create location configuration */
    ngx_http_oauth2_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_oauth2_module = {
    NGX_MODULE_V1,
    &ngx_http_oauth2_module_ctx,           /* module context */
    ngx_http_oauth2_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_oauth2_init_module,           /* init module */
    ngx_http_oauth2_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_oauth2_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_oauth2_vars[] = {

    { ngx_string("oauth2_client_id"), NULL, ngx_http_oauth2_variable,
      offsetof(ngx_http_oauth2_req_t, client_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("oauth2_user"), NULL, ngx_http_oauth2_variable,
      offsetof(ngx_http_oauth2_req_t, user), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("oauth2_scope"), NULL, ngx_http_oauth2_variable,
      offsetof(ngx_http_oauth2_req_t, scope), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("oauth2_error"), NULL, ngx_http_oauth2_variable,
      offsetof(ngx_http_oauth2_req_t, error), NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* ---- strings ---- */

static oap_str
ngx_http_oauth2_str(ngx_str_t *s)
{
    oap_str  o;

    o.ptr = s->len ? (const char *) s->data : NULL;
    o.len = s->len;

    return o;
}


static ngx_int_t
ngx_http_oauth2_eq(oap_str a, oap_str b)
{
    return a.ptr != NULL && b.ptr != NULL && a.len == b.len
           && ngx_memcmp(a.ptr, b.ptr, a.len) == 0;
}


/* Whether every space-delimited scope of `want` is one of `allowed`. */
static ngx_int_t
ngx_http_oauth2_scopes_within(ngx_str_t *allowed, oap_str want)
{
    size_t   i, j, k, e;
    ngx_int_t  found;

    for (i = 0; i < want.len; i = j + 1) {
        for (j = i; j < want.len && want.ptr[j] != ' '; j++) { /* void */ }

        if (j == i) {
            continue;
        }

        found = 0;

        for (k = 0; k < allowed->len && !found; k = e + 1) {
            for (e = k; e < allowed->len && allowed->data[e] != ' '; e++) {
                /* void */
            }

            found = (e - k == j - i
                     && ngx_memcmp(allowed->data + k, want.ptr + i, j - i) == 0);
        }

        if (!found) {
            return 0;
        }
    }

    return 1;
}


/* ---- the shared-memory store ---- */

static oap_str
ngx_http_oauth2_field(ngx_http_oauth2_entry_t *e, ngx_uint_t f)
{
    oap_str     s;
    ngx_uint_t  i;
    u_char     *p;

    s.ptr = NULL;
    s.len = 0;

    if (!(e->present & (1 << f))) {
        return s;
    }

    p = e->data;
    for (i = 0; i < f; i++) {
        p += e->len[i];
    }

    s.ptr = (const char *) p;
    s.len = e->len[f];

    return s;
}


static uint32_t
ngx_http_oauth2_hash(ngx_uint_t kind, oap_str key)
{
    return ngx_murmur_hash2((u_char *) key.ptr, key.len) ^ (uint32_t) kind;
}


/* The entry of `kind` and `key`, whose tree key is `hash`. */
static ngx_http_oauth2_entry_t *
ngx_http_oauth2_lookup_hashed(ngx_http_oauth2_zone_t *z, ngx_uint_t kind,
    oap_str key, uint32_t hash)
{
    oap_str                   k;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_http_oauth2_entry_t  *e;

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key: entries of equal hashes go right */

        e = (ngx_http_oauth2_entry_t *) node;
        k = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_KEY);

        if (e->kind == kind && ngx_http_oauth2_eq(k, key)) {
            return e;
        }

        node = node->right;
    }

    return NULL;
}


static ngx_http_oauth2_entry_t *
ngx_http_oauth2_lookup(ngx_http_oauth2_zone_t *z, ngx_uint_t kind, oap_str key)
{
    if (key.ptr == NULL) {
        return NULL;
    }

    return ngx_http_oauth2_lookup_hashed(z, kind, key,
                                         ngx_http_oauth2_hash(kind, key));
}


static ngx_int_t
ngx_http_oauth2_expired(ngx_http_oauth2_entry_t *e, uint64_t now)
{
    return e->exp != 0 && e->exp <= now;
}


/* The bytes an entry asked of the slab pool. */
static size_t
ngx_http_oauth2_size(ngx_http_oauth2_entry_t *e)
{
    size_t      size;
    ngx_uint_t  i;

    size = offsetof(ngx_http_oauth2_entry_t, data);
    for (i = 0; i < NGX_HTTP_OAUTH2_NFIELDS; i++) {
        size += e->len[i];
    }

    return size;
}


static void
ngx_http_oauth2_remove(ngx_http_oauth2_zone_t *z, ngx_http_oauth2_entry_t *e)
{
    if (e->kind == NGX_HTTP_OAUTH2_CSRF) {
        z->sh->csrf_size -= ngx_http_oauth2_size(e);
    }

    ngx_queue_remove(&e->queue);
    ngx_rbtree_delete(&z->sh->rbtree, &e->node);
    ngx_slab_free_locked(z->shpool, e);
}


/* Evicts expired entries among the `n` oldest (all when n is 0); the live
 * ones looked at go to the back, so repeated sweeps visit every entry. A
 * grant's entry lasts as long as the longest-lived token of it, so no live
 * token loses its grant. */
static void
ngx_http_oauth2_sweep(ngx_http_oauth2_zone_t *z, uint64_t now, ngx_uint_t n)
{
    ngx_queue_t              *q, *last;
    ngx_http_oauth2_entry_t  *e;

    if (ngx_queue_empty(&z->sh->queue)) {
        return;
    }

    last = ngx_queue_last(&z->sh->queue);

    for ( ;; ) {
        q = ngx_queue_head(&z->sh->queue);
        e = ngx_queue_data(q, ngx_http_oauth2_entry_t, queue);

        if (ngx_http_oauth2_expired(e, now)) {
            ngx_http_oauth2_remove(z, e);

        } else {
            ngx_queue_remove(q);
            ngx_queue_insert_tail(&z->sh->queue, q);
        }

        if (q == last || ngx_queue_empty(&z->sh->queue) || (n && --n == 0)) {
            return;
        }
    }
}


/* Evicts the expired CSRF tokens, then the oldest ones until `size` more
 * bytes fit in their share of the zone. They sit in a queue of their own,
 * in the order they expire (one lifetime for all). */
static void
ngx_http_oauth2_csrf_room(ngx_http_oauth2_zone_t *z, size_t size,
    uint64_t now)
{
    ngx_http_oauth2_entry_t  *e;

    while (!ngx_queue_empty(&z->sh->csrf)) {
        e = ngx_queue_data(ngx_queue_head(&z->sh->csrf),
                           ngx_http_oauth2_entry_t, queue);

        if (!ngx_http_oauth2_expired(e, now)
            && z->sh->csrf_size + size <= z->sh->csrf_max)
        {
            return;
        }

        ngx_http_oauth2_remove(z, e);
    }
}


/* A new entry, not yet in the tree; NULL when the zone is full even after
 * every expired entry was evicted. */
static ngx_http_oauth2_entry_t *
ngx_http_oauth2_alloc(ngx_http_oauth2_zone_t *z, ngx_uint_t kind,
    oap_str *fields, uint64_t now)
{
    size_t                    size;
    u_char                   *p;
    ngx_uint_t                i;
    ngx_http_oauth2_entry_t  *e;

    size = offsetof(ngx_http_oauth2_entry_t, data);
    for (i = 0; i < NGX_HTTP_OAUTH2_NFIELDS; i++) {
        if (fields[i].len > 65535) {
            return NULL;
        }
        size += fields[i].len;
    }

    ngx_http_oauth2_sweep(z, now, NGX_HTTP_OAUTH2_SWEEP);

    e = ngx_slab_alloc_locked(z->shpool, size);

    if (e == NULL) {
        ngx_http_oauth2_sweep(z, now, 0);
        ngx_http_oauth2_csrf_room(z, 0, now);
        e = ngx_slab_alloc_locked(z->shpool, size);
        if (e == NULL) {
            return NULL;
        }
    }

    ngx_memzero(e, offsetof(ngx_http_oauth2_entry_t, data));
    e->kind = (u_char) kind;

    p = e->data;
    for (i = 0; i < NGX_HTTP_OAUTH2_NFIELDS; i++) {
        if (fields[i].ptr != NULL) {
            e->present |= (u_char) (1 << i);
            e->len[i] = (uint32_t) fields[i].len;
            p = ngx_cpymem(p, fields[i].ptr, fields[i].len);
        }
    }

    e->node.key = ngx_http_oauth2_hash(kind, fields[NGX_HTTP_OAUTH2_F_KEY]);

    /* hashed once here, not on every bearer check */
    if (fields[NGX_HTTP_OAUTH2_F_GRANT].ptr != NULL) {
        e->grant_hash = ngx_http_oauth2_hash(NGX_HTTP_OAUTH2_GRANT,
                                             fields[NGX_HTTP_OAUTH2_F_GRANT]);
    }

    return e;
}


static void
ngx_http_oauth2_insert(ngx_http_oauth2_zone_t *z, ngx_http_oauth2_entry_t *e)
{
    ngx_rbtree_insert(&z->sh->rbtree, &e->node);

    if (e->kind == NGX_HTTP_OAUTH2_CSRF) {
        z->sh->csrf_size += ngx_http_oauth2_size(e);
        ngx_queue_insert_tail(&z->sh->csrf, &e->queue);
        return;
    }

    ngx_queue_insert_tail(&z->sh->queue, &e->queue);
}


static ngx_int_t
ngx_http_oauth2_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                   len;
    ngx_http_oauth2_zone_t  *z, *oz;

    z = shm_zone->data;
    oz = data;

    if (oz) {
        /* a reload: keep the tokens of the previous cycle */
        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_alloc(z->shpool, sizeof(ngx_http_oauth2_shctx_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&z->sh->queue);
    ngx_queue_init(&z->sh->csrf);
    z->sh->csrf_max = shm_zone->shm.size / NGX_HTTP_OAUTH2_CSRF_SHARE;

    len = sizeof(" in oauth2 zone \"\"") + shm_zone->shm.name.len;

    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(z->shpool->log_ctx, " in oauth2 zone \"%V\"%Z",
                &shm_zone->shm.name);

    z->shpool->log_nomem = 0;

    return NGX_OK;
}


/* ---- the callback table ---- */

#define ngx_http_oauth2_ok(status)                                            \
    ((status) == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR)


/* What a caller does with the zone under its lock: `e` is the entry of
 * the kind and key it asked for (NULL: none), `now` the time of the
 * request, `ctx` the library's context (NULL outside a callback), `data`
 * the caller's own. */
typedef oap_cb_result (*ngx_http_oauth2_locked_pt)(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data);
static oap_cb_result ngx_http_oauth2_with_entry_hashed(void *ud, oap_ctx *ctx,
    ngx_uint_t kind, oap_str key, uint32_t hash,
    ngx_http_oauth2_locked_pt locked, void *data);


/* The one way into the zone: the time (the library's clock in a callback,
 * which the library's tests may set; nginx's cached time without a ctx),
 * the lock, the lookup of `key` among the entries of `kind` (none when
 * key.ptr is NULL), `locked`, the unlock. OAP_CB_ERROR without a time. */
static oap_cb_result
ngx_http_oauth2_with_entry(void *ud, oap_ctx *ctx, ngx_uint_t kind,
    oap_str key, ngx_http_oauth2_locked_pt locked, void *data)
{
    return ngx_http_oauth2_with_entry_hashed(ud, ctx, kind, key,
               key.ptr == NULL ? 0 : ngx_http_oauth2_hash(kind, key),
               locked, data);
}


/* ngx_http_oauth2_with_entry where the caller knows the key's `hash`. */
static oap_cb_result
ngx_http_oauth2_with_entry_hashed(void *ud, oap_ctx *ctx, ngx_uint_t kind,
    oap_str key, uint32_t hash, ngx_http_oauth2_locked_pt locked, void *data)
{
    uint64_t                      now;
    oap_cb_result                 rc;
    ngx_http_oauth2_zone_t       *z;
    ngx_http_oauth2_main_conf_t  *mcf = ud;

    if (ctx == NULL) {
        now = (uint64_t) ngx_time();

    } else if (oap_ctx_now(ctx, &now) != OAP_STATUS_OK) {
        return OAP_CB_ERROR;
    }

    z = mcf->shm_zone->data;
    ngx_shmtx_lock(&z->shpool->mutex);

    rc = locked(z, key.ptr == NULL ? NULL
                   : ngx_http_oauth2_lookup_hashed(z, kind, key, hash),
                now, ctx, data);

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


static ngx_http_oauth2_client_t *
ngx_http_oauth2_find_client(ngx_http_oauth2_main_conf_t *mcf, oap_str id)
{
    ngx_uint_t                 i;
    ngx_http_oauth2_client_t  *c;

    c = mcf->clients.elts;
    for (i = 0; i < mcf->clients.nelts; i++) {
        if (ngx_http_oauth2_eq(ngx_http_oauth2_str(&c[i].id), id)) {
            return &c[i];
        }
    }

    return NULL;
}


static oap_cb_result
ngx_http_oauth2_cb_find_client(void *ud, oap_str client_id, oap_ctx *ctx)
{
    ngx_http_oauth2_client_t  *c;

    c = ngx_http_oauth2_find_client(ud, client_id);
    if (c == NULL) {
        return OAP_CB_FALSE;
    }

    return ngx_http_oauth2_ok(oap_ctx_set_registered_client(ctx,
                                                            c->registered));
}


static oap_cb_result
ngx_http_oauth2_cb_default_scopes(void *ud, oap_str client_id, oap_ctx *ctx)
{
    ngx_http_oauth2_client_t  *c;

    c = ngx_http_oauth2_find_client(ud, client_id);
    if (c == NULL || c->default_scopes.len == 0) {
        return OAP_CB_FALSE;
    }

    return ngx_http_oauth2_ok(oap_ctx_set_scopes(ctx,
                                  ngx_http_oauth2_str(&c->default_scopes)));
}


static oap_cb_result
ngx_http_oauth2_cb_validate_scopes(void *ud, oap_str client_id, oap_str scopes,
    oap_ctx *ctx)
{
    ngx_http_oauth2_client_t  *c;

    c = ngx_http_oauth2_find_client(ud, client_id);

    return c != NULL && ngx_http_oauth2_scopes_within(&c->scopes, scopes)
           ? OAP_CB_TRUE : OAP_CB_FALSE;
}


static oap_cb_result
ngx_http_oauth2_cb_pkce_required(void *ud, oap_str client_id, oap_ctx *ctx)
{
    ngx_http_oauth2_client_t  *c;

    c = ngx_http_oauth2_find_client(ud, client_id);

    return c != NULL && c->pkce ? OAP_CB_TRUE : OAP_CB_FALSE;
}


static oap_cb_result
ngx_http_oauth2_cb_validate_user(void *ud, oap_str username, oap_str password,
    oap_ctx *ctx)
{
    bool                          equal;
    oap_bytes                     a, b;
    ngx_uint_t                    i;
    ngx_http_oauth2_user_t       *u;
    ngx_http_oauth2_main_conf_t  *mcf = ud;

    u = mcf->users.elts;
    for (i = 0; i < mcf->users.nelts; i++) {
        if (!ngx_http_oauth2_eq(ngx_http_oauth2_str(&u[i].name), username)) {
            continue;
        }

        a.ptr = u[i].password.data;
        a.len = u[i].password.len;
        b.ptr = (const uint8_t *) password.ptr;
        b.len = password.len;

        if (oap_constant_time_eq(a, b, &equal) != OAP_STATUS_OK) {
            return OAP_CB_ERROR;
        }

        if (!equal) {
            return OAP_CB_FALSE;
        }

        return ngx_http_oauth2_ok(oap_ctx_set_user(ctx, username));
    }

    return OAP_CB_FALSE;
}


/* The grant's entry if it has not ended at `now`. Under the lock. */
static ngx_http_oauth2_entry_t *
ngx_http_oauth2_live_grant(ngx_http_oauth2_zone_t *z, oap_str grant_id,
    uint64_t now)
{
    ngx_http_oauth2_entry_t  *g;

    g = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_GRANT, grant_id);

    return g != NULL && !ngx_http_oauth2_expired(g, now) ? g : NULL;
}


/* Whether the grant of `e` (if it has one) was revoked. Under the lock. */
static ngx_int_t
ngx_http_oauth2_grant_revoked(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e)
{
    oap_str                   grant_id;
    ngx_http_oauth2_entry_t  *g;

    grant_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT);
    if (grant_id.ptr == NULL) {
        return 0;
    }

    g = ngx_http_oauth2_lookup_hashed(z, NGX_HTTP_OAUTH2_GRANT, grant_id,
                                      e->grant_hash);

    return g != NULL && g->revoked;
}


/* Records the grant until `ends_at` (a new record, or one extended: a
 * record revoked stays revoked); NULL when the zone is full. Under the
 * lock. */
static ngx_http_oauth2_entry_t *
ngx_http_oauth2_keep_grant(ngx_http_oauth2_zone_t *z, oap_str grant_id,
    uint64_t ends_at, uint64_t now)
{
    oap_str                   f[NGX_HTTP_OAUTH2_NFIELDS];
    ngx_http_oauth2_entry_t  *g;

    g = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_GRANT, grant_id);

    if (g == NULL) {
        ngx_memzero(f, sizeof(f));
        f[NGX_HTTP_OAUTH2_F_KEY] = grant_id;

        g = ngx_http_oauth2_alloc(z, NGX_HTTP_OAUTH2_GRANT, f, now);
        if (g == NULL) {
            return NULL;
        }

        g->exp = ends_at;
        ngx_http_oauth2_insert(z, g);

    } else if (g->exp < ends_at) {
        g->exp = ends_at;
    }

    return g;
}


/* Checks that `token` may be saved and saves it, all or nothing:
 * OAP_CB_FALSE when its grant may not get it (revoked, or ended and not
 * new), OAP_CB_ERROR when a token is already stored under its value or
 * the zone is full. Under the lock. */
static oap_cb_result
ngx_http_oauth2_save_locked(ngx_http_oauth2_zone_t *z,
    const oap_issued_token *token, uint64_t now)
{
    oap_str                   f[NGX_HTTP_OAUTH2_NFIELDS];
    uint64_t                  ends_at, access_exp;
    ngx_http_oauth2_entry_t  *a, *r, *g;

    if (ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_ACCESS, token->access_token)) {
        return OAP_CB_ERROR;
    }

    if (token->refresh_token.ptr != NULL && token->refresh_token_is_new
        && ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH,
                                  token->refresh_token))
    {
        return OAP_CB_ERROR;
    }

    g = NULL;

    if (token->grant_id.ptr != NULL) {
        g = ngx_http_oauth2_live_grant(z, token->grant_id, now);

        if (g != NULL ? g->revoked : !token->new_grant) {
            return OAP_CB_FALSE;
        }
    }

    access_exp = token->issued_at + token->expires_in;

    ngx_memzero(f, sizeof(f));
    f[NGX_HTTP_OAUTH2_F_KEY] = token->access_token;
    f[NGX_HTTP_OAUTH2_F_CLIENT] = token->client_id;
    f[NGX_HTTP_OAUTH2_F_USER] = token->user;
    f[NGX_HTTP_OAUTH2_F_SCOPES] = token->scopes;
    f[NGX_HTTP_OAUTH2_F_GRANT] = token->grant_id;

    a = ngx_http_oauth2_alloc(z, NGX_HTTP_OAUTH2_ACCESS, f, now);
    if (a == NULL) {
        return OAP_CB_ERROR;
    }

    a->iat = token->issued_at;
    a->exp = access_exp;

    r = NULL;

    if (token->refresh_token.ptr != NULL && token->refresh_token_is_new) {
        f[NGX_HTTP_OAUTH2_F_KEY] = token->refresh_token;
        f[NGX_HTTP_OAUTH2_F_SCOPES] = token->refresh_scopes;

        r = ngx_http_oauth2_alloc(z, NGX_HTTP_OAUTH2_REFRESH, f, now);
        if (r == NULL) {
            ngx_slab_free_locked(z->shpool, a);
            return OAP_CB_ERROR;
        }

        r->iat = token->issued_at;
        r->exp = token->refresh_expires_at;
    }

    if (token->grant_id.ptr != NULL) {
        /* the grant outlives every token of it */
        ends_at = token->refresh_expires_at > access_exp
                  ? token->refresh_expires_at : access_exp;

        if (ngx_http_oauth2_keep_grant(z, token->grant_id, ends_at, now)
            == NULL)
        {
            ngx_slab_free_locked(z->shpool, a);
            if (r) {
                ngx_slab_free_locked(z->shpool, r);
            }
            return OAP_CB_ERROR;
        }
    }

    ngx_http_oauth2_insert(z, a);
    if (r) {
        ngx_http_oauth2_insert(z, r);
    }

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_save_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    return ngx_http_oauth2_save_locked(z, data, now);
}


static oap_cb_result
ngx_http_oauth2_cb_save_bearer_token(void *ud, const oap_issued_token *token,
    oap_ctx *ctx)
{
    oap_str  none = { NULL, 0 };

    return ngx_http_oauth2_with_entry(ud, ctx, 0, none,
                                      ngx_http_oauth2_save_found,
                                      (void *) token);
}


/* What consume_and_save spends and what it saves instead. */
typedef struct {
    const oap_consumed          *consumed;
    const oap_issued_token      *token;
} ngx_http_oauth2_rotation_t;


/* Spends the code or refresh token `spent` and saves the tokens replacing
 * it in one step under the lock: nothing changes unless both succeed. A
 * code is spent only by its client. */
static oap_cb_result
ngx_http_oauth2_consume_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *spent, uint64_t now, oap_ctx *ctx, void *data)
{
    ngx_uint_t                   unspent;
    oap_cb_result                rc;
    ngx_http_oauth2_rotation_t  *rot = data;

    if (rot->consumed->kind == OAP_CONSUMED_AUTHORIZATION_CODE) {
        unspent = spent != NULL
                  && ngx_http_oauth2_eq(ngx_http_oauth2_field(spent,
                                            NGX_HTTP_OAUTH2_F_CLIENT),
                                        rot->consumed->client_id);

    } else {
        unspent = spent != NULL && !spent->revoked;
    }

    if (!unspent || spent->rotated || ngx_http_oauth2_expired(spent, now)) {
        return OAP_CB_FALSE;
    }

    rc = ngx_http_oauth2_save_locked(z, rot->token, now);

    if (rc == OAP_CB_TRUE) {
        spent->rotated = 1;   /* a code used, a refresh token rotated */
    }

    return rc;
}


static oap_cb_result
ngx_http_oauth2_cb_consume_and_save(void *ud, const oap_consumed *consumed,
    const oap_issued_token *token, oap_ctx *ctx)
{
    ngx_http_oauth2_rotation_t  rot;

    rot.consumed = consumed;
    rot.token = token;

    return ngx_http_oauth2_with_entry(ud, ctx,
               consumed->kind == OAP_CONSUMED_AUTHORIZATION_CODE
               ? NGX_HTTP_OAUTH2_CODE : NGX_HTTP_OAUTH2_REFRESH,
               consumed->value, ngx_http_oauth2_consume_found, &rot);
}


/* ---- authorization codes ---- */

/* Stores the code `data` unless its value is taken (`e`), with its grant
 * recorded as long as the code lives (the code starts the grant). */
static oap_cb_result
ngx_http_oauth2_save_code_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str                        f[NGX_HTTP_OAUTH2_NFIELDS];
    const oap_authorization_code  *code = data;

    if (e != NULL) {
        return OAP_CB_ERROR;
    }

    ngx_memzero(f, sizeof(f));
    f[NGX_HTTP_OAUTH2_F_KEY] = code->code;
    f[NGX_HTTP_OAUTH2_F_CLIENT] = code->client_id;
    f[NGX_HTTP_OAUTH2_F_USER] = code->user;
    f[NGX_HTTP_OAUTH2_F_SCOPES] = code->scopes;
    f[NGX_HTTP_OAUTH2_F_GRANT] = code->grant_id;
    f[NGX_HTTP_OAUTH2_F_REDIRECT] = code->redirect_uri;
    f[NGX_HTTP_OAUTH2_F_CHALLENGE] = code->code_challenge;

    e = ngx_http_oauth2_alloc(z, NGX_HTTP_OAUTH2_CODE, f, now);
    if (e == NULL) {
        return OAP_CB_ERROR;
    }

    if (code->grant_id.ptr != NULL
        && ngx_http_oauth2_keep_grant(z, code->grant_id, code->expires_at, now)
           == NULL)
    {
        ngx_slab_free_locked(z->shpool, e);
        return OAP_CB_ERROR;
    }

    e->iat = code->issued_at;
    e->exp = code->expires_at;
    e->method = (u_char) code->code_challenge_method;
    ngx_http_oauth2_insert(z, e);

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_cb_save_code(void *ud, oap_str client_id,
    const oap_authorization_code *code, oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_CODE,
                                      code->code,
                                      ngx_http_oauth2_save_code_found,
                                      (void *) code);
}


/* An unused code's record; a used one is reported as a replay (the
 * library then revokes what it issued, if the replay proves it comes from
 * the code's client). A used code stays in the zone until it expires. */
static oap_cb_result
ngx_http_oauth2_code_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str           challenge, *client_id = data;
    oap_code_info     info;
    oap_pkce_method   method;

    if (e == NULL || ngx_http_oauth2_expired(e, now)
        || !ngx_http_oauth2_eq(ngx_http_oauth2_field(e,
                                   NGX_HTTP_OAUTH2_F_CLIENT), *client_id))
    {
        return OAP_CB_FALSE;
    }

    challenge = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CHALLENGE);
    method = challenge.ptr != NULL ? e->method : OAP_PKCE_NONE;

    if (e->rotated) {
        return ngx_http_oauth2_ok(oap_ctx_set_code_used_pkce(ctx,
                   ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT),
                   challenge, method));
    }

    ngx_memzero(&info, sizeof(info));
    info.struct_size = sizeof(info);
    info.client_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CLIENT);
    info.user = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_USER);
    info.scopes = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_SCOPES);
    info.redirect_uri = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_REDIRECT);
    info.grant_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT);
    info.expires_at = e->exp;
    info.code_challenge = challenge;
    info.code_challenge_method = method;

    return ngx_http_oauth2_ok(oap_ctx_set_code(ctx, &info));
}


static oap_cb_result
ngx_http_oauth2_cb_validate_code(void *ud, oap_str client_id, oap_str code,
    oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_CODE, code,
                                      ngx_http_oauth2_code_found, &client_id);
}


static void
ngx_http_oauth2_token_info(ngx_http_oauth2_entry_t *e, oap_token_type type,
    oap_token_info *info)
{
    ngx_memzero(info, sizeof(oap_token_info));
    info->struct_size = sizeof(oap_token_info);
    info->token_type = type;
    info->client_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CLIENT);
    info->username = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_USER);
    info->sub = info->username;
    info->scopes = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_SCOPES);
    info->exp = e->exp;
    info->iat = e->iat;
    info->grant_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT);
}


static ngx_int_t
ngx_http_oauth2_access_live(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now)
{
    return e != NULL && !e->revoked && !ngx_http_oauth2_expired(e, now)
           && !ngx_http_oauth2_grant_revoked(z, e);
}


/* The worker's cache slot for the access token `token`: chosen from its
 * first bytes (the library's tokens are random), not from the zone's hash,
 * which a hit spares; NULL when the token is too long to cache or there is
 * no memory. A slot may hold another token: compare before use. */
static ngx_http_oauth2_cached_t *
ngx_http_oauth2_cache_slot(oap_str token)
{
    uint64_t  x;

    if (token.len > NGX_HTTP_OAUTH2_CACHE_KEY) {
        return NULL;
    }

    if (ngx_http_oauth2_cache == NULL) {
        ngx_http_oauth2_cache = ngx_calloc(NGX_HTTP_OAUTH2_CACHE
                                           * sizeof(ngx_http_oauth2_cached_t),
                                           ngx_cycle->log);
        if (ngx_http_oauth2_cache == NULL) {
            return NULL;
        }
    }

    x = token.len;
    ngx_memcpy(&x, token.ptr, ngx_min(token.len, sizeof(x)));
    x = (x ^ token.len) * 0x9e3779b97f4a7c15ULL;

    return &ngx_http_oauth2_cache[(x >> 32) % NGX_HTTP_OAUTH2_CACHE];
}


/* Whether slot `c` holds the record of `token`. */
static ngx_int_t
ngx_http_oauth2_cache_hit(ngx_http_oauth2_cached_t *c, oap_str token)
{
    return c != NULL && c->token != NULL && c->len == token.len
           && ngx_memcmp(c->key, token.ptr, token.len) == 0;
}


/* Makes the worker's record of the live access token `e` (of `token`,
 * whose zone hash is `hash`) in slot `c`; NULL when it cannot be had (the
 * caller then hands the information over per request). Under the zone
 * lock, in a worker (never in the master). */
static oap_token *
ngx_http_oauth2_cache_fill(ngx_http_oauth2_cached_t *c,
    ngx_http_oauth2_entry_t *e, oap_str token, uint32_t hash)
{
    oap_token       *t;
    oap_token_info   info;

    ngx_http_oauth2_token_info(e, OAP_TOKEN_TYPE_ACCESS_TOKEN, &info);

    if (oap_token_new(&info, &t) != OAP_STATUS_OK) {
        return NULL;
    }

    oap_token_free(c->token);
    c->token = t;
    c->len = token.len;
    c->hash = hash;
    ngx_memcpy(c->key, token.ptr, token.len);

    return t;
}


static void
ngx_http_oauth2_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_http_oauth2_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_oauth2_module);

    if (mcf != NULL && mcf->zone_server != NULL) {
        /* the worker's server over SQLite; the zone's is the cleanup's */
        oap_server_free(mcf->server);
        mcf->server = mcf->zone_server;
        mcf->zone_server = NULL;
    }

    oap_bearer_check_free(ngx_http_oauth2_check);
    ngx_http_oauth2_check = NULL;

    if (ngx_http_oauth2_cache == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_OAUTH2_CACHE; i++) {
        oap_token_free(ngx_http_oauth2_cache[i].token);
    }

    ngx_free(ngx_http_oauth2_cache);
    ngx_http_oauth2_cache = NULL;
}


/* What the bearer check's zone lookup carries: the token, and the worker's
 * cache slot for it, which holds its record when `hit`. */
typedef struct {
    oap_str                      token;
    uint32_t                     hash;
    ngx_uint_t                   hit;
    ngx_http_oauth2_cached_t    *slot;
} ngx_http_oauth2_bearer_t;


/* A live access token's record: the worker's (made once), or the zone's
 * information handed over for this request. */
static oap_cb_result
ngx_http_oauth2_bearer_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_token                 *c;
    oap_token_info             info;
    ngx_http_oauth2_bearer_t  *b = data;

    if (!ngx_http_oauth2_access_live(z, e, now)) {
        return OAP_CB_FALSE;
    }

    if (b->hit) {
        c = b->slot->token;

    } else {
        c = b->slot == NULL ? NULL
            : ngx_http_oauth2_cache_fill(b->slot, e, b->token, b->hash);
    }

    if (c != NULL) {
        return ngx_http_oauth2_ok(oap_ctx_set_token(ctx, c));
    }

    ngx_http_oauth2_token_info(e, OAP_TOKEN_TYPE_ACCESS_TOKEN, &info);

    return ngx_http_oauth2_ok(oap_ctx_set_token_info(ctx, &info));
}


/* The zone decides whether the token is live; a token this worker has seen
 * is found in its cache first, so its record and hash are at hand (the
 * cache is the worker's own: no lock). */
static oap_cb_result
ngx_http_oauth2_cb_validate_bearer(void *ud, oap_str token,
    const oap_str *scopes, size_t scopes_len, oap_ctx *ctx)
{
    ngx_http_oauth2_bearer_t  b;

    b.token = token;
    b.slot = ngx_http_oauth2_cache_slot(token);
    b.hit = ngx_http_oauth2_cache_hit(b.slot, token);
    b.hash = b.hit ? b.slot->hash
                   : ngx_http_oauth2_hash(NGX_HTTP_OAUTH2_ACCESS, token);

    return ngx_http_oauth2_with_entry_hashed(ud, ctx, NGX_HTTP_OAUTH2_ACCESS,
                                             token, b.hash,
                                             ngx_http_oauth2_bearer_found, &b);
}


/* A live access token (`e`), else a live refresh token of that value. */
static oap_cb_result
ngx_http_oauth2_introspect_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str         *token = data;
    oap_token_type   type;
    oap_token_info   info;

    type = OAP_TOKEN_TYPE_ACCESS_TOKEN;

    if (e == NULL) {
        e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, *token);
        type = OAP_TOKEN_TYPE_REFRESH_TOKEN;

        if (e != NULL && e->rotated) {
            return OAP_CB_FALSE;
        }
    }

    if (!ngx_http_oauth2_access_live(z, e, now)) {
        return OAP_CB_FALSE;
    }

    ngx_http_oauth2_token_info(e, type, &info);

    return ngx_http_oauth2_ok(oap_ctx_set_token_info(ctx, &info));
}


static oap_cb_result
ngx_http_oauth2_cb_introspect(void *ud, oap_str token, oap_token_type hint,
    oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_ACCESS, token,
                                      ngx_http_oauth2_introspect_found,
                                      &token);
}


/* A live refresh token of the client `data`; a rotated one is reported
 * as reused (the library revokes the grant). */
static oap_cb_result
ngx_http_oauth2_refresh_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str                 *client_id = data;
    oap_refresh_token_info   info;

    if (e == NULL
        || !ngx_http_oauth2_eq(ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CLIENT),
                               *client_id))
    {
        return OAP_CB_FALSE;   /* unknown, or another client's */
    }

    if (e->rotated) {
        return ngx_http_oauth2_ok(oap_ctx_set_refresh_token_rotated(ctx,
                   ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT)));
    }

    if (!ngx_http_oauth2_access_live(z, e, now)) {
        return OAP_CB_FALSE;
    }

    ngx_memzero(&info, sizeof(info));
    info.struct_size = sizeof(info);
    info.client_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CLIENT);
    info.user = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_USER);
    info.scopes = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_SCOPES);
    info.grant_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT);
    info.expires_at = e->exp;

    return ngx_http_oauth2_ok(oap_ctx_set_refresh_token(ctx, &info));
}


static oap_cb_result
ngx_http_oauth2_cb_validate_refresh(void *ud, oap_str refresh_token,
    oap_str client_id, oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_REFRESH,
                                      refresh_token,
                                      ngx_http_oauth2_refresh_found,
                                      &client_id);
}


/* Marks the grant `e` revoked: a grant no longer known has no live token
 * and refuses late saves. */
static oap_cb_result
ngx_http_oauth2_revoke_grant_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    if (e != NULL) {
        e->revoked = 1;
    }

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_cb_revoke_grant(void *ud, oap_str grant_id, oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_GRANT, grant_id,
                                      ngx_http_oauth2_revoke_grant_found, NULL);
}


/* Revokes the access token `e`, else the refresh token of that value and
 * with it its grant (RFC 7009 2.1). */
static oap_cb_result
ngx_http_oauth2_revoke_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str  *token = data;

    if (e == NULL) {
        e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, *token);
        if (e == NULL) {
            return OAP_CB_TRUE;
        }

        (void) ngx_http_oauth2_revoke_grant_found(z,
                   ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_GRANT,
                       ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT)),
                   now, ctx, NULL);
    }

    e->revoked = 1;

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_cb_revoke_token(void *ud, oap_str token, oap_token_type hint,
    oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_ACCESS, token,
                                      ngx_http_oauth2_revoke_found, &token);
}


/* The two-step fallback of consume_and_save (the library calls it only
 * without consume_and_save): marks the code used or the refresh token
 * rotated, OAP_CB_TRUE when this call did; a code only for its client
 * (`data`, NULL for a refresh token). */
static oap_cb_result
ngx_http_oauth2_spend_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str  *client_id = data;

    if (e == NULL || e->rotated
        || (client_id != NULL
            && !ngx_http_oauth2_eq(ngx_http_oauth2_field(e,
                                       NGX_HTTP_OAUTH2_F_CLIENT), *client_id)))
    {
        return OAP_CB_FALSE;
    }

    e->rotated = 1;

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_cb_invalidate_refresh(void *ud, oap_str refresh_token,
    oap_ctx *ctx)
{
    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_REFRESH,
                                      refresh_token,
                                      ngx_http_oauth2_spend_found, NULL);
}


static oap_cb_result
ngx_http_oauth2_cb_invalidate_code(void *ud, oap_str client_id, oap_str code,
    oap_ctx *ctx)
{
    if (client_id.ptr == NULL) {
        return OAP_CB_FALSE;
    }

    return ngx_http_oauth2_with_entry(ud, ctx, NGX_HTTP_OAUTH2_CODE, code,
                                      ngx_http_oauth2_spend_found, &client_id);
}


/* ---- requests and responses ---- */

static ngx_int_t
ngx_http_oauth2_header_wanted(ngx_table_elt_t *h, ngx_uint_t with_body)
{
    if (h->key.len == sizeof("Authorization") - 1
        && ngx_strncasecmp(h->key.data, (u_char *) "Authorization",
                           h->key.len) == 0)
    {
        return 1;
    }

    return with_body
           && h->key.len == sizeof("Content-Type") - 1
           && ngx_strncasecmp(h->key.data, (u_char *) "Content-Type",
                              h->key.len) == 0;
}


/* The library's view of `r`: method, URI, the headers it reads
 * (Authorization, and Content-Type with a body; every occurrence, so that
 * duplicates are seen), and the body. */
static ngx_int_t
ngx_http_oauth2_request(ngx_http_request_t *r, ngx_uint_t with_body,
    oap_request *req)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i;
    ngx_buf_t        *b;
    ngx_array_t       hs;
    ngx_chain_t      *cl;
    oap_header       *oh;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_memzero(req, sizeof(oap_request));

    req->method.ptr = (const char *) r->method_name.data;
    req->method.len = r->method_name.len;
    req->uri.ptr = (const char *) r->unparsed_uri.data;
    req->uri.len = r->unparsed_uri.len;

    if (ngx_array_init(&hs, r->pool, 2, sizeof(oap_header)) != NGX_OK) {
        return NGX_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
            if (part->nelts == 0) {
                continue;
            }
        }

        if (!ngx_http_oauth2_header_wanted(&h[i], with_body)) {
            continue;
        }

        oh = ngx_array_push(&hs);
        if (oh == NULL) {
            return NGX_ERROR;
        }

        oh->name.ptr = (const char *) h[i].key.data;
        oh->name.len = h[i].key.len;
        oh->value.ptr = (const char *) h[i].value.data;
        oh->value.len = h[i].value.len;
    }

    req->headers = hs.elts;
    req->headers_len = hs.nelts;

    if (!with_body || r->request_body == NULL || r->request_body->bufs == NULL)
    {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        req->body.ptr = cl->buf->pos;
        req->body.len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return NGX_DECLINED;
        }
        len += cl->buf->last - cl->buf->pos;
    }

    p = ngx_pnalloc(r->pool, len ? len : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    req->body.ptr = p;
    req->body.len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_oauth2_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *content_type, ngx_array_t *headers, u_char *body, size_t len)
{
    ngx_int_t         rc;
    ngx_uint_t        i;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h, *src;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (content_type->len) {
        r->headers_out.content_type = *content_type;
        r->headers_out.content_type_len = content_type->len;
    }

    if (headers) {
        src = headers->elts;
        for (i = 0; i < headers->nelts; i++) {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            *h = src[i];
        }
    }

    if (len == 0) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* Sends the library's response (copied into the request pool) and frees
 * it. */
static ngx_int_t
ngx_http_oauth2_send_response(ngx_http_request_t *r, oap_response *resp)
{
    u_char           *body;
    size_t            i, n;
    oap_str           name, value;
    oap_bytes         bytes;
    ngx_str_t         ct;
    ngx_array_t       headers;
    ngx_uint_t        status;
    ngx_table_elt_t  *h;

    ngx_str_null(&ct);
    body = NULL;

    if (ngx_array_init(&headers, r->pool, 4, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        goto failed;
    }

    n = oap_response_header_count(resp);

    for (i = 0; i < n; i++) {
        if (oap_response_header(resp, i, &name, &value) != OAP_STATUS_OK) {
            goto failed;
        }

        if (name.len == sizeof("Content-Type") - 1
            && ngx_strncasecmp((u_char *) name.ptr, (u_char *) "Content-Type",
                               name.len) == 0)
        {
            ct.data = ngx_pnalloc(r->pool, value.len + 1);
            if (ct.data == NULL) {
                goto failed;
            }
            ct.len = value.len;
            ngx_memcpy(ct.data, value.ptr, value.len);
            continue;
        }

        h = ngx_array_push(&headers);
        if (h == NULL) {
            goto failed;
        }

        ngx_memzero(h, sizeof(ngx_table_elt_t));
        h->hash = 1;
        h->key.len = name.len;
        h->key.data = ngx_pnalloc(r->pool, name.len + value.len + 1);
        if (h->key.data == NULL) {
            goto failed;
        }
        ngx_memcpy(h->key.data, name.ptr, name.len);
        h->value.len = value.len;
        h->value.data = h->key.data + name.len;
        ngx_memcpy(h->value.data, value.ptr, value.len);
    }

    bytes = oap_response_body(resp);

    if (bytes.len) {
        body = ngx_pnalloc(r->pool, bytes.len);
        if (body == NULL) {
            goto failed;
        }
        ngx_memcpy(body, bytes.ptr, bytes.len);
    }

    status = oap_response_status(resp);
    oap_response_free(resp);

    return ngx_http_oauth2_send(r, status, &ct, &headers, body, bytes.len);

failed:

    oap_response_free(resp);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_oauth2_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *json)
{
    ngx_str_t  ct = ngx_string("application/json");

    return ngx_http_oauth2_send(r, status, &ct, NULL, (u_char *) json,
                                ngx_strlen(json));
}


static void
ngx_http_oauth2_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    oap_status                    st;
    oap_request                   req;
    oap_response                 *resp;
    ngx_http_oauth2_loc_conf_t   *lcf;
    ngx_http_oauth2_main_conf_t  *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oauth2_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_oauth2_module);

    if (r->request_body && r->request_body->temp_file) {
        /* a chunked body over client_body_buffer_size */
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }

    rc = ngx_http_oauth2_request(r, 1, &req);
    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    resp = NULL;

    switch (lcf->endpoint) {
    case NGX_HTTP_OAUTH2_ENDPOINT_TOKEN:
        st = oap_server_token_response(mcf->server, &req, &resp);
        break;
    case NGX_HTTP_OAUTH2_ENDPOINT_REVOCATION:
        st = oap_server_revocation_response(mcf->server, &req, &resp);
        break;
    case NGX_HTTP_OAUTH2_ENDPOINT_AUTHORIZATION:
        ngx_http_finalize_request(r, ngx_http_oauth2_authorize(r, &req));
        return;
    default: /* NGX_HTTP_OAUTH2_ENDPOINT_INTROSPECTION */
        st = oap_server_introspection_response(mcf->server, &req, &resp);
        break;
    }

    if (st == OAP_STATUS_INVALID_UTF8) {
        ngx_http_finalize_request(r, ngx_http_oauth2_send_error(r,
            NGX_HTTP_BAD_REQUEST,
            "{\"error\":\"invalid_request\","
            "\"error_description\":\"the request is not UTF-8\"}"));
        return;
    }

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: %s", oap_status_message(st).ptr);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_oauth2_send_response(r, resp));
}


static size_t
ngx_http_oauth2_json_len(ngx_str_t *s)
{
    size_t  i, n;

    n = 2;
    for (i = 0; i < s->len; i++) {
        n += (s->data[i] == '"' || s->data[i] == '\\') ? 2
             : (s->data[i] < 0x20) ? 6 : 1;
    }

    return n;
}


static u_char *
ngx_http_oauth2_json(u_char *p, ngx_str_t *s)
{
    size_t  i;

    *p++ = '"';
    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '"' || s->data[i] == '\\') {
            *p++ = '\\';
            *p++ = s->data[i];

        } else if (s->data[i] < 0x20) {
            p = ngx_sprintf(p, "\\u%04xd", (int) s->data[i]);

        } else {
            *p++ = s->data[i];
        }
    }
    *p++ = '"';

    return p;
}


/* The demo server's protected resource: {"user":…,"client_id":…,"scope":…}. */
static ngx_int_t
ngx_http_oauth2_resource(ngx_http_request_t *r)
{
    u_char                 *body, *p;
    size_t                  len;
    ngx_str_t               ct = ngx_string("application/json");
    ngx_array_t             headers;
    ngx_table_elt_t        *h;
    ngx_http_oauth2_req_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_oauth2_module);
    if (ctx == NULL || !ctx->granted) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: \"oauth2_endpoint resource\" needs "
                      "\"oauth2_bearer on\"");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("{\"user\":,\"client_id\":,\"scope\":}") - 1
          + (ctx->has_user ? ngx_http_oauth2_json_len(&ctx->user)
                           : sizeof("null") - 1)
          + ngx_http_oauth2_json_len(&ctx->client_id)
          + ngx_http_oauth2_json_len(&ctx->scope);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"user\":", sizeof("{\"user\":") - 1);
    p = ctx->has_user ? ngx_http_oauth2_json(p, &ctx->user)
                      : ngx_cpymem(p, "null", 4);
    p = ngx_cpymem(p, ",\"client_id\":", sizeof(",\"client_id\":") - 1);
    p = ngx_http_oauth2_json(p, &ctx->client_id);
    p = ngx_cpymem(p, ",\"scope\":", sizeof(",\"scope\":") - 1);
    p = ngx_http_oauth2_json(p, &ctx->scope);
    *p++ = '}';

    if (ngx_array_init(&headers, r->pool, 1, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_array_push(&headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(h, sizeof(ngx_table_elt_t));
    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    return ngx_http_oauth2_send(r, NGX_HTTP_OK, &ct, &headers, body, p - body);
}


static ngx_table_elt_t *
ngx_http_oauth2_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    ngx_memzero(h, sizeof(ngx_table_elt_t));
    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return h;
}


/* ---- the authorization endpoint ---- */

/* One parameter of the authorization request, carried by the consent
 * form. */
typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    value;
} ngx_http_oauth2_param_t;


/* What the consent form's submission carries besides the request. */
typedef struct {
    ngx_http_request_t          *request;
    ngx_array_t                 *params;     /* NULL: not collected */
    oap_str                      csrf;
    oap_str                      action;
    oap_str                      scope_choice;  /* the page had checkboxes */
    ngx_str_t                    approved;   /* the ticked scopes, joined */
    ngx_uint_t                   duplicate;
    ngx_uint_t                   nomem;
} ngx_http_oauth2_form_t;


static oap_cb_result
ngx_http_oauth2_form_pair(void *ud, oap_str name, oap_str value)
{
    u_char                   *buf, *last;
    oap_str                  *slot;
    ngx_http_oauth2_form_t   *form = ud;
    ngx_http_oauth2_param_t  *p;

    slot = NULL;

    if (ngx_http_oauth2_eq(name, (oap_str) OAP_STR_LIT("csrf_token"))) {
        slot = &form->csrf;

    } else if (ngx_http_oauth2_eq(name, (oap_str) OAP_STR_LIT("action"))) {
        slot = &form->action;

    } else if (ngx_http_oauth2_eq(name,
                                  (oap_str) OAP_STR_LIT("scope_choice")))
    {
        slot = &form->scope_choice;

    } else if (ngx_http_oauth2_eq(name,
                                  (oap_str) OAP_STR_LIT("approved_scope")))
    {
        /* one per ticked checkbox: joined with spaces */
        buf = ngx_pnalloc(form->request->pool,
                          form->approved.len + 1 + value.len + 1);
        if (buf == NULL) {
            form->nomem = 1;
            return OAP_CB_FALSE;
        }

        last = ngx_cpymem(buf, form->approved.data, form->approved.len);
        if (form->approved.len) {
            *last++ = ' ';
        }
        last = ngx_cpymem(last, value.ptr, value.len);

        form->approved.data = buf;
        form->approved.len = last - buf;

        return OAP_CB_TRUE;
    }

    if (slot != NULL) {
        if (slot->ptr != NULL) {
            form->duplicate = 1;
            return OAP_CB_TRUE;
        }

        slot->ptr = ngx_pnalloc(form->request->pool, value.len + 1);
        if (slot->ptr == NULL) {
            form->nomem = 1;
            return OAP_CB_FALSE;
        }
        ngx_memcpy((u_char *) slot->ptr, value.ptr, value.len);
        slot->len = value.len;
        return OAP_CB_TRUE;
    }

    if (form->params == NULL) {
        return OAP_CB_TRUE;
    }

    p = ngx_array_push(form->params);
    if (p == NULL
        || ngx_http_oauth2_copy(form->request->pool, &p->name, name) != NGX_OK
        || ngx_http_oauth2_copy(form->request->pool, &p->value, value)
           != NGX_OK)
    {
        form->nomem = 1;
        return OAP_CB_FALSE;
    }

    return OAP_CB_TRUE;
}


/* The resource owner nginx authenticated: oauth2_resource_owner's value,
 * else $remote_user (auth_basic). An empty string when there is none. */
static ngx_int_t
ngx_http_oauth2_owner(ngx_http_request_t *r, ngx_http_oauth2_loc_conf_t *lcf,
    ngx_str_t *user)
{
    ngx_str_null(user);

    if (lcf->owner != NULL) {
        return ngx_http_complex_value(r, lcf->owner, user);
    }

    if (r->headers_in.user.len == 0
        && ngx_http_auth_basic_user(r) != NGX_OK)
    {
        return NGX_OK;
    }

    *user = r->headers_in.user;

    return NGX_OK;
}


/* What a CSRF token is bound to besides the user: the pending request,
 * every field length-prefixed so that no two requests give one string. */
static ngx_int_t
ngx_http_oauth2_binding(ngx_http_request_t *r, oap_authorization *az,
    ngx_str_t *out)
{
    u_char      *p;
    size_t       len;
    oap_str      f[6];
    ngx_uint_t   i;

    f[0] = oap_authorization_client_id(az);
    f[1] = oap_authorization_redirect_uri(az);
    f[2] = oap_authorization_scopes(az);
    f[3] = oap_authorization_state(az);
    f[4] = oap_authorization_response_type(az);
    f[5] = oap_authorization_code_challenge(az);

    len = NGX_INT_T_LEN + 1;
    for (i = 0; i < 6; i++) {
        len += NGX_SIZE_T_LEN + 2 + f[i].len;
    }

    out->data = ngx_pnalloc(r->pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    for (i = 0; i < 6; i++) {
        /* an absent field is "-", a present one its length and bytes */
        if (f[i].ptr == NULL) {
            *p++ = '-';
            continue;
        }
        p = ngx_sprintf(p, "%uz:", f[i].len);
        p = ngx_cpymem(p, f[i].ptr, f[i].len);
    }
    p = ngx_sprintf(p, "%ui",
                    (ngx_uint_t) oap_authorization_code_challenge_method(az));

    out->len = p - out->data;

    return NGX_OK;
}


/* A CSRF token to store: its fields and lifetime. */
typedef struct {
    oap_str                      fields[NGX_HTTP_OAUTH2_NFIELDS];
    time_t                       ttl;
} ngx_http_oauth2_csrf_t;


/* Stores the CSRF token `data` unless its value is taken (`e`), within
 * the CSRF tokens' share of the zone. */
static oap_cb_result
ngx_http_oauth2_csrf_new_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    ngx_http_oauth2_csrf_t  *csrf = data;

    if (e != NULL) {
        return OAP_CB_ERROR;
    }

    e = ngx_http_oauth2_alloc(z, NGX_HTTP_OAUTH2_CSRF, csrf->fields, now);
    if (e == NULL) {
        return OAP_CB_ERROR;
    }

    ngx_http_oauth2_csrf_room(z, ngx_http_oauth2_size(e), now);

    if (z->sh->csrf_size + ngx_http_oauth2_size(e) > z->sh->csrf_max) {
        ngx_slab_free_locked(z->shpool, e);   /* larger than the share */
        return OAP_CB_ERROR;
    }

    e->iat = now;
    e->exp = now + csrf->ttl;
    ngx_http_oauth2_insert(z, e);

    return OAP_CB_TRUE;
}


/* Stores a new CSRF token for `user` and the pending request. NGX_ERROR
 * when no randomness or the zone is full. */
static ngx_int_t
ngx_http_oauth2_csrf_new(ngx_http_oauth2_main_conf_t *mcf, ngx_str_t *user,
    ngx_str_t *binding, oap_str client_id, ngx_str_t *csrf)
{
    size_t                  n;
    ngx_http_oauth2_csrf_t  c;

    if (oap_generate_token((char *) csrf->data, OAP_TOKEN_LEN, &n)
        != OAP_STATUS_OK)
    {
        return NGX_ERROR;
    }

    csrf->len = n;

    ngx_memzero(&c, sizeof(c));
    c.fields[NGX_HTTP_OAUTH2_F_KEY] = ngx_http_oauth2_str(csrf);
    c.fields[NGX_HTTP_OAUTH2_F_CLIENT] = client_id;
    c.fields[NGX_HTTP_OAUTH2_F_USER] = ngx_http_oauth2_str(user);
    c.fields[NGX_HTTP_OAUTH2_F_SCOPES] = ngx_http_oauth2_str(binding);
    c.ttl = mcf->consent_ttl == NGX_CONF_UNSET ? NGX_HTTP_OAUTH2_CSRF_TTL
                                                : mcf->consent_ttl;

    return ngx_http_oauth2_with_entry(mcf, NULL, NGX_HTTP_OAUTH2_CSRF,
                                      c.fields[NGX_HTTP_OAUTH2_F_KEY],
                                      ngx_http_oauth2_csrf_new_found, &c)
           == OAP_CB_TRUE ? NGX_OK : NGX_ERROR;
}


/* Spends the CSRF token `e`: OAP_CB_TRUE when it was issued to the user
 * and for the request of `data` (two strings) and has not expired.
 * Whatever the answer, the token is used up. */
static oap_cb_result
ngx_http_oauth2_csrf_take_found(ngx_http_oauth2_zone_t *z,
    ngx_http_oauth2_entry_t *e, uint64_t now, oap_ctx *ctx, void *data)
{
    oap_str        *want = data;
    oap_cb_result   rc;

    if (e == NULL) {
        return OAP_CB_FALSE;
    }

    rc = !ngx_http_oauth2_expired(e, now)
         && ngx_http_oauth2_eq(ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_USER),
                               want[0])
         && ngx_http_oauth2_eq(ngx_http_oauth2_field(e,
                                   NGX_HTTP_OAUTH2_F_SCOPES), want[1])
         ? OAP_CB_TRUE : OAP_CB_FALSE;

    ngx_http_oauth2_remove(z, e);

    return rc;
}


/* Spends the CSRF token `csrf`: NGX_OK when it was issued to `user` for
 * this very request (`binding`) and has not expired. */
static ngx_int_t
ngx_http_oauth2_csrf_take(ngx_http_oauth2_main_conf_t *mcf, oap_str csrf,
    ngx_str_t *user, ngx_str_t *binding)
{
    oap_str  want[2];

    want[0] = ngx_http_oauth2_str(user);
    want[1] = ngx_http_oauth2_str(binding);

    return ngx_http_oauth2_with_entry(mcf, NULL, NGX_HTTP_OAUTH2_CSRF, csrf,
                                      ngx_http_oauth2_csrf_take_found, want)
           == OAP_CB_TRUE ? NGX_OK : NGX_DECLINED;
}


/* Writes `s` HTML-escaped at `p` (or counts, when p is NULL, into *len). */
static u_char *
ngx_http_oauth2_html(u_char *p, size_t *len, u_char *s, size_t n)
{
    size_t       i;
    const char  *esc;

    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':  esc = "&amp;"; break;
        case '<':  esc = "&lt;"; break;
        case '>':  esc = "&gt;"; break;
        case '"':  esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        default:   esc = NULL; break;
        }

        if (p == NULL) {
            *len += esc ? ngx_strlen(esc) : 1;

        } else if (esc) {
            p = ngx_cpymem(p, esc, ngx_strlen(esc));

        } else {
            *p++ = s[i];
        }
    }

    return p;
}


/* Appends the literal `s` at `p` (or counts it). */
static u_char *
ngx_http_oauth2_lit(u_char *p, size_t *len, const char *s)
{
    size_t  n;

    n = ngx_strlen(s);

    if (p == NULL) {
        *len += n;
        return NULL;
    }

    return ngx_cpymem(p, s, n);
}


/* The consent page, written at `p` (or counted when p is NULL). */
static u_char *
ngx_http_oauth2_page(u_char *p, size_t *len, ngx_http_request_t *r,
    oap_authorization *az, ngx_str_t *user, ngx_str_t *csrf,
    ngx_array_t *params)
{
    size_t                    e;
    oap_str                   client, scopes;
    ngx_uint_t                i;
    ngx_http_oauth2_param_t  *prm;

    client = oap_authorization_client_id(az);
    scopes = oap_authorization_scopes(az);

    p = ngx_http_oauth2_lit(p, len, "<!DOCTYPE html>\n<html><head>"
                            "<meta charset=\"utf-8\"><title>Authorize ");
    p = ngx_http_oauth2_html(p, len, (u_char *) client.ptr, client.len);
    p = ngx_http_oauth2_lit(p, len, "</title></head><body>\n<h1>Authorize "
                            "<code>");
    p = ngx_http_oauth2_html(p, len, (u_char *) client.ptr, client.len);
    p = ngx_http_oauth2_lit(p, len, "</code></h1>\n<p>Signed in as <b>");
    p = ngx_http_oauth2_html(p, len, user->data, user->len);
    p = ngx_http_oauth2_lit(p, len, "</b>. The client asks for the scopes"
                            "</p>\n<form method=\"post\" action=\"");
    p = ngx_http_oauth2_html(p, len, r->uri.data, r->uri.len);
    p = ngx_http_oauth2_lit(p, len, "\">\n");

    /* a checkbox per scope, ticked: the user may untick some */
    for (i = 0; i < scopes.len; i = e + 1) {
        for (e = i; e < scopes.len && scopes.ptr[e] != ' '; e++) { /* void */ }

        if (e == i) {
            continue;
        }

        p = ngx_http_oauth2_lit(p, len, "<label><input type=\"checkbox\" "
                                "name=\"approved_scope\" value=\"");
        p = ngx_http_oauth2_html(p, len, (u_char *) scopes.ptr + i, e - i);
        p = ngx_http_oauth2_lit(p, len, "\" checked> <code>");
        p = ngx_http_oauth2_html(p, len, (u_char *) scopes.ptr + i, e - i);
        p = ngx_http_oauth2_lit(p, len, "</code></label><br>\n");
    }

    if (scopes.len) {
        p = ngx_http_oauth2_lit(p, len, "<input type=\"hidden\" "
                                "name=\"scope_choice\" value=\"1\">\n");
    } else {
        p = ngx_http_oauth2_lit(p, len, "<p>(no scope)</p>\n");
    }

    prm = params->elts;
    for (i = 0; i < params->nelts; i++) {
        p = ngx_http_oauth2_lit(p, len, "<input type=\"hidden\" name=\"");
        p = ngx_http_oauth2_html(p, len, prm[i].name.data, prm[i].name.len);
        p = ngx_http_oauth2_lit(p, len, "\" value=\"");
        p = ngx_http_oauth2_html(p, len, prm[i].value.data, prm[i].value.len);
        p = ngx_http_oauth2_lit(p, len, "\">\n");
    }

    p = ngx_http_oauth2_lit(p, len, "<input type=\"hidden\" "
                            "name=\"csrf_token\" value=\"");
    p = ngx_http_oauth2_html(p, len, csrf->data, csrf->len);
    p = ngx_http_oauth2_lit(p, len, "\">\n<button type=\"submit\" "
                            "name=\"action\" value=\"approve\">Approve"
                            "</button>\n<button type=\"submit\" "
                            "name=\"action\" value=\"deny\">Deny</button>\n"
                            "</form></body></html>\n");

    return p;
}


static ngx_int_t
ngx_http_oauth2_send_page(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_str_t         ct = ngx_string("text/html; charset=utf-8");
    ngx_str_t         v;
    ngx_array_t       headers;
    ngx_table_elt_t  *h;

    static const char  *hs[][2] = {
        { "Cache-Control", "no-store" },
        { "X-Frame-Options", "DENY" },
        { "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'" },
    };

    ngx_uint_t  i;

    if (ngx_array_init(&headers, r->pool, 3, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        h = ngx_array_push(&headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ngx_memzero(h, sizeof(ngx_table_elt_t));
        h->hash = 1;
        h->key.data = (u_char *) hs[i][0];
        h->key.len = ngx_strlen(hs[i][0]);
        v.data = (u_char *) hs[i][1];
        v.len = ngx_strlen(hs[i][1]);
        h->value = v;
    }

    return ngx_http_oauth2_send(r, status, &ct, &headers, body, len);
}


/* The consent page for a validated request: a new CSRF token bound to the
 * user and the request, and the request's parameters as hidden fields. */
static ngx_int_t
ngx_http_oauth2_consent(ngx_http_request_t *r, ngx_http_oauth2_main_conf_t *mcf,
    oap_authorization *az, ngx_str_t *user, ngx_str_t *binding)
{
    u_char                  *body, *end;
    size_t                   len;
    oap_bytes                query;
    ngx_str_t                csrf;
    ngx_http_oauth2_form_t   form;

    ngx_memzero(&form, sizeof(form));
    form.request = r;
    form.params = ngx_array_create(r->pool, 8, sizeof(ngx_http_oauth2_param_t));
    if (form.params == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    query.ptr = r->args.data;
    query.len = r->args.len;

    /* the library parsed it already: a failure here is ours */
    if (oap_form_parse(query, ngx_http_oauth2_form_pair, &form) != OAP_STATUS_OK
        || form.nomem)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    csrf.data = ngx_pnalloc(r->pool, OAP_TOKEN_LEN);
    if (csrf.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_oauth2_csrf_new(mcf, user, binding,
                                 oap_authorization_client_id(az), &csrf)
        != NGX_OK)
    {
        return ngx_http_oauth2_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "{\"error\":\"server_error\"}");
    }

    len = 0;
    ngx_http_oauth2_page(NULL, &len, r, az, user, &csrf, form.params);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = ngx_http_oauth2_page(body, &len, r, az, user, &csrf, form.params);

    return ngx_http_oauth2_send_page(r, NGX_HTTP_OK, body, end - body);
}


/* GET: validate the request, show the consent page. POST (the form):
 * validate the request again, spend the CSRF token, approve or deny. The
 * library answers every invalid request: a redirect with the error, or,
 * for an unknown client or redirect URI, a 400 that is never redirected. */
static ngx_int_t
ngx_http_oauth2_authorize(ngx_http_request_t *r, oap_request *req)
{
    ngx_int_t                     rc;
    oap_bytes                     body;
    oap_str                       approved, requested;
    ngx_str_t                     user, binding, asked;
    oap_status                    st;
    oap_response                 *resp;
    oap_authorization            *az;
    ngx_http_oauth2_form_t        form;
    ngx_http_oauth2_loc_conf_t   *lcf;
    ngx_http_oauth2_main_conf_t  *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oauth2_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_oauth2_module);

    az = NULL;
    resp = NULL;

    st = oap_server_validate_authorization_request(mcf->server, req, &az,
                                                   &resp);
    if (st == OAP_STATUS_INVALID_UTF8) {
        return ngx_http_oauth2_send_error(r, NGX_HTTP_BAD_REQUEST,
            "{\"error\":\"invalid_request\","
            "\"error_description\":\"the request is not UTF-8\"}");
    }

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: %s", oap_status_message(st).ptr);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (resp != NULL) {
        return ngx_http_oauth2_send_response(r, resp);
    }

    if (ngx_http_oauth2_owner(r, lcf, &user) != NGX_OK
        || ngx_http_oauth2_binding(r, az, &binding) != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (user.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: the authorization endpoint has no "
                      "authenticated user (auth_basic, or "
                      "\"oauth2_resource_owner\")");
        rc = NGX_HTTP_FORBIDDEN;
        goto done;
    }

    if (r->method != NGX_HTTP_POST) {
        rc = ngx_http_oauth2_consent(r, mcf, az, &user, &binding);
        goto done;
    }

    ngx_memzero(&form, sizeof(form));
    form.request = r;
    body.ptr = (const uint8_t *) req->body.ptr;
    body.len = req->body.len;

    if (oap_form_parse(body, ngx_http_oauth2_form_pair, &form) != OAP_STATUS_OK
        || form.nomem)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (form.csrf.ptr == NULL || form.duplicate
        || ngx_http_oauth2_csrf_take(mcf, form.csrf, &user, &binding) != NGX_OK)
    {
        rc = ngx_http_oauth2_send_error(r, NGX_HTTP_FORBIDDEN,
            "{\"error\":\"access_denied\",\"error_description\":"
            "\"the consent form's CSRF token is missing, wrong, used or "
            "expired\"}");
        goto done;
    }

    /* With the page's checkboxes: the ticked scopes, a subset of those
     * asked for; none ticked denies. Without (a form of its own): all. */
    approved.ptr = NULL;
    approved.len = 0;

    if (form.scope_choice.ptr != NULL) {
        approved = ngx_http_oauth2_str(&form.approved);
        requested = oap_authorization_scopes(az);
        asked.data = (u_char *) requested.ptr;
        asked.len = requested.len;

        if (!ngx_http_oauth2_scopes_within(&asked, approved)) {
            rc = ngx_http_oauth2_send_error(r, NGX_HTTP_BAD_REQUEST,
                "{\"error\":\"invalid_request\",\"error_description\":"
                "\"an approved scope was not asked for\"}");
            goto done;
        }
    }

    if (ngx_http_oauth2_eq(form.action, (oap_str) OAP_STR_LIT("approve"))
        && (form.scope_choice.ptr == NULL || form.approved.len != 0))
    {
        st = oap_server_authorize(mcf->server, az, req,
                                  ngx_http_oauth2_str(&user), approved, &resp);

    } else if (ngx_http_oauth2_eq(form.action,
                                  (oap_str) OAP_STR_LIT("approve")))
    {
        st = oap_server_deny(mcf->server, az, &resp);   /* nothing approved */

    } else if (ngx_http_oauth2_eq(form.action, (oap_str) OAP_STR_LIT("deny"))) {
        st = oap_server_deny(mcf->server, az, &resp);

    } else {
        rc = ngx_http_oauth2_send_error(r, NGX_HTTP_BAD_REQUEST,
            "{\"error\":\"invalid_request\",\"error_description\":"
            "\"action is approve or deny\"}");
        goto done;
    }

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: %s", oap_status_message(st).ptr);
        rc = st == OAP_STATUS_INVALID_UTF8 || st == OAP_STATUS_INVALID_PARAMETER
             ? NGX_HTTP_BAD_REQUEST : NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    rc = ngx_http_oauth2_send_response(r, resp);

done:

    oap_authorization_free(az);

    return rc;
}


static ngx_int_t
ngx_http_oauth2_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_str_t  value;

    value.data = (u_char *) allow;
    value.len = ngx_strlen(allow);

    if (ngx_http_oauth2_add_header(r, "Allow", &value) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_HTTP_NOT_ALLOWED;
}


static ngx_int_t
ngx_http_oauth2_content_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    oap_status                    st;
    oap_request                   req;
    oap_response                 *resp;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_oauth2_loc_conf_t   *lcf;
    ngx_http_oauth2_main_conf_t  *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oauth2_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_oauth2_module);

    if (lcf->endpoint == NGX_HTTP_OAUTH2_ENDPOINT_METADATA
        || lcf->endpoint == NGX_HTTP_OAUTH2_ENDPOINT_RESOURCE)
    {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_oauth2_not_allowed(r, "GET, HEAD");
        }

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (lcf->endpoint == NGX_HTTP_OAUTH2_ENDPOINT_RESOURCE) {
            return ngx_http_oauth2_resource(r);
        }

        if (mcf->server == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        st = oap_server_metadata_response(mcf->server, &resp);
        if (st != OAP_STATUS_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_oauth2_send_response(r, resp);
    }

    if (mcf->server == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lcf->endpoint == NGX_HTTP_OAUTH2_ENDPOINT_AUTHORIZATION
        && (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_oauth2_request(r, 0, &req) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_oauth2_authorize(r, &req);
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_oauth2_not_allowed(r,
                   lcf->endpoint == NGX_HTTP_OAUTH2_ENDPOINT_AUTHORIZATION
                   ? "GET, HEAD, POST" : "POST");
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->headers_in.content_length_n > (off_t) clcf->client_body_buffer_size)
    {
        /* it would be spooled to a file */
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_oauth2_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* ---- the bearer check ---- */

static ngx_int_t
ngx_http_oauth2_copy(ngx_pool_t *pool, ngx_str_t *dst, oap_str src)
{
    dst->len = src.len;
    dst->data = ngx_pnalloc(pool, src.len ? src.len : 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(dst->data, src.ptr, src.len);

    return NGX_OK;
}


/* Keeps what the token grants for the variables and the resource: one
 * allocation for the three strings (the grant is lent until the worker's
 * next check, and a later request's check runs before this one's log
 * phase). NGX_ERROR without memory. */
static ngx_int_t
ngx_http_oauth2_granted(ngx_http_oauth2_req_t *ctx, const oap_bearer_grant *g)
{
    u_char  *p;

    ctx->has_user = g->username.ptr != NULL;
    ctx->granted = 1;

    p = ngx_pnalloc(ctx->request->pool,
                    g->client_id.len + g->username.len + g->scopes.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->client_id.data = p;
    ctx->client_id.len = g->client_id.len;
    p = ngx_cpymem(p, g->client_id.ptr, g->client_id.len);

    if (ctx->has_user) {
        ctx->user.data = p;
        ctx->user.len = g->username.len;
        p = ngx_cpymem(p, g->username.ptr, g->username.len);
    }

    ctx->scope.data = p;
    ctx->scope.len = g->scopes.len;
    ngx_memcpy(p, g->scopes.ptr, g->scopes.len);

    return NGX_OK;
}


/* The error code of a challenge (error="…"), for $oauth2_error. */
static void
ngx_http_oauth2_reason(ngx_http_oauth2_req_t *ctx, ngx_str_t *challenge,
    ngx_uint_t status)
{
    u_char  *p, *end, *q;

    ngx_str_set(&ctx->error, "invalid_request");

    if (status == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_str_set(&ctx->error, "server_error");
        return;
    }

    p = ngx_strnstr(challenge->data, "error=\"", challenge->len);
    if (p == NULL) {
        if (status == NGX_HTTP_UNAUTHORIZED) {
            ngx_str_set(&ctx->error, "missing_token");
        }
        return;
    }

    p += sizeof("error=\"") - 1;
    end = challenge->data + challenge->len;
    q = ngx_strlchr(p, end, '"');
    if (q != NULL) {
        ctx->error.data = p;
        ctx->error.len = q - p;
    }
}


static ngx_int_t
ngx_http_oauth2_access_handler(ngx_http_request_t *r)
{
    oap_str                       value, auth;
    ngx_str_t                     challenge;
    ngx_uint_t                    status;
    oap_status                    st;
    oap_response                 *resp;
    const oap_bearer_grant       *grant;
    ngx_http_oauth2_req_t        *ctx;
    ngx_http_oauth2_loc_conf_t   *lcf;
    ngx_http_oauth2_main_conf_t  *mcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_oauth2_module);

    if (!lcf->bearer) {
        return NGX_DECLINED;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_oauth2_module);

    ctx = ngx_http_get_module_ctx(r, ngx_http_oauth2_module);
    if (ctx != NULL && ctx->granted) {
        return NGX_OK;
    }

    if (mcf->server == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: \"oauth2_bearer\" without \"oauth2_zone\"");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_oauth2_req_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }
        ctx->request = r;
        ngx_http_set_ctx(r, ctx, ngx_http_oauth2_module);
    }

    if (ngx_http_oauth2_check == NULL
        && oap_bearer_check_new(&ngx_http_oauth2_check) != OAP_STATUS_OK)
    {
        ngx_str_set(&ctx->error, "server_error");
        return ngx_http_oauth2_refuse(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                      "{\"error\":\"server_error\"}");
    }

    /* nginx itself refuses a request with two Authorization headers (400):
     * the one it kept is all the check reads (the server takes tokens from
     * that header only: no body or query to look at) */
    auth.ptr = NULL;
    auth.len = 0;

    if (r->headers_in.authorization != NULL) {
        auth.ptr = (const char *) r->headers_in.authorization->value.data;
        auth.len = r->headers_in.authorization->value.len;
    }

    grant = NULL;
    resp = NULL;
    st = oap_server_check_bearer(mcf->server, ngx_http_oauth2_check, auth,
                                 NULL,
                                 lcf->scopes ? lcf->scopes->elts : NULL,
                                 lcf->scopes ? lcf->scopes->nelts : 0,
                                 &grant, &resp);

    if (st == OAP_STATUS_INVALID_UTF8) {
        ngx_str_set(&ctx->error, "invalid_request");
        return ngx_http_oauth2_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "{\"error\":\"invalid_request\","
                   "\"error_description\":\"the request is not UTF-8\"}");
    }

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: %s", oap_status_message(st).ptr);
        ngx_str_set(&ctx->error, "server_error");
        return ngx_http_oauth2_refuse(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                                      "{\"error\":\"server_error\"}");
    }

    if (grant != NULL) {
        if (ngx_http_oauth2_granted(ctx, grant) != NGX_OK) {
            ctx->granted = 0;
            ngx_str_set(&ctx->error, "server_error");
            return ngx_http_oauth2_refuse(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NULL, "{\"error\":\"server_error\"}");
        }
        return NGX_OK;
    }

    ctx->granted = 0;
    status = oap_response_status(resp);

    if (oap_response_header_value(resp, (oap_str) OAP_STR_LIT("WWW-Authenticate"),
                                  &value) == OAP_STATUS_OK)
    {
        if (ngx_http_oauth2_copy(r->pool, &challenge, value) != NGX_OK) {
            oap_response_free(resp);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        ngx_str_null(&challenge);
    }

    ngx_http_oauth2_reason(ctx, &challenge, status);

    return ngx_http_oauth2_refuse(r, status, resp, NULL);
}


/* Answers a refused bearer check as the demo server does: the library's
 * response (status, WWW-Authenticate, JSON body), or the JSON `json`
 * without one, instead of nginx's HTML error page. With `satisfy any`
 * another access module may still let the request in: the status is
 * returned to the access phase then (its challenge header kept). */
static ngx_int_t
ngx_http_oauth2_refuse(ngx_http_request_t *r, ngx_uint_t status,
    oap_response *resp, const char *json)
{
    oap_str                    value;
    ngx_int_t                  rc;
    ngx_str_t                  challenge;
    ngx_table_elt_t           *h;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy != NGX_HTTP_SATISFY_ALL) {
        if (resp != NULL
            && oap_response_header_value(resp,
                   (oap_str) OAP_STR_LIT("WWW-Authenticate"), &value)
               == OAP_STATUS_OK)
        {
            if (ngx_http_oauth2_copy(r->pool, &challenge, value) != NGX_OK) {
                oap_response_free(resp);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            h = ngx_http_oauth2_add_header(r, "WWW-Authenticate", &challenge);
            if (h == NULL) {
                oap_response_free(resp);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            r->headers_out.www_authenticate = h;
        }

        oap_response_free(resp);

        return status;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        oap_response_free(resp);
        return rc;
    }

    rc = resp != NULL ? ngx_http_oauth2_send_response(r, resp)
                      : ngx_http_oauth2_send_error(r, status, json);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_oauth2_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t              *s;
    ngx_http_oauth2_req_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_oauth2_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


/* ---- configuration ---- */

static ngx_int_t
ngx_http_oauth2_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_oauth2_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_oauth2_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_oauth2_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_oauth2_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->grants = NGX_CONF_UNSET_UINT;
    mcf->consent_ttl = NGX_CONF_UNSET;

    if (ngx_array_init(&mcf->clients, cf->pool, 4,
                       sizeof(ngx_http_oauth2_client_t)) != NGX_OK
        || ngx_array_init(&mcf->users, cf->pool, 4,
                          sizeof(ngx_http_oauth2_user_t)) != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static void *
ngx_http_oauth2_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_oauth2_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_oauth2_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    lcf->bearer = NGX_CONF_UNSET;
    lcf->scopes = NGX_CONF_UNSET_PTR;
    lcf->owner = NGX_CONF_UNSET_PTR;

    return lcf;
}


static char *
ngx_http_oauth2_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_oauth2_loc_conf_t  *prev = parent;
    ngx_http_oauth2_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->bearer, prev->bearer, 0);
    ngx_conf_merge_ptr_value(conf->scopes, prev->scopes, NULL);
    ngx_conf_merge_ptr_value(conf->owner, prev->owner, NULL);

    return NGX_CONF_OK;
}


static char *
ngx_http_oauth2_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_main_conf_t  *mcf = conf;

    ssize_t                  size;
    ngx_str_t               *value;
    ngx_http_oauth2_zone_t  *z;

    if (mcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_oauth2_zone_t));
    if (z == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                          &ngx_http_oauth2_module);
    if (mcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->shm_zone->init = ngx_http_oauth2_init_zone;
    mcf->shm_zone->data = z;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_oauth2_grant_bit(ngx_str_t *name, ngx_uint_t *bit)
{
    static struct {
        const char  *name;
        ngx_uint_t   bit;
    } grants[] = {
        { "authorization_code", OAP_GRANT_AUTHORIZATION_CODE },
        { "implicit", OAP_GRANT_IMPLICIT },
        { "password", OAP_GRANT_PASSWORD },
        { "client_credentials", OAP_GRANT_CLIENT_CREDENTIALS },
        { "refresh_token", OAP_GRANT_REFRESH_TOKEN },
    };

    ngx_uint_t  i;

    for (i = 0; i < sizeof(grants) / sizeof(grants[0]); i++) {
        if (name->len == ngx_strlen(grants[i].name)
            && ngx_strncmp(name->data, grants[i].name, name->len) == 0)
        {
            *bit = grants[i].bit;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}


/* oauth2_grants authorization_code client_credentials password
 * refresh_token; the implicit grant is not served. */
static char *
ngx_http_oauth2_grants(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_main_conf_t  *mcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i, bit;

    if (mcf->grants != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    mcf->grants = 0;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_oauth2_grant_bit(&value[i], &bit) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown grant \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (bit & OAP_GRANT_IMPLICIT) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "grant \"%V\" is not served", &value[i]);
            return NGX_CONF_ERROR;
        }

        mcf->grants |= bit;
    }

    return NGX_CONF_OK;
}


/* oauth2_client ID [secret=S] [grants=a,b] [scopes="a b"]
 *               [default_scopes="a"] [redirect_uri=U]... [introspect]
 *               [pkce]; */
static char *
ngx_http_oauth2_client(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_main_conf_t  *mcf = conf;

    u_char                    *p, *end, *comma;
    oap_str                   *uri;
    ngx_str_t                 *value, name;
    ngx_uint_t                 i, bit;
    ngx_http_oauth2_client_t  *c;

    value = cf->args->elts;

    if (ngx_http_oauth2_find_client(mcf, ngx_http_oauth2_str(&value[1]))) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate client \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    c = ngx_array_push(&mcf->clients);
    if (c == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(c, sizeof(ngx_http_oauth2_client_t));
    c->id = value[1];

    if (ngx_array_init(&c->redirect_uris, cf->pool, 2, sizeof(oap_str))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret=", 7) == 0) {
            c->secret.data = value[i].data + 7;
            c->secret.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "scopes=", 7) == 0) {
            c->scopes.data = value[i].data + 7;
            c->scopes.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "default_scopes=", 15) == 0) {
            c->default_scopes.data = value[i].data + 15;
            c->default_scopes.len = value[i].len - 15;
            continue;
        }

        if (ngx_strncmp(value[i].data, "redirect_uri=", 13) == 0) {
            uri = ngx_array_push(&c->redirect_uris);
            if (uri == NULL) {
                return NGX_CONF_ERROR;
            }
            uri->ptr = (const char *) value[i].data + 13;
            uri->len = value[i].len - 13;
            continue;
        }

        if (ngx_strncmp(value[i].data, "grants=", 7) == 0) {
            p = value[i].data + 7;
            end = value[i].data + value[i].len;

            while (p < end) {
                comma = ngx_strlchr(p, end, ',');
                if (comma == NULL) {
                    comma = end;
                }

                name.data = p;
                name.len = comma - p;

                if (ngx_http_oauth2_grant_bit(&name, &bit) != NGX_OK) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "unknown grant \"%V\"", &name);
                    return NGX_CONF_ERROR;
                }

                c->grants |= bit;
                p = comma + 1;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "introspect") == 0) {
            c->introspect = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "pkce") == 0) {
            c->pkce = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_oauth2_user(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_main_conf_t  *mcf = conf;

    ngx_str_t               *value;
    ngx_http_oauth2_user_t  *u;

    value = cf->args->elts;

    u = ngx_array_push(&mcf->users);
    if (u == NULL) {
        return NGX_CONF_ERROR;
    }

    u->name = value[1];
    u->password = value[2];

    return NGX_CONF_OK;
}


static char *
ngx_http_oauth2_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_loc_conf_t  *lcf = conf;

    static const char  *names[] = {
        "", "token", "revocation", "introspection", "metadata", "resource",
        "authorization"
    };

    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->endpoint) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ngx_strcmp(value[1].data, names[i]) == 0) {
            lcf->endpoint = i;
            break;
        }
    }

    if (lcf->endpoint == NGX_HTTP_OAUTH2_ENDPOINT_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown endpoint \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_oauth2_content_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_oauth2_bearer_scopes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_loc_conf_t  *lcf = conf;

    oap_str     *s;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (lcf->scopes != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    lcf->scopes = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                   sizeof(oap_str));
    if (lcf->scopes == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        s = ngx_array_push(lcf->scopes);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }
        *s = ngx_http_oauth2_str(&value[i]);
    }

    return NGX_CONF_OK;
}


/* oauth2_resource_owner $variable; the user the authorization endpoint
 * approves for (default: $remote_user). */
static char *
ngx_http_oauth2_resource_owner(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_oauth2_loc_conf_t  *lcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (lcf->owner != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    lcf->owner = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (lcf->owner == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&ccv, sizeof(ccv));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = lcf->owner;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_oauth2_cleanup(void *data)
{
    ngx_http_oauth2_main_conf_t  *mcf = data;

    ngx_uint_t                 i;
    ngx_http_oauth2_client_t  *c;

    oap_server_free(mcf->server);
    mcf->server = NULL;

    c = mcf->clients.elts;
    for (i = 0; i < mcf->clients.nelts; i++) {
        oap_registered_client_free(c[i].registered);
        c[i].registered = NULL;
    }
}


/* The library's description of a configured client. */
static void
ngx_http_oauth2_client_desc(ngx_http_oauth2_client_t *c, oap_client *desc)
{
    ngx_memzero(desc, sizeof(oap_client));
    desc->struct_size = sizeof(oap_client);
    desc->client_id = ngx_http_oauth2_str(&c->id);
    desc->secret_kind = c->secret.len ? OAP_SECRET_PLAIN : OAP_SECRET_NONE;
    desc->secret = ngx_http_oauth2_str(&c->secret);
    desc->redirect_uris = c->redirect_uris.elts;
    desc->redirect_uris_len = c->redirect_uris.nelts;
    desc->grants = (oap_grants) c->grants;
    desc->may_introspect = c->introspect ? 1 : 0;
}


/* The server's configuration from the directives. */
static void
ngx_http_oauth2_config(ngx_http_oauth2_main_conf_t *mcf, oap_config *config)
{
    *config = oap_config_default();
    config->grants = mcf->grants == NGX_CONF_UNSET_UINT
                     ? (OAP_GRANT_CLIENT_CREDENTIALS|OAP_GRANT_REFRESH_TOKEN)
                     : (oap_grants) mcf->grants;
    config->issuer = ngx_http_oauth2_str(&mcf->issuer);
    config->realm = ngx_http_oauth2_str(&mcf->realm);
    config->scopes_supported = ngx_http_oauth2_str(&mcf->scopes_supported);
}


/* With oauth2_sqlite, in the master once the configuration is read (and
 * on every reload): the database is opened (created and migrated if
 * need be), the configured clients and users are registered in it, and
 * the file is given to the workers' user. The workers then open it
 * themselves (an SQLite connection must not cross fork()). */
static ngx_int_t
ngx_http_oauth2_init_module(ngx_cycle_t *cycle)
{
    oap_client                    desc;
    oap_sqlite                   *store;
    oap_status                    st;
    ngx_uint_t                    i;
    ngx_core_conf_t              *ccf;
    ngx_http_oauth2_user_t       *u;
    ngx_http_oauth2_client_t     *c;
    ngx_http_oauth2_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_oauth2_module);

    if (mcf == NULL || mcf->sqlite.len == 0 || mcf->server == NULL) {
        return NGX_OK;
    }

    /* a relative path is the prefix's, as nginx's own files */
    if (ngx_get_full_name(cycle->pool, &cycle->prefix, &mcf->sqlite)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    st = oap_sqlite_open(ngx_http_oauth2_str(&mcf->sqlite), &store);
    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "oauth2_sqlite \"%V\": %s", &mcf->sqlite,
                      oap_status_message(st).ptr);
        return NGX_ERROR;
    }

    c = mcf->clients.elts;
    for (i = 0; st == OAP_STATUS_OK && i < mcf->clients.nelts; i++) {
        ngx_http_oauth2_client_desc(&c[i], &desc);
        st = oap_sqlite_upsert_client(store, &desc,
                                      ngx_http_oauth2_str(&c[i].scopes),
                                      ngx_http_oauth2_str(&c[i].default_scopes),
                                      c[i].pkce ? 1 : 0);
    }

    /* a password hash each (PBKDF2): a noticeable fraction of a second */
    u = mcf->users.elts;
    for (i = 0; st == OAP_STATUS_OK && i < mcf->users.nelts; i++) {
        st = oap_sqlite_add_user(store, ngx_http_oauth2_str(&u[i].name),
                                 ngx_http_oauth2_str(&u[i].password));
    }

    oap_sqlite_free(store);

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "oauth2_sqlite \"%V\": registering the configuration: "
                      "%s", &mcf->sqlite, oap_status_message(st).ptr);
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() == 0
        && chown((char *) mcf->sqlite.data, ccf->user, ccf->group) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "oauth2_sqlite: chown(\"%V\") failed", &mcf->sqlite);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* With oauth2_sqlite, in each worker: a server over its own connection to
 * the database replaces the one over the zone's callbacks. */
static ngx_int_t
ngx_http_oauth2_init_process(ngx_cycle_t *cycle)
{
    oap_config                    config;
    oap_server                   *server;
    oap_sqlite                   *store;
    oap_status                    st;
    ngx_http_oauth2_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_oauth2_module);

    if (mcf == NULL || mcf->sqlite.len == 0 || mcf->server == NULL) {
        return NGX_OK;
    }

    st = oap_sqlite_open(ngx_http_oauth2_str(&mcf->sqlite), &store);

    if (st == OAP_STATUS_OK) {
        ngx_http_oauth2_config(mcf, &config);
        st = oap_server_new_sqlite(&config, store, &server);
        oap_sqlite_free(store);   /* the server keeps the store open */
    }

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "oauth2_sqlite \"%V\": %s", &mcf->sqlite,
                      oap_status_message(st).ptr);
        return NGX_ERROR;
    }

    mcf->zone_server = mcf->server;
    mcf->server = server;

    return NGX_OK;
}


/* Registers every client once and makes the server, in the master before
 * the workers are forked: it holds no random state (every token's bytes are
 * drawn from the operating system when it is issued). */
static ngx_int_t
ngx_http_oauth2_init(ngx_conf_t *cf)
{
    oap_client                    desc;
    oap_config                    config;
    oap_status                    st;
    oap_validator                 v;
    ngx_uint_t                    i;
    ngx_pool_cleanup_t           *cln;
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_oauth2_client_t     *c;
    ngx_http_oauth2_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_oauth2_module);
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_oauth2_access_handler;

    if (mcf->shm_zone == NULL) {
        if (mcf->clients.nelts || mcf->users.nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"oauth2_client\" and \"oauth2_user\" need "
                               "\"oauth2_zone\"");
            return NGX_ERROR;
        }
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_oauth2_cleanup;
    cln->data = mcf;

    c = mcf->clients.elts;
    for (i = 0; i < mcf->clients.nelts; i++) {
        ngx_http_oauth2_client_desc(&c[i], &desc);

        st = oap_registered_client_new(&desc, &c[i].registered);
        if (st != OAP_STATUS_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oauth2_client \"%V\": %s", &c[i].id,
                               oap_status_message(st).ptr);
            return NGX_ERROR;
        }
    }

    ngx_http_oauth2_config(mcf, &config);

    ngx_memzero(&v, sizeof(v));
    v.struct_size = sizeof(v);
    v.user_data = mcf;
    v.find_client = ngx_http_oauth2_cb_find_client;
    v.get_default_scopes = ngx_http_oauth2_cb_default_scopes;
    v.validate_scopes = ngx_http_oauth2_cb_validate_scopes;
    v.is_pkce_required = ngx_http_oauth2_cb_pkce_required;
    v.validate_user = ngx_http_oauth2_cb_validate_user;
    v.save_bearer_token = ngx_http_oauth2_cb_save_bearer_token;
    v.consume_and_save = ngx_http_oauth2_cb_consume_and_save;
    v.validate_bearer_token = ngx_http_oauth2_cb_validate_bearer;
    v.introspect_token = ngx_http_oauth2_cb_introspect;
    v.validate_refresh_token = ngx_http_oauth2_cb_validate_refresh;
    v.invalidate_refresh_token = ngx_http_oauth2_cb_invalidate_refresh;
    v.revoke_token = ngx_http_oauth2_cb_revoke_token;
    v.revoke_grant = ngx_http_oauth2_cb_revoke_grant;
    v.save_authorization_code = ngx_http_oauth2_cb_save_code;
    v.validate_code = ngx_http_oauth2_cb_validate_code;
    v.invalidate_authorization_code = ngx_http_oauth2_cb_invalidate_code;

    st = oap_server_new(&config, &v, &mcf->server);
    if (st != OAP_STATUS_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "oauth2: the server cannot be made: %s "
                           "(\"oauth2_issuer\" is required, an https URL "
                           "or http on a loopback host)",
                           oap_status_message(st).ptr);
        return NGX_ERROR;
    }

    return NGX_OK;
}
