/*
 * A client-credentials token request through the C ABI, over the C
 * in-memory validator (ffi/tests/c/memstore.c). Prints the median ns/op of
 * batches; run by ffi/benches/abi_vs_rust.rs next to the same request
 * through the Rust API.
 *
 * usage: bench_client_credentials [batches] [requests per batch]
 */
#define _POSIX_C_SOURCE 200809L
#include "oauth2_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memstore.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static oap_str S(const char *s) {
    oap_str v;
    v.ptr = s;
    v.len = strlen(s);
    return v;
}

int main(int argc, char **argv) {
    int batches = argc > 1 ? atoi(argv[1]) : 200;
    int per_batch = argc > 2 ? atoi(argv[2]) : 100;
    static const char body[] = "grant_type=client_credentials&scope=read";
    char basic[256];
    size_t basic_len = 0;
    oap_header headers[2];
    oap_request request;
    oap_config config = oap_config_default();
    oap_validator validator;
    oap_server *server = NULL;
    memstore *store = memstore_new();
    double *samples;
    int b, i, failures = 0;

    if (batches < 1 || per_batch < 1) return 2;
    samples = malloc((size_t)batches * sizeof *samples);
    /* The secret kept as its SHA-256 digest, as MemoryValidator keeps it:
     * authenticating then hashes only the presented secret on both sides. */
    memstore_add_client(store, "svc", "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0",
                        OAP_SECRET_SHA256_HEX, true, NULL, OAP_GRANT_CLIENT_CREDENTIALS, false,
                        "read", "read");
    validator = memstore_validator(store);
    config.issuer = oap_str_from_cstr("https://as.example");
    if (oap_server_new(&config, &validator, &server) != OAP_STATUS_OK) return 1;

    oap_basic_header_value(S("svc"), S("s3cret"), basic, sizeof basic, &basic_len);
    headers[0].name = S("Authorization");
    headers[0].value.ptr = basic;
    headers[0].value.len = basic_len;
    headers[1].name = S("Content-Type");
    headers[1].value = S("application/x-www-form-urlencoded");
    request.method = S("POST");
    request.uri = S("/token");
    request.headers = headers;
    request.headers_len = 2;
    request.body.ptr = (const uint8_t *)body;
    request.body.len = sizeof body - 1;

    for (b = -5; b < batches; b++) { /* five warm-up batches */
        double start = now_ns();
        for (i = 0; i < per_batch; i++) {
            oap_response *response = NULL;
            if (oap_server_token_response(server, &request, &response) != OAP_STATUS_OK ||
                oap_response_status(response) != 200)
                failures++;
            oap_response_free(response);
        }
        if (b >= 0) samples[b] = (now_ns() - start) / per_batch;
    }
    qsort(samples, (size_t)batches, sizeof *samples, by_value);
    printf("abi  median_ns_per_op=%.0f batches=%d per_batch=%d failures=%d\n", samples[batches / 2],
           batches, per_batch, failures);
    free(samples);
    oap_server_free(server);
    memstore_free(store);
    return failures == 0 ? 0 : 1;
}
