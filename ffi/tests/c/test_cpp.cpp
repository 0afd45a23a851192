// oauth2_provider.hpp, compiled as C++17 with warnings as errors: a token
// request and bearer checks with callbacks from a class and from lambdas,
// RAII handles, string_views both ways, and exceptions stopped at the
// callback boundary.
#include "oauth2_provider.hpp"

#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {
int failed = 0;
int passed = 0;
void check(bool ok, const char *what, int line) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::fprintf(stderr, "test_cpp.cpp:%d: CHECK failed: %s\n", line, what);
    }
}
#define CHECK(cond) check(static_cast<bool>(cond), #cond, __LINE__)

// The access token in a token response body.
std::string access_token(std::string_view body) {
    constexpr std::string_view key = "\"access_token\":\"";
    std::size_t at = body.find(key);
    if (at == std::string_view::npos) return {};
    std::size_t start = at + key.size();
    std::size_t end = body.find('"', start);
    return end == std::string_view::npos ? std::string() : std::string(body.substr(start, end - start));
}

// A host keeping its client and tokens in a class: its methods named like
// the callbacks become them.
class host {
public:
    oap_cb_result find_client(std::string_view client_id, oap::context ctx) {
        if (client_id != "reporting-job") return OAP_CB_FALSE;
        oap_client client = oap::init<oap_client>();
        client.client_id = oap::str(client_id);
        client.secret_kind = OAP_SECRET_PLAIN;
        client.secret = oap::str("s3cret");
        client.grants = OAP_GRANT_CLIENT_CREDENTIALS;
        return oap::answer(ctx.set_client(client));
    }
    oap_cb_result validate_scopes(std::string_view, std::string_view scopes, oap::context) {
        return scopes == "reports:read" || scopes == "reports:read reports:write" ? OAP_CB_TRUE : OAP_CB_FALSE;
    }
    oap_cb_result save_bearer_token(const oap_issued_token *token, oap::context ctx) {
        std::lock_guard<std::mutex> lock(mutex_);
        tokens_[std::string(oap::view(token->access_token))] = {std::string(oap::view(token->scopes)),
                                                                token->issued_at + token->expires_in};
        return ctx.now() > 0 ? OAP_CB_TRUE : OAP_CB_ERROR;
    }
    oap_cb_result validate_bearer_token(std::string_view token, const oap_str *, std::size_t, oap::context ctx) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = tokens_.find(std::string(token));
        if (found == tokens_.end()) return OAP_CB_FALSE;
        oap_token_info info = oap::init<oap_token_info>();
        info.token_type = OAP_TOKEN_TYPE_ACCESS_TOKEN;
        info.client_id = oap::str("reporting-job");
        info.scopes = oap::str(found->second.scopes);
        info.exp = found->second.expires_at;
        return oap::answer(ctx.set_token_info(info));
    }
    std::size_t saved() {
        std::lock_guard<std::mutex> lock(mutex_);
        return tokens_.size();
    }

private:
    struct saved_token {
        std::string scopes;
        uint64_t expires_at;
    };
    std::mutex mutex_;
    std::map<std::string, saved_token> tokens_;
};

oap_config config() {
    oap_config c = oap_config_default();
    c.issuer = oap::str("https://auth.example.com");
    return c;
}

oap::request token_request(const std::string &basic, std::string_view body) {
    oap::request r("POST", "/token");
    r.header("Content-Type", "application/x-www-form-urlencoded").header("Authorization", basic).body(body);
    return r;
}

void test_version() {
    CHECK(oap::version_matches());
    CHECK(oap::version() == OAP_VERSION);
    CHECK(oap::message(OAP_STATUS_OK) == "success");
}

