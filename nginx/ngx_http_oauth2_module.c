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

/* Kinds of entries in the zone. */
#define NGX_HTTP_OAUTH2_ACCESS   1
#define NGX_HTTP_OAUTH2_REFRESH  2
#define NGX_HTTP_OAUTH2_GRANT    3

/* The strings of an entry. */
#define NGX_HTTP_OAUTH2_F_KEY     0
#define NGX_HTTP_OAUTH2_F_CLIENT  1
#define NGX_HTTP_OAUTH2_F_USER    2
#define NGX_HTTP_OAUTH2_F_SCOPES  3
#define NGX_HTTP_OAUTH2_F_GRANT   4
#define NGX_HTTP_OAUTH2_NFIELDS   5

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
    uint32_t                     len[NGX_HTTP_OAUTH2_NFIELDS];
    u_char                       data[1];
} ngx_http_oauth2_entry_t;


typedef struct {
    ngx_shm_zone_t              *shm_zone;
    ngx_str_t                    issuer;
    ngx_str_t                    realm;
    ngx_str_t                    scopes_supported;
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
} ngx_http_oauth2_loc_conf_t;


/* What the bearer check found, for the variables and the resource. */
typedef struct {
    ngx_uint_t                   granted;
    ngx_uint_t                   has_user;
    ngx_str_t                    client_id;
    ngx_str_t                    user;
    ngx_str_t                    scope;
    ngx_str_t                    error;
    ngx_uint_t                   nomem;
    ngx_http_request_t          *request;
} ngx_http_oauth2_req_t;


/* A worker's record of an access token, made once by oap_token_new and
 * handed to later requests with oap_ctx_set_token (no per-request copy or
 * parsing). What a token grants never changes; whether it is still valid
 * (expired, revoked, its grant revoked) is read from the zone every time. */
typedef struct {
    u_char                       key[NGX_HTTP_OAUTH2_CACHE_KEY];
    size_t                       len;
    oap_token                   *token;
} ngx_http_oauth2_cached_t;


static ngx_http_oauth2_cached_t  *ngx_http_oauth2_cache;


static ngx_int_t ngx_http_oauth2_add_variables(ngx_conf_t *cf);
static void ngx_http_oauth2_exit_process(ngx_cycle_t *cycle);
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
    NULL,                                  /* init module */
    NULL,                                  /* init process */
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


static ngx_http_oauth2_entry_t *
ngx_http_oauth2_lookup(ngx_http_oauth2_zone_t *z, ngx_uint_t kind, oap_str key)
{
    uint32_t                  hash;
    oap_str                   k;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_http_oauth2_entry_t  *e;

    if (key.ptr == NULL) {
        return NULL;
    }

    hash = ngx_http_oauth2_hash(kind, key);
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


static ngx_int_t
ngx_http_oauth2_expired(ngx_http_oauth2_entry_t *e, uint64_t now)
{
    return e->exp != 0 && e->exp <= now;
}


static void
ngx_http_oauth2_remove(ngx_http_oauth2_zone_t *z, ngx_http_oauth2_entry_t *e)
{
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

    return e;
}


static void
ngx_http_oauth2_insert(ngx_http_oauth2_zone_t *z, ngx_http_oauth2_entry_t *e)
{
    ngx_rbtree_insert(&z->sh->rbtree, &e->node);
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


static ngx_http_oauth2_zone_t *
ngx_http_oauth2_lock(void *ud)
{
    ngx_http_oauth2_main_conf_t  *mcf = ud;
    ngx_http_oauth2_zone_t       *z;

    z = mcf->shm_zone->data;
    ngx_shmtx_lock(&z->shpool->mutex);

    return z;
}


static void
ngx_http_oauth2_unlock(ngx_http_oauth2_zone_t *z)
{
    ngx_shmtx_unlock(&z->shpool->mutex);
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
    ngx_http_oauth2_entry_t  *g;

    g = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_GRANT,
                               ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT));

    return g != NULL && g->revoked;
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
    ngx_http_oauth2_entry_t  *g, *a, *r;

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

        if (g == NULL) {
            /* new, or an ended record of it still in the zone */
            g = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_GRANT,
                                       token->grant_id);
        }

        if (g == NULL) {
            ngx_memzero(f, sizeof(f));
            f[NGX_HTTP_OAUTH2_F_KEY] = token->grant_id;

            g = ngx_http_oauth2_alloc(z, NGX_HTTP_OAUTH2_GRANT, f, now);
            if (g == NULL) {
                ngx_slab_free_locked(z->shpool, a);
                if (r) {
                    ngx_slab_free_locked(z->shpool, r);
                }
                return OAP_CB_ERROR;
            }

            g->exp = ends_at;
            ngx_http_oauth2_insert(z, g);

        } else if (g->exp < ends_at) {
            g->exp = ends_at;
        }
    }

    ngx_http_oauth2_insert(z, a);
    if (r) {
        ngx_http_oauth2_insert(z, r);
    }

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_cb_save_bearer_token(void *ud, const oap_issued_token *token,
    oap_ctx *ctx)
{
    uint64_t                 now;
    oap_cb_result            rc;
    ngx_http_oauth2_zone_t  *z;

    if (oap_ctx_now(ctx, &now) != OAP_STATUS_OK) {
        return OAP_CB_ERROR;
    }

    z = ngx_http_oauth2_lock(ud);
    rc = ngx_http_oauth2_save_locked(z, token, now);
    ngx_http_oauth2_unlock(z);

    return rc;
}


