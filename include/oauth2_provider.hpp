/*
 * oauth2_provider.hpp: a header-only C++17 layer over oauth2_provider.h.
 *
 * Nothing here is a second implementation: every call is the C ABI's, and
 * the C conventions hold (see oauth2_provider.h). What C++ adds:
 *
 * - RAII: every handle is a std::unique_ptr whose deleter is its _free
 *   function (oap::server_ptr, response_ptr, token_ptr, ...).
 * - std::string_view in and out: oap::str() and oap::view() convert, and
 *   callbacks receive string_views. A default-constructed string_view
 *   (data() == nullptr) is the C API's "absent"; "" is the empty string.
 *   The views handed out borrow from the object they came from.
 * - Callbacks from lambdas or from a class: oap::validator holds one
 *   std::function per callback of oap_validator (unset = NULL = the
 *   library's default); oap::validator(host) binds every method of `host`
 *   named like a callback.
 * - No exception crosses into the library: a callback that throws answers
 *   OAP_CB_ERROR (the client gets a 500 server_error) after
 *   validator::on_exception, if set, saw the exception. A callback of
 *   oap::server::verify_bearer_with that throws has its exception rethrown
 *   to the caller once the C call has returned.
 * - Failures are values: oap::result<T> carries the oap_status; nothing in
 *   this header throws, except std::bad_alloc from the standard containers
 *   it fills (a request's headers, a scope list).
 *
 * Install with the library (make -C ffi install; both headers go to the
 * same directory) and link as for C: pkg-config --cflags --libs oauth2_provider.
 */
#ifndef OAUTH2_PROVIDER_HPP
#define OAUTH2_PROVIDER_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "oauth2_provider.hpp needs C++17 (oauth2_provider.h is the C header)"
#endif

#include "oauth2_provider.h"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace oap {

/* ---- strings ---------------------------------------------------------- */

/** The view of an oap_str: borrowed, absent (nullptr data) when ptr is NULL. */
inline std::string_view view(oap_str s) noexcept {
    return s.ptr != nullptr ? std::string_view(s.ptr, s.len) : std::string_view();
}

/** The view of an oap_bytes (a response body) as characters. */
inline std::string_view view(oap_bytes b) noexcept {
    return b.ptr != nullptr ? std::string_view(reinterpret_cast<const char *>(b.ptr), b.len)
                            : std::string_view();
}

/** An oap_str over `s` (borrowed): absent when s.data() is nullptr. */
inline oap_str str(std::string_view s) noexcept { return oap_str{s.data(), s.size()}; }

