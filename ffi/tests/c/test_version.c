/*
 * The version a host compiled against (the header's OAP_VERSION macros)
 * is the version it links (oap_version()): the check a host makes at
 * start-up, and the macros agree with one another.
 */
#include "testutil.h"

#include <stdio.h>

int main(void) {
    char expected[32];
    oap_str linked = oap_version();
    int n = snprintf(expected, sizeof expected, "%d.%d.%d", OAP_VERSION_MAJOR, OAP_VERSION_MINOR,
                     OAP_VERSION_PATCH);

    CHECK(n > 0 && (size_t)n < sizeof expected);
    CHECK(strcmp(expected, OAP_VERSION) == 0);
    CHECK(linked.ptr != NULL);
    CHECK(str_is(linked, OAP_VERSION));
    /* NUL-terminated: the check the header's comment shows works. */
    CHECK(linked.ptr != NULL && linked.ptr[linked.len] == '\0');
    CHECK(linked.ptr != NULL && strcmp(linked.ptr, OAP_VERSION) == 0);
    return report();
}