/* Rotates the refresh token and saves the tokens replacing it in one step
 * under the lock (the code grant is not served: no code is ever saved). */
static oap_cb_result
ngx_http_oauth2_cb_consume_and_save(void *ud, const oap_consumed *consumed,
    const oap_issued_token *token, oap_ctx *ctx)
{
    uint64_t                  now;
    oap_cb_result             rc;
    ngx_http_oauth2_zone_t   *z;
    ngx_http_oauth2_entry_t  *spent;

    if (consumed->kind != OAP_CONSUMED_REFRESH_TOKEN) {
        return OAP_CB_FALSE;   /* no code is ever saved: none is unspent */
    }

    if (oap_ctx_now(ctx, &now) != OAP_STATUS_OK) {
        return OAP_CB_ERROR;
    }

    z = ngx_http_oauth2_lock(ud);

    rc = OAP_CB_FALSE;
    spent = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, consumed->value);

    if (spent != NULL && !spent->rotated && !spent->revoked
        && !ngx_http_oauth2_expired(spent, now))
    {
        rc = ngx_http_oauth2_save_locked(z, token, now);

        if (rc == OAP_CB_TRUE) {
            spent->rotated = 1;
        }
    }

    ngx_http_oauth2_unlock(z);

    return rc;
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


/* The worker's record of the live access token `e`, made on first use;
 * NULL when it cannot be had (the caller then hands the information over
 * per request). Under the zone lock, in a worker (never in the master). */
static oap_token *
ngx_http_oauth2_cached(ngx_http_oauth2_entry_t *e, oap_str token)
{
    oap_token                 *t;
    oap_token_info             info;
    ngx_http_oauth2_cached_t  *c;

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

    c = &ngx_http_oauth2_cache[e->node.key % NGX_HTTP_OAUTH2_CACHE];

    if (c->token != NULL && c->len == token.len
        && ngx_memcmp(c->key, token.ptr, token.len) == 0)
    {
        return c->token;
    }

    ngx_http_oauth2_token_info(e, OAP_TOKEN_TYPE_ACCESS_TOKEN, &info);

    if (oap_token_new(&info, &t) != OAP_STATUS_OK) {
        return NULL;
    }

    oap_token_free(c->token);
    c->token = t;
    c->len = token.len;
    ngx_memcpy(c->key, token.ptr, token.len);

    return t;
}


static void
ngx_http_oauth2_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;

    if (ngx_http_oauth2_cache == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_OAUTH2_CACHE; i++) {
        oap_token_free(ngx_http_oauth2_cache[i].token);
    }

    ngx_free(ngx_http_oauth2_cache);
    ngx_http_oauth2_cache = NULL;
}


static oap_cb_result
ngx_http_oauth2_cb_validate_bearer(void *ud, oap_str token,
    const oap_str *scopes, size_t scopes_len, oap_ctx *ctx)
{
    uint64_t                  now;
    oap_token                *c;
    oap_cb_result             rc;
    oap_token_info            info;
    ngx_http_oauth2_zone_t   *z;
    ngx_http_oauth2_entry_t  *e;

    if (oap_ctx_now(ctx, &now) != OAP_STATUS_OK) {
        return OAP_CB_ERROR;
    }

    rc = OAP_CB_FALSE;
    z = ngx_http_oauth2_lock(ud);

    e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_ACCESS, token);
    if (ngx_http_oauth2_access_live(z, e, now)) {
        c = ngx_http_oauth2_cached(e, token);

        if (c == NULL) {
            ngx_http_oauth2_token_info(e, OAP_TOKEN_TYPE_ACCESS_TOKEN, &info);
            rc = ngx_http_oauth2_ok(oap_ctx_set_token_info(ctx, &info));

        } else {
            rc = ngx_http_oauth2_ok(oap_ctx_set_token(ctx, c));
        }
    }

    ngx_http_oauth2_unlock(z);

    return rc;
}