/** An oap_bytes over `s` (borrowed). */
inline oap_bytes bytes(std::string_view s) noexcept {
    return oap_bytes{reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

/** What `status` means, in English (static text). */
inline std::string_view message(oap_status status) noexcept {
    return view(oap_status_message(static_cast<uint32_t>(status)));
}

/** The version of the library linked, e.g. "0.1.0". */
inline std::string_view version() noexcept { return view(oap_version()); }

/** Whether the library linked is the version this header declares. */
inline bool version_matches() noexcept { return version() == std::string_view(OAP_VERSION); }

/** A struct the caller fills (oap_client, oap_token_info, ...): zeroed,
 *  with struct_size set, as the C convention asks. */
template <class T>
T init() noexcept {
    static_assert(std::is_trivial_v<T>, "init<T>() is for the C structs with struct_size");
    T value{};
    value.struct_size = sizeof(T);
    return value;
}

/* ---- handles ------------------------------------------------------------ */

/** A std::unique_ptr deleter calling the handle's _free function. */
template <auto Free>
struct deleter {
    template <class T>
    void operator()(T *handle) const noexcept {
        Free(handle);
    }
};

using server_ptr = std::unique_ptr<oap_server, deleter<oap_server_free>>;
using response_ptr = std::unique_ptr<oap_response, deleter<oap_response_free>>;
using token_ptr = std::unique_ptr<oap_token, deleter<oap_token_free>>;
using authorization_ptr = std::unique_ptr<oap_authorization, deleter<oap_authorization_free>>;
using device_pending_ptr = std::unique_ptr<oap_device_pending, deleter<oap_device_pending_free>>;
using registered_client_ptr =
    std::unique_ptr<oap_registered_client, deleter<oap_registered_client_free>>;
/** Only with the library's "sqlite" feature (the default). */
using sqlite_ptr = std::unique_ptr<oap_sqlite, deleter<oap_sqlite_free>>;

/** A status and, when it is OAP_STATUS_OK, a value. */
template <class T>
struct result {
    oap_status status = OAP_STATUS_OK;
    T value{};

    explicit operator bool() const noexcept { return status == OAP_STATUS_OK; }
    std::string_view message() const noexcept { return oap::message(status); }
};

/** A response handed out by the library: status, headers, body. */
class response {
public:
    response() = default;
    explicit response(response_ptr handle) noexcept : handle_(std::move(handle)) {}

    /** Whether there is a response (verify_bearer grants carry none). */
    explicit operator bool() const noexcept { return handle_ != nullptr; }
    /** The HTTP status (0 without a response). */
    uint16_t status() const noexcept { return oap_response_status(handle_.get()); }
    /** The body, borrowed from the response. */
    std::string_view body() const noexcept { return view(oap_response_body(handle_.get())); }
    /** The number of headers. */
    std::size_t header_count() const noexcept { return oap_response_header_count(handle_.get()); }
    /** The header at `index` as (name, value), or nothing past the end. */
    std::optional<std::pair<std::string_view, std::string_view>> header(std::size_t index) const noexcept {
        oap_str name{}, value{};
        if (oap_response_header(handle_.get(), index, &name, &value) != OAP_STATUS_OK) return std::nullopt;
        return std::make_pair(view(name), view(value));
    }
    /** The value of the header `name` (case-insensitive), if present. */
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        oap_str value{};
        if (oap_response_header_value(handle_.get(), str(name), &value) != OAP_STATUS_OK) return std::nullopt;
        return view(value);
    }
    const oap_response *get() const noexcept { return handle_.get(); }

private:
    response_ptr handle_;
};

/** An HTTP request as the host received it; the views must outlive the calls. */
class request {
public:
    request(std::string_view method, std::string_view uri) noexcept : method_(method), uri_(uri) {}

    request &header(std::string_view name, std::string_view value) {
        headers_.push_back(oap_header{str(name), str(value)});
        return *this;
    }
    request &body(std::string_view body) noexcept {
        body_ = body;
        return *this;
    }
    /** The C view of this request, valid while this object is unchanged. */
    oap_request raw() const noexcept {
        oap_request r{};
        r.method = str(method_);
        r.uri = str(uri_);
        r.headers = headers_.empty() ? nullptr : headers_.data();
        r.headers_len = headers_.size();
        r.body = bytes(body_);
        return r;
    }

private:
    std::string_view method_, uri_, body_;
    std::vector<oap_header> headers_;
};

/* ---- what callbacks are handed --------------------------------------------- */

/** The oap_ctx of a callback: its answers out, the request's values in.
 *  Setters copy what they are given and return the oap_status. */
class context {
public:
    explicit context(oap_ctx *ctx) noexcept : ctx_(ctx) {}

    oap_status set_client(const oap_client &client) const noexcept { return oap_ctx_set_client(ctx_, &client); }
    oap_status set_registered_client(const oap_registered_client &client) const noexcept {
        return oap_ctx_set_registered_client(ctx_, &client);
    }
    oap_status set_user(std::string_view user) const noexcept { return oap_ctx_set_user(ctx_, str(user)); }
    oap_status set_scopes(std::string_view scopes) const noexcept { return oap_ctx_set_scopes(ctx_, str(scopes)); }
    oap_status set_redirect_uri(std::string_view uri) const noexcept {
        return oap_ctx_set_redirect_uri(ctx_, str(uri));
    }
    oap_status set_code_challenge(std::string_view challenge) const noexcept {
        return oap_ctx_set_code_challenge(ctx_, str(challenge));
    }
    oap_status set_code_challenge_method(oap_pkce_method method) const noexcept {
        return oap_ctx_set_code_challenge_method(ctx_, method);
    }
    oap_status set_token_info(const oap_token_info &info) const noexcept { return oap_ctx_set_token_info(ctx_, &info); }
    oap_status set_token(const oap_token &token) const noexcept { return oap_ctx_set_token(ctx_, &token); }
    oap_status set_code(const oap_code_info &info) const noexcept { return oap_ctx_set_code(ctx_, &info); }
    oap_status set_code_used(std::string_view grant_id) const noexcept {
        return oap_ctx_set_code_used(ctx_, str(grant_id));
    }
    oap_status set_code_used_pkce(std::string_view grant_id, std::string_view challenge,
                                  oap_pkce_method method) const noexcept {
        return oap_ctx_set_code_used_pkce(ctx_, str(grant_id), str(challenge), method);
    }
    oap_status set_refresh_token(const oap_refresh_token_info &info) const noexcept {
        return oap_ctx_set_refresh_token(ctx_, &info);
    }
    oap_status set_refresh_token_rotated(std::string_view grant_id) const noexcept {
        return oap_ctx_set_refresh_token_rotated(ctx_, str(grant_id));
    }
    /** A pushed authorization request found (find_pushed_request): who
     *  pushed it, its form-encoded parameters, its expiry. */
    oap_status set_pushed_request(std::string_view client_id, std::string_view parameters,
                                  uint64_t expires_at) const noexcept {
        return oap_ctx_set_pushed_request(ctx_, str(client_id), str(parameters), expires_at);
    }
    /** A device authorization found (find_device_authorization). */
    oap_status set_device_authorization(const oap_device_authorization &authorization) const noexcept {
        return oap_ctx_set_device_authorization(ctx_, &authorization);
    }
    /** The access token being saved, as a handle (save_bearer_token/save_token). */
    result<token_ptr> issued_access_token() const noexcept {
        oap_token *token = nullptr;
        oap_status status = oap_ctx_issued_access_token(ctx_, &token);
        return {status, token_ptr(status == OAP_STATUS_OK ? token : nullptr)};
    }
    std::string_view method() const noexcept { return read(oap_ctx_method); }
    std::string_view uri() const noexcept { return read(oap_ctx_uri); }
    /** A request header, if present. */
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        return lookup(oap_ctx_header, name);
    }
    /** A request parameter (query or form), if present. */
    std::optional<std::string_view> param(std::string_view name) const noexcept {
        return lookup(oap_ctx_param, name);
    }
    /** The request's time, the clock the library decides against. */
    uint64_t now() const noexcept {
        uint64_t now = 0;
        return oap_ctx_now(ctx_, &now) == OAP_STATUS_OK ? now : 0;
    }
    oap_ctx *raw() const noexcept { return ctx_; }

private:
    template <class F>
    std::string_view read(F f) const noexcept {
        oap_str out{};
        return f(ctx_, &out) == OAP_STATUS_OK ? view(out) : std::string_view();
    }
    template <class F>
    std::optional<std::string_view> lookup(F f, std::string_view name) const noexcept {
        oap_str out{};
        if (f(ctx_, str(name), &out) != OAP_STATUS_OK || out.ptr == nullptr) return std::nullopt;
        return view(out);
    }
    oap_ctx *ctx_;
};

