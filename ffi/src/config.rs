//! `oap_config`: the server configuration, mapped onto the Rust API's
//! `ServerBuilder`.

use std::ffi::{c_int, c_void};

use provider::token::FillTokenGenerator;
use provider::{EndpointPaths, Grant, OAuthError, RequestValidator, ServerBuilder};

use crate::enums::{
    grant_bit, known_grants, oap_grants, OAP_GRANT_AUTHORIZATION_CODE,
    OAP_GRANT_CLIENT_CREDENTIALS, OAP_GRANT_REFRESH_TOKEN,
};
use crate::ffi::{read_versioned, Versioned};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;

/// The longest lifetime the library accepts, in seconds: ten years
/// (315,360,000). A longer one (say `UINT64_MAX` meant as "forever") is
/// `OAP_STATUS_INVALID_PARAMETER`: no token or code should outlive it,
/// and expiry times stay far from overflowing.
pub const OAP_MAX_LIFETIME: u64 = 10 * 365 * 24 * 60 * 60;
// The core enforces it (ConfigError::InvalidLifetime); the header states it.
const _: () = assert!(OAP_MAX_LIFETIME == provider::server::MAX_LIFETIME);

/// `fill_random(user_data, buf, len)`: writes `len` unpredictable bytes to
/// `buf` and returns 0, or returns non-zero when it cannot; the request then
/// fails with `server_error` (HTTP 500) before anything is saved, and a code
/// or refresh token it would have spent stays usable. Every token, code and
/// grant id is 32 of these bytes in base64url; one request asks once, for
/// 32 to 96 bytes. With OpenSSL:
/// `return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;`.
///
/// Called on the threads serving requests, concurrently, with the same
/// `user_data`; it must not unwind (no C++ exceptions, no longjmp) through
/// the library. NULL: the operating system's generator (`getrandom`).
pub type oap_fill_random_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, buf: *mut u8, len: usize) -> c_int>;

