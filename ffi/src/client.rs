//! `oap_client`: a registered client as the host's `find_client` callback
//! describes it, copied into [`FfiClient`], the Rust API's [`Client`];
//! and `oap_registered_client`, the same description checked and copied
//! once, then shared by reference count with every request that finds it.

use std::sync::Arc;

use provider::secret::{parse_sha256_hex, StoredSecret};
use provider::{Audience, Client, Grant, Secret};

use crate::enums::{grant_bit, known_grants, oap_grants, oap_secret_kind, secret_kind, SecretKind};
use crate::ffi::{free_handle, into_handle, read_versioned, try_slice, Out, Versioned};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;

/// A registered client, handed to the library by `oap_ctx_set_client`,
/// which copies everything: the memory may be released once it returns.
/// `oap_registered_client_new` takes the same description and copies it
/// once, for hosts that hand the same client to many requests.
///
/// The library compares secrets itself (constant time); the host only
/// looks clients up. Yes/no fields are `uint8_t` (0: no, anything else:
/// yes), laid out as the `bool` of earlier headers.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_client {
    /// `sizeof(oap_client)`.
    pub struct_size: usize,
    /// The client identifier (required).
    pub client_id: oap_str,
    /// How `secret` is given.
    pub secret_kind: oap_secret_kind,
    /// The secret, per `secret_kind`; ignored for `OAP_SECRET_NONE`.
    pub secret: oap_str,
    /// Kept for callers of earlier headers; it decides nothing.
    /// Confidentiality follows from the credentials: a client with a
    /// secret (`secret_kind` other than `OAP_SECRET_NONE`) is confidential
    /// (RFC 6749 §2.1), must authenticate with it at the token, revocation
    /// and introspection endpoints, and is never identified by `client_id`
    /// alone; a client without one is public (PKCE required, rotated
    /// refresh tokens). Leave it 0 (as zero-initialising gives), or set it
    /// non-zero for a client with a secret; non-zero without a secret
    /// contradicts the credentials and is refused with
    /// `OAP_STATUS_INVALID_PARAMETER`.
    pub confidential: u8,
    /// The registered redirect URIs, compared by exact string match.
    /// May be NULL when `redirect_uris_len` is 0.
    pub redirect_uris: *const oap_str,
    /// The number of redirect URIs.
    pub redirect_uris_len: usize,
    /// The grant types the client may use, `OAP_GRANT_*` or-ed (another
    /// bit is `OAP_STATUS_INVALID_PARAMETER`). The
    /// authorization code grant also allows `response_type=code`, implicit
    /// `response_type=token`.
    pub grants: oap_grants,
    /// Whether the client may call the introspection endpoint: non-zero is
    /// yes. Only a client with a secret can use it (the endpoint
    /// authenticates its caller); one with 0 gets 400 `unauthorized_client`
    /// there (see `oap_server_introspection_response`).
    pub may_introspect: u8,
    /// The resources (RFC 8707 `resource` values) the client may ask
    /// tokens for, compared by exact string; each an absolute URI without
    /// fragment (else `OAP_STATUS_INVALID_PARAMETER`). None (the default,
    /// and what a caller of an earlier header gets): a request naming a
    /// resource is `invalid_target`. May be NULL when `resources_len` is 0.
    /// Added after the first version of this struct.
    pub resources: *const oap_str,
    /// The number of resources.
    pub resources_len: usize,
    /// Whether the client must push its authorization requests (RFC 9126
    /// §6): non-zero is yes, and a plain authorization request of this
    /// client is refused (`invalid_request`, redirected), whatever the
    /// server's `require_pushed_authorization_requests`. Default 0.
    /// Added after the second version of this struct.
    pub require_pushed_authorization_requests: u8,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero; the
// first version ends before `resources`, the second before
// `require_pushed_authorization_requests`.
unsafe impl Versioned for oap_client {
    const FIRST_VERSION_SIZE: usize = std::mem::offset_of!(oap_client, resources);
    const OTHER_VERSION_SIZES: &'static [usize] = &[std::mem::offset_of!(
        oap_client,
        require_pushed_authorization_requests
    )];
}

#[derive(Clone)]
enum KeptSecret {
    Plain(Secret),
    Sha256([u8; 32]),
}

