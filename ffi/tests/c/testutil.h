/*
 * Tiny test harness for the C tests: CHECK macros that count, helpers to
 * build requests and read responses. Each test program ends with
 * `return report();`, printing "N passed, M failed".
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "oauth2_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed = 0;
static int t_failed = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (cond) {                                                                \
            t_passed++;                                                            \
        } else {                                                                   \
            t_failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                          \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                   \
    do {                                                                               \
        oap_status check_status_ = (expr);                                             \
        if (check_status_ == (oap_status)(expected)) {                                 \
            t_passed++;                                                                \
        } else {                                                                       \
            oap_str m_ = oap_status_message(check_status_);                            \
            t_failed++;                                                                \
            fprintf(stderr, "%s:%d: %s gave %u (%.*s), expected %s\n", __FILE__, __LINE__, \
                    #expr, (unsigned)check_status_, (int)m_.len, m_.ptr, #expected);   \
        }                                                                              \
    } while (0)

static inline int report(void) {
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed == 0 ? 0 : 1;
}

/* A view of a NUL-terminated string (NULL stays absent). */
static inline oap_str S(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = s ? strlen(s) : 0;
    return v;
}

static inline int str_is(oap_str s, const char *c) {
    return s.ptr != NULL && s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* ---- requests ---- */

typedef struct test_request {
    oap_header headers[40];
    char authorization[1200];
    oap_request req;
} test_request;

static inline void add_header(test_request *t, const char *name, const char *value) {
    oap_header *h = &t->headers[t->req.headers_len++];
    h->name = S(name);
    h->value = S(value);
}

/* A GET of `uri` without headers or body. */
static inline const oap_request *get(test_request *t, const char *uri) {
    memset(t, 0, sizeof *t);
    t->req.method = S("GET");
    t->req.uri = S(uri);
    t->req.headers = t->headers;
    return &t->req;
}

/* A form POST, with HTTP Basic credentials when client_id is not NULL. */
static inline const oap_request *post(test_request *t, const char *uri, const char *body,
                               const char *client_id, const char *client_secret) {
    memset(t, 0, sizeof *t);
    t->req.method = S("POST");
    t->req.uri = S(uri);
    t->req.headers = t->headers;
    add_header(t, "Content-Type", "application/x-www-form-urlencoded");
    if (client_id != NULL) {
        size_t n = 0;
        if (oap_basic_header_value(S(client_id), S(client_secret), t->authorization,
                                   sizeof t->authorization - 1, &n) != OAP_STATUS_OK) {
            fprintf(stderr, "oap_basic_header_value failed\n");
            exit(2);
        }
        t->authorization[n] = '\0';
        add_header(t, "Authorization", t->authorization);
    }
    t->req.body.ptr = (const uint8_t *)body;
    t->req.body.len = strlen(body);
    return &t->req;
}

/* A GET with "Authorization: Bearer <token>". */
static inline const oap_request *bearer_get(test_request *t, const char *uri, const char *token) {
    get(t, uri);
    snprintf(t->authorization, sizeof t->authorization, "Bearer %s", token);
    add_header(t, "Authorization", t->authorization);
    return &t->req;
}

/* ---- responses ---- */

static inline int body_has(const oap_response *r, const char *needle) {
    oap_bytes b = oap_response_body(r);
    size_t n = strlen(needle), i;
    if (b.ptr == NULL || b.len < n) return 0;
    for (i = 0; i + n <= b.len; i++)
        if (memcmp(b.ptr + i, needle, n) == 0) return 1;
    return 0;
}

static inline int header_is(const oap_response *r, const char *name, const char *value) {
    oap_str v;
    return oap_response_header_value(r, S(name), &v) == OAP_STATUS_OK && str_is(v, value);
}

/* Copies the string or number JSON field `name` of a flat object into out. */
static inline int json_field(const oap_response *r, const char *name, char *out, size_t out_len) {
    oap_bytes b = oap_response_body(r);
    char key[64];
    const char *body, *p, *end;
    size_t len;
    char *copy;
    int found = 0;
    if (b.ptr == NULL) return 0;
    copy = malloc(b.len + 1);
    memcpy(copy, b.ptr, b.len);
    copy[b.len] = '\0';
    body = copy;
    snprintf(key, sizeof key, "\"%s\":", name);
    p = strstr(body, key);
    if (p != NULL) {
        p += strlen(key);
        if (*p == '"') {
            p++;
            end = strchr(p, '"');
        } else {
            end = p + strcspn(p, ",}");
        }
        if (end != NULL) {
            len = (size_t)(end - p);
            if (len < out_len) {
                memcpy(out, p, len);
                out[len] = '\0';
                found = 1;
            }
        }
    }
    free(copy);
    return found;
}

/* Finding one query parameter of a redirect's Location with oap_form_parse. */
typedef struct param_search {
    const char *name;
    char *out;
    size_t out_len;
    int found;
} param_search;

static inline oap_cb_result find_param(void *user_data, oap_str name, oap_str value) {
    param_search *p = (param_search *)user_data;
    if (str_is(name, p->name) && value.len < p->out_len) {
        memcpy(p->out, value.ptr, value.len);
        p->out[value.len] = '\0';
        p->found = 1;
        return OAP_CB_FALSE; /* stop: found */
    }
    return OAP_CB_TRUE;
}

static inline int location_param(const oap_response *r, const char *name, char *out, size_t out_len) {
    oap_str location;
    oap_bytes query;
    param_search search;
    size_t i = 0;
    if (oap_response_header_value(r, S("Location"), &location) != OAP_STATUS_OK) return 0;
    while (i < location.len && location.ptr[i] != '?' && location.ptr[i] != '#') i++;
    if (i == location.len) return 0;
    query.ptr = (const uint8_t *)location.ptr + i + 1;
    query.len = location.len - i - 1;
    search.name = name;
    search.out = out;
    search.out_len = out_len;
    search.found = 0;
    if (oap_form_parse(query, find_param, &search) != OAP_STATUS_OK) return 0;
    return search.found;
}

#endif