/// Server configuration. Start from `oap_config_default()` and change what
/// you need; the library copies what it reads during `oap_server_new`.
///
/// Yes/no fields are `uint8_t`, 0 for no and any other value for yes (the
/// library never reads a C `bool` from your memory: a byte other than 0 or
/// 1 would be undefined behaviour in Rust). They have the size and
/// alignment of `bool`, so the layout is the one earlier headers had.
///
/// Strings left absent (`ptr == NULL`) or empty take the default. Lifetimes
/// are seconds, from 1 to `OAP_MAX_LIFETIME` (ten years); anything else is
/// `OAP_STATUS_INVALID_PARAMETER`, and so is a `grants` bit that is no
/// `OAP_GRANT_*`. Numbers of the fourth version (the PAR and device grant
/// fields) read 0 as their default, which is what a caller compiled with
/// an earlier header gets.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_config {
    /// `sizeof(oap_config)` as the caller compiled it (set by
    /// `oap_config_default`). Lets later versions append fields.
    pub struct_size: usize,
    /// Enabled grants, `OAP_GRANT_*` or-ed (other bits are refused).
    /// Default: authorization code, client credentials and refresh token.
    pub grants: oap_grants,
    /// Access token lifetime, 1 to `OAP_MAX_LIFETIME`. Default 3600. Each
    /// token response's `expires_in` is this value, and a token issued at
    /// `issued_at` expires at `issued_at + access_token_lifetime` (see
    /// `oap_issued_token`).
    pub access_token_lifetime: u64,
    /// Authorization code lifetime, 1 to `OAP_MAX_LIFETIME`. Default 600.
    pub code_lifetime: u64,
    /// Refresh token lifetime, 1 to `OAP_MAX_LIFETIME`. Default 2592000
    /// (30 days). Every refresh token expires: a store keeps a rotated one,
    /// for reuse detection, and a revoked grant's marker only that long.
    pub refresh_token_lifetime: u64,
    /// The issuer identifier (RFC 8414, RFC 9207), e.g.
    /// "https://auth.example.com": sent as `iss` in authorization
    /// responses, used for metadata and introspection. An absolute `https`
    /// URL without query or fragment (`http` on a loopback host only).
    /// Default: none, which `oap_server_new` refuses unless `grants` is 0
    /// (a resource server): every authorization server must set it.
    pub issuer: oap_str,
    /// The realm of `WWW-Authenticate` challenges. Default "oauth2". A
    /// control character in it (CR, LF, TAB, NUL, …), which the header
    /// cannot carry, is `OAP_STATUS_INVALID_PARAMETER` (not stripped).
    pub realm: oap_str,
    /// Space-delimited scopes advertised in metadata. Default: none.
    pub scopes_supported: oap_str,
    /// Authorization endpoint path for metadata. Default "/authorize".
    pub authorization_endpoint: oap_str,
    /// Token endpoint path for metadata. Default "/token".
    pub token_endpoint: oap_str,
    /// Revocation endpoint path for metadata. Default "/revoke".
    pub revocation_endpoint: oap_str,
    /// Introspection endpoint path for metadata. Default "/introspect".
    pub introspection_endpoint: oap_str,
    /// Allow the PKCE `plain` method (RFC 7636 §4.2): non-zero is yes.
    /// Default 0.
    pub allow_plain_pkce: u8,
    /// Accept bearer tokens in a form body (RFC 6750 §2.2): non-zero is
    /// yes. Default 0.
    pub bearer_in_body: u8,
    /// Accept bearer tokens in the query string (RFC 6750 §2.3): non-zero
    /// is yes. Default 0.
    pub bearer_in_query: u8,
    /// Where the random bytes of tokens, codes and grant ids come from; see
    /// `oap_fill_random_cb`. Default NULL: the operating system.
    pub fill_random: oap_fill_random_cb,
    /// Passed as the first argument of `fill_random`; must stay valid until
    /// the server is freed. Default NULL.
    pub fill_random_user_data: *mut c_void,
    /// Space-delimited resource identifiers of the protected resources
    /// that accept this server's tokens, listed as `protected_resources`
    /// in the metadata (RFC 9728 §4). Each an `https` URL (`http` on a
    /// loopback host only) without query or fragment, else
    /// `oap_server_new` fails with `OAP_STATUS_INVALID_PARAMETER`.
    /// Default: none. Added after the second version of this struct.
    pub protected_resources: oap_str,
    /// Refuse every authorization request that was not pushed (RFC 9126
    /// §5; advertised as `require_pushed_authorization_requests` in the
    /// metadata): non-zero is yes. A client can require it for itself
    /// (`oap_client.require_pushed_authorization_requests`). Default 0.
    /// Added after the third version of this struct.
    pub require_pushed_authorization_requests: u8,
    /// How long a pushed authorization request stays usable (RFC 9126
    /// §2.2 `expires_in`), seconds, 1 to `OAP_MAX_LIFETIME`; 0 (what a
    /// caller of an earlier header gets) is the default, 60.
    pub pushed_request_lifetime: u64,
    /// Pushed authorization request endpoint path for metadata. Default
    /// "/par".
    pub pushed_authorization_endpoint: oap_str,
    /// The end-user verification URI of the device grant (RFC 8628 §3.2
    /// `verification_uri`), the page where users enter user codes: an
    /// absolute `https` URI (`http` on a loopback host only). Required
    /// when `grants` has `OAP_GRANT_DEVICE_CODE` (else `oap_server_new`
    /// fails with `OAP_STATUS_INVALID_PARAMETER`). Default: none.
    pub device_verification_uri: oap_str,
    /// Device code lifetime (RFC 8628 `expires_in`), seconds, 1 to
    /// `OAP_MAX_LIFETIME`; 0 (what a caller of an earlier header gets) is
    /// the default, 600.
    pub device_code_lifetime: u64,
    /// The minimum polling interval the device is told (RFC 8628
    /// `interval`), seconds; each `slow_down` adds 5. 0 is the default, 5.
    pub device_poll_interval: u64,
    /// How many user codes one user may enter within
    /// `user_code_attempts_window` before the verification page refuses
    /// them (`temporarily_unavailable`, RFC 8628 §5.1); every code
    /// entered counts, right or wrong. 0 is the default, 10.
    pub user_code_max_attempts: u32,
    /// The window of `user_code_max_attempts`, seconds; 0 is the default,
    /// 300; at most a day (86,400: the longest a store keeps the codes
    /// entered, as the SQLite store does).
    pub user_code_attempts_window: u64,
    /// Device authorization endpoint path for metadata. Default
    /// "/device_authorization".
    pub device_authorization_endpoint: oap_str,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero (NULL
// pointers, a None callback).
unsafe impl Versioned for oap_config {
    /// The fields before `fill_random`, which came later: a caller compiled
    /// without it gets the operating system's generator.
    const FIRST_VERSION_SIZE: usize = std::mem::offset_of!(oap_config, fill_random);
    /// The second version ends before `protected_resources`, the third
    /// before `require_pushed_authorization_requests` (the fourth holds
    /// the PAR and device grant fields).
    const OTHER_VERSION_SIZES: &'static [usize] = &[
        std::mem::offset_of!(oap_config, protected_resources),
        std::mem::offset_of!(oap_config, require_pushed_authorization_requests),
    ];
}

