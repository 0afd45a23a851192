//! The [`RequestValidator`] over the database: each method one statement
//! or one transaction, with [`MemoryValidator`]'s semantics
//! (`oauth2_provider::memory`). The isolation each uses is in the
//! [crate docs](crate#isolation-what-each-operation-runs-under-and-why-it-is-enough).
//!
//! [`MemoryValidator`]: oauth2_provider::memory::MemoryValidator

use std::sync::Arc;

use oauth2_provider::audience::Audience;
use oauth2_provider::device::SLOW_DOWN_STEP;
use oauth2_provider::pkce::ChallengeMethod;
use oauth2_provider::secret::sha256;
use oauth2_provider::stored::{
    introspect, RefreshState, StoredAccessToken, StoredCode, StoredRefreshToken,
};
use oauth2_provider::validator::{grant_ended, token_collision, Consumed};
use oauth2_provider::{
    AuthorizationCode, Client, ClientLookup, CodeStatus, DeviceAuthorization, DeviceCodeKey,
    DeviceStatus, IssuedToken, OAuthError, OAuthRequest, PushedRequest, RefreshTokenStatus,
    RequestValidator, Scope, TokenInfo, TokenType, ValidatedCode, ValidatedRefreshToken,
};

use crate::pool::{is_collision, Conn, Failure};
use crate::{client, seconds, time, ClientRecord, PostgresStore, StoreError};

/// A stored scope back as a [`Scope`] (it was valid when stored).
fn scope(text: &str) -> Result<Scope, StoreError> {
    Scope::parse(text).map_err(|_| StoreError::InvalidRecord("a malformed stored scope"))
}

/// How a validator method's work can fail: the store failed, or the
/// contract refuses (a revoked grant, a collision).
pub(crate) enum Fail {
    Store(StoreError),
    Refused(OAuthError),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Store(StoreError::Postgres(e))
    }
}

impl From<OAuthError> for Fail {
    fn from(e: OAuthError) -> Self {
        Fail::Refused(e)
    }
}

impl Failure for Fail {
    fn postgres(&self) -> Option<&postgres::Error> {
        match self {
            Fail::Store(e) => e.postgres(),
            Fail::Refused(_) => None,
        }
    }
}

/// A statement's error, a collision answered as [`token_collision`].
fn refused(e: postgres::Error) -> Fail {
    if is_collision(&e) {
        token_collision().into()
    } else {
        e.into()
    }
}

/// Marks `consumed` used (code, approved device authorization) or
/// rotated (refresh token), if it is still unspent; returns whether this
/// call did. The `UPDATE`'s row lock
/// makes a racing spend wait for this transaction, then find it spent.
fn spend(conn: &mut Conn, consumed: Consumed<'_>) -> Result<bool, Fail> {
    let changed = match consumed {
        Consumed::AuthorizationCode { client_id, code } => conn.execute(
            "UPDATE oauth2_codes SET used = true
             WHERE digest = $1 AND NOT used AND client_id = $2",
            &[&sha256(code.as_bytes()).as_slice(), &client_id],
        )?,
        Consumed::RefreshToken { refresh_token } => conn.execute(
            "UPDATE oauth2_refresh_tokens SET state = 'rotated'
             WHERE digest = $1 AND state = 'active'",
            &[&sha256(refresh_token.as_bytes()).as_slice()],
        )?,
        Consumed::DeviceCode {
            client_id,
            device_code,
        } => conn.execute(
            "UPDATE oauth2_device_authorizations SET status = 'used'
             WHERE device_digest = $1 AND client_id = $2 AND status = 'approved'",
            &[&device_code.as_slice(), &client_id],
        )?,
    };
    Ok(changed == 1)
}

/// The columns of a device authorization, in [`device_authorization`]'s
/// order.
macro_rules! select_device {
    () => {
        "SELECT client_id, scopes, audience, grant_id, expires_at, poll_interval, last_poll,
             status, username
         FROM oauth2_device_authorizations"
    };
}

/// Revokes a grant: marks it (a late save is refused), deletes its access
/// tokens, revokes its refresh tokens. The grant's row first, as every
/// save locks it first.
fn revoke_grant_in(conn: &mut Conn, grant_id: &str) -> Result<(), Fail> {
    conn.execute(
        "UPDATE oauth2_grants SET revoked = true WHERE grant_id = $1",
        &[&grant_id],
    )?;
    conn.execute(
        "DELETE FROM oauth2_access_tokens WHERE grant_id = $1",
        &[&grant_id],
    )?;
    conn.execute(
        "UPDATE oauth2_refresh_tokens SET state = 'revoked' WHERE grant_id = $1",
        &[&grant_id],
    )?;
    Ok(())
}