static oap_cb_result
ngx_http_oauth2_cb_introspect(void *ud, oap_str token, oap_token_type hint,
    oap_ctx *ctx)
{
    uint64_t                  now;
    oap_cb_result             rc;
    oap_token_info            info;
    ngx_http_oauth2_zone_t   *z;
    ngx_http_oauth2_entry_t  *e;

    if (oap_ctx_now(ctx, &now) != OAP_STATUS_OK) {
        return OAP_CB_ERROR;
    }

    rc = OAP_CB_FALSE;
    z = ngx_http_oauth2_lock(ud);

    e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_ACCESS, token);

    if (e != NULL) {
        if (ngx_http_oauth2_access_live(z, e, now)) {
            ngx_http_oauth2_token_info(e, OAP_TOKEN_TYPE_ACCESS_TOKEN, &info);
            rc = ngx_http_oauth2_ok(oap_ctx_set_token_info(ctx, &info));
        }

    } else {
        e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, token);

        if (e != NULL && !e->rotated && ngx_http_oauth2_access_live(z, e, now))
        {
            ngx_http_oauth2_token_info(e, OAP_TOKEN_TYPE_REFRESH_TOKEN, &info);
            rc = ngx_http_oauth2_ok(oap_ctx_set_token_info(ctx, &info));
        }
    }

    ngx_http_oauth2_unlock(z);

    return rc;
}


static oap_cb_result
ngx_http_oauth2_cb_validate_refresh(void *ud, oap_str refresh_token,
    oap_str client_id, oap_ctx *ctx)
{
    uint64_t                  now;
    oap_cb_result             rc;
    oap_refresh_token_info    info;
    ngx_http_oauth2_zone_t   *z;
    ngx_http_oauth2_entry_t  *e;

    if (oap_ctx_now(ctx, &now) != OAP_STATUS_OK) {
        return OAP_CB_ERROR;
    }

    rc = OAP_CB_FALSE;
    z = ngx_http_oauth2_lock(ud);

    e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, refresh_token);

    if (e == NULL
        || !ngx_http_oauth2_eq(ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CLIENT),
                               client_id))
    {
        /* unknown, or another client's */

    } else if (e->rotated) {
        /* a reuse: the library revokes the grant */
        rc = ngx_http_oauth2_ok(oap_ctx_set_refresh_token_rotated(ctx,
                                ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT)));

    } else if (ngx_http_oauth2_access_live(z, e, now)) {
        ngx_memzero(&info, sizeof(info));
        info.struct_size = sizeof(info);
        info.client_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_CLIENT);
        info.user = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_USER);
        info.scopes = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_SCOPES);
        info.grant_id = ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT);
        info.expires_at = e->exp;
        rc = ngx_http_oauth2_ok(oap_ctx_set_refresh_token(ctx, &info));
    }

    ngx_http_oauth2_unlock(z);

    return rc;
}


static void
ngx_http_oauth2_revoke_grant_locked(ngx_http_oauth2_zone_t *z, oap_str grant_id)
{
    ngx_http_oauth2_entry_t  *g;

    /* a grant no longer known has no live token and refuses late saves */
    g = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_GRANT, grant_id);
    if (g != NULL) {
        g->revoked = 1;
    }
}


static oap_cb_result
ngx_http_oauth2_cb_revoke_grant(void *ud, oap_str grant_id, oap_ctx *ctx)
{
    ngx_http_oauth2_zone_t  *z;

    z = ngx_http_oauth2_lock(ud);
    ngx_http_oauth2_revoke_grant_locked(z, grant_id);
    ngx_http_oauth2_unlock(z);

    return OAP_CB_TRUE;
}


static oap_cb_result
ngx_http_oauth2_cb_revoke_token(void *ud, oap_str token, oap_token_type hint,
    oap_ctx *ctx)
{
    ngx_http_oauth2_zone_t   *z;
    ngx_http_oauth2_entry_t  *e;

    z = ngx_http_oauth2_lock(ud);

    e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_ACCESS, token);

    if (e != NULL) {
        e->revoked = 1;

    } else {
        e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, token);

        if (e != NULL) {
            /* RFC 7009 2.1: revoking a refresh token revokes its grant */
            e->revoked = 1;
            ngx_http_oauth2_revoke_grant_locked(z,
                ngx_http_oauth2_field(e, NGX_HTTP_OAUTH2_F_GRANT));
        }
    }

    ngx_http_oauth2_unlock(z);

    return OAP_CB_TRUE;
}


