//! The [`RequestValidator`] over the database: each method one statement
//! or one transaction, with [`MemoryValidator`]'s semantics
//! (`oauth2_provider::memory`).
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
    AuthorizationCode, BearerToken, Client, ClientLookup, CodeStatus, DeviceAuthorization,
    DeviceCodeKey, DeviceStatus, IssuedToken, OAuthError, OAuthRequest, PushedRequest,
    RefreshTokenStatus, RequestValidator, Scope, TokenInfo, TokenType, ValidatedCode,
    ValidatedRefreshToken,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ParamsFromIter, ToSql};

use crate::{
    client_columns, is_collision, seconds, text, text_or_null, time, ClientRecord, Db, SqliteStore,
    StoreError,
};

/// A stored scope back as a [`Scope`] (it was valid when stored).
fn scope(text: &str) -> Result<Scope, StoreError> {
    Scope::parse(text).map_err(|_| StoreError::InvalidRecord("a malformed stored scope"))
}

/// Marks `consumed` used (code, approved device authorization) or
/// rotated (refresh token), if it is still unspent; returns whether this
/// call did.
fn spend(conn: &Connection, consumed: Consumed<'_>) -> Result<bool, StoreError> {
    spend_if(conn, consumed, None)
}

/// [`spend`], and with `live_grant` only while that grant is recorded
/// and not revoked: the check `save_in` makes before a save, folded into
/// the one conditional `UPDATE` (one statement fewer per exchange or
/// refresh). `false` says the credential was spent already, or the grant
/// is revoked or unknown; the caller tells them apart.
fn spend_if(
    conn: &Connection,
    consumed: Consumed<'_>,
    live_grant: Option<&str>,
) -> Result<bool, StoreError> {
    // Each statement with and without the grant's condition, on the
    // parameter after the credential's.
    macro_rules! spend_sql {
        ($update:literal, $grant:literal) => {
            match live_grant {
                None => $update,
                Some(_) => concat!(
                    $update,
                    " AND EXISTS (SELECT 1 FROM grants WHERE grant_id = ",
                    $grant,
                    " AND revoked = 0)"
                ),
            }
        };
    }
    let changed = match consumed {
        Consumed::AuthorizationCode { client_id, code } => conn
            .prepare_cached(spend_sql!(
                "UPDATE codes SET used = 1 WHERE digest = ?1 AND used = 0 AND client_id = ?2",
                "?3"
            ))
            .db()?
            .execute(with_grant(
                &[&sha256(code.as_bytes()), &client_id],
                &live_grant,
            )),
        Consumed::RefreshToken { refresh_token } => conn
            .prepare_cached(spend_sql!(
                "UPDATE refresh_tokens SET state = 'rotated'
                 WHERE digest = ?1 AND state = 'active'",
                "?2"
            ))
            .db()?
            .execute(with_grant(
                &[&sha256(refresh_token.as_bytes())],
                &live_grant,
            )),
        Consumed::DeviceCode {
            client_id,
            device_code,
        } => conn
            .prepare_cached(spend_sql!(
                "UPDATE device_authorizations SET status = 'used'
                 WHERE device_digest = ?1 AND client_id = ?2 AND status = 'approved'",
                "?3"
            ))
            .db()?
            .execute(with_grant(&[device_code, &client_id], &live_grant)),
    }
    .db()?;
    Ok(changed == 1)
}

/// A spend's parameters: the credential's, then the grant's if checked.
fn with_grant<'p>(
    credential: &'p [&'p dyn ToSql],
    live_grant: &'p Option<&'p str>,
) -> ParamsFromIter<impl Iterator<Item = &'p dyn ToSql>> {
    params_from_iter(
        credential
            .iter()
            .copied()
            .chain(live_grant.as_ref().map(|g| g as &dyn ToSql)),
    )
}

