/*
 * The C column's in-memory validator (see c_store.c).
 */
#ifndef C_STORE_H
#define C_STORE_H

#include <stdbool.h>

#include "oauth2_provider.h"

typedef struct c_store c_store;

c_store *c_store_new(void);
void c_store_free(c_store *store);

/* Registers a confidential client (secret given as the lowercase hex of its
 * SHA-256 digest) with one redirect URI (or NULL), the grants it may use,
 * its allowed and default scopes (space-delimited). */
void c_store_add_client(c_store *store, const char *client_id, const char *secret_sha256_hex,
                        const char *redirect_uri, oap_grants grants, const char *scopes,
                        const char *default_scopes, bool may_introspect);

/* The callback table over `store`. */
oap_validator c_store_validator(c_store *store);

#endif