/// The default configuration, with `struct_size` set. Thread-safe.
#[no_mangle]
pub extern "C" fn oap_config_default() -> oap_config {
    let config = oap_config {
        struct_size: std::mem::size_of::<oap_config>(),
        grants: OAP_GRANT_AUTHORIZATION_CODE
            | OAP_GRANT_CLIENT_CREDENTIALS
            | OAP_GRANT_REFRESH_TOKEN,
        access_token_lifetime: 3600,
        code_lifetime: 600,
        refresh_token_lifetime: provider::server::DEFAULT_REFRESH_TOKEN_LIFETIME,
        issuer: oap_str::NONE,
        realm: oap_str::NONE,
        scopes_supported: oap_str::NONE,
        authorization_endpoint: oap_str::NONE,
        token_endpoint: oap_str::NONE,
        revocation_endpoint: oap_str::NONE,
        introspection_endpoint: oap_str::NONE,
        allow_plain_pkce: 0,
        bearer_in_body: 0,
        bearer_in_query: 0,
        fill_random: None,
        fill_random_user_data: std::ptr::null_mut(),
        protected_resources: oap_str::NONE,
        require_pushed_authorization_requests: 0,
        pushed_request_lifetime: 60,
        pushed_authorization_endpoint: oap_str::NONE,
        device_verification_uri: oap_str::NONE,
        device_code_lifetime: 600,
        device_poll_interval: 5,
        user_code_max_attempts: 10,
        user_code_attempts_window: 300,
        device_authorization_endpoint: oap_str::NONE,
    };
    panic::value(config, || config)
}

/// A configured string: `None` when absent or empty.
///
/// # Safety
/// As `oap_str::to_opt_str`.
unsafe fn configured<'a>(s: oap_str) -> Result<Option<&'a str>, oap_status> {
    // SAFETY: same contract as ours.
    Ok(unsafe { s.to_opt_str() }?.filter(|s| !s.is_empty()))
}