/// Revokes a grant: marks it, which refuses a late save and, at lookup,
/// its access and refresh tokens (deleted by `purge_expired`). A grant no
/// longer recorded (purged once nothing named it) cannot be marked: its
/// remaining access tokens are deleted and refresh tokens revoked instead,
/// through a scan of both tables (no index on grant_id; this is rare).
fn revoke_grant_in(conn: &Connection, grant_id: &str) -> Result<(), StoreError> {
    let marked = conn
        .prepare_cached("UPDATE grants SET revoked = 1 WHERE grant_id = ?1")
        .db()?
        .execute([grant_id])
        .db()?;
    if marked == 0 {
        for sql in [
            "DELETE FROM access_tokens WHERE grant_id = ?1",
            "UPDATE refresh_tokens SET state = 'revoked' WHERE grant_id = ?1",
        ] {
            conn.prepare_cached(sql).db()?.execute([grant_id]).db()?;
        }
    }
    Ok(())
}

/// The columns of a device authorization, in `find_device_authorization`'s
/// order.
macro_rules! select_device {
    () => {
        "SELECT client_id, scopes, audience, grant_id, expires_at, poll_interval, last_poll,
             status, user
         FROM device_authorizations"
    };
}

/// The condition, in a statement over a token table aliased `t`, that the
/// token's grant is not revoked.
macro_rules! grant_live {
    () => {
        "NOT EXISTS (SELECT 1 FROM grants g WHERE g.grant_id = t.grant_id AND g.revoked = 1)"
    };
}

/// Saves `token` as `save_bearer_token` does, inside the caller's
/// transaction: refuses a revoked, or unknown and not new, grant with
/// [`grant_ended`], and a value already stored with [`token_collision`].
fn save_in(conn: &Connection, token: &IssuedToken) -> Result<(), Fail> {
    if let Some(grant_id) = &token.grant_id {
        let revoked: Option<bool> = conn
            .prepare_cached("SELECT revoked FROM grants WHERE grant_id = ?1")
            .db()?
            .query_row([&**grant_id], |row| row.get(0))
            .optional()
            .db()?;
        match revoked {
            Some(true) => return Err(grant_ended().into()),
            // Nothing to write: the grant lasts while a code or refresh
            // token names it.
            Some(false) => {}
            None if token.new_grant => {
                conn.prepare_cached(
                    "INSERT INTO grants (grant_id, client_id, user, revoked)
                     VALUES (?1, ?2, ?3, 0)",
                )
                .db()?
                .execute(params![
                    &**grant_id,
                    &*token.client_id,
                    token.user.as_deref()
                ])
                .db()?;
            }
            None => return Err(grant_ended().into()),
        }
    }
    insert_tokens(conn, token)
}

/// Inserts `token`'s access token and, when new, its refresh token: the
/// writes of `save_in` once its grant is known to be live.
fn insert_tokens(conn: &Connection, token: &IssuedToken) -> Result<(), Fail> {
    let refused = |e: rusqlite::Error| -> Fail {
        if is_collision(&e) {
            token_collision().into()
        } else {
            StoreError::Sqlite(e).into()
        }
    };
    if let (Some(refresh), true) = (&token.refresh_token, token.refresh_token_is_new) {
        // The library names a family for every refresh token; should a
        // host not, the token is its own family.
        let grant_id = token.grant_id.as_deref().unwrap_or(refresh.as_str());
        conn.prepare_cached(
            "INSERT INTO refresh_tokens
             (digest, client_id, user, scopes, grant_id, issued_at, expires_at, state, audience)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8)",
        )
        .db()?
        .execute(params![
            sha256(refresh.as_bytes()),
            &*token.client_id,
            token.user.as_deref(),
            token.refresh_token_scopes().as_str(),
            grant_id,
            time(token.issued_at),
            token.refresh_expires_at.map(time),
            token.refresh_token_audience().to_stored(),
        ])
        .map_err(refused)?;
    }
    conn.prepare_cached(
        "INSERT INTO access_tokens
         (digest, client_id, user, scopes, grant_id, issued_at, expires_at, audience)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .db()?
    .execute(params![
        sha256(token.access_token.as_bytes()),
        &*token.client_id,
        token.user.as_deref(),
        token.scopes.as_str(),
        token.grant_id.as_deref(),
        time(token.issued_at),
        time(token.issued_at.saturating_add(token.expires_in)),
        token.audience.to_stored(),
    ])
    .map_err(refused)?;
    Ok(())
}