/** A callback's answer from a setter's status: OAP_CB_TRUE or OAP_CB_ERROR. */
inline oap_cb_result answer(oap_status status) noexcept {
    return status == OAP_STATUS_OK ? OAP_CB_TRUE : OAP_CB_ERROR;
}

/* ---- the validator: callbacks from lambdas or a class ------------------------ */

/* Every callback slot of oap_validator, in its order. */
#define OAP_CXX_VALIDATOR_SLOTS(X)                                                      \
    X(find_client) X(authenticate_client) X(authenticate_client_id)                     \
    X(client_authentication_required) X(confirm_redirect_uri) X(get_code_challenge)     \
    X(get_code_challenge_method) X(get_default_redirect_uri) X(get_default_scopes)       \
    X(get_original_scopes) X(introspect_token) X(invalidate_authorization_code)          \
    X(is_pkce_required) X(is_within_original_scope) X(revoke_token) X(revoke_grant)      \
    X(invalidate_refresh_token) X(rotate_refresh_token) X(save_authorization_code)       \
    X(save_bearer_token) X(save_token) X(validate_bearer_token) X(validate_client_id)    \
    X(validate_code) X(validate_grant_type) X(validate_redirect_uri)                     \
    X(validate_refresh_token) X(validate_response_type) X(validate_scopes)               \
    X(validate_user) X(consume_and_save) X(save_pushed_request) X(find_pushed_request)      \
    X(consume_pushed_request) X(save_device_authorization) X(find_device_authorization)   \
    X(decide_device_authorization) X(record_device_poll) X(record_user_code_attempt)      \
    X(user_code_attempts) X(invalidate_device_code) X(consume_device_code_and_save)