// A token request and bearer checks, callbacks from a class.
void test_class_validator() {
    host h;
    auto made = oap::server::create(config(), oap::validator(h));
    CHECK(made && made.value);
    if (!made) return;
    const oap::server &server = made.value;

    auto basic = oap::basic_header_value("reporting-job", "s3cret");
    CHECK(basic && basic.value.rfind("Basic ", 0) == 0);
    auto issued = server.token(token_request(basic.value, "grant_type=client_credentials&scope=reports%3Aread"));
    CHECK(issued && issued.value.status() == 200);
    CHECK(issued.value.header("content-type").value_or("").rfind("application/json", 0) == 0);
    CHECK(issued.value.header("Cache-Control") == std::optional<std::string_view>("no-store"));
    CHECK(!issued.value.header("X-Not-There"));
    CHECK(issued.value.header_count() >= 2);
    std::string token = access_token(issued.value.body());
    CHECK(token.size() == OAP_TOKEN_LEN);
    CHECK(h.saved() == 1);

    // The bearer check: granted with the token's scope ...
    std::string bearer = "Bearer " + token;
    oap::request api("GET", "/reports");
    api.header("Authorization", bearer);
    auto checked = server.verify_bearer(api, {"reports:read"});
    CHECK(checked && checked.value.granted() && !checked.value.error);
    if (checked.value.granted()) {
        CHECK(oap::client_id(*checked.value.token) == "reporting-job");
        CHECK(oap::has_scope(*checked.value.token, "reports:read"));
        CHECK(!oap::has_scope(*checked.value.token, "reports:write"));
    }
    // ... refused (403 insufficient_scope) with a scope it lacks ...
    auto lacking = server.verify_bearer(api, {"reports:write"});
    CHECK(lacking && !lacking.value.granted() && lacking.value.error.status() == 403);
    // ... and 401 with an unknown token.
    std::string forged_bearer = "Bearer " + std::string(OAP_TOKEN_LEN, 'A');  // outlives the request
    oap::request forged("GET", "/reports");
    forged.header("Authorization", forged_bearer);
    auto unknown = server.verify_bearer(forged);
    CHECK(unknown && !unknown.value.granted() && unknown.value.error.status() == 401);
    CHECK(unknown.value.error.header("WWW-Authenticate").has_value());

    // The per-request form hands the token to a lambda.
    std::string seen;
    auto with = server.verify_bearer_with(api, {"reports:read"},
                                          [&seen](const oap_token &t) { seen = oap::client_id(t); });
    CHECK(with && !with.value && seen == "reporting-job");
    // An exception thrown there comes back to the caller, not into the library.
    bool rethrown = false;
    try {
        (void)server.verify_bearer_with(api, {}, [](const oap_token &) { throw std::runtime_error("host"); });
    } catch (const std::runtime_error &e) {
        rethrown = std::string_view(e.what()) == "host";
    }
    CHECK(rethrown);

    // A wrong secret: 401 invalid_client, nothing saved.
    auto wrong = oap::basic_header_value("reporting-job", "guess");
    auto refused = server.token(token_request(wrong.value, "grant_type=client_credentials"));
    CHECK(refused && refused.value.status() == 401);
    CHECK(refused.value.body().find("invalid_client") != std::string_view::npos);
    CHECK(h.saved() == 1);
}

// Callbacks from lambdas; one throws: the client gets a 500, the host's
// on_exception hears of it, and nothing is saved.
void test_lambda_validator_and_exceptions() {
    host h;
    int exceptions = 0;
    std::string what;
    oap::validator v;
    v.find_client = [&h](std::string_view id, oap::context ctx) { return h.find_client(id, ctx); };
    v.validate_scopes = [](std::string_view, std::string_view, oap::context) -> oap_cb_result {
        throw std::runtime_error("database down");
    };
    v.save_bearer_token = [&h](const oap_issued_token *t, oap::context ctx) { return h.save_bearer_token(t, ctx); };
    v.on_exception = [&](std::exception_ptr e) {
        ++exceptions;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception &caught) {
            what = caught.what();
        }
    };
    oap_validator table = v.table();
    CHECK(table.find_client != nullptr && table.validate_scopes != nullptr);
    CHECK(table.validate_bearer_token == nullptr);  // unset: the library's default
    CHECK(table.struct_size == sizeof(oap_validator));

    auto made = oap::server::create(config(), std::move(v));
    CHECK(made);
    if (!made) return;
    auto basic = oap::basic_header_value("reporting-job", "s3cret");
    auto failed_request = made.value.token(token_request(basic.value, "grant_type=client_credentials&scope=reports%3Aread"));
    CHECK(failed_request && failed_request.value.status() == 500);
    CHECK(failed_request.value.body().find("server_error") != std::string_view::npos);
    CHECK(exceptions == 1 && what == "database down");
    CHECK(h.saved() == 0);

    // A throwing on_exception is dropped too.
    oap::validator loud;
    loud.find_client = [](std::string_view, oap::context) -> oap_cb_result { throw 42; };
    loud.on_exception = [](std::exception_ptr) { throw std::logic_error("logger failed"); };
    auto loud_server = oap::server::create(config(), std::move(loud));
    CHECK(loud_server);
    if (loud_server) {
        auto r = loud_server.value.token(token_request(basic.value, "grant_type=client_credentials"));
        CHECK(r && r.value.status() == 500);
    }
}