/* Rotation goes through consume_and_save; this is its fallback contract. */
static oap_cb_result
ngx_http_oauth2_cb_invalidate_refresh(void *ud, oap_str refresh_token,
    oap_ctx *ctx)
{
    oap_cb_result             rc;
    ngx_http_oauth2_zone_t   *z;
    ngx_http_oauth2_entry_t  *e;

    rc = OAP_CB_FALSE;
    z = ngx_http_oauth2_lock(ud);

    e = ngx_http_oauth2_lookup(z, NGX_HTTP_OAUTH2_REFRESH, refresh_token);
    if (e != NULL && !e->rotated) {
        e->rotated = 1;
        rc = OAP_CB_TRUE;
    }

    ngx_http_oauth2_unlock(z);

    return rc;
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

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_oauth2_not_allowed(r, "POST");
    }

    if (mcf->server == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
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


static void
ngx_http_oauth2_granted(void *ud, const oap_token *token)
{
    oap_str                 user;
    ngx_http_oauth2_req_t  *ctx = ud;
    ngx_pool_t             *pool = ctx->request->pool;

    user = oap_token_username(token);
    ctx->has_user = user.ptr != NULL;
    ctx->granted = 1;

    if (ngx_http_oauth2_copy(pool, &ctx->client_id,
                             oap_token_client_id(token)) != NGX_OK
        || (ctx->has_user
            && ngx_http_oauth2_copy(pool, &ctx->user, user) != NGX_OK)
        || ngx_http_oauth2_copy(pool, &ctx->scope,
                                oap_token_scopes(token)) != NGX_OK)
    {
        ctx->nomem = 1;
    }
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
    oap_str                       value;
    ngx_str_t                     challenge;
    ngx_uint_t                    status;
    oap_status                    st;
    oap_request                   req;
    oap_response                 *resp;
    ngx_table_elt_t              *h;
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

    if (ngx_http_oauth2_request(r, 0, &req) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    resp = NULL;
    st = oap_server_verify_bearer_with(mcf->server, &req,
                                       lcf->scopes ? lcf->scopes->elts : NULL,
                                       lcf->scopes ? lcf->scopes->nelts : 0,
                                       ngx_http_oauth2_granted, ctx, &resp);

    if (st == OAP_STATUS_INVALID_UTF8) {
        ngx_str_set(&ctx->error, "invalid_request");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (st != OAP_STATUS_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "oauth2: %s", oap_status_message(st).ptr);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (resp == NULL) {
        if (ctx->nomem) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        return NGX_OK;
    }

    ctx->granted = 0;
    status = oap_response_status(resp);

    h = NULL;

    if (oap_response_header_value(resp, (oap_str) OAP_STR_LIT("WWW-Authenticate"),
                                  &value) == OAP_STATUS_OK)
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

        ngx_http_oauth2_reason(ctx, &h->value, status);

    } else {
        ngx_str_t  none = ngx_null_string;
        ngx_http_oauth2_reason(ctx, &none, status);
    }

    oap_response_free(resp);

    return status;
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

    return lcf;
}


static char *
ngx_http_oauth2_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_oauth2_loc_conf_t  *prev = parent;
    ngx_http_oauth2_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->bearer, prev->bearer, 0);
    ngx_conf_merge_ptr_value(conf->scopes, prev->scopes, NULL);

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


/* oauth2_grants client_credentials password refresh_token; the code and
 * implicit grants need the authorization endpoint, which this module does
 * not serve yet. */
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

        if (bit & (OAP_GRANT_AUTHORIZATION_CODE|OAP_GRANT_IMPLICIT)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "grant \"%V\" needs the authorization "
                               "endpoint, which is not served", &value[i]);
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
        "", "token", "revocation", "introspection", "metadata", "resource"
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
        ngx_memzero(&desc, sizeof(desc));
        desc.struct_size = sizeof(desc);
        desc.client_id = ngx_http_oauth2_str(&c[i].id);
        desc.secret_kind = c[i].secret.len ? OAP_SECRET_PLAIN : OAP_SECRET_NONE;
        desc.secret = ngx_http_oauth2_str(&c[i].secret);
        desc.redirect_uris = c[i].redirect_uris.elts;
        desc.redirect_uris_len = c[i].redirect_uris.nelts;
        desc.grants = (oap_grants) c[i].grants;
        desc.may_introspect = c[i].introspect ? 1 : 0;

        st = oap_registered_client_new(&desc, &c[i].registered);
        if (st != OAP_STATUS_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "oauth2_client \"%V\": %s", &c[i].id,
                               oap_status_message(st).ptr);
            return NGX_ERROR;
        }
    }

    config = oap_config_default();
    config.grants = mcf->grants == NGX_CONF_UNSET_UINT
                    ? (OAP_GRANT_CLIENT_CREDENTIALS|OAP_GRANT_REFRESH_TOKEN)
                    : (oap_grants) mcf->grants;
    config.issuer = ngx_http_oauth2_str(&mcf->issuer);
    config.realm = ngx_http_oauth2_str(&mcf->realm);
    config.scopes_supported = ngx_http_oauth2_str(&mcf->scopes_supported);

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