namespace detail {

/* The list above is every slot: a callback added to oap_validator and not
 * to the list stops the build here. */
#define OAP_CXX_COUNT(name) +1
static_assert(sizeof(oap_validator) ==
                  sizeof(std::size_t) + sizeof(void *) * (1 OAP_CXX_VALIDATOR_SLOTS(OAP_CXX_COUNT)),
              "OAP_CXX_VALIDATOR_SLOTS does not list every callback of oap_validator");
#undef OAP_CXX_COUNT

/* How a C callback argument reaches C++: oap_str as std::string_view,
 * oap_ctx * as oap::context, everything else as it is. */
template <class T>
struct arg {
    using type = T;
    static T in(T value) noexcept { return value; }
};
template <>
struct arg<oap_str> {
    using type = std::string_view;
    static type in(oap_str value) noexcept { return view(value); }
};
template <>
struct arg<oap_ctx *> {
    using type = context;
    static type in(oap_ctx *value) noexcept { return context(value); }
};

template <class C>
struct slot;
template <class... A>
struct slot<oap_cb_result (*)(void *, A...)> {
    using function = std::function<oap_cb_result(typename arg<A>::type...)>;

    /* The C function in the table: finds the std::function through
     * user_data; an exception stops here and answers OAP_CB_ERROR. */
    template <class Owner, function Owner::*Member>
    static oap_cb_result call(void *user_data, A... args) noexcept {
        const Owner &owner = *static_cast<const Owner *>(user_data);
        try {
            return (owner.*Member)(arg<A>::in(args)...);
        } catch (...) {
            owner.exception_in_callback(std::current_exception());
            return OAP_CB_ERROR;
        }
    }
};

#define OAP_CXX_DETECT(name)                                                     \
    template <class H, class = void>                                             \
    struct has_##name : std::false_type {};                                      \
    template <class H>                                                           \
    struct has_##name<H, std::void_t<decltype(&H::name)>> : std::true_type {};
OAP_CXX_VALIDATOR_SLOTS(OAP_CXX_DETECT)
#undef OAP_CXX_DETECT

}  // namespace detail

/** The callbacks of a server (oap_validator), as std::functions taking
 *  string_views and an oap::context. An unset one is NULL in the table:
 *  the library's default. Callbacks run concurrently when threads share
 *  the server: what they capture must allow that. */
class validator {
public:
#define OAP_CXX_DECLARE(name) detail::slot<decltype(oap_validator::name)>::function name;
    OAP_CXX_VALIDATOR_SLOTS(OAP_CXX_DECLARE)
#undef OAP_CXX_DECLARE

    /** Told of every exception a callback threw (the callback then
     *  answered OAP_CB_ERROR): to log it. Must not throw; if it does, the
     *  exception is dropped. */
    std::function<void(std::exception_ptr)> on_exception;

    validator() = default;

    /** Every public method of `host` named like a callback (find_client,
     *  validate_scopes, ...) becomes that callback, called on `host`,
     *  which must outlive every server built from this validator. */
    template <class Host, class = std::enable_if_t<!std::is_same_v<std::decay_t<Host>, validator>>>
    explicit validator(Host &host) {
#define OAP_CXX_BIND(name)                                                          \
    if constexpr (detail::has_##name<Host>::value) {                               \
        name = [&host](auto... args) -> oap_cb_result { return host.name(args...); }; \
    }
        OAP_CXX_VALIDATOR_SLOTS(OAP_CXX_BIND)
#undef OAP_CXX_BIND
    }

    /** The C table: user_data is this object, which must stay where it is
     *  while a server uses the table (oap::server keeps its own copy). */
    oap_validator table() const noexcept {
        oap_validator t = init<oap_validator>();
        t.user_data = const_cast<validator *>(this);
#define OAP_CXX_FILL(name)                                                                      \
    if (name) {                                                                                 \
        using slot_type = detail::slot<decltype(oap_validator::name)>;                          \
        t.name = &slot_type::template call<validator, &validator::name>;                      \
    }
        OAP_CXX_VALIDATOR_SLOTS(OAP_CXX_FILL)
#undef OAP_CXX_FILL
        return t;
    }

    /** Called by the C trampolines when a callback throws. */
    void exception_in_callback(std::exception_ptr e) const noexcept {
        if (!on_exception) return;
        try {
            on_exception(e);
        } catch (...) {
        }
    }
};

/* ---- the server ------------------------------------------------------------ */

/** A bearer check's outcome: a token when access is granted, otherwise the
 *  error response to send (401/403 with WWW-Authenticate). */
struct bearer {
    token_ptr token;
    oap::response error;

    bool granted() const noexcept { return token != nullptr; }
};