/// Locks `token`'s grant row for the rest of the transaction, extending
/// it to the token's lifetime (inserting it for a new grant), and says
/// whether tokens may be saved for it: not for a revoked grant, nor for
/// an unknown one that is not new ([`grant_ended`]).
fn lock_grant(conn: &mut Conn, token: &IssuedToken) -> Result<Result<(), OAuthError>, Fail> {
    let Some(grant_id) = token.grant_id.as_deref() else {
        return Ok(Ok(()));
    };
    let ends_at = time(token.refresh_expires_at.unwrap_or(token.issued_at));
    let row = if token.new_grant {
        conn.query_opt(
            "INSERT INTO oauth2_grants (grant_id, client_id, username, revoked, ends_at)
             VALUES ($1, $2, $3, false, $4)
             ON CONFLICT (grant_id) DO UPDATE
                 SET ends_at = GREATEST(oauth2_grants.ends_at, EXCLUDED.ends_at)
             RETURNING revoked",
            &[
                &grant_id,
                &&*token.client_id,
                &token.user.as_deref(),
                &ends_at,
            ],
        )?
    } else {
        conn.query_opt(
            "UPDATE oauth2_grants SET ends_at = GREATEST(ends_at, $2)
             WHERE grant_id = $1 RETURNING revoked",
            &[&grant_id, &ends_at],
        )?
    };
    let revoked: Option<bool> = row.map(|row| row.try_get(0)).transpose()?;
    Ok(match revoked {
        Some(false) => Ok(()),
        Some(true) | None => Err(grant_ended()),
    })
}

/// Inserts `token`'s refresh token (if new) and access token, refusing a
/// value already stored with [`token_collision`].
fn insert_tokens(conn: &mut Conn, token: &IssuedToken) -> Result<(), Fail> {
    if let (Some(refresh), true) = (&token.refresh_token, token.refresh_token_is_new) {
        // The library names a family for every refresh token; should a
        // host not, the token is its own family.
        let grant_id = token.grant_id.as_deref().unwrap_or(refresh.as_str());
        conn.execute(
            "INSERT INTO oauth2_refresh_tokens
             (digest, client_id, username, scopes, grant_id, issued_at, expires_at, state,
              audience)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8)",
            &[
                &sha256(refresh.as_bytes()).as_slice(),
                &&*token.client_id,
                &token.user.as_deref(),
                &token.refresh_token_scopes().as_str(),
                &grant_id,
                &time(token.issued_at),
                &token.refresh_expires_at.map(time),
                &token.refresh_token_audience().to_stored(),
            ],
        )
        .map_err(refused)?;
    }
    conn.execute(
        "INSERT INTO oauth2_access_tokens
         (digest, client_id, username, scopes, grant_id, issued_at, expires_at, audience)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &sha256(token.access_token.as_bytes()).as_slice(),
            &&*token.client_id,
            &token.user.as_deref(),
            &token.scopes.as_str(),
            &token.grant_id.as_deref(),
            &time(token.issued_at),
            &time(token.issued_at.saturating_add(token.expires_in)),
            &token.audience.to_stored(),
        ],
    )
    .map_err(refused)?;
    Ok(())
}

/// An unexpired access token's record.
fn access_token(conn: &mut Conn, digest: &[u8; 32], now: u64) -> Result<Option<TokenInfo>, Fail> {
    let Some(row) = conn.query_opt(
        "SELECT client_id, username, scopes, grant_id, issued_at, expires_at, audience
         FROM oauth2_access_tokens WHERE digest = $1 AND expires_at > $2",
        &[&digest.as_slice(), &time(now)],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(
        StoredAccessToken {
            client_id: Arc::from(row.try_get::<_, &str>(0)?),
            user: row.try_get::<_, Option<&str>>(1)?.map(Arc::from),
            scopes: scope(row.try_get(2)?)?,
            audience: Audience::from_stored(row.try_get(6)?),
            grant_id: row.try_get::<_, Option<&str>>(3)?.map(Arc::from),
            issued_at: seconds(row.try_get(4)?),
            expires_at: seconds(row.try_get(5)?),
        }
        .info(),
    ))
}