/// Applies `config` to a builder over `validator` (the callback table's
/// adapter, or a store).
///
/// # Safety
/// `config` is NULL or points to an `oap_config` whose strings are valid
/// for this call.
pub(crate) unsafe fn builder<V: RequestValidator>(
    config: *const oap_config,
    validator: V,
) -> Result<ServerBuilder<V>, oap_status> {
    // SAFETY: our contract: `config` is what read_versioned asks for, and
    // its strings are valid for this call. The &strs borrowed from them
    // are copied by the builder (issuer, realm, scopes, device URI) or below
    // (endpoint paths) before we return.
    let (config, grants, issuer, realm, scopes_supported, paths, protected, device_uri) = unsafe {
        let config = read_versioned(config)?;
        let grants = known_grants(config.grants)?;
        let issuer = configured(config.issuer)?;
        let realm = configured(config.realm)?;
        let scopes_supported = configured(config.scopes_supported)?;
        let paths = [
            configured(config.authorization_endpoint)?,
            configured(config.token_endpoint)?,
            configured(config.revocation_endpoint)?,
            configured(config.introspection_endpoint)?,
            configured(config.pushed_authorization_endpoint)?,
            configured(config.device_authorization_endpoint)?,
        ];
        let protected = configured(config.protected_resources)?;
        let device_uri = configured(config.device_verification_uri)?;
        (
            config,
            grants,
            issuer,
            realm,
            scopes_supported,
            paths,
            protected,
            device_uri,
        )
    };
    let mut builder = ServerBuilder::new(validator)
        // Lifetimes are checked by the core's build() (InvalidLifetime).
        .access_token_lifetime(config.access_token_lifetime)
        .code_lifetime(config.code_lifetime)
        .refresh_token_lifetime(config.refresh_token_lifetime)
        .allow_plain_pkce(config.allow_plain_pkce != 0)
        .bearer_in_body(config.bearer_in_body != 0)
        .bearer_in_query(config.bearer_in_query != 0)
        .require_pushed_authorization_requests(config.require_pushed_authorization_requests != 0);
    // 0: the core's default (a caller of an earlier header left it so).
    if config.pushed_request_lifetime != 0 {
        builder = builder.pushed_request_lifetime(config.pushed_request_lifetime);
    }
    if config.device_code_lifetime != 0 {
        builder = builder.device_code_lifetime(config.device_code_lifetime);
    }
    if config.device_poll_interval != 0 {
        builder = builder.device_poll_interval(config.device_poll_interval);
    }
    if config.user_code_max_attempts != 0 || config.user_code_attempts_window != 0 {
        let defaults = oap_config_default();
        let max = match config.user_code_max_attempts {
            0 => defaults.user_code_max_attempts,
            max => max,
        };
        let window = match config.user_code_attempts_window {
            0 => defaults.user_code_attempts_window,
            window => window,
        };
        builder = builder.user_code_attempts(max, window);
    }
    if let Some(uri) = device_uri {
        // Checked by the core's build() (absolute https, or loopback http).
        builder = builder.device_verification_uri(uri);
    }
    for grant in Grant::ALL {
        builder = if grants & grant_bit(grant) != 0 {
            builder.enable(grant)
        } else {
            builder.disable(grant)
        };
    }
    if let Some(issuer) = issuer {
        builder = builder.issuer(issuer);
    }
    if let Some(realm) = realm {
        // A control character is refused by the core's build() (InvalidRealm).
        builder = builder.realm(realm);
    }
    if let Some(scopes) = scopes_supported {
        builder = builder.scopes_supported(scopes.split(' ').filter(|s| !s.is_empty()));
    }
    if let Some(resources) = protected {
        // Each is checked by the core's build() (InvalidResource).
        builder = builder.protected_resources(resources.split(' ').filter(|r| !r.is_empty()));
    }
    let mut endpoints = EndpointPaths::default();
    let [authorization, token, revocation, introspection, pushed, device] = paths;
    for (path, value) in [
        (&mut endpoints.authorization, authorization),
        (&mut endpoints.token, token),
        (&mut endpoints.revocation, revocation),
        (&mut endpoints.introspection, introspection),
        (&mut endpoints.pushed_authorization, pushed),
        (&mut endpoints.device_authorization, device),
    ] {
        if let Some(value) = value {
            *path = value.to_owned();
        }
    }
    // A first-version struct_size leaves both NULL (read_versioned zeroes
    // what the caller did not pass, and refuses a size inside a field).
    if let Some(fill) = config.fill_random {
        let host = HostRandom {
            fill,
            user_data: config.fill_random_user_data,
        };
        builder = builder.token_generator(FillTokenGenerator::new(move |buf: &mut [u8]| {
            host.fill(buf)
        }));
    }
    Ok(builder.endpoints(endpoints))
}

/// The host's `fill_random` callback and its `user_data`.
#[derive(Clone, Copy)]
struct HostRandom {
    fill: unsafe extern "C" fn(user_data: *mut c_void, buf: *mut u8, len: usize) -> c_int,
    user_data: *mut c_void,
}

// SAFETY: a function pointer and the host's user_data. oap_fill_random_cb's
// documented contract makes the host promise that the callback may run on
// any thread, concurrently, with that user_data: exactly what Send + Sync
// let the Rust API do.
unsafe impl Send for HostRandom {}
// SAFETY: as above.
unsafe impl Sync for HostRandom {}

impl HostRandom {
    /// Fills `buf` through the callback; non-zero is `server_error`.
    fn fill(&self, buf: &mut [u8]) -> Result<(), OAuthError> {
        // SAFETY: `buf` is a live, writable buffer of exactly `buf.len()`
        // bytes, borrowed for the call only, and the callback writes at most
        // `len` bytes (its contract); user_data is the host's, valid until
        // the server is freed (the config's contract).
        let status = unsafe { (self.fill)(self.user_data, buf.as_mut_ptr(), buf.len()) };
        if status == 0 {
            Ok(())
        } else {
            Err(OAuthError::server_error(
                "the host's fill_random callback failed",
            ))
        }
    }
}