/** An authorization request's first phase: the pending authorization to
 *  show the user, or the response to send instead. */
struct pending_authorization {
    authorization_ptr authorization;
    oap::response error;
};

/** The verification page's lookup of a user code: the pending device
 *  authorization to show, or the error response (JSON) saying why not. */
struct device_verification {
    device_pending_ptr pending;
    oap::response error;
};

/** A server and the validator its callbacks call, owned together (the
 *  server is freed first). Shared across threads like oap_server. */
class server {
public:
    server() = default;

    /** A server over callbacks; `callbacks` is moved into the server. */
    static result<server> create(const oap_config &config, validator callbacks) {
        server s;
        s.validator_ = std::make_unique<validator>(std::move(callbacks));
        oap_validator table = s.validator_->table();
        oap_server *handle = nullptr;
        oap_status status = oap_server_new(&config, &table, &handle);
        if (status != OAP_STATUS_OK) return {status, server()};
        s.handle_.reset(handle);
        return {status, std::move(s)};
    }

    /** A server over the library's SQLite store ("sqlite" feature). */
    static result<server> create(const oap_config &config, const oap_sqlite &store) noexcept {
        server s;
        oap_server *handle = nullptr;
        oap_status status = oap_server_new_sqlite(&config, &store, &handle);
        if (status == OAP_STATUS_OK) s.handle_.reset(handle);
        return {status, std::move(s)};
    }

    explicit operator bool() const noexcept { return handle_ != nullptr; }
    const oap_server *get() const noexcept { return handle_.get(); }

    result<response> token(const request &r) const noexcept { return endpoint(oap_server_token_response, r); }
    result<response> revocation(const request &r) const noexcept {
        return endpoint(oap_server_revocation_response, r);
    }
    result<response> introspection(const request &r) const noexcept {
        return endpoint(oap_server_introspection_response, r);
    }
    /** The pushed authorization request endpoint (RFC 9126). */
    result<response> pushed_authorization(const request &r) const noexcept {
        return endpoint(oap_server_pushed_authorization_response, r);
    }
    /** The device authorization endpoint (RFC 8628). */
    result<response> device_authorization(const request &r) const noexcept {
        return endpoint(oap_server_device_authorization_response, r);
    }
    /** The verification page: `subject` typed `user_code`. */
    result<device_verification> verify_user_code(const request &r, std::string_view subject,
                                                 std::string_view user_code) const noexcept {
        oap_request raw = r.raw();
        oap_device_pending *pending = nullptr;
        oap_response *out = nullptr;
        oap_status status =
            oap_server_device_verification(handle_.get(), &raw, str(subject), str(user_code), &pending, &out);
        if (status != OAP_STATUS_OK) return {status, device_verification{}};
        return {status, device_verification{device_pending_ptr(pending), response(response_ptr(out))}};
    }
    /** The user's decision on a user code (approved_scopes absent: all
     *  asked). The response is empty when the decision was recorded. */
    result<response> device_decision(const request &r, std::string_view subject, std::string_view user_code,
                                      oap_device_decision decision,
                                      std::string_view approved_scopes = {}) const noexcept {
        oap_request raw = r.raw();
        oap_response *out = nullptr;
        oap_status status = oap_server_device_decision(handle_.get(), &raw, str(subject), str(user_code),
                                                       str(approved_scopes), decision, &out);
        return {status, response(response_ptr(status == OAP_STATUS_OK ? out : nullptr))};
    }
    result<response> metadata() const noexcept {
        oap_response *out = nullptr;
        oap_status status = oap_server_metadata_response(handle_.get(), &out);
        return {status, response(response_ptr(status == OAP_STATUS_OK ? out : nullptr))};
    }

    /** The resource server's check: a token carrying every scope of
     *  `scopes`, or the error response. */
    result<bearer> verify_bearer(const request &r, std::initializer_list<std::string_view> scopes = {}) const {
        std::vector<oap_str> required = strs(scopes);
        oap_request raw = r.raw();
        oap_token *token = nullptr;
        oap_response *out = nullptr;
        oap_status status = oap_server_verify_bearer(handle_.get(), &raw, data(required), required.size(),
                                                     &token, &out);
        if (status != OAP_STATUS_OK) return {status, bearer{}};
        return {status, bearer{token_ptr(token), response(response_ptr(out))}};
    }

