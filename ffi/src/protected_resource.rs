//! `oap_protected_resource`: a protected resource as its resource server
//! describes it (RFC 9728), made once from an
//! `oap_protected_resource_config`, for `oap_server_verify_bearer_at`
//! (the audience check, RFC 8707, and `resource_metadata` in the
//! challenge) and `oap_server_protected_resource_metadata_response` (the
//! metadata document).

use provider::ProtectedResource;

use crate::ffi::{free_handle, into_handle, read_versioned, Out, Versioned};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;

/// A protected resource's description. Zero-initialise it, set
/// `struct_size` and `resource`, fill in what applies; absent (NULL `ptr`)
/// or empty strings are left out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_protected_resource_config {
    /// `sizeof(oap_protected_resource_config)`.
    pub struct_size: usize,
    /// The resource identifier (required): an `https` URL (`http` on a
    /// loopback host only) without query or fragment (RFC 9728 §1.2). It
    /// is the `resource` value clients ask tokens for, and what a token's
    /// audience must include at `oap_server_verify_bearer_at`.
    pub resource: oap_str,
    /// Space-delimited issuers of the authorization servers that issue
    /// its tokens (`authorization_servers`). Absent: the issuer of the
    /// server rendering the metadata, if it has one.
    pub authorization_servers: oap_str,
    /// Space-delimited scopes used to ask for access to it
    /// (`scopes_supported`).
    pub scopes_supported: oap_str,
    /// A human-readable name (`resource_name`).
    pub resource_name: oap_str,
    /// Documentation for developers (`resource_documentation`).
    pub resource_documentation: oap_str,
    /// How a client may use its data (`resource_policy_uri`).
    pub resource_policy_uri: oap_str,
    /// Its terms of service (`resource_tos_uri`).
    pub resource_tos_uri: oap_str,
    /// Non-zero: `oap_server_verify_bearer_at` also accepts a token issued
    /// without any audience (a client that sent no `resource`). Default 0:
    /// only tokens whose audience includes `resource`.
    pub accept_unrestricted_tokens: u8,
    /// Non-zero: challenges do not carry `resource_metadata` (RFC 9728
    /// §5.1). Default 0: they do.
    pub omit_resource_metadata: u8,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero.
unsafe impl Versioned for oap_protected_resource_config {
    const FIRST_VERSION_SIZE: usize = std::mem::size_of::<oap_protected_resource_config>();
}

/// A protected resource, checked and copied once by
/// `oap_protected_resource_new`. Immutable, usable from any thread; free
/// it with `oap_protected_resource_free` once no call that takes it is
/// running or can start.
pub struct oap_protected_resource {
    pub(crate) inner: ProtectedResource,
}

/// A configured string: `None` when absent or empty.
///
/// # Safety
/// As `oap_str::to_opt_str`.
unsafe fn given<'a>(s: oap_str) -> Result<Option<&'a str>, oap_status> {
    // SAFETY: same contract as ours.
    Ok(unsafe { s.to_opt_str() }?.filter(|s| !s.is_empty()))
}

fn words(text: Option<&str>) -> impl Iterator<Item = &str> {
    text.unwrap_or("").split(' ').filter(|w| !w.is_empty())
}

/// Checks and copies `config` into a new protected resource, written to
/// `*resource_out` on success; the caller owns it. `config`'s memory may
/// be released once this returns. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (a `resource` that is absent or no
/// resource identifier), `OAP_STATUS_STRUCT_TOO_SMALL`.
///
/// # Safety
/// `config` is NULL or points to an `oap_protected_resource_config`
/// (`struct_size` bytes readable) whose strings are valid for the call;
/// `resource_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_protected_resource_new(
    config: *const oap_protected_resource_config,
    resource_out: *mut *mut oap_protected_resource,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `resource_out` NULL or writable, `config` what
        // read_versioned asks, its strings valid for this call (contract);
        // every &str borrowed from them is copied by the builder below,
        // within this call.
        let (out, c, texts) = unsafe {
            let out = Out::new(resource_out)?;
            let c = read_versioned(config)?;
            let texts = [
                given(c.resource)?,
                given(c.authorization_servers)?,
                given(c.scopes_supported)?,
                given(c.resource_name)?,
                given(c.resource_documentation)?,
                given(c.resource_policy_uri)?,
                given(c.resource_tos_uri)?,
            ];
            (out, c, texts)
        };
        let [resource, servers, scopes, name, documentation, policy, tos] = texts;
        let resource = resource.ok_or(oap_status::InvalidParameter)?;
        let mut inner = ProtectedResource::new(resource)
            .map_err(|_| oap_status::InvalidParameter)?
            .scopes_supported(words(scopes))
            .accept_unrestricted_tokens(c.accept_unrestricted_tokens != 0)
            .advertise_metadata(c.omit_resource_metadata == 0);
        if servers.is_some() {
            inner = inner.authorization_servers(words(servers));
        }
        if let Some(name) = name {
            inner = inner.resource_name(name);
        }
        if let Some(url) = documentation {
            inner = inner.resource_documentation(url);
        }
        if let Some(url) = policy {
            inner = inner.resource_policy_uri(url);
        }
        if let Some(url) = tos {
            inner = inner.resource_tos_uri(url);
        }
        out.write(into_handle(oap_protected_resource { inner }));
        Ok(())
    })
}

/// The URL of the resource's metadata document (RFC 9728 §3.1: the
/// well-known path inserted before the resource identifier's path), where
/// the host serves `oap_server_protected_resource_metadata_response`.
/// Valid while `resource` lives; absent when `resource` is NULL.
///
/// # Safety
/// `resource` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_protected_resource_metadata_url(
    resource: Option<&oap_protected_resource>,
) -> oap_str {
    panic::value(oap_str::NONE, || {
        resource.map_or(oap_str::NONE, |r| oap_str::new(r.inner.metadata_url()))
    })
}

/// Frees a protected resource. NULL does nothing.
///
/// # Safety
/// `resource` is NULL or live and used by no running call.
#[no_mangle]
pub unsafe extern "C" fn oap_protected_resource_free(resource: *mut oap_protected_resource) {
    panic::value((), || {
        // SAFETY: NULL or a handle from oap_protected_resource_new, freed
        // once and used by no running call (contract): what free_handle asks.
        unsafe { free_handle(resource) }
    })
}
