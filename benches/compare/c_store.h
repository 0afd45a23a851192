/*
 * c_store: the C column's validator of benches/compare (c_driver.c), an
 * in-memory store behind the oap_validator callback table laid out like
 * the Rust MemoryValidator (see c_store.c). Strings are copied in;
 * everything is released by c_store_free().
 */
#ifndef C_STORE_H
#define C_STORE_H

#include "oauth2_provider.h"

typedef struct c_store c_store;

c_store *c_store_new(void);
void c_store_free(c_store *store);

/* Registers a client with the library (an invalid description aborts).
 * secret NULL: public. redirect_uri may be NULL. scopes: the allowed
 * scopes, space-delimited ("" or NULL: none); default_scopes: those of a
 * request that names none. */
void c_store_add_client(c_store *store, const char *client_id, const char *secret,
                        oap_secret_kind secret_kind, bool confidential, const char *redirect_uri,
                        uint32_t grants, bool may_introspect, const char *scopes,
                        const char *default_scopes);

/* A validator table over `store`: the callbacks of the client-credentials,
 * authorization-code and refresh grants, bearer checks, introspection and
 * revocation (consume_and_save among them). No users (no password grant)
 * and no pushed requests. */
oap_validator c_store_validator(c_store *store);

#endif