    /** verify_bearer handing the token, borrowed, to `granted(const
     *  oap_token &)` instead of a handle. An exception `granted` throws is
     *  rethrown here, after the C call returned. The result holds the error
     *  response when access is denied (empty when granted). */
    template <class F>
    result<response> verify_bearer_with(const request &r, std::initializer_list<std::string_view> scopes,
                                        F &&granted) const {
        struct call {
            std::remove_reference_t<F> *f;
            std::exception_ptr thrown;
            static void trampoline(void *user_data, const oap_token *token) noexcept {
                call &c = *static_cast<call *>(user_data);
                try {
                    (*c.f)(*token);
                } catch (...) {
                    c.thrown = std::current_exception();
                }
            }
        };
        call c{&granted, nullptr};
        std::vector<oap_str> required = strs(scopes);
        oap_request raw = r.raw();
        oap_response *out = nullptr;
        oap_status status = oap_server_verify_bearer_with(handle_.get(), &raw, data(required), required.size(),
                                                          &call::trampoline, &c, &out);
        response denied(response_ptr(status == OAP_STATUS_OK ? out : nullptr));
        if (c.thrown) std::rethrow_exception(c.thrown);
        return {status, std::move(denied)};
    }

    /** Phase one of the authorization endpoint. */
    result<pending_authorization> validate_authorization_request(const request &r) const noexcept {
        oap_request raw = r.raw();
        oap_authorization *pending = nullptr;
        oap_response *out = nullptr;
        oap_status status = oap_server_validate_authorization_request(handle_.get(), &raw, &pending, &out);
        if (status != OAP_STATUS_OK) return {status, pending_authorization{}};
        return {status, pending_authorization{authorization_ptr(pending), response(response_ptr(out))}};
    }
    /** Phase two: the user approved (a redirect with the code). */
    result<response> authorize(const oap_authorization &pending, const request &r, std::string_view user,
                               std::string_view approved_scopes) const noexcept {
        oap_request raw = r.raw();
        oap_response *out = nullptr;
        oap_status status =
            oap_server_authorize(handle_.get(), &pending, &raw, str(user), str(approved_scopes), &out);
        return {status, response(response_ptr(status == OAP_STATUS_OK ? out : nullptr))};
    }
    /** Phase two: the user refused (a redirect with access_denied). */
    result<response> deny(const oap_authorization &pending) const noexcept {
        oap_response *out = nullptr;
        oap_status status = oap_server_deny(handle_.get(), &pending, &out);
        return {status, response(response_ptr(status == OAP_STATUS_OK ? out : nullptr))};
    }

private:
    template <class F>
    result<response> endpoint(F f, const request &r) const noexcept {
        oap_request raw = r.raw();
        oap_response *out = nullptr;
        oap_status status = f(handle_.get(), &raw, &out);
        return {status, response(response_ptr(status == OAP_STATUS_OK ? out : nullptr))};
    }
    static std::vector<oap_str> strs(std::initializer_list<std::string_view> list) {
        std::vector<oap_str> out;
        out.reserve(list.size());
        for (std::string_view s : list) out.push_back(str(s));
        return out;
    }
    static const oap_str *data(const std::vector<oap_str> &v) noexcept { return v.empty() ? nullptr : v.data(); }

    // Declared first, destroyed last: the server's callbacks use it.
    std::unique_ptr<validator> validator_;
    server_ptr handle_;
};

/* ---- tokens and helpers ------------------------------------------------------ */

/** The value of an `Authorization: Basic ...` header for a client. */
inline result<std::string> basic_header_value(std::string_view client_id, std::string_view secret) {
    // "Basic " + base64 of the form-encoded "id:secret": each byte becomes
    // at most 3 ("%XX"), base64 makes 3 bytes 4.
    std::string out(6 + 4 * (client_id.size() + secret.size() + 1) + 4, '\0');
    std::size_t written = 0;
    oap_status status = oap_basic_header_value(str(client_id), str(secret), out.data(), out.size(), &written);
    if (status != OAP_STATUS_OK) return {status, std::string()};
    out.resize(written);
    return {status, std::move(out)};
}

inline std::string_view client_id(const oap_token &t) noexcept { return view(oap_token_client_id(&t)); }
inline std::string_view username(const oap_token &t) noexcept { return view(oap_token_username(&t)); }
inline std::string_view scopes(const oap_token &t) noexcept { return view(oap_token_scopes(&t)); }
inline bool has_scope(const oap_token &t, std::string_view scope) noexcept {
    return oap_token_has_scope(&t, str(scope));
}

}  // namespace oap

#endif /* OAUTH2_PROVIDER_HPP */