/// A stored refresh token.
fn refresh_token(conn: &mut Conn, digest: &[u8; 32]) -> Result<Option<StoredRefreshToken>, Fail> {
    let Some(row) = conn.query_opt(
        "SELECT client_id, username, scopes, grant_id, issued_at, expires_at, state, audience
         FROM oauth2_refresh_tokens WHERE digest = $1",
        &[&digest.as_slice()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(StoredRefreshToken {
        token: ValidatedRefreshToken {
            client_id: Arc::from(row.try_get::<_, &str>(0)?),
            user: row.try_get::<_, Option<&str>>(1)?.map(Arc::from),
            scopes: scope(row.try_get(2)?)?,
            audience: Audience::from_stored(row.try_get(7)?),
            grant_id: Arc::from(row.try_get::<_, &str>(3)?),
            expires_at: row.try_get::<_, Option<i64>>(5)?.map(seconds),
        },
        issued_at: seconds(row.try_get(4)?),
        state: RefreshState::parse(row.try_get(6)?),
    }))
}

/// A device authorization's status as stored: its name, and the
/// approver (kept from approval on).
fn device_status_columns(status: &DeviceStatus) -> (&'static str, Option<&str>) {
    match status {
        DeviceStatus::Pending => ("pending", None),
        DeviceStatus::Approved { user_id } => ("approved", Some(user_id)),
        DeviceStatus::Denied => ("denied", None),
        DeviceStatus::Used => ("used", None),
    }
}

/// A device authorization from a row of `SELECT client_id, scopes,
/// audience, grant_id, expires_at, poll_interval, last_poll, status,
/// username`.
fn device_authorization(row: &postgres::Row) -> Result<DeviceAuthorization, Fail> {
    let status = match (
        row.try_get::<_, &str>(7)?,
        row.try_get::<_, Option<String>>(8)?,
    ) {
        ("pending", _) => DeviceStatus::Pending,
        ("approved", Some(user_id)) => DeviceStatus::Approved { user_id },
        ("denied", _) => DeviceStatus::Denied,
        ("used", _) => DeviceStatus::Used,
        _ => {
            return Err(StoreError::InvalidRecord("a malformed stored device status").into());
        }
    };
    Ok(DeviceAuthorization {
        client_id: row.try_get(0)?,
        scopes: scope(row.try_get(1)?)?,
        audience: Audience::from_stored(row.try_get(2)?),
        grant_id: row.try_get(3)?,
        expires_at: seconds(row.try_get(4)?),
        interval: seconds(row.try_get(5)?),
        last_poll: row.try_get::<_, Option<i64>>(6)?.map(seconds),
        status,
    })
}

/// The first key of the advisory locks that serialize a subject's
/// user code entries (the second is the subject's hash): "oaup" in ASCII.
/// Two-key locks never meet the one-key migration lock.
const FAILURES_LOCK: i32 = 0x6f61_7570;

/// How many user code entries `subject` entered at or after `since`.
fn count_attempts(conn: &mut Conn, subject: &str, since: i64) -> Result<u32, Fail> {
    let row = conn.query_opt(
        "SELECT count(*) FROM oauth2_user_code_attempts WHERE subject = $1 AND at >= $2",
        &[&subject, &since],
    )?;
    let count: i64 = row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0);
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

impl PostgresStore {
    /// The answer of a validator method: a refusal as it is, a store
    /// failure as `server_error`, reported to the error hook first.
    fn answer<T>(&self, result: Result<T, Fail>) -> Result<T, OAuthError> {
        result.map_err(|e| match e {
            Fail::Refused(e) => e,
            Fail::Store(e) => {
                self.report(&e);
                oauth2_provider::validator::store_failed()
            }
        })
    }

    /// Runs the read `f` on a pooled connection, answering as
    /// [`Self::answer`].
    fn read<T>(&self, f: impl FnMut(&mut Conn) -> Result<T, Fail>) -> Result<T, OAuthError> {
        self.answer(self.with_conn(f))
    }

    /// Runs `f` in a transaction, answering as [`Self::answer`].
    fn apply<T>(&self, f: impl FnMut(&mut Conn) -> Result<T, Fail>) -> Result<T, OAuthError> {
        self.answer(self.write(f))
    }
}

impl ClientLookup for PostgresStore {
    type Client = ClientRecord;

    fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, OAuthError> {
        self.read(|conn| {
            conn.query_opt(
                concat!(crate::select_client!(), " WHERE client_id = $1"),
                &[&client_id],
            )?
            .map(|row| client::from_row(&row).map_err(Fail::from))
            .transpose()
        })
    }
}

impl RequestValidator for PostgresStore {
    fn get_code_challenge(
        &self,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let digest = sha256(code.as_bytes());
        self.read(|conn| {
            let row = conn.query_opt(
                "SELECT challenge FROM oauth2_codes WHERE digest = $1",
                &[&digest.as_slice()],
            )?;
            Ok(row.map(|row| row.try_get(0)).transpose()?.flatten())
        })
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        let digest = sha256(code.as_bytes());
        let method: Option<String> = self.read(|conn| {
            let row = conn.query_opt(
                "SELECT challenge_method FROM oauth2_codes WHERE digest = $1",
                &[&digest.as_slice()],
            )?;
            Ok(row.map(|row| row.try_get(0)).transpose()?.flatten())
        })?;
        Ok(method.as_deref().and_then(ChallengeMethod::parse))
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let now = request.now;
        let digest = sha256(token.as_bytes());
        self.read(|conn| {
            introspect(
                hint,
                conn,
                |conn| access_token(conn, &digest, now),
                |conn| Ok(refresh_token(conn, &digest)?.and_then(|r| r.info(now))),
            )
        })
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|conn| spend(conn, Consumed::AuthorizationCode { client_id, code }))
    }

    fn revoke_token(
        &self,
        token: &str,
        _: Option<TokenType>,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let digest = sha256(token.as_bytes());
        self.apply(|conn| {
            let removed = conn.execute(
                "DELETE FROM oauth2_access_tokens WHERE digest = $1",
                &[&digest.as_slice()],
            )?;
            if removed > 0 {
                return Ok(());
            }
            // RFC 7009 §2.1: revoking a refresh token revokes its grant's
            // access tokens too.
            let grant_id: Option<String> = conn
                .query_opt(
                    "SELECT grant_id FROM oauth2_refresh_tokens WHERE digest = $1",
                    &[&digest.as_slice()],
                )?
                .map(|row| row.try_get(0))
                .transpose()?;
            match grant_id {
                Some(grant_id) => revoke_grant_in(conn, &grant_id),
                None => Ok(()),
            }
        })
    }

    fn revoke_grant(&self, grant_id: &str, _: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        self.apply(|conn| revoke_grant_in(conn, grant_id))
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|conn| spend(conn, Consumed::RefreshToken { refresh_token }))
    }

    fn save_authorization_code(
        &self,
        _: &str,
        code: &AuthorizationCode,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let digest = sha256(code.code.as_bytes());
        let (challenge, method) = match &code.code_challenge {
            Some((challenge, method)) => (Some(challenge.as_str()), Some(method.as_str())),
            None => (None, None),
        };
        self.apply(|conn| {
            // A code starts its grant, which lasts at least as long as the
            // code. A grant id already known keeps its revocation.
            conn.execute(
                "INSERT INTO oauth2_grants (grant_id, client_id, username, revoked, ends_at)
                 VALUES ($1, $2, $3, false, $4)
                 ON CONFLICT (grant_id) DO UPDATE
                     SET ends_at = GREATEST(oauth2_grants.ends_at, EXCLUDED.ends_at)",
                &[
                    &&*code.grant_id,
                    &&*code.client_id,
                    &&*code.user,
                    &time(code.expires_at),
                ],
            )?;
            conn.execute(
                "INSERT INTO oauth2_codes (digest, client_id, username, scopes, redirect_uri,
                     effective_redirect_uri, challenge, challenge_method, grant_id,
                     issued_at, expires_at, used, audience)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, false, $12)",
                &[
                    &digest.as_slice(),
                    &&*code.client_id,
                    &&*code.user,
                    &code.scopes.as_str(),
                    &code.redirect_uri.as_deref(),
                    &code.effective_redirect_uri.as_str(),
                    &challenge,
                    &method,
                    &&*code.grant_id,
                    &time(code.issued_at),
                    &time(code.expires_at),
                    &code.audience.to_stored(),
                ],
            )
            .map_err(refused)?;
            Ok(())
        })
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.apply(|conn| {
            lock_grant(conn, token)??;
            insert_tokens(conn, token)
        })
    }

    /// One `READ COMMITTED` transaction: the grant's row locked, the
    /// conditional `UPDATE` that spends the code or refresh token, then
    /// the inserts. `Ok(false)` when it was already spent (nothing
    /// saved); any error rolls it all back, leaving the credential usable
    /// for the client's retry. A device code starts its grant: its
    /// `UPDATE … WHERE status = 'approved'` runs first, so that of racing
    /// polls the ones that lose write no grant (no revocation can hold a
    /// grant not yet made, so no lock order is at stake).
    fn consume_and_save(
        &self,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        if let Consumed::DeviceCode { .. } = consumed {
            return self.apply(|conn| {
                if !spend(conn, consumed)? {
                    return Ok(false);
                }
                lock_grant(conn, token)??;
                insert_tokens(conn, token)?;
                Ok(true)
            });
        }
        self.apply(|conn| {
            let grant = lock_grant(conn, token)?;
            if !spend(conn, consumed)? {
                return Ok(false);
            }
            grant?;
            insert_tokens(conn, token)?;
            Ok(true)
        })
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        _: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let now = request.now;
        let digest = sha256(token.as_bytes());
        self.read(|conn| access_token(conn, &digest, now))
    }

    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        _: &ClientRecord,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        let digest = sha256(code.as_bytes());
        let stored = self.read(|conn| {
            let Some(row) = conn.query_opt(
                "SELECT client_id, username, scopes, redirect_uri, grant_id, expires_at,
                     challenge, challenge_method, used, audience
                 FROM oauth2_codes WHERE digest = $1",
                &[&digest.as_slice()],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(StoredCode {
                code: ValidatedCode {
                    client_id: Arc::from(row.try_get::<_, &str>(0)?),
                    user: Arc::from(row.try_get::<_, &str>(1)?),
                    scopes: scope(row.try_get(2)?)?,
                    redirect_uri: row.try_get(3)?,
                    audience: Audience::from_stored(row.try_get(9)?),
                    grant_id: Arc::from(row.try_get::<_, &str>(4)?),
                    expires_at: seconds(row.try_get(5)?),
                    code_challenge: StoredCode::challenge(row.try_get(6)?, row.try_get(7)?),
                },
                used: row.try_get(8)?,
            }))
        })?;
        Ok(stored.map_or(CodeStatus::Invalid, |c| c.status(client_id, request.now)))
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &ClientRecord,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        let digest = sha256(refresh_token.as_bytes());
        let stored = self.read(|conn| self::refresh_token(conn, &digest))?;
        Ok(stored.map_or(RefreshTokenStatus::Invalid, |r| {
            r.status(client.client_id(), request.now)
        }))
    }

    fn validate_user(
        &self,
        username: &str,
        password: &str,
        _: &ClientRecord,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let valid = self.answer(self.check_user(username, password).map_err(Fail::from))?;
        Ok(valid.then(|| username.to_owned()))
    }

    fn save_pushed_request(
        &self,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.apply(|conn| {
            conn.execute(
                "INSERT INTO oauth2_pushed_requests (digest, client_id, parameters, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &digest.as_slice(),
                    &pushed.client_id,
                    &pushed.parameters,
                    &time(pushed.expires_at),
                ],
            )
            .map_err(refused)?;
            Ok(())
        })
    }

    fn find_pushed_request(
        &self,
        digest: &[u8; 32],
        _: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        self.read(|conn| {
            let Some(row) = conn.query_opt(
                "SELECT client_id, parameters, expires_at
                 FROM oauth2_pushed_requests WHERE digest = $1",
                &[&digest.as_slice()],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(PushedRequest {
                client_id: row.try_get(0)?,
                parameters: row.try_get(1)?,
                expires_at: seconds(row.try_get(2)?),
            }))
        })
    }

    /// One conditional `DELETE`: its row lock makes one of racing
    /// responses the one that removes the row.
    fn consume_pushed_request(
        &self,
        digest: &[u8; 32],
        client_id: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|conn| {
            let removed = conn.execute(
                "DELETE FROM oauth2_pushed_requests WHERE digest = $1 AND client_id = $2",
                &[&digest.as_slice(), &client_id],
            )?;
            Ok(removed == 1)
        })
    }
    /// One transaction: an expired authorization holding either digest
    /// is deleted (a code space reused after expiry), then the insert,
    /// whose unique keys refuse a live one's digest.
    fn save_device_authorization(
        &self,
        device_code: &[u8; 32],
        user_code: &[u8; 32],
        authorization: &DeviceAuthorization,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let now = time(request.now);
        let (status, user) = device_status_columns(&authorization.status);
        self.apply(|conn| {
            conn.execute(
                "DELETE FROM oauth2_device_authorizations
                 WHERE (device_digest = $1 OR user_digest = $2) AND expires_at <= $3",
                &[&device_code.as_slice(), &user_code.as_slice(), &now],
            )?;
            conn.execute(
                "INSERT INTO oauth2_device_authorizations (device_digest, user_digest,
                     client_id, scopes, audience, grant_id, expires_at, poll_interval,
                     last_poll, status, username)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &device_code.as_slice(),
                    &user_code.as_slice(),
                    &authorization.client_id,
                    &authorization.scopes.as_str(),
                    &authorization.audience.to_stored(),
                    &authorization.grant_id,
                    &time(authorization.expires_at),
                    &time(authorization.interval),
                    &authorization.last_poll.map(time),
                    &status,
                    &user,
                ],
            )
            .map_err(refused)?;
            Ok(())
        })
    }

    fn find_device_authorization(
        &self,
        key: DeviceCodeKey<'_>,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        let (sql, digest) = match key {
            DeviceCodeKey::DeviceCode(digest) => (
                concat!(select_device!(), " WHERE device_digest = $1"),
                digest,
            ),
            DeviceCodeKey::UserCode(digest) => {
                (concat!(select_device!(), " WHERE user_digest = $1"), digest)
            }
        };
        self.read(|conn| {
            conn.query_opt(sql, &[&digest.as_slice()])?
                .map(|row| device_authorization(&row))
                .transpose()
        })
    }

    /// One conditional `UPDATE` (`WHERE status = 'pending'`, unexpired):
    /// a racing decision waits on the row's lock, then finds it decided.
    fn decide_device_authorization(
        &self,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let (status, user) = device_status_columns(status);
        let now = time(request.now);
        self.apply(|conn| {
            let changed = conn.execute(
                "UPDATE oauth2_device_authorizations SET status = $2, username = $3, scopes = $4
                 WHERE user_digest = $1 AND status = 'pending' AND expires_at > $5",
                &[
                    &user_code.as_slice(),
                    &status,
                    &user,
                    &scopes.as_str(),
                    &now,
                ],
            )?;
            Ok(changed == 1)
        })
    }

    fn record_device_poll(
        &self,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        // An increment under the row lock, not the value the poll read:
        // under READ COMMITTED racing polls would otherwise each write
        // back the same grown interval, and all growths but one be lost.
        let grow = if slowed_down { SLOW_DOWN_STEP } else { 0 };
        self.apply(|conn| {
            conn.execute(
                "UPDATE oauth2_device_authorizations
                 SET last_poll = $2, poll_interval = poll_interval + $3
                 WHERE device_digest = $1",
                &[&device_code.as_slice(), &time(last_poll), &time(grow)],
            )?;
            Ok(())
        })
    }

    /// One transaction: the subject's entries before `since` (out of
    /// the window) deleted, this one added, the rest counted. Racing
    /// guesses of one subject take turns on a transaction-level advisory
    /// lock keyed by the subject (`READ COMMITTED` alone would let each
    /// count without the others' uncommitted inserts): each counts every
    /// one before it.
    fn record_user_code_attempt(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let (since, now) = (time(since), time(request.now));
        self.apply(|conn| {
            conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&FAILURES_LOCK, &subject],
            )?;
            conn.execute(
                "DELETE FROM oauth2_user_code_attempts WHERE subject = $1 AND at < $2",
                &[&subject, &since],
            )?;
            conn.execute(
                "INSERT INTO oauth2_user_code_attempts (subject, at) VALUES ($1, $2)",
                &[&subject, &now],
            )?;
            count_attempts(conn, subject, since)
        })
    }

    fn user_code_attempts(
        &self,
        subject: &str,
        since: u64,
        _: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let since = time(since);
        self.read(|conn| count_attempts(conn, subject, since))
    }

    fn invalidate_device_code(
        &self,
        client_id: &str,
        device_code: &[u8; 32],
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|conn| {
            spend(
                conn,
                Consumed::DeviceCode {
                    client_id,
                    device_code,
                },
            )
        })
    }
}
