// The header compiled as C++ (extern "C" guards, no C-only constructs), and
// a few calls linked from C++.
#include "oauth2_provider.h"

#include <cstdio>
#include <cstring>

namespace {
int failed = 0;
int passed = 0;
void check(bool ok, const char *what) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::fprintf(stderr, "C++ check failed: %s\n", what);
    }
}
}  // namespace

int main() {
    oap_config config = oap_config_default();
    config.issuer = oap_str{"https://as.example", 18};
    check(config.struct_size == sizeof(oap_config), "struct_size");
    check(config.access_token_lifetime == 3600, "default lifetime");

    oap_validator validator;
    std::memset(&validator, 0, sizeof validator);
    validator.struct_size = sizeof validator;
    oap_server *server = nullptr;
    check(oap_server_new(&config, &validator, &server) == OAP_STATUS_OK && server != nullptr, "server");

    oap_response *response = nullptr;
    check(oap_server_metadata_response(server, &response) == OAP_STATUS_OK, "metadata");
    check(oap_response_status(response) == 200, "metadata status");
    oap_response_free(response);
    oap_server_free(server);

    oap_str word = OAP_STR_LIT("read");
    check(word.len == 4, "OAP_STR_LIT");
    oap_str message = oap_status_message(OAP_STATUS_INVALID_UTF8);
    check(message.len > 0 && message.ptr[message.len] == '\0', "status message");
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
