//! The device authorization endpoint (RFC 8628 §3.1–3.2) and the user's
//! side of the grant (§3.3): a device gets a device code to poll with and
//! a user code for its user; the user, signed in at the verification page,
//! approves or denies. The polling is the token endpoint's
//! ([`crate::grant`]'s `device_code`).

use crate::audience::Audience;
use crate::client_auth::Client;
use crate::device::{
    display_user_code, normalize_user_code, unknown_user_code, user_code_digest, user_code_from,
    DeviceAuthorization, DeviceCodeKey, DeviceDecision, DeviceStatus, PendingDevice,
};
use crate::error::{ErrorCode, OAuthError};
use crate::form::{Param, Params};
use crate::grant::{check_grant_type, resolve_scope};
use crate::request::{OAuthRequest, Request};
use crate::response::{JsonObject, Response};
use crate::scope::Scope;
use crate::secret::sha256;
use crate::server::{Grant, Server};
use crate::token::TokenKind;
use crate::validator::{self, token_collision, RequestValidator};

use super::{json_error, parse_form_post};

/// How many times new codes are drawn when a store reports one already
/// stored: a user code has 34.6 bits, so among many live codes a collision
/// is rare but possible; three in a row means a broken generator.
const SAVE_ATTEMPTS: usize = 3;

/// What the device authorization response hands back.
struct Issued {
    device_code: String,
    user_code: String,
    expires_in: u64,
    interval: u64,
}

impl<V: RequestValidator> Server<V> {
    /// Answers a device authorization request (RFC 8628 §3.1–3.2): `POST`,
    /// a form body, each parameter at most once but `resource`; the client
    /// authenticates as at the token endpoint (a public client by its
    /// `client_id`) and must be allowed the device code grant
    /// (`unauthorized_client`); `scope` as elsewhere (`invalid_scope`),
    /// `resource` values allowed for the client (`invalid_target`).
    /// Success is `200` with `device_code`, `user_code` (`XXXX-XXXX`),
    /// `verification_uri`, `verification_uri_complete`, `expires_in` and
    /// `interval`, `Cache-Control: no-store`; failure a JSON error
    /// (`invalid_client` a `401`).
    ///
    /// ```
    /// use oauth2_provider::memory::{MemoryClient, MemoryValidator};
    /// use oauth2_provider::{Grant, Request, Server, DEVICE_CODE_GRANT_TYPE};
    /// let v = MemoryValidator::new();
    /// v.add_client(MemoryClient::public("tv", []).grants([DEVICE_CODE_GRANT_TYPE]).scopes(["read"]));
    /// let server = Server::builder(v)
    ///     .issuer("https://as.example")
    ///     .enable(Grant::DeviceCode)
    ///     .device_verification_uri("https://as.example/device")
    ///     .build()
    ///     .unwrap();
    /// let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    /// let response = server.device_authorization_response(&Request::new(
    ///     "POST", "/device_authorization", &headers, b"client_id=tv&scope=read",
    /// ));
    /// assert_eq!(response.status, 200);
    /// assert!(response.body_str().contains(r#""verification_uri":"https://as.example/device""#));
    /// assert!(response.body_str().contains(r#""interval":5"#));
    /// ```
    pub fn device_authorization_response(&self, request: &Request<'_>) -> Response {
        let mut oauth = OAuthRequest::new(*request, Params::default(), self.now());
        if let Err(response) = parse_form_post(&mut oauth) {
            return response;
        }
        match self.authorize_device(&oauth) {
            Ok(issued) => {
                let uri = self.config.device_verification_uri.as_deref();
                let uri = uri.unwrap_or_default();
                let user_code = display_user_code(&issued.user_code);
                let separator = if uri.contains('?') { '&' } else { '?' };
                let complete = format!("{uri}{separator}user_code={user_code}");
                let mut json = JsonObject::with_capacity(256);
                json.string("device_code", &issued.device_code);
                json.string("user_code", &user_code);
                json.string("verification_uri", uri);
                json.string("verification_uri_complete", &complete);
                json.number("expires_in", issued.expires_in);
                json.number("interval", issued.interval);
                Response::json_no_store(200, json.finish())
            }
            Err(error) => json_error(&error, self.realm()),
        }
    }

