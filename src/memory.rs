//! [`MemoryValidator`]: a complete, thread-safe, in-memory
//! [`RequestValidator`] — clients, users, codes, tokens, pushed requests
//! and device authorizations behind locks, expiry honoured. For tests, demos, benchmarks and quick starts; a
//! production host implements the trait over its own storage.
//!
//! ```
//! use oauth2_provider::memory::{MemoryClient, MemoryValidator};
//! let v = MemoryValidator::new();
//! v.add_client(
//!     MemoryClient::confidential("conf-client", "conf-secret", ["https://client.example.com/cb"])
//!         .grants(["authorization_code", "refresh_token", "client_credentials"])
//!         .scopes(["read", "write"])
//!         .default_scopes(["read"]),
//! );
//! v.add_user("alice", "wonderland");
//! ```

mod access;
mod hasher;
mod key;
mod sharded;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::client_auth::{Client, ClientLookup};
use crate::client_record::ClientRecord;
use crate::device::{DeviceAuthorization, DeviceCodeKey, DeviceStatus, SLOW_DOWN_STEP};
use crate::error::OAuthError;
use crate::pkce::ChallengeMethod;
use crate::request::OAuthRequest;
use crate::scope::Scope;
use crate::secret::Secret;
use crate::stored::{introspect, RefreshState, StoredCode, StoredRefreshToken};
use crate::validator::{
    grant_ended, token_collision, AuthorizationCode, CodeStatus, Consumed, IssuedToken,
    PushedRequest, RefreshTokenStatus, RequestValidator, TokenInfo, TokenType,
    ValidatedRefreshToken,
};
use access::{AccessRecord, SharedScopes};
use hasher::StoreHashBuilder;
use key::Key;
use sharded::Sharded;

/// A registered client of a [`MemoryValidator`]: the library's
/// [`ClientRecord`], which the database stores keep too.
pub type MemoryClient = ClientRecord;

/// A map of the store, hashed with [`StoreHashBuilder`].
type Map<K, V> = HashMap<K, V, StoreHashBuilder>;

#[derive(Default)]
struct Store {
    codes: Sharded<Key, StoredCode>,
    /// What each access token grants (`validate_bearer_token` hands it
    /// back as a `TokenInfo`); its strings are shared with the refresh
    /// token's record, its scope with the other tokens of that scope.
    access: Sharded<Key, AccessRecord>,
    /// The scopes `access` shares.
    scopes: SharedScopes,
    refresh: Sharded<Key, StoredRefreshToken>,
    /// Every grant a code or refresh token of which may still be
    /// presented: a token saved for a grant not here (and not new) or
    /// revoked here comes from a request that was past its checks when the
    /// grant ended, and is refused.
    grants: Map<Arc<str>, GrantRecord>,
    /// Pushed authorization requests (RFC 9126), by the SHA-256 digest of
    /// their request URI.
    pushed: Map<[u8; 32], PushedRequest>,
    /// The device grant's records: boxed, as most servers never use them
    /// and a `MemoryValidator` is often held by value.
    device: Box<DeviceStore>,
}

/// What the device authorization grant (RFC 8628) keeps.
#[derive(Default)]
struct DeviceStore {
    /// Device authorizations, by the SHA-256 digest of their device code…
    devices: Map<[u8; 32], DeviceAuthorization>,
    /// …and the device code digest of each user code digest.
    user_codes: Map<[u8; 32], [u8; 32]>,
    /// Wrong user codes entered, by subject (RFC 8628 §5.1).
    user_code_attempts: Map<String, Entries>,
}

/// The user codes one subject entered.
struct Entries {
    /// When, seconds since the Unix epoch, oldest first.
    at: Vec<u64>,
    /// How far back the server counts them (`now - since` of the last
    /// entry): the purge drops what lies further back.
    window: u64,
}

/// What the store knows of a grant (a token family).
struct GrantRecord {
    /// Revoked (replay, reuse, or a revocation): its tokens are gone and
    /// no new one may be saved.
    revoked: bool,
    /// When its last code or refresh token expires. Until then a request
    /// may present one and, past its checks, save tokens of the grant; so
    /// the record, and with it a revocation, is kept until then.
    ends_at: u64,
}

