//! `oap_config`: the server configuration, mapped onto the Rust API's
//! `ServerBuilder`.

use std::ffi::{c_int, c_void};

use provider::token::FillTokenGenerator;
use provider::{EndpointPaths, Grant, OAuthError, ServerBuilder};

use crate::ffi::{read_versioned, Versioned};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;
use crate::validator::FfiValidator;

/// A set of grant types: `OAP_GRANT_*` values or-ed together.
pub type oap_grants = u32;
/// RFC 6749 §4.1, with PKCE (RFC 7636).
pub const OAP_GRANT_AUTHORIZATION_CODE: u32 = 1;
/// RFC 6749 §4.2 (legacy; off by default).
pub const OAP_GRANT_IMPLICIT: u32 = 2;
/// RFC 6749 §4.3 (legacy; off by default).
pub const OAP_GRANT_PASSWORD: u32 = 4;
/// RFC 6749 §4.4.
pub const OAP_GRANT_CLIENT_CREDENTIALS: u32 = 8;
/// RFC 6749 §6.
pub const OAP_GRANT_REFRESH_TOKEN: u32 = 16;
/// Every grant type.
pub const OAP_GRANT_ALL: u32 = 31;

/// The grant's bit.
pub(crate) fn grant_bit(grant: Grant) -> oap_grants {
    match grant {
        Grant::AuthorizationCode => OAP_GRANT_AUTHORIZATION_CODE,
        Grant::Implicit => OAP_GRANT_IMPLICIT,
        Grant::Password => OAP_GRANT_PASSWORD,
        Grant::ClientCredentials => OAP_GRANT_CLIENT_CREDENTIALS,
        Grant::RefreshToken => OAP_GRANT_REFRESH_TOKEN,
    }
}

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
/// Strings left absent (`ptr == NULL`) or empty take the default. Lifetimes
/// are seconds and must not be 0, except `refresh_token_lifetime`, where 0
/// means "until used or revoked".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_config {
    /// `sizeof(oap_config)` as the caller compiled it (set by
    /// `oap_config_default`). Lets later versions append fields.
    pub struct_size: usize,
    /// Enabled grants, `OAP_GRANT_*` or-ed. Default: authorization code,
    /// client credentials and refresh token.
    pub grants: oap_grants,
    /// Access token lifetime. Default 3600.
    pub access_token_lifetime: u64,
    /// Authorization code lifetime. Default 600.
    pub code_lifetime: u64,
    /// Refresh token lifetime; 0 (the default): until used or revoked.
    pub refresh_token_lifetime: u64,
    /// The issuer identifier (RFC 8414, RFC 9207), e.g.
    /// "https://auth.example.com": sent as `iss` in authorization
    /// responses, used for metadata and introspection. Default: none.
    pub issuer: oap_str,
    /// The realm of `WWW-Authenticate` challenges. Default "oauth2".
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
    /// Allow the PKCE `plain` method (RFC 7636 §4.2). Default false.
    pub allow_plain_pkce: bool,
    /// Accept bearer tokens in a form body (RFC 6750 §2.2). Default false.
    pub bearer_in_body: bool,
    /// Accept bearer tokens in the query string (RFC 6750 §2.3). Default false.
    pub bearer_in_query: bool,
    /// Where the random bytes of tokens, codes and grant ids come from; see
    /// `oap_fill_random_cb`. Default NULL: the operating system.
    pub fill_random: oap_fill_random_cb,
    /// Passed as the first argument of `fill_random`; must stay valid until
    /// the server is freed. Default NULL.
    pub fill_random_user_data: *mut c_void,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero (NULL
// pointers, a None callback).
unsafe impl Versioned for oap_config {
    /// The fields before `fill_random`, which came later: a caller compiled
    /// without it gets the operating system's generator.
    const FIRST_VERSION_SIZE: usize = std::mem::offset_of!(oap_config, fill_random);
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
        refresh_token_lifetime: 0,
        issuer: oap_str::NONE,
        realm: oap_str::NONE,
        scopes_supported: oap_str::NONE,
        authorization_endpoint: oap_str::NONE,
        token_endpoint: oap_str::NONE,
        revocation_endpoint: oap_str::NONE,
        introspection_endpoint: oap_str::NONE,
        allow_plain_pkce: false,
        bearer_in_body: false,
        bearer_in_query: false,
        fill_random: None,
        fill_random_user_data: std::ptr::null_mut(),
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

/// Applies `config` to a builder.
///
/// # Safety
/// `config` is NULL or points to an `oap_config` whose strings are valid
/// for this call.
pub(crate) unsafe fn builder(
    config: *const oap_config,
    validator: FfiValidator,
) -> Result<ServerBuilder<FfiValidator>, oap_status> {
    // SAFETY: NULL or a valid oap_config prefix of struct_size bytes (contract).
    let config = unsafe { read_versioned(config) }?;
    if config.access_token_lifetime == 0 || config.code_lifetime == 0 {
        return Err(oap_status::InvalidParameter);
    }
    let mut builder = ServerBuilder::new(validator)
        .access_token_lifetime(config.access_token_lifetime)
        .code_lifetime(config.code_lifetime)
        .refresh_token_lifetime(
            (config.refresh_token_lifetime != 0).then_some(config.refresh_token_lifetime),
        )
        .allow_plain_pkce(config.allow_plain_pkce)
        .bearer_in_body(config.bearer_in_body)
        .bearer_in_query(config.bearer_in_query);
    for grant in Grant::ALL {
        builder = if config.grants & grant_bit(grant) != 0 {
            builder.enable(grant)
        } else {
            builder.disable(grant)
        };
    }
    // SAFETY: the config's strings are valid for this call (contract).
    if let Some(issuer) = unsafe { configured(config.issuer) }? {
        builder = builder.issuer(issuer);
    }
    // SAFETY: as above.
    if let Some(realm) = unsafe { configured(config.realm) }? {
        builder = builder.realm(realm);
    }
    // SAFETY: as above.
    if let Some(scopes) = unsafe { configured(config.scopes_supported) }? {
        builder = builder.scopes_supported(scopes.split(' ').filter(|s| !s.is_empty()));
    }
    let mut endpoints = EndpointPaths::default();
    for (path, field) in [
        (&mut endpoints.authorization, config.authorization_endpoint),
        (&mut endpoints.token, config.token_endpoint),
        (&mut endpoints.revocation, config.revocation_endpoint),
        (&mut endpoints.introspection, config.introspection_endpoint),
    ] {
        // SAFETY: as above.
        if let Some(value) = unsafe { configured(field) }? {
            *path = value.to_owned();
        }
    }
    // Both fields or neither: a struct_size that ends inside them (as no
    // version's sizeof does) must not leave half a function pointer.
    let fill_random = if config.struct_size >= std::mem::size_of::<oap_config>() {
        config.fill_random
    } else {
        None
    };
    if let Some(fill) = fill_random {
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