    /// RFC 8628 §3.1–3.2: authenticate, validate, save.
    fn authorize_device(&self, oauth: &OAuthRequest<'_>) -> Result<Issued, OAuthError> {
        let v = &self.validator;
        if !self.is_enabled(Grant::DeviceCode) {
            return Err(device_grant_disabled());
        }
        let client = validator::authenticate(v, oauth)?;
        if oauth
            .params
            .get(Param::ClientId)
            .is_some_and(|id| id != client.client_id())
        {
            return Err(OAuthError::invalid_request(
                "client_id does not match the authenticated client",
            ));
        }
        check_grant_type(self, oauth, &client, Grant::DeviceCode)?;
        let scopes = resolve_scope(self, oauth, &client)?;
        let audience = Audience::requested(&oauth.params, &client)?;
        let lifetime = self.config.device_code_lifetime;
        let interval = self.config.device_poll_interval;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let [device_code, user_code, grant_id] = self.generate([
                TokenKind::DeviceCode,
                TokenKind::UserCode,
                TokenKind::GrantId,
            ])?;
            let user_code = user_code_from(&user_code);
            let authorization = DeviceAuthorization {
                client_id: client.client_id().to_owned(),
                scopes: scopes.clone(),
                audience: audience.clone(),
                grant_id,
                expires_at: oauth.now.saturating_add(lifetime),
                interval,
                last_poll: None,
                status: DeviceStatus::Pending,
            };
            match v.save_device_authorization(
                &sha256(device_code.as_bytes()),
                &user_code_digest(&user_code),
                &authorization,
                oauth,
            ) {
                Ok(()) => {
                    return Ok(Issued {
                        device_code,
                        user_code,
                        expires_in: lifetime,
                        interval,
                    })
                }
                Err(e) if e == token_collision() && attempts < SAVE_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The pending device authorization of `user_code`, for the user's
    /// verification page to show before asking for a decision (RFC 8628
    /// §3.3): which client asks, for which scopes and resources.
    ///
    /// `request` is the page's request (its clock and headers reach the
    /// hooks); `subject` the signed-in user, whose wrong codes are counted
    /// (§5.1): at the limit
    /// ([`ServerBuilder::user_code_attempts`](crate::ServerBuilder::user_code_attempts))
    /// the answer is `temporarily_unavailable` and nothing is looked up. A
    /// malformed, unknown, expired or already decided code is
    /// `invalid_grant` ("unknown or expired user code"), and counts as a
    /// wrong one. The code is case-insensitive and may hold dashes and
    /// spaces.
    ///
    /// ```
    /// use oauth2_provider::memory::{MemoryClient, MemoryValidator};
    /// use oauth2_provider::{ErrorCode, Grant, Request, Server, DEVICE_CODE_GRANT_TYPE};
    /// let v = MemoryValidator::new();
    /// v.add_client(MemoryClient::public("tv", []).grants([DEVICE_CODE_GRANT_TYPE]));
    /// let server = Server::builder(v)
    ///     .issuer("https://as.example")
    ///     .enable(Grant::DeviceCode)
    ///     .device_verification_uri("https://as.example/device")
    ///     .build()
    ///     .unwrap();
    /// let page = Request::new("POST", "/device", &[], b"");
    /// let error = server.device_verification(&page, "alice", "BCDF-GHJK").unwrap_err();
    /// assert_eq!(error.code(), ErrorCode::InvalidGrant);
    /// ```
    pub fn device_verification(
        &self,
        request: &Request<'_>,
        subject: &str,
        user_code: &str,
    ) -> Result<PendingDevice, OAuthError> {
        let oauth = OAuthRequest::new(*request, Params::default(), self.now());
        let (normalized, authorization) = self.pending_device(&oauth, subject, user_code)?;
        Ok(PendingDevice {
            client_id: authorization.client_id,
            scopes: authorization.scopes,
            audience: authorization.audience,
            expires_at: authorization.expires_at,
            user_code: display_user_code(&normalized),
        })
    }

    /// Records the user's decision on the device authorization of
    /// `user_code` (RFC 8628 §3.3): [`DeviceDecision::Approve`] for
    /// `subject` (the tokens' user), with the scopes asked or, given
    /// `approved`, a subset of them (`invalid_scope` otherwise); or
    /// [`DeviceDecision::Deny`]. The same throttle and lookup as
    /// [`device_verification`](Self::device_verification); a decision
    /// already taken, also by a racing request, is `invalid_grant`.
    pub fn device_decision(
        &self,
        request: &Request<'_>,
        subject: &str,
        user_code: &str,
        approved: Option<Scope>,
        decision: DeviceDecision,
    ) -> Result<(), OAuthError> {
        let oauth = OAuthRequest::new(*request, Params::default(), self.now());
        let (normalized, authorization) = self.pending_device(&oauth, subject, user_code)?;
        let (status, scopes) = match decision {
            DeviceDecision::Approve => {
                let scopes = match approved {
                    Some(scopes) if !scopes.is_subset_of(&authorization.scopes) => {
                        return Err(OAuthError::new(
                            ErrorCode::InvalidScope,
                            "the approved scope is not within the scope the device asked for",
                        ))
                    }
                    Some(scopes) => scopes,
                    None => authorization.scopes,
                };
                let user_id = subject.to_owned();
                (DeviceStatus::Approved { user_id }, scopes)
            }
            DeviceDecision::Deny => (DeviceStatus::Denied, authorization.scopes),
        };
        let digest = user_code_digest(&normalized);
        if self
            .validator
            .decide_device_authorization(&digest, &status, &scopes, &oauth)?
        {
            Ok(())
        } else {
            Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the user code was already decided",
            ))
        }
    }