/// A client description, owned: checked and copied from an `oap_client`.
#[derive(Clone)]
pub(crate) struct ClientData {
    /// Shared with the records issued to the client (`shared_client_id`).
    client_id: Arc<str>,
    /// `Some` exactly for a confidential client.
    secret: Option<KeptSecret>,
    redirect_uris: Vec<String>,
    grants: oap_grants,
    may_introspect: bool,
    /// The resources it may ask tokens for (RFC 8707), checked.
    resources: Vec<String>,
    /// RFC 9126 §6: only pushed authorization requests.
    require_par: bool,
}

impl ClientData {
    /// Copies a C client description.
    ///
    /// # Safety
    /// `client` is NULL or points to an `oap_client` (prefix of
    /// `struct_size` bytes) whose strings and array are valid for this call.
    pub(crate) unsafe fn copy_from(client: *const oap_client) -> Result<ClientData, oap_status> {
        // SAFETY: our contract: `client` is what read_versioned asks for,
        // and its views (strings, the `redirect_uris` array and its
        // strings) are valid for this call; each &str borrowed from them is
        // copied before we return.
        let (c, client_id, secret, redirect_uris, resources) = unsafe {
            let c = read_versioned(client)?;
            let client_id: Arc<str> = Arc::from(c.client_id.to_str()?);
            let secret = match secret_kind(c.secret_kind)? {
                SecretKind::None => None,
                SecretKind::Plain => Some(KeptSecret::Plain(Secret::new(c.secret.to_str()?))),
                SecretKind::Sha256Hex => Some(KeptSecret::Sha256(
                    parse_sha256_hex(c.secret.to_str()?).ok_or(oap_status::InvalidParameter)?,
                )),
            };
            // A confidential client without a secret could authenticate by
            // no means the library knows: a description that contradicts
            // itself.
            if c.confidential != 0 && secret.is_none() {
                return Err(oap_status::InvalidParameter);
            }
            let redirect_uris = try_slice(c.redirect_uris, c.redirect_uris_len)?
                .iter()
                .map(|u| u.to_str().map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            let resources = try_slice(c.resources, c.resources_len)?
                .iter()
                .map(|r| r.to_str())
                .collect::<Result<Vec<_>, _>>()?;
            let resources = Audience::parse(resources)
                .map_err(|_| oap_status::InvalidParameter)?
                .into_vec();
            (c, client_id, secret, redirect_uris, resources)
        };
        Ok(ClientData {
            client_id,
            secret,
            redirect_uris,
            grants: known_grants(c.grants)?,
            may_introspect: c.may_introspect != 0,
            resources,
            require_par: c.require_pushed_authorization_requests != 0,
        })
    }
}

/// What a store that keeps descriptions (`oap_sqlite`) reads of one.
#[cfg(feature = "sqlite")]
impl ClientData {
    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The SHA-256 digest of the secret (a plain one hashed): `None` for a
    /// public client.
    pub(crate) fn secret_sha256(&self) -> Option<[u8; 32]> {
        self.secret.as_ref().map(|s| match s {
            KeptSecret::Plain(p) => provider::secret::sha256(p.expose().as_bytes()),
            KeptSecret::Sha256(d) => *d,
        })
    }

    pub(crate) fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// The grant types allowed, in `Grant::ALL`'s order.
    pub(crate) fn grants(&self) -> impl Iterator<Item = Grant> + '_ {
        Grant::ALL
            .into_iter()
            .filter(|g| self.grants & grant_bit(*g) != 0)
    }

    pub(crate) fn may_introspect(&self) -> bool {
        self.may_introspect
    }

    pub(crate) fn resources(&self) -> &[String] {
        &self.resources
    }

    pub(crate) fn requires_pushed_authorization_requests(&self) -> bool {
        self.require_par
    }
}

/// A client as the Rust API sees it: what a validator callback handed
/// back, either copied during the callback (`oap_ctx_set_client`) or
/// shared with a registered client (`oap_ctx_set_registered_client`).
#[derive(Clone)]
pub(crate) enum FfiClient {
    Copied(Box<ClientData>),
    Registered(Arc<ClientData>),
}

impl FfiClient {
    /// Copies a C client description.
    ///
    /// # Safety
    /// As [`ClientData::copy_from`].
    pub(crate) unsafe fn copy_from(client: *const oap_client) -> Result<FfiClient, oap_status> {
        // SAFETY: same contract as ours.
        let data = unsafe { ClientData::copy_from(client) }?;
        Ok(FfiClient::Copied(Box::new(data)))
    }