/// The in-memory validator. See the [module docs](self).
///
/// Clients and users are behind a read-write lock (read on every request);
/// codes and tokens behind one mutex. Expired codes and tokens are treated
/// as unknown and swept by [`purge_expired`](Self::purge_expired).
pub struct MemoryValidator {
    clients: RwLock<Map<String, Arc<MemoryClient>>>,
    users: RwLock<Map<String, Secret>>,
    store: Mutex<Store>,
}

impl Default for MemoryValidator {
    fn default() -> Self {
        MemoryValidator::new()
    }
}

impl fmt::Debug for MemoryValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.store();
        f.debug_struct("MemoryValidator")
            .field("clients", &read(&self.clients).len())
            .field("users", &read(&self.users).len())
            .field("codes", &store.codes.len())
            .field("access_tokens", &store.access.len())
            .field("refresh_tokens", &store.refresh.len())
            .finish()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryValidator {
    /// An empty validator. It has no clock of its own: every expiry
    /// decision is made at the request's time ([`OAuthRequest::now`]),
    /// the server's clock.
    pub fn new() -> Self {
        MemoryValidator {
            clients: RwLock::default(),
            users: RwLock::default(),
            store: Mutex::default(),
        }
    }

    /// Registers (or replaces) a client.
    pub fn add_client(&self, client: MemoryClient) {
        write(&self.clients).insert(String::from(client.client_id()), Arc::new(client));
    }

    /// Registers (or replaces) a resource owner.
    pub fn add_user(&self, username: &str, password: &str) {
        write(&self.users).insert(username.to_owned(), Secret::new(password));
    }

    /// Checks a resource owner's password (constant-time); the host's login
    /// form uses this too.
    pub fn check_user(&self, username: &str, password: &str) -> bool {
        match read(&self.users).get(username) {
            Some(stored) => stored.verify(password),
            None => {
                // Same cost as a wrong password: no user enumeration by timing.
                let _ = crate::secret::constant_time_eq(b"", password.as_bytes());
                false
            }
        }
    }

    /// Forgets expired codes and tokens. Rotated refresh tokens are kept
    /// until their grant is revoked or they expire, for reuse detection. A
    /// grant, and with it its revocation, is kept until its last code and
    /// refresh token have expired: no request can then present one, and a
    /// request that presented one earlier and saves late is refused, as
    /// the grant is no longer known.
    ///
    /// `now` is the time to purge at, seconds since the Unix epoch: the
    /// server's clock ([`Server::now`](crate::Server::now)), so that the
    /// purge and the requests agree on what has expired.
    pub fn purge_expired(&self, now: u64) {
        // Codes and tokens a table at a time, the lock released between:
        // sweeping a large store at once held every request for the whole
        // sweep. Each step drops only what requests already treat as
        // unknown, so no request can tell the steps apart.
        for table in 0..sharded::TABLES {
            let mut store = self.store();
            store
                .codes
                .retain_table(table, |_, c| c.code.expires_at > now);
            store.access.retain_table(table, |_, a| a.exp > now);
            store.refresh.retain_table(table, |_, r| {
                r.unexpired(now) && r.state != RefreshState::Revoked
            });
        }
        let mut store = self.store();
        store.grants.retain(|_, g| g.ends_at > now);
        store.pushed.retain(|_, p| p.expires_at > now);
        let DeviceStore {
            devices,
            user_codes,
            user_code_attempts,
        } = &mut *store.device;
        devices.retain(|_, d| d.expires_at > now);
        user_codes.retain(|_, device| devices.contains_key(device));
        user_code_attempts.retain(|_, f| {
            let since = now.saturating_sub(f.window);
            f.at.retain(|t| *t >= since);
            !f.at.is_empty()
        });
    }

    /// The number of live (unexpired, unrevoked) access tokens at `now`.
    pub fn active_access_tokens(&self, now: u64) -> usize {
        self.store().access.values().filter(|a| a.exp > now).count()
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientLookup for MemoryValidator {
    type Client = Arc<MemoryClient>;

    fn find_client(&self, client_id: &str) -> Result<Option<Arc<MemoryClient>>, OAuthError> {
        Ok(read(&self.clients).get(client_id).cloned())
    }
}

impl RequestValidator for MemoryValidator {
    fn get_code_challenge(
        &self,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        Ok(self.store().codes.get(code.as_bytes()).and_then(|c| {
            c.code
                .code_challenge
                .as_ref()
                .map(|(ch, _)| String::from(&**ch))
        }))
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        Ok(self
            .store()
            .codes
            .get(code.as_bytes())
            .and_then(|c| c.code.code_challenge.as_ref().map(|(_, m)| *m)))
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let now = request.now;
        let store = self.store();
        introspect(
            hint,
            &mut (),
            |_| {
                Ok(store
                    .access
                    .get(token.as_bytes())
                    .filter(|a| a.exp > now)
                    .map(AccessRecord::info))
            },
            |_| {
                Ok(store
                    .refresh
                    .get(token.as_bytes())
                    .and_then(|r| r.info(now)))
            },
        )
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        Ok(spend_code(&mut self.store(), client_id, code))
    }

    fn revoke_token(
        &self,
        token: &str,
        _: Option<TokenType>,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let mut store = self.store();
        if store.access.remove(token.as_bytes()).is_some() {
            return Ok(());
        }
        // RFC 7009 §2.1: revoking a refresh token revokes its grant's
        // access tokens too.
        let grant_id = store
            .refresh
            .get(token.as_bytes())
            .map(|r| Arc::clone(&r.token.grant_id));
        if let Some(grant_id) = grant_id {
            revoke_grant_in(&mut store, &grant_id);
        }
        Ok(())
    }

    fn revoke_grant(&self, grant_id: &str, _: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        revoke_grant_in(&mut self.store(), grant_id);
        Ok(())
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        Ok(rotate_refresh(&mut self.store(), refresh_token))
    }

    fn save_authorization_code(
        &self,
        _: &str,
        code: &AuthorizationCode,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let mut store = self.store();
        if store.codes.contains_key(code.code.as_bytes()) {
            return Err(token_collision());
        }
        // A code starts its grant, which lasts at least as long as the code.
        let record = GrantRecord {
            revoked: false,
            ends_at: code.expires_at,
        };
        store.grants.insert(Arc::clone(&code.grant_id), record);
        store
            .codes
            .insert(Key::new(&code.code), StoredCode::issued(code));
        Ok(())
    }

    fn save_pushed_request(
        &self,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let mut store = self.store();
        if store.pushed.contains_key(digest) {
            return Err(token_collision());
        }
        store.pushed.insert(*digest, pushed.clone());
        Ok(())
    }

    fn find_pushed_request(
        &self,
        digest: &[u8; 32],
        _: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        Ok(self.store().pushed.get(digest).cloned())
    }

    fn consume_pushed_request(
        &self,
        digest: &[u8; 32],
        client_id: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let mut store = self.store();
        // One lock: of racing calls, one finds it and removes it.
        if store
            .pushed
            .get(digest)
            .is_some_and(|p| p.client_id == client_id)
        {
            store.pushed.remove(digest);
            return Ok(true);
        }
        Ok(false)
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        save_in(&mut self.store(), token)
    }

    fn save_device_authorization(
        &self,
        device_code: &[u8; 32],
        user_code: &[u8; 32],
        authorization: &DeviceAuthorization,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let mut store = self.store();
        let store = &mut *store.device;
        let now = request.now;
        let live = |store: &DeviceStore, device: &[u8; 32]| {
            store
                .devices
                .get(device)
                .is_some_and(|d| d.expires_at > now)
        };
        let user_code_taken = store
            .user_codes
            .get(user_code)
            .is_some_and(|device| live(store, device));
        if live(store, device_code) || user_code_taken {
            return Err(token_collision());
        }
        // An expired one under either digest gives way, both its entries.
        if let Some(old) = store.user_codes.remove(user_code) {
            store.devices.remove(&old);
        }
        // An expired one under the device code digest (never seen with
        // random codes): its user code must not lead to the new one.
        if store
            .devices
            .insert(*device_code, authorization.clone())
            .is_some()
        {
            store.user_codes.retain(|_, device| device != device_code);
        }
        store.user_codes.insert(*user_code, *device_code);
        Ok(())
    }

    fn find_device_authorization(
        &self,
        key: DeviceCodeKey<'_>,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        let store = self.store();
        let store = &*store.device;
        let device = match key {
            DeviceCodeKey::DeviceCode(digest) => Some(digest),
            DeviceCodeKey::UserCode(digest) => store.user_codes.get(digest),
        };
        Ok(device.and_then(|d| store.devices.get(d)).cloned())
    }

    fn decide_device_authorization(
        &self,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let mut store = self.store();
        let store = &mut *store.device;
        let Some(device) = store.user_codes.get(user_code).copied() else {
            return Ok(false);
        };
        // One lock: of racing decisions, one finds it pending.
        match store.devices.get_mut(&device) {
            Some(d) if d.status == DeviceStatus::Pending => {
                if let DeviceStatus::Approved { .. } = status {
                    d.scopes = scopes.clone();
                }
                d.status = status.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn record_device_poll(
        &self,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        // Grown under the lock: racing slow_downs each add their step.
        if let Some(d) = self.store().device.devices.get_mut(device_code) {
            d.last_poll = Some(last_poll);
            if slowed_down {
                d.interval = d.interval.saturating_add(SLOW_DOWN_STEP);
            }
        }
        Ok(())
    }

    fn record_user_code_attempt(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let mut store = self.store();
        let entries = store
            .device
            .user_code_attempts
            .entry(subject.to_owned())
            .or_insert_with(|| Entries {
                at: Vec::new(),
                window: 0,
            });
        entries.window = request.now.saturating_sub(since);
        // What lies before the window counts no more: a user entering
        // codes for days keeps a bounded list.
        entries.at.retain(|&at| at >= since);
        entries.at.push(request.now);
        Ok(count_since(&entries.at, since))
    }

    fn user_code_attempts(
        &self,
        subject: &str,
        since: u64,
        _: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        Ok(self
            .store()
            .device
            .user_code_attempts
            .get(subject)
            .map_or(0, |f| count_since(&f.at, since)))
    }

    fn invalidate_device_code(
        &self,
        client_id: &str,
        device_code: &[u8; 32],
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        Ok(spend_device(&mut self.store(), client_id, device_code))
    }

    fn consume_and_save(
        &self,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        // One lock for both steps: the save is checked before anything is
        // spent, so a refused save leaves the credential as it was.
        let mut store = self.store();
        let unspent = match consumed {
            Consumed::AuthorizationCode { client_id, code } => store
                .codes
                .get(code.as_bytes())
                .is_some_and(|c| !c.used && *c.code.client_id == *client_id),
            Consumed::RefreshToken { refresh_token } => store
                .refresh
                .get(refresh_token.as_bytes())
                .is_some_and(|r| r.state == RefreshState::Active),
            Consumed::DeviceCode {
                client_id,
                device_code,
            } => store.device.devices.get(device_code).is_some_and(|d| {
                matches!(d.status, DeviceStatus::Approved { .. }) && d.client_id == client_id
            }),
        };
        if !unspent {
            return Ok(false);
        }
        save_in(&mut store, token)?;
        match consumed {
            Consumed::AuthorizationCode { client_id, code } => {
                spend_code(&mut store, client_id, code)
            }
            Consumed::RefreshToken { refresh_token } => rotate_refresh(&mut store, refresh_token),
            Consumed::DeviceCode {
                client_id,
                device_code,
            } => spend_device(&mut store, client_id, device_code),
        };
        Ok(true)
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        _: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let now = request.now;
        Ok(self
            .store()
            .access
            .get(token.as_bytes())
            .filter(|a| a.exp > now)
            .map(AccessRecord::info))
    }

    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        _: &Arc<MemoryClient>,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        Ok(match self.store().codes.get(code.as_bytes()) {
            Some(stored) => stored.status(client_id, request.now),
            None => CodeStatus::Invalid,
        })
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &Arc<MemoryClient>,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        Ok(match self.store().refresh.get(refresh_token.as_bytes()) {
            Some(stored) => stored.status(client.client_id(), request.now),
            None => RefreshTokenStatus::Invalid,
        })
    }

    fn validate_user(
        &self,
        username: &str,
        password: &str,
        _: &Arc<MemoryClient>,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        Ok(self
            .check_user(username, password)
            .then(|| username.to_owned()))
    }
}

/// Marks an unused code of `client_id` used; whether this call did.
fn spend_code(store: &mut Store, client_id: &str, code: &str) -> bool {
    match store.codes.get_mut(code.as_bytes()) {
        Some(record) if !record.used && *record.code.client_id == *client_id => {
            record.used = true;
            true
        }
        _ => false,
    }
}

/// Marks an active refresh token rotated; whether this call did.
fn rotate_refresh(store: &mut Store, refresh_token: &str) -> bool {
    match store.refresh.get_mut(refresh_token.as_bytes()) {
        Some(r) if r.state == RefreshState::Active => {
            r.state = RefreshState::Rotated;
            true
        }
        _ => false,
    }
}

/// Saves `token`, or nothing: every check comes before the first write.
fn save_in(store: &mut Store, token: &IssuedToken) -> Result<(), OAuthError> {
    let new_refresh = token
        .refresh_token
        .as_deref()
        .filter(|_| token.refresh_token_is_new);
    // Each token's slot is found once, and filled once every check passed.
    let Some(access) = store.access.vacant(Key::new(&token.access_token)) else {
        return Err(token_collision());
    };
    let refresh = match new_refresh {
        Some(refresh) => match store.refresh.vacant(Key::new(refresh)) {
            Some(slot) => Some((refresh, slot)),
            None => return Err(token_collision()),
        },
        None => None,
    };
    if let Some(grant_id) = &token.grant_id {
        let ends_at = token.refresh_expires_at.unwrap_or(token.issued_at);
        match store.grants.get_mut(&**grant_id) {
            Some(grant) if grant.revoked => return Err(grant_ended()),
            Some(grant) => grant.ends_at = grant.ends_at.max(ends_at),
            None if token.new_grant => {
                let record = GrantRecord {
                    revoked: false,
                    ends_at,
                };
                store.grants.insert(Arc::clone(grant_id), record);
            }
            None => return Err(grant_ended()),
        }
    }
    if let Some((refresh, slot)) = refresh {
        slot.insert(StoredRefreshToken {
            token: ValidatedRefreshToken {
                client_id: Arc::clone(&token.client_id),
                user: token.user.clone(),
                scopes: token.refresh_token_scopes().clone(),
                audience: token.refresh_token_audience().clone(),
                // The library names a family for every refresh token;
                // should a host not, the token is its own family.
                grant_id: token.grant_id.clone().unwrap_or_else(|| Arc::from(refresh)),
                expires_at: token.refresh_expires_at,
            },
            issued_at: token.issued_at,
            state: RefreshState::Active,
        });
    }
    access.insert(AccessRecord::new(token, &mut store.scopes));
    Ok(())
}

/// Turns the approved device authorization of `client_id` under
/// `device_code` into [`DeviceStatus::Used`]; whether this call did.
fn spend_device(store: &mut Store, client_id: &str, device_code: &[u8; 32]) -> bool {
    match store.device.devices.get_mut(device_code) {
        Some(d)
            if matches!(d.status, DeviceStatus::Approved { .. }) && d.client_id == client_id =>
        {
            d.status = DeviceStatus::Used;
            true
        }
        _ => false,
    }
}

/// How many of the times `at` lie at or after `since`.
fn count_since(at: &[u64], since: u64) -> u32 {
    let n = at.iter().filter(|t| **t >= since).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn revoke_grant_in(store: &mut Store, grant_id: &str) {
    // A grant no longer known needs no marker: a late save of it is
    // refused anyway.
    if let Some(grant) = store.grants.get_mut(grant_id) {
        grant.revoked = true;
    }
    store
        .access
        .retain(|_, a| a.grant_id.as_deref() != Some(grant_id));
    for r in store
        .refresh
        .values_mut()
        .filter(|r| &*r.token.grant_id == grant_id)
    {
        r.state = RefreshState::Revoked;
    }
}
