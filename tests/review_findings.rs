//! Regression tests for the defects found in the security and conformance
//! review of the core (one test per finding, named after it). Each asserts
//! the outcome the RFCs call for, through the public API.

mod common;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use common::*;
use oauth2_provider::client_auth::ClientLookup;
use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::pkce::ChallengeMethod;
use oauth2_provider::{
    AuthorizationCode, CodeStatus, IssuedToken, OAuthError, OAuthRequest, RefreshTokenStatus,
    RequestValidator, Scope, Server, TokenInfo, TokenType,
};

type R<T> = Result<T, OAuthError>;

/// A host's validator over a [`MemoryValidator`] that differs from it in one
/// plausible way per switch.
struct Host {
    inner: MemoryValidator,
    /// Stores PKCE challenges but leaves `get_code_challenge_method` at the
    /// trait default (`None`): an easy omission.
    forget_method: bool,
    /// `validate_code` answers from a snapshot taken at the code's first
    /// validation: a second exchange that read the code before the first
    /// one consumed it (two requests racing).
    stale_codes: bool,
    /// While a refresh token is being rotated, a concurrent request with
    /// the same token detects its reuse and revokes the grant, before this
    /// request stores the tokens it issues.
    reuse_during_rotation: bool,
    /// `validate_bearer_token` is the host's one token lookup, shared with
    /// `introspect_token` (which finds refresh tokens too).
    bearer_via_introspect: bool,
    snapshots: Mutex<HashMap<String, CodeStatus>>,
}

impl Host {
    fn new(inner: MemoryValidator) -> Self {
        Host {
            inner,
            forget_method: false,
            stale_codes: false,
            reuse_during_rotation: false,
            bearer_via_introspect: false,
            snapshots: Mutex::default(),
        }
    }
}

impl ClientLookup for Host {
    type Client = <MemoryValidator as ClientLookup>::Client;

    fn find_client(&self, client_id: &str) -> R<Option<Self::Client>> {
        self.inner.find_client(client_id)
    }
}