    /// The throttle and the lookup of the verification page: the
    /// normalized user code and its pending, live authorization.
    fn pending_device(
        &self,
        oauth: &OAuthRequest<'_>,
        subject: &str,
        user_code: &str,
    ) -> Result<(String, DeviceAuthorization), OAuthError> {
        let v = &self.validator;
        if !self.is_enabled(Grant::DeviceCode) {
            return Err(device_grant_disabled());
        }
        // Guesses are counted per user: without one, none could be.
        if subject.is_empty() {
            return Err(OAuthError::invalid_request(
                "the user entering the code must be signed in",
            ));
        }
        // Every entry is counted before its lookup, right or wrong: a
        // guess is known wrong only after it, and racing guesses that were
        // each counted then would all pass the limit together. The first
        // check spares the store a row for a user already refused.
        let since = oauth.now.saturating_sub(self.config.user_code_window);
        let limit = self.config.user_code_attempts;
        if v.user_code_attempts(subject, since, oauth)? >= limit
            || v.record_user_code_attempt(subject, since, oauth)? > limit
        {
            return Err(too_many_guesses());
        }
        let found = match normalize_user_code(user_code) {
            Some(normalized) => {
                let digest = user_code_digest(&normalized);
                v.find_device_authorization(DeviceCodeKey::UserCode(&digest), oauth)?
                    .filter(|a| a.status == DeviceStatus::Pending && oauth.now < a.expires_at)
                    .map(|a| (normalized, a))
            }
            None => None,
        };
        found.ok_or_else(unknown_user_code)
    }
}

/// The answer of every device endpoint of a server without the grant.
fn device_grant_disabled() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnsupportedGrantType,
        "the device authorization grant is not enabled",
    )
}

/// RFC 8628 §5.1: the user entered too many wrong codes lately.
fn too_many_guesses() -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "too many user codes entered lately; try again later",
    )
}
