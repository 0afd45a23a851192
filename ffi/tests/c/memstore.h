/*
 * memstore: a complete, thread-safe, in-memory validator written in C over
 * the oap_validator callback table (see memstore.c). Used by the C tests,
 * the C ABI benchmark (ffi/benches/c) and the C column of benches/compare.
 * Strings are copied in; everything is released by memstore_free().
 */
#ifndef MEMSTORE_H
#define MEMSTORE_H

#include "oauth2_provider.h"

typedef struct memstore memstore;

memstore *memstore_new(void);
void memstore_free(memstore *store);

/* Registers a client (with the library: an invalid description aborts).
 * secret NULL: public. redirect_uri may be NULL. scopes: allowed scopes,
 * space-delimited ("" or NULL: none); default_scopes: the scopes of a
 * request that names none. */
void memstore_add_client(memstore *store, const char *client_id, const char *secret,
                         oap_secret_kind secret_kind, bool confidential, const char *redirect_uri,
                         uint32_t grants, bool may_introspect, const char *scopes,
                         const char *default_scopes);
/* memstore_add_client with the resources (RFC 8707) the client may ask
 * tokens for: `resources_len` absolute URIs (NULL when 0). */
void memstore_add_client_with_resources(memstore *store, const char *client_id,
                                        const char *secret, oap_secret_kind secret_kind,
                                        bool confidential, const char *redirect_uri,
                                        uint32_t grants, bool may_introspect, const char *scopes,
                                        const char *default_scopes,
                                        const char *const *resources, size_t resources_len);
/* Registers a client from a whole description (fields the functions above
 * do not set, such as require_pushed_authorization_requests). */
void memstore_add_client_description(memstore *store, const oap_client *desc,
                                     const char *scopes, const char *default_scopes);
void memstore_add_user(memstore *store, const char *username, const char *password);

/* Makes the callback called `name` answer `answer` (e.g. OAP_CB_ERROR) from
 * now on; NULL restores normal behaviour. */
void memstore_force(memstore *store, const char *name, oap_cb_result answer);

/* Whether validate_code hands back the code's PKCE challenge, in
 * oap_code_info for an unused code and through oap_ctx_set_code_used_pkce
 * for a used one (sparing the get_code_challenge callbacks), or leaves it
 * to them (the default). */
void memstore_challenge_in_code_info(memstore *store, bool enabled);

/* Forgets what has expired at `now` (seconds since the Unix epoch, the
 * server's clock): codes, access tokens, refresh tokens and grants, and
 * revoked tokens. Keeps rotated refresh tokens until they expire (their
 * reuse revokes the grant) and a grant until its last code and refresh
 * token expire (a late save of a revoked grant is refused). */
void memstore_purge(memstore *store, uint64_t now);

/* Moves every device authorization `seconds` into the past (its expiry
 * and its last poll), as if that much time had passed: the server's
 * clock is the system's, and a test cannot wait for a polling interval
 * or a device code's lifetime. */
void memstore_device_rewind(memstore *store, uint64_t seconds);

/* How many times the callback `name` ran. */
unsigned memstore_calls(memstore *store, const char *name);

/* A validator table over `store`, every callback set, consume_and_save
 * among them (set it NULL for the two steps of a store without
 * transactions). */
oap_validator memstore_validator(memstore *store);

#endif