impl RequestValidator for Host {
    fn get_code_challenge(&self, code: &str, request: &OAuthRequest<'_>) -> R<Option<String>> {
        self.inner.get_code_challenge(code, request)
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> R<Option<ChallengeMethod>> {
        if self.forget_method {
            return Ok(None);
        }
        self.inner.get_code_challenge_method(code, request)
    }

    fn get_default_scopes(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> R<Scope> {
        self.inner.get_default_scopes(client_id, client, request)
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> R<Option<TokenInfo>> {
        self.inner.introspect_token(token, hint, request)
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> R<bool> {
        self.inner
            .invalidate_authorization_code(client_id, code, request)
    }

    fn is_pkce_required(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> R<bool> {
        self.inner.is_pkce_required(client_id, client, request)
    }

    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> R<()> {
        self.inner.revoke_token(token, hint, request)
    }

    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> R<()> {
        self.inner.revoke_grant(grant_id, request)
    }

    fn invalidate_refresh_token(&self, refresh_token: &str, request: &OAuthRequest<'_>) -> R<bool> {
        let grant = self
            .inner
            .introspect_token(refresh_token, Some(TokenType::RefreshToken), request)?
            .and_then(|info| info.grant_id);
        let rotated = self
            .inner
            .invalidate_refresh_token(refresh_token, request)?;
        if self.reuse_during_rotation {
            // The other request: its validation saw the token active, its
            // rotation lost, so it revoked the whole grant.
            self.inner
                .revoke_grant(&grant.expect("a refresh token with a grant"), request)?;
        }
        Ok(rotated)
    }

    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> R<()> {
        self.inner.save_authorization_code(client_id, code, request)
    }

    fn save_bearer_token(&self, token: &IssuedToken, request: &OAuthRequest<'_>) -> R<()> {
        self.inner.save_bearer_token(token, request)
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> R<Option<TokenInfo>> {
        if self.bearer_via_introspect {
            return self.inner.introspect_token(token, None, request);
        }
        self.inner.validate_bearer_token(token, scopes, request)
    }

    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> R<CodeStatus> {
        let status = self.inner.validate_code(client_id, code, client, request)?;
        if !self.stale_codes {
            return Ok(status);
        }
        let mut snapshots = self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(snapshots.entry(code.to_owned()).or_insert(status).clone())
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> R<RefreshTokenStatus> {
        self.inner
            .validate_refresh_token(refresh_token, client, request)
    }

    fn validate_scopes(
        &self,
        client_id: &str,
        scopes: &Scope,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> R<bool> {
        self.inner
            .validate_scopes(client_id, scopes, client, request)
    }

    fn validate_user(
        &self,
        username: &str,
        password: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> R<Option<String>> {
        self.inner
            .validate_user(username, password, client, request)
    }
}

fn host_server(host: Host) -> Server<Host> {
    Server::builder(host)
        .issuer(ISSUER)
        .enable(oauth2_provider::Grant::Password)
        .build()
}

/// A code for public-client with the RFC 7636 appendix B S256 challenge.
fn public_code<V: RequestValidator>(server: &Server<V>) -> String {
    let pending = get(
        server,
        &[
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("scope", "read"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("a valid authorization request");
    location_param(&approve(server, &pending, None), "code").expect("a code")
}

fn exchange<V: RequestValidator>(
    server: &Server<V>,
    code: &str,
    verifier: &str,
) -> oauth2_provider::Response {
    token(
        server,
        None,
        &format!(
            "grant_type=authorization_code&client_id=public-client&code={code}&code_verifier={verifier}"
        ),
    )
}

/// RFC 7636 §4.3 / §4.6, RFC 9700 §2.1.1 and §4.8: with `plain` disabled, a
/// challenge can only have been accepted as S256. A validator that stores
/// the challenge but returns no method must not turn the check into
/// `plain`, where the challenge itself (seen in the authorization request's
/// URL) passes as the verifier.
#[test]
fn pkce_missing_method_is_not_read_as_plain_when_plain_is_disabled() {
    let server = host_server(Host {
        forget_method: true,
        ..Host::new(realm())
    });
    let code = public_code(&server);
    let r = exchange(&server, &code, CHALLENGE);
    assert_error(&r, 400, "invalid_grant", "code_verifier does not match");

    // The right verifier still works: the check is S256.
    let r = exchange(&server, &code, VERIFIER);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

/// RFC 6749 §4.1.2 and RFC 9700 §4.2.1: a code used twice revokes what it
/// issued, also when the second exchange raced the first one past
/// `validate_code` and only `invalidate_authorization_code` tells them
/// apart.
#[test]
fn code_replay_racing_past_validate_code_revokes_the_grant() {
    let server = host_server(Host {
        stale_codes: true,
        ..Host::new(realm())
    });
    let code = public_code(&server);
    let first = exchange(&server, &code, VERIFIER);
    assert_eq!(first.status, 200, "{}", first.body_str());
    let (access, refresh_token) = (
        field(&first, "access_token"),
        field(&first, "refresh_token"),
    );
    assert!(bearer(&server, &access, &[]).is_ok());

    let second = exchange(&server, &code, VERIFIER);
    assert_error(&second, 400, "invalid_grant", "already used");

    assert!(
        bearer(&server, &access, &[]).is_err(),
        "access token revoked"
    );
    assert_eq!(introspect(&server, &access)["active"], false);
    assert_eq!(introspect(&server, &refresh_token)["active"], false);
}

/// RFC 9700 §4.14.2: once reuse of a refresh token has revoked its grant,
/// no token of that grant may become active, not even the ones a
/// concurrent rotation of the same token was about to store.
#[test]
fn tokens_stored_after_their_grant_was_revoked_never_become_active() {
    let server = host_server(Host {
        reuse_during_rotation: true,
        ..Host::new(realm())
    });
    let (access, refresh_token) = public_login(&server, "alice");
    let before = server.validator().inner.active_access_tokens();
    assert_eq!(before, 1);

    let r = token(
        &server,
        None,
        &format!("grant_type=refresh_token&client_id=public-client&refresh_token={refresh_token}"),
    );
    assert_error(&r, 400, "invalid_grant", "revoked");
    assert!(json(&r).get("access_token").is_none());
    assert_eq!(server.validator().inner.active_access_tokens(), 0);
    assert!(bearer(&server, &access, &[]).is_err());
    assert_eq!(introspect(&server, &refresh_token)["active"], false);
}

/// RFC 6750 §1 and RFC 6749 §1.5: only an access token opens a protected
/// resource. A validator whose one token lookup also finds refresh tokens
/// must not turn a refresh token into a bearer credential.
#[test]
fn a_refresh_token_is_not_a_bearer_token() {
    let server = host_server(Host {
        bearer_via_introspect: true,
        ..Host::new(realm())
    });
    let (access, refresh_token) = login(&server, "read");
    assert!(bearer(&server, &access, &["read"]).is_ok());

    let denied = bearer(&server, &refresh_token, &["read"]).unwrap_err();
    assert_eq!(denied.status, 401);
    let challenge = denied.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}