/// An unexpired access token's record, unless its grant is revoked.
fn access_token(
    conn: &Connection,
    digest: &[u8; 32],
    now: u64,
) -> Result<Option<TokenInfo>, StoreError> {
    conn.prepare_cached(concat!(
        "SELECT client_id, user, scopes, grant_id, issued_at, expires_at, audience
         FROM access_tokens t WHERE digest = ?1 AND expires_at > ?2 AND ",
        grant_live!()
    ))
    .db()?
    .query_row(params![digest, time(now)], |row| {
        let client_id = Arc::from(text(row, 0)?);
        let user = text_or_null(row, 1)?.map(Arc::from);
        let grant_id = text_or_null(row, 3)?.map(Arc::from);
        let (issued_at, expires_at) = (seconds(row.get(4)?), seconds(row.get(5)?));
        let audience = Audience::from_stored(text(row, 6)?);
        Ok(scope(text(row, 2)?).map(|scopes| {
            StoredAccessToken {
                client_id,
                user,
                scopes,
                audience,
                grant_id,
                issued_at,
                expires_at,
            }
            .info()
        }))
    })
    .optional()
    .db()?
    .transpose()
}

/// A stored refresh token (revoked while its grant is).
fn refresh_token(
    conn: &Connection,
    digest: &[u8; 32],
) -> Result<Option<StoredRefreshToken>, StoreError> {
    conn.prepare_cached(concat!(
        "SELECT client_id, user, scopes, grant_id, issued_at, expires_at,
             CASE WHEN ",
        grant_live!(),
        " THEN state ELSE 'revoked' END, audience
         FROM refresh_tokens t WHERE digest = ?1"
    ))
    .db()?
    .query_row([digest], |row| {
        let client_id = Arc::from(text(row, 0)?);
        let user = text_or_null(row, 1)?.map(Arc::from);
        let grant_id = Arc::from(text(row, 3)?);
        let issued_at = seconds(row.get(4)?);
        let expires_at = row.get::<_, Option<i64>>(5)?.map(seconds);
        let state = RefreshState::parse(text(row, 6)?);
        let audience = Audience::from_stored(text(row, 7)?);
        Ok(
            scope(&row.get::<_, String>(2)?).map(|scopes| StoredRefreshToken {
                token: ValidatedRefreshToken {
                    client_id,
                    user,
                    scopes,
                    audience,
                    grant_id,
                    expires_at,
                },
                issued_at,
                state,
            }),
        )
    })
    .optional()
    .db()?
    .transpose()
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

/// A stored device authorization's status back from its columns.
fn device_status(status: &str, user: Option<String>) -> Result<DeviceStatus, StoreError> {
    match (status, user) {
        ("pending", _) => Ok(DeviceStatus::Pending),
        ("approved", Some(user_id)) => Ok(DeviceStatus::Approved { user_id }),
        ("denied", _) => Ok(DeviceStatus::Denied),
        ("used", _) => Ok(DeviceStatus::Used),
        _ => Err(StoreError::InvalidRecord(
            "a malformed stored device status",
        )),
    }
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

impl From<OAuthError> for Fail {
    fn from(e: OAuthError) -> Self {
        Fail::Refused(e)
    }
}

impl SqliteStore {
    /// The answer of a validator method: a refusal as it is, a store
    /// failure as `server_error`, reported to the error hook first.
    fn answer<T, E: Into<Fail>>(&self, result: Result<T, E>) -> Result<T, OAuthError> {
        result.map_err(|e| match e.into() {
            Fail::Refused(e) => e,
            Fail::Store(e) => {
                self.report(&e);
                oauth2_provider::validator::store_failed()
            }
        })
    }

    /// Runs `f` on a pooled connection, answering as [`Self::answer`].
    fn read<T, E: From<StoreError> + Into<Fail>>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, OAuthError> {
        self.answer(self.with_conn(f))
    }

    /// Runs `f` in a write transaction, answering as [`Self::answer`].
    fn apply<T, E: From<StoreError> + Into<Fail>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, OAuthError> {
        self.answer(self.write(f))
    }
}

impl ClientLookup for SqliteStore {
    type Client = ClientRecord;

    fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, OAuthError> {
        let found = self.read(|conn| {
            conn.prepare_cached(concat!(crate::select_client!(), " WHERE client_id = ?1"))
                .db()?
                .query_row([client_id], client_columns)
                .optional()
                .db()
        })?;
        self.answer(found.transpose())
    }
}

impl RequestValidator for SqliteStore {
    fn get_code_challenge(
        &self,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        Ok(self
            .read(|conn| {
                conn.prepare_cached("SELECT challenge FROM codes WHERE digest = ?1")
                    .db()?
                    .query_row([sha256(code.as_bytes())], |row| row.get(0))
                    .optional()
                    .db()
            })?
            .flatten())
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        let method: Option<String> = self
            .read(|conn| {
                conn.prepare_cached("SELECT challenge_method FROM codes WHERE digest = ?1")
                    .db()?
                    .query_row([sha256(code.as_bytes())], |row| row.get(0))
                    .optional()
                    .db()
            })?
            .flatten();
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
        self.apply(|tx| spend(tx, Consumed::AuthorizationCode { client_id, code }))
    }

    fn revoke_token(
        &self,
        token: &str,
        _: Option<TokenType>,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let digest = sha256(token.as_bytes());
        self.apply(|tx| {
            let removed = tx
                .prepare_cached("DELETE FROM access_tokens WHERE digest = ?1")
                .db()?
                .execute([digest])
                .db()?;
            if removed > 0 {
                return Ok(());
            }
            // RFC 7009 §2.1: revoking a refresh token revokes its grant's
            // access tokens too.
            let grant_id: Option<String> = tx
                .prepare_cached("SELECT grant_id FROM refresh_tokens WHERE digest = ?1")
                .db()?
                .query_row([digest], |row| row.get(0))
                .optional()
                .db()?;
            match grant_id {
                Some(grant_id) => revoke_grant_in(tx, &grant_id),
                None => Ok(()),
            }
        })
    }

    fn revoke_grant(&self, grant_id: &str, _: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        self.apply(|tx| revoke_grant_in(tx, grant_id))
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|tx| spend(tx, Consumed::RefreshToken { refresh_token }))
    }

    fn save_authorization_code(
        &self,
        _: &str,
        code: &AuthorizationCode,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.apply(|tx| -> Result<(), Fail> {
            // A code starts its grant, which lasts while the code or a
            // refresh token names it. A grant id already known keeps its
            // revocation.
            tx.prepare_cached(
                "INSERT INTO grants (grant_id, client_id, user, revoked)
                 VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT (grant_id) DO NOTHING",
            )
            .db()?
            .execute(params![&*code.grant_id, &*code.client_id, &*code.user])
            .db()?;
            let (challenge, method) = match &code.code_challenge {
                Some((challenge, method)) => (Some(challenge.as_str()), Some(method.as_str())),
                None => (None, None),
            };
            tx.prepare_cached(
                "INSERT INTO codes (digest, client_id, user, scopes, redirect_uri,
                     effective_redirect_uri, challenge, challenge_method, grant_id,
                     issued_at, expires_at, used, audience)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12)",
            )
            .db()?
            .execute(params![
                sha256(code.code.as_bytes()),
                &*code.client_id,
                &*code.user,
                code.scopes.as_str(),
                code.redirect_uri.as_deref(),
                code.effective_redirect_uri.as_str(),
                challenge,
                method,
                &*code.grant_id,
                time(code.issued_at),
                time(code.expires_at),
                code.audience.to_stored(),
            ])
            .map_err(|e| -> Fail {
                if is_collision(&e) {
                    token_collision().into()
                } else {
                    StoreError::Sqlite(e).into()
                }
            })?;
            Ok(())
        })
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.apply(|tx| save_in(tx, token))
    }

    /// One `BEGIN IMMEDIATE` transaction: the conditional update that
    /// spends the code or refresh token, then the save. `Ok(false)` when
    /// it was already spent (nothing saved); any error rolls both back,
    /// leaving the credential usable for the client's retry.
    fn consume_and_save(
        &self,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|tx| -> Result<bool, Fail> {
            // The usual case in one statement and the inserts: unspent,
            // and the token's grant live.
            if let Some(grant_id) = token.grant_id.as_deref() {
                if spend_if(tx, consumed, Some(grant_id))? {
                    insert_tokens(tx, token)?;
                    return Ok(true);
                }
            }
            // Spent already, or the grant revoked, unknown (a new one is
            // recorded by `save_in`) or not named: the general path,
            // which tells those apart.
            if !spend(tx, consumed)? {
                return Ok(false);
            }
            save_in(tx, token)?;
            Ok(true)
        })
    }

    /// The request's lookups and its write in one `BEGIN IMMEDIATE`
    /// transaction, on a file (see `SqliteStore::run_request`).
    fn token_request(
        &self,
        _: &OAuthRequest<'_>,
        run: &mut dyn FnMut() -> Result<BearerToken, OAuthError>,
    ) -> Result<BearerToken, OAuthError> {
        self.run_request(run)
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
            conn.prepare_cached(
                "SELECT client_id, user, scopes, redirect_uri, grant_id, expires_at,
                     challenge, challenge_method, used, audience
                 FROM codes WHERE digest = ?1",
            )
            .db()?
            .query_row([digest], |row| {
                let client_id = Arc::from(text(row, 0)?);
                let user = Arc::from(text(row, 1)?);
                let redirect_uri = row.get(3)?;
                let grant_id = Arc::from(text(row, 4)?);
                let expires_at = seconds(row.get(5)?);
                let code_challenge =
                    StoredCode::challenge(text_or_null(row, 6)?, text_or_null(row, 7)?);
                let used = row.get(8)?;
                let audience = Audience::from_stored(text(row, 9)?);
                Ok(scope(text(row, 2)?).map(|scopes| StoredCode {
                    code: ValidatedCode {
                        client_id,
                        user,
                        scopes,
                        redirect_uri,
                        audience,
                        grant_id,
                        expires_at,
                        code_challenge,
                    },
                    used,
                }))
            })
            .optional()
            .db()?
            .transpose()
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
        Ok(self
            .answer(self.check_user(username, password))?
            .then(|| username.to_owned()))
    }

    fn save_pushed_request(
        &self,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.apply(|tx| -> Result<(), Fail> {
            tx.prepare_cached(
                "INSERT INTO pushed_requests (digest, client_id, parameters, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .db()?
            .execute(params![
                digest,
                pushed.client_id,
                pushed.parameters,
                time(pushed.expires_at)
            ])
            .map_err(|e| -> Fail {
                if is_collision(&e) {
                    token_collision().into()
                } else {
                    StoreError::Sqlite(e).into()
                }
            })?;
            Ok(())
        })
    }

    fn find_pushed_request(
        &self,
        digest: &[u8; 32],
        _: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT client_id, parameters, expires_at FROM pushed_requests WHERE digest = ?1",
            )
            .db()?
            .query_row([digest], |row| {
                Ok(PushedRequest {
                    client_id: row.get(0)?,
                    parameters: row.get(1)?,
                    expires_at: seconds(row.get(2)?),
                })
            })
            .optional()
            .db()
        })
    }

    fn consume_pushed_request(
        &self,
        digest: &[u8; 32],
        client_id: &str,
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        // One conditional DELETE: of racing responses, one removes the row.
        self.apply(|tx| {
            let removed = tx
                .prepare_cached("DELETE FROM pushed_requests WHERE digest = ?1 AND client_id = ?2")
                .db()?
                .execute(params![digest, client_id])
                .db()?;
            Ok::<_, StoreError>(removed == 1)
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
        self.apply(|tx| -> Result<(), Fail> {
            tx.prepare_cached(
                "DELETE FROM device_authorizations
                 WHERE (device_digest = ?1 OR user_digest = ?2) AND expires_at <= ?3",
            )
            .db()?
            .execute(params![device_code, user_code, now])
            .db()?;
            tx.prepare_cached(
                "INSERT INTO device_authorizations (device_digest, user_digest, client_id,
                     scopes, audience, grant_id, expires_at, poll_interval, last_poll, status,
                     user)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .db()?
            .execute(params![
                device_code,
                user_code,
                authorization.client_id,
                authorization.scopes.as_str(),
                authorization.audience.to_stored(),
                authorization.grant_id,
                time(authorization.expires_at),
                time(authorization.interval),
                authorization.last_poll.map(time),
                status,
                user,
            ])
            .map_err(|e| -> Fail {
                if is_collision(&e) {
                    token_collision().into()
                } else {
                    StoreError::Sqlite(e).into()
                }
            })?;
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
                concat!(select_device!(), " WHERE device_digest = ?1"),
                digest,
            ),
            DeviceCodeKey::UserCode(digest) => {
                (concat!(select_device!(), " WHERE user_digest = ?1"), digest)
            }
        };
        let found = self.read(|conn| {
            conn.prepare_cached(sql)
                .db()?
                .query_row([digest], |row| Ok(device_authorization(row)))
                .optional()
                .db()
        })?;
        self.answer(found.transpose())
    }

    /// One conditional `UPDATE` (`WHERE status = 'pending'`, unexpired):
    /// of racing decisions, the first changes the row, the others find
    /// it decided.
    fn decide_device_authorization(
        &self,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let (status, user) = device_status_columns(status);
        let now = time(request.now);
        self.apply(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE device_authorizations SET status = ?2, user = ?3, scopes = ?4
                     WHERE user_digest = ?1 AND status = 'pending' AND expires_at > ?5",
                )
                .db()?
                .execute(params![user_code, status, user, scopes.as_str(), now])
                .db()?;
            Ok::<_, StoreError>(changed == 1)
        })
    }

    fn record_device_poll(
        &self,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        _: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        // An increment, not the value the poll read: a poll outside
        // `token_request`'s transaction must not lose a racing growth.
        let grow = if slowed_down { SLOW_DOWN_STEP } else { 0 };
        self.apply(|tx| {
            tx.prepare_cached(
                "UPDATE device_authorizations
                 SET last_poll = ?2, poll_interval = poll_interval + ?3
                 WHERE device_digest = ?1",
            )
            .db()?
            .execute(params![device_code, time(last_poll), time(grow)])
            .db()?;
            Ok::<_, StoreError>(())
        })
    }

    /// One transaction: the subject's entries before `since` (out of
    /// the window) deleted, this one added, the rest counted. Racing
    /// guesses take turns on the write lock: each is counted.
    fn record_user_code_attempt(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let (since, now) = (time(since), time(request.now));
        self.apply(|tx| {
            tx.prepare_cached("DELETE FROM user_code_attempts WHERE subject = ?1 AND at < ?2")
                .db()?
                .execute(params![subject, since])
                .db()?;
            tx.prepare_cached("INSERT INTO user_code_attempts (subject, at) VALUES (?1, ?2)")
                .db()?
                .execute(params![subject, now])
                .db()?;
            count_attempts(tx, subject, since)
        })
    }

    fn user_code_attempts(
        &self,
        subject: &str,
        since: u64,
        _: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        self.read(|conn| count_attempts(conn, subject, time(since)))
    }

    fn invalidate_device_code(
        &self,
        client_id: &str,
        device_code: &[u8; 32],
        _: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.apply(|tx| {
            spend(
                tx,
                Consumed::DeviceCode {
                    client_id,
                    device_code,
                },
            )
        })
    }
}

/// A device authorization from a row of `select_device!()`.
fn device_authorization(row: &rusqlite::Row<'_>) -> Result<DeviceAuthorization, StoreError> {
    Ok(DeviceAuthorization {
        client_id: row.get(0)?,
        scopes: scope(&row.get::<_, String>(1)?)?,
        audience: Audience::from_stored(&row.get::<_, String>(2)?),
        grant_id: row.get(3)?,
        expires_at: seconds(row.get(4)?),
        interval: seconds(row.get(5)?),
        last_poll: row.get::<_, Option<i64>>(6)?.map(seconds),
        status: device_status(&row.get::<_, String>(7)?, row.get(8)?)?,
    })
}

/// How many user code entries `subject` entered at or after `since`.
fn count_attempts(conn: &Connection, subject: &str, since: i64) -> Result<u32, StoreError> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM user_code_attempts WHERE subject = ?1 AND at >= ?2")
        .db()?
        .query_row(params![subject, since], |row| row.get(0))
        .db()?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}
