/*
 * The cost of 32 and 96 random bytes from the kernel (one token; the
 * most one request of oauth2-provider draws), three ways: glibc's
 * getrandom() (a system call before glibc 2.41, the vDSO from 2.41 on
 * Linux >= 6.11), the raw system call, and the kernel's vDSO
 * __vdso_getrandom called directly (Linux >= 6.11), which is what glibc
 * 2.41 does. Median ns per call over ROUNDS rounds of BATCH calls.
 *
 *   cc -std=c11 -O2 -o /tmp/getrandom_cost benches/getrandom_cost.c -ldl && /tmp/getrandom_cost
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 51
#define BATCH 20000

struct vgetrandom_opaque_params {
    uint32_t size_of_opaque_state;
    uint32_t mmap_prot;
    uint32_t mmap_flags;
    uint32_t reserved[13];
};
typedef ssize_t (*vgetrandom_fn)(void *, size_t, unsigned int, void *, size_t);

static vgetrandom_fn vgrnd;
static void *vstate;
static size_t vstate_len;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int via_glibc(uint8_t *buf, size_t len) { return getrandom(buf, len, 0) == (ssize_t)len; }
static int via_syscall(uint8_t *buf, size_t len) {
    return syscall(SYS_getrandom, buf, len, 0) == (long)len;
}
static int via_vdso(uint8_t *buf, size_t len) {
    return vgrnd(buf, len, 0, vstate, vstate_len) == (ssize_t)len;
}

static double median_ns(int (*f)(uint8_t *, size_t), size_t len) {
    double samples[ROUNDS];
    uint8_t buf[96];
    int r, i;
    for (r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (i = 0; i < BATCH; i++)
            if (!f(buf, len)) {
                fprintf(stderr, "call failed\n");
                exit(1);
            }
        samples[r] = (now_ns() - t0) / BATCH;
    }
    qsort(samples, ROUNDS, sizeof samples[0], cmp);
    return samples[ROUNDS / 2];
}

static int setup_vdso(void) {
    struct vgetrandom_opaque_params params;
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD), *symbol;
    if (vdso == NULL || (symbol = dlsym(vdso, "__vdso_getrandom")) == NULL) return 0;
    memcpy(&vgrnd, &symbol, sizeof vgrnd);
    if (vgrnd(NULL, 0, 0, &params, ~0UL) != 0) return 0;
    vstate_len = params.size_of_opaque_state;
    vstate = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), params.mmap_prot, params.mmap_flags, -1, 0);
    return vstate != MAP_FAILED;
}

int main(void) {
    size_t lens[] = {32, 96};
    int have_vdso = setup_vdso();
    size_t k;
    for (k = 0; k < 2; k++) {
        printf("%3zu bytes: glibc getrandom() %.0f ns, syscall(SYS_getrandom) %.0f ns", lens[k],
               median_ns(via_glibc, lens[k]), median_ns(via_syscall, lens[k]));
        if (have_vdso)
            printf(", __vdso_getrandom %.0f ns", median_ns(via_vdso, lens[k]));
        printf("\n");
    }
    if (!have_vdso) printf("no __vdso_getrandom in this kernel's vDSO\n");
    return 0;
}
