//! Regression tests for the defects found in the security and conformance
//! review of the core (one test per finding, named after it). Each asserts
//! the outcome the RFCs call for, through the public API.

mod common;

use common::*;
use oauth2_provider::{RequestValidator, Server};

/// A server over [`Delegating`], the host validator whose switches each
/// make one plausible difference from the in-memory validator.
fn host_server(host: Delegating) -> Server<Delegating> {
    common::builder_over(host)
        .issuer(ISSUER)
        .enable(oauth2_provider::Grant::Password)
        .build()
        .unwrap()
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
    let server = host_server(Delegating {
        forget_method: true,
        ..Delegating::new(realm())
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
    let server = host_server(Delegating {
        stale_codes: true,
        ..Delegating::new(realm())
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
    let server = host_server(Delegating {
        reuse_during_rotation: true,
        ..Delegating::new(realm())
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
    let server = host_server(Delegating {
        bearer_via_introspect: true,
        ..Delegating::new(realm())
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