// Pushed authorization requests (RFC 9126) from a class: the push saves
// through save_pushed_request, and find_pushed_request hands the request
// back with context::set_pushed_request; a client requiring PAR is
// refused a plain request.
class par_host {
public:
    oap_cb_result find_client(std::string_view client_id, oap::context ctx) {
        if (client_id != "web") return OAP_CB_FALSE;
        oap_client client = oap::init<oap_client>();
        oap_str uri = oap::str("https://web.example/cb");
        client.client_id = oap::str(client_id);
        client.secret_kind = OAP_SECRET_PLAIN;
        client.secret = oap::str("s3cret");
        client.redirect_uris = &uri;
        client.redirect_uris_len = 1;
        client.grants = OAP_GRANT_AUTHORIZATION_CODE;
        client.require_pushed_authorization_requests = 1;
        return oap::answer(ctx.set_client(client));
    }
    oap_cb_result validate_scopes(std::string_view, std::string_view scopes, oap::context) {
        return scopes == "read" ? OAP_CB_TRUE : OAP_CB_FALSE;
    }
    oap_cb_result save_pushed_request(const uint8_t *digest, std::string_view client_id,
                                      std::string_view parameters, uint64_t expires_at, oap::context) {
        std::lock_guard<std::mutex> lock(mutex_);
        pushed_[key(digest)] = {std::string(client_id), std::string(parameters), expires_at};
        return OAP_CB_TRUE;
    }
    oap_cb_result find_pushed_request(const uint8_t *digest, oap::context ctx) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = pushed_.find(key(digest));
        if (found == pushed_.end()) return OAP_CB_FALSE;
        ++found_;
        return oap::answer(
            ctx.set_pushed_request(found->second.client_id, found->second.parameters, found->second.expires_at));
    }
    int found() {
        std::lock_guard<std::mutex> lock(mutex_);
        return found_;
    }

private:
    static std::string key(const uint8_t *digest) { return std::string(reinterpret_cast<const char *>(digest), 32); }
    struct pushed {
        std::string client_id, parameters;
        uint64_t expires_at;
    };
    std::mutex mutex_;
    std::map<std::string, pushed> pushed_;
    int found_ = 0;
};

// The `request_uri` value in a pushed authorization response body.
std::string request_uri(std::string_view body) {
    constexpr std::string_view key = "\"request_uri\":\"";
    std::size_t at = body.find(key);
    if (at == std::string_view::npos) return {};
    std::size_t start = at + key.size();
    std::size_t end = body.find('"', start);
    return end == std::string_view::npos ? std::string() : std::string(body.substr(start, end - start));
}

void test_pushed_requests() {
    par_host h;
    auto made = oap::server::create(config(), oap::validator(h));
    CHECK(made);
    if (!made) return;
    const oap::server &server = made.value;
    auto basic = oap::basic_header_value("web", "s3cret");
    oap::request push("POST", "/par");
    push.header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", basic.value)
        .body("response_type=code&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&scope=read&state=s");
    auto pushed = server.pushed_authorization(push);
    CHECK(pushed && pushed.value.status() == 201);
    std::string uri = request_uri(pushed.value.body());
    CHECK(uri.rfind("urn:ietf:params:oauth:request_uri:", 0) == 0);

    std::string target = "/authorize?client_id=web&request_uri=" + uri;
    auto by_reference = server.validate_authorization_request(oap::request("GET", target));
    CHECK(by_reference && by_reference.value.authorization && !by_reference.value.error);
    CHECK(h.found() == 1);

    // This client requires PAR: a plain request is redirected with invalid_request.
    auto plain = server.validate_authorization_request(oap::request(
        "GET", "/authorize?client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fweb.example%2Fcb"));
    CHECK(plain && !plain.value.authorization && plain.value.error.status() == 302);
    CHECK(plain.value.error.header("Location").value_or("").find("error=invalid_request") !=
          std::string_view::npos);
}

// The device grant (RFC 8628) from a class: one device authorization kept
// in memory, the verification page's lookup and the user's decision
// through oap::server.
class device_host {
public:
    oap_cb_result find_client(std::string_view client_id, oap::context ctx) {
        if (client_id != "tv") return OAP_CB_FALSE;
        oap_client client = oap::init<oap_client>();
        client.client_id = oap::str(client_id);
        client.grants = OAP_GRANT_DEVICE_CODE;
        return oap::answer(ctx.set_client(client));
    }
    oap_cb_result validate_scopes(std::string_view, std::string_view scopes, oap::context) {
        return scopes == "read" ? OAP_CB_TRUE : OAP_CB_FALSE;
    }
    oap_cb_result save_device_authorization(const uint8_t *, const uint8_t *user_code,
                                            const oap_device_authorization *a, oap::context) {
        std::lock_guard<std::mutex> lock(mutex_);
        user_code_.assign(reinterpret_cast<const char *>(user_code), 32);
        client_id_ = oap::view(a->client_id);
        scopes_ = oap::view(a->scopes);
        grant_id_ = oap::view(a->grant_id);
        expires_at_ = a->expires_at;
        interval_ = a->interval;
        status_ = a->status;
        return OAP_CB_TRUE;
    }
    oap_cb_result find_device_authorization(oap_device_code_kind kind, const uint8_t *digest, oap::context ctx) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (kind != OAP_DEVICE_CODE_KIND_USER_CODE ||
            user_code_ != std::string_view(reinterpret_cast<const char *>(digest), 32))
            return OAP_CB_FALSE;
        oap_device_authorization a = oap::init<oap_device_authorization>();
        a.client_id = oap::str(client_id_);
        a.scopes = oap::str(scopes_);
        a.grant_id = oap::str(grant_id_);
        a.expires_at = expires_at_;
        a.interval = interval_;
        a.status = status_;
        a.user_id = oap::str(user_id_);
        return oap::answer(ctx.set_device_authorization(a));
    }
    oap_cb_result decide_device_authorization(const uint8_t *, oap_device_status status, std::string_view user_id,
                                              std::string_view, oap::context) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (status_ != OAP_DEVICE_PENDING) return OAP_CB_FALSE;
        status_ = status;
        user_id_ = user_id;
        return OAP_CB_TRUE;
    }
    oap_cb_result user_code_attempts(std::string_view, uint64_t, uint32_t *failures, oap::context) {
        *failures = 0;
        return OAP_CB_TRUE;
    }
    oap_cb_result record_user_code_attempt(std::string_view, uint64_t, uint32_t *failures, oap::context) {
        *failures = 1;
        return OAP_CB_TRUE;
    }
    std::string user_id() {
        std::lock_guard<std::mutex> lock(mutex_);
        return user_id_;
    }