    fn data(&self) -> &ClientData {
        match self {
            FfiClient::Copied(data) => data,
            FfiClient::Registered(data) => data,
        }
    }
}

/// A client description checked and copied once by
/// `oap_registered_client_new`, for `oap_ctx_set_registered_client`: a
/// host that keeps its clients in memory registers each one when it loads
/// it, and its `find_client` callback then hands the library a reference
/// (no copy, no UTF-8 or digest check per request), the way the Rust API's
/// `MemoryValidator` shares an `Arc` of its client.
///
/// Immutable, and usable from any thread: any number of callbacks may hand
/// back the same registered client at once. Free it with
/// `oap_registered_client_free` once no call that takes it (such as
/// `oap_ctx_set_registered_client`) is running or can start; requests (and
/// `oap_authorization` handles) that already got it keep their own
/// reference, so freeing it while the server is serving them is safe. To change a client, register the new
/// description and free the old one: requests in flight finish with the
/// old one.
pub struct oap_registered_client {
    inner: Arc<ClientData>,
}

/// Checks and copies `client` (as `oap_ctx_set_client` would) into a new
/// registered client, written to `*client_out` on success; the caller owns
/// it and frees it with `oap_registered_client_free`. `client`'s memory
/// may be released once this returns. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (unknown `secret_kind`, malformed
/// digest, `confidential` set without a secret, unknown `grants` bits, a
/// resource that is no absolute URI without fragment),
/// `OAP_STATUS_STRUCT_TOO_SMALL`.
///
/// # Safety
/// `client` is NULL or points to an `oap_client` (`struct_size` bytes
/// readable) whose strings and array are valid for the call; `client_out`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_registered_client_new(
    client: *const oap_client,
    client_out: *mut *mut oap_registered_client,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `client_out` NULL or writable, `client` NULL or a
        // readable oap_client whose views are valid for the call
        // (contract): what copy_from asks.
        let (client_out, data) = unsafe { (Out::new(client_out)?, ClientData::copy_from(client)?) };
        client_out.write(into_handle(oap_registered_client {
            inner: Arc::new(data),
        }));
        Ok(())
    })
}

/// Frees a registered client. NULL does nothing. Requests that were handed
/// it keep their own reference; no call taking `client` may be running or
/// start afterwards.
///
/// # Safety
/// `client` is NULL or a live registered client that no running call uses.
#[no_mangle]
pub unsafe extern "C" fn oap_registered_client_free(client: *mut oap_registered_client) {
    panic::value((), || {
        // SAFETY: NULL or a client from oap_registered_client_new, freed
        // once and used by no running call (contract): what free_handle
        // asks. Requests holding it keep their own Arc, so only this
        // handle's reference is dropped.
        unsafe { free_handle(client) }
    })
}

impl oap_registered_client {
    /// The client, shared with the Rust API (a reference count bump).
    pub(crate) fn share(&self) -> FfiClient {
        FfiClient::Registered(Arc::clone(&self.inner))
    }
}

impl Client for FfiClient {
    fn client_id(&self) -> &str {
        &self.data().client_id
    }

    fn shared_client_id(&self) -> Arc<str> {
        Arc::clone(&self.data().client_id)
    }

    fn secret(&self) -> Option<StoredSecret<'_>> {
        self.data().secret.as_ref().map(|s| match s {
            KeptSecret::Plain(p) => StoredSecret::Plain(p.expose()),
            KeptSecret::Sha256(d) => StoredSecret::Sha256(d),
        })
    }

    /// A client with a secret is confidential, whatever the description's
    /// `confidential` flag says.
    fn is_confidential(&self) -> bool {
        self.data().secret.is_some()
    }

    fn redirect_uris(&self) -> &[String] {
        &self.data().redirect_uris
    }

    fn allows_grant_type(&self, grant: Grant) -> bool {
        self.data().grants & grant_bit(grant) != 0
    }

    fn may_introspect(&self) -> bool {
        self.data().may_introspect
    }

    fn allows_resource(&self, resource: &str) -> bool {
        self.data().resources.iter().any(|r| r == resource)
    }

    fn requires_pushed_authorization_requests(&self) -> bool {
        self.data().require_par
    }
}
