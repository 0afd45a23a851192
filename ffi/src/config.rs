//! `oap_config`: the server configuration, mapped onto the Rust API's
//! `ServerBuilder`.

use provider::{EndpointPaths, Grant, ServerBuilder};

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

/// Server configuration. Start from `oap_config_default()` and change what
/// you need; the library copies what it reads during `oap_server_new`.
///
/// Strings left absent (`ptr == NULL`) or empty take the default. Lifetimes
/// are seconds, at least 1 and at most ten years (315,360,000):
/// `oap_server_new` refuses others with `OAP_STATUS_INVALID_PARAMETER`.
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
    /// Refresh token lifetime. Default 2592000 (30 days). Every refresh
    /// token expires: a store keeps a rotated one, for reuse detection,
    /// and a revoked grant's marker only that long.
    pub refresh_token_lifetime: u64,
    /// The issuer identifier (RFC 8414, RFC 9207), e.g.
    /// "https://auth.example.com": sent as `iss` in authorization
    /// responses, used for metadata and introspection. An absolute `https`
    /// URL without query or fragment (`http` on a loopback host only).
    /// Default: none, which `oap_server_new` refuses unless `grants` is 0
    /// (a resource server): every authorization server must set it.
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
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero.
unsafe impl Versioned for oap_config {
    const FIRST_VERSION_SIZE: usize = std::mem::size_of::<oap_config>();
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
        allow_plain_pkce: false,
        bearer_in_body: false,
        bearer_in_query: false,
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
        .refresh_token_lifetime(config.refresh_token_lifetime)
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
    Ok(builder.endpoints(endpoints))
}