private:
    std::mutex mutex_;
    std::string user_code_, client_id_, scopes_, grant_id_, user_id_;
    uint64_t expires_at_ = 0, interval_ = 0;
    oap_device_status status_ = 0;
};

// The `user_code` value in a device authorization response body.
std::string user_code(std::string_view body) {
    constexpr std::string_view key = "\"user_code\":\"";
    std::size_t at = body.find(key);
    if (at == std::string_view::npos) return {};
    return std::string(body.substr(at + key.size(), 9));
}

void test_device_grant() {
    device_host h;
    oap_config c = config();
    c.grants |= OAP_GRANT_DEVICE_CODE;
    c.device_verification_uri = oap::str("https://auth.example.com/device");
    auto made = oap::server::create(c, oap::validator(h));
    CHECK(made);
    if (!made) return;
    const oap::server &server = made.value;
    oap::request start("POST", "/device_authorization");
    start.header("Content-Type", "application/x-www-form-urlencoded").body("client_id=tv&scope=read");
    auto started = server.device_authorization(start);
    CHECK(started && started.value.status() == 200);
    std::string code = user_code(started.value.body());
    CHECK(code.size() == 9 && code[4] == '-');

    oap::request page("GET", "/device");
    auto found = server.verify_user_code(page, "alice", code);
    CHECK(found && found.value.pending && !found.value.error);
    if (found.value.pending) {
        CHECK(oap::view(oap_device_pending_client_id(found.value.pending.get())) == "tv");
        CHECK(oap::view(oap_device_pending_user_code(found.value.pending.get())) == code);
    }
    auto wrong = server.verify_user_code(page, "alice", "BBBB-BBBB");
    CHECK(wrong && !wrong.value.pending && wrong.value.error.status() == 400);

    auto approved = server.device_decision(page, "alice", code, OAP_DEVICE_DECISION_APPROVE);
    CHECK(approved && !approved.value);
    CHECK(h.user_id() == "alice");
    auto again = server.device_decision(page, "alice", code, OAP_DEVICE_DECISION_DENY);
    CHECK(again && again.value.status() == 400);
}

// Statuses come back as values; handles free themselves.
void test_errors_are_values() {
    oap_config bad = config();
    bad.access_token_lifetime = 0;  // cannot be meant
    auto made = oap::server::create(bad, oap::validator());
    CHECK(!made && made.status == OAP_STATUS_INVALID_PARAMETER);
    CHECK(!made.value);
    CHECK(!made.message().empty());

    auto ok = oap::server::create(config(), oap::validator());
    CHECK(ok);
    auto metadata = ok.value.metadata();
    CHECK(metadata && metadata.value.status() == 200);
    CHECK(metadata.value.body().find("https://auth.example.com") != std::string_view::npos);

    // Not UTF-8: a status, not an exception or a crash.
    oap::request bad_uri("GET", std::string_view("/r\xff", 3));
    auto refused = ok.value.verify_bearer(bad_uri);
    CHECK(!refused && refused.status == OAP_STATUS_INVALID_UTF8);

    // An absent string_view is the C API's absent; "" is empty.
    CHECK(oap::str(std::string_view()).ptr == nullptr);
    CHECK(oap::str("").ptr != nullptr && oap::str("").len == 0);
    CHECK(oap::view(oap_str{nullptr, 0}).data() == nullptr);
}
}  // namespace

int main() {
    test_version();
    test_class_validator();
    test_lambda_validator_and_exceptions();
    test_errors_are_values();
    test_pushed_requests();
    test_device_grant();
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
