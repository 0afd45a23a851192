//! Refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).

mod common;

use std::sync::atomic::Ordering;

use common::{
    builder, clocked, failing_password_server, field, introspect, json, login, password_server,
    post, public_login, refresh, token, Delegating, CONF, START,
};
use oauth2_provider::memory::MemoryClient;
use oauth2_provider::server::DEFAULT_REFRESH_TOKEN_LIFETIME;
use oauth2_provider::{Grant, RequestValidator, Response, Server};

/// The resource server's verdict on an access token: its scope, or the status.
fn bearer<V: RequestValidator>(server: &Server<V>, token: &str) -> Result<String, u16> {
    common::bearer(server, token, &[])
        .map(|info| info.scopes.as_str().to_owned())
        .map_err(|r| r.status)
}

/// A §5.2 error ([`common::assert_error`]) without a token.
fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) {
    let body = common::assert_error(response, status, code, fragment);
    assert!(body.get("access_token").is_none());
}

#[test]
fn refresh_issues_a_new_access_token_and_rotates_the_refresh_token() {
    let s = password_server();
    let (access1, refresh1) = login(&s, "read%20write");
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    let body = json(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access2 = field(&r, "access_token");
    let refresh2 = field(&r, "refresh_token");
    assert_ne!(access2, access1);
    assert_ne!(refresh2, refresh1);
    assert_eq!(bearer(&s, &access2), Ok("read write".to_owned()));
    // The new refresh token acts for the same user and grant.
    let info = introspect(&s, &refresh2);
    assert_eq!(info["active"], true);
    assert_eq!(info["username"], "alice");
    // The old one is retired.
    assert_eq!(
        introspect(&s, &refresh1),
        serde_json::json!({"active": false})
    );
}

#[test]
fn reusing_a_rotated_refresh_token_is_invalid_grant_and_revokes_the_grant() {
    // RFC 9700 §4.14.2: a rotated refresh token presented again means two
    // parties hold it; the whole grant is revoked.
    let s = password_server();
    let (access1, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200);
    let (access2, refresh2) = (field(&r, "access_token"), field(&r, "refresh_token"));
    assert_eq!(bearer(&s, &access2), Ok("read".to_owned()));

    let replay = refresh(&s, &refresh1, "");
    assert_error(&replay, 400, "invalid_grant", "already used");

    // Everything of that grant stops working…
    assert_eq!(bearer(&s, &access2), Err(401));
    assert_eq!(bearer(&s, &access1), Err(401));
    assert_error(&refresh(&s, &refresh2, ""), 400, "invalid_grant", "");
    assert_eq!(
        introspect(&s, &refresh2),
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&s, &access2),
        serde_json::json!({"active": false})
    );
    // …and stays dead on a second replay.
    assert_error(&refresh(&s, &refresh1, ""), 400, "invalid_grant", "");
}

#[test]
fn reuse_detection_spares_other_grants() {
    let s = password_server();
    let (_, stolen) = login(&s, "read");
    let (other_access, other_refresh) = login(&s, "read");
    assert_eq!(refresh(&s, &stolen, "").status, 200);
    assert_eq!(refresh(&s, &stolen, "").status, 400);
    assert_eq!(bearer(&s, &other_access), Ok("read".to_owned()));
    assert_eq!(refresh(&s, &other_refresh, "").status, 200);
}

#[test]
fn narrower_scope_is_allowed() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read%20write");
    let r = refresh(&s, &refresh1, "&scope=read");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
    assert_eq!(
        bearer(&s, &field(&r, "access_token")),
        Ok("read".to_owned())
    );
}

#[test]
fn narrowing_does_not_shrink_the_new_refresh_token() {
    // §6: "If a new refresh token is issued, the refresh token scope MUST
    // be identical to that of the refresh token included by the client in
    // the request." A narrowed access token must not narrow the grant.
    let s = password_server();
    let (_, refresh1) = login(&s, "read%20write");
    let r = refresh(&s, &refresh1, "&scope=read");
    assert_eq!(r.status, 200, "{}", r.body_str());
    let refresh2 = field(&r, "refresh_token");
    assert_eq!(introspect(&s, &refresh2)["scope"], "read write");
    let r = refresh(&s, &refresh2, "&scope=read%20write");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read write");
    // And without a scope, the grant's full scope comes back.
    let r = refresh(&s, &field(&r, "refresh_token"), "&scope=write");
    let r = refresh(&s, &field(&r, "refresh_token"), "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read write");
}

#[test]
fn wider_scope_is_invalid_scope_and_leaves_the_token_usable() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    for extra in ["&scope=read%20write", "&scope=write", "&scope=admin"] {
        let r = refresh(&s, &refresh1, extra);
        assert_error(
            &r,
            400,
            "invalid_scope",
            "exceeds the scope originally granted",
        );
    }
    // A refused request neither rotates nor revokes.
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
}

#[test]
fn malformed_scope_is_invalid_scope() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, "&scope=re%5Cad");
    assert_error(&r, 400, "invalid_scope", "scope-token syntax");
}

#[test]
fn no_scope_means_the_original_scope() {
    let s = password_server();
    let (_, refresh1) = login(&s, "write%20read");
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "write read");
    let r = refresh(&s, &field(&r, "refresh_token"), "&scope=");
    assert_eq!(json(&r)["scope"], "write read");
}

#[test]
fn refresh_token_of_another_client_is_invalid_grant() {
    // §6: "ensure that the refresh token was issued to the authenticated client".
    let s = password_server();
    s.validator().add_client(
        MemoryClient::confidential("other-client", "other-secret", [])
            .grants(["password", "refresh_token"])
            .scopes(["read", "write"]),
    );
    let (access, refresh1) = login(&s, "read");
    let r = token(
        &s,
        Some(("other-client", "other-secret")),
        &format!("grant_type=refresh_token&refresh_token={refresh1}"),
    );
    assert_error(&r, 400, "invalid_grant", "");
    // The attempt neither burns the token nor revokes its grant.
    assert_eq!(bearer(&s, &access), Ok("read".to_owned()));
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn confidential_client_must_authenticate_to_refresh() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    let body = format!("grant_type=refresh_token&refresh_token={refresh1}");
    let r = token(&s, None, &body);
    assert_error(&r, 401, "invalid_client", "");
    let r = token(&s, None, &format!("{body}&client_id=conf-client"));
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    let r = token(&s, Some(("conf-client", "wrong")), &body);
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert!(r.header("WWW-Authenticate").is_some());
    // None of that consumed it.
    assert_eq!(refresh(&s, &refresh1, "").status, 200);
}

#[test]
fn missing_refresh_token_is_invalid_request() {
    let s = password_server();
    let r = token(&s, CONF, "grant_type=refresh_token");
    assert_error(
        &r,
        400,
        "invalid_request",
        "missing required parameter 'refresh_token'",
    );
    let r = token(&s, CONF, "grant_type=refresh_token&refresh_token=");
    assert_error(&r, 400, "invalid_request", "'refresh_token'");
}

#[test]
fn repeated_refresh_token_is_invalid_request() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, &format!("&refresh_token={refresh1}"));
    assert_error(&r, 400, "invalid_request", "'refresh_token' is repeated");
}

#[test]
fn unknown_or_wrong_kind_of_token_is_invalid_grant() {
    let s = password_server();
    let (access, _) = login(&s, "read");
    for presented in ["nope", access.as_str(), "%00", "a%20b"] {
        let r = refresh(&s, presented, "");
        assert_error(&r, 400, "invalid_grant", "invalid or expired");
    }
    // An access token presented as a refresh token is not "reuse": its grant lives on.
    assert_eq!(bearer(&s, &access), Ok("read".to_owned()));
}

#[test]
fn revoked_refresh_token_is_invalid_grant() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    let r = post(
        |r| s.revocation_response(r),
        CONF,
        &format!("token={refresh1}&token_type_hint=refresh_token"),
    );
    assert_eq!(r.status, 200);
    assert_error(&refresh(&s, &refresh1, ""), 400, "invalid_grant", "");
}

#[test]
fn without_rotation_the_same_refresh_token_comes_back() {
    let mut v = Delegating::new(common::realm());
    v.rotate = false;
    let s = common::builder_over(v)
        .enable(Grant::Password)
        .build()
        .unwrap();
    let (access1, refresh1) = login(&s, "read%20write");
    let mut previous = access1;
    for _ in 0..3 {
        let r = refresh(&s, &refresh1, "");
        assert_eq!(r.status, 200, "{}", r.body_str());
        assert_eq!(field(&r, "refresh_token"), refresh1);
        let access = field(&r, "access_token");
        assert_ne!(access, previous);
        assert_eq!(bearer(&s, &access), Ok("read write".to_owned()));
        previous = access;
    }
    // Narrowing without rotation keeps the (unchanged) refresh token's scope.
    let r = refresh(&s, &refresh1, "&scope=read");
    assert_eq!(json(&r)["scope"], "read");
    let r = refresh(&s, &refresh1, "");
    assert_eq!(json(&r)["scope"], "read write");
}

#[test]
fn expired_refresh_token_is_invalid_grant() {
    // The library checks expiry itself (the validator's clock is frozen here).
    let (s, now) = clocked(Some(100), false);
    let (_, refresh1) = login(&s, "read");
    now.fetch_add(99, Ordering::SeqCst);
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    let refresh2 = field(&r, "refresh_token");
    // refresh2 was issued at START+99 and expires at START+199.
    now.fetch_add(100, Ordering::SeqCst);
    let r = refresh(&s, &refresh2, "");
    assert_error(&r, 400, "invalid_grant", "invalid or expired");
}

#[test]
fn expired_refresh_token_is_invalid_grant_when_the_validator_notices_too() {
    let (s, now) = clocked(Some(100), true);
    let (_, refresh1) = login(&s, "read");
    now.fetch_add(100, Ordering::SeqCst);
    let r = refresh(&s, &refresh1, "");
    assert_error(&r, 400, "invalid_grant", "invalid or expired");
}

#[test]
fn refresh_tokens_expire_after_thirty_days_unless_configured() {
    // Least privilege: no refresh token lives for ever, so a store keeps a
    // rotated one (for reuse detection) only that long.
    let (s, now) = clocked(None, true);
    let (_, refresh1) = login(&s, "read");
    assert_eq!(
        introspect(&s, &refresh1)["exp"],
        START + DEFAULT_REFRESH_TOKEN_LIFETIME
    );
    now.fetch_add(DEFAULT_REFRESH_TOKEN_LIFETIME - 1, Ordering::SeqCst);
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    let refresh2 = field(&r, "refresh_token");
    now.fetch_add(DEFAULT_REFRESH_TOKEN_LIFETIME, Ordering::SeqCst);
    assert_error(&refresh(&s, &refresh2, ""), 400, "invalid_grant", "expired");
}

#[test]
fn lifetimes_that_cannot_be_meant_are_refused() {
    use oauth2_provider::server::MAX_LIFETIME;
    use oauth2_provider::ConfigError;
    for lifetime in [0, MAX_LIFETIME + 1, u64::MAX] {
        let built = [
            builder().refresh_token_lifetime(lifetime).build(),
            builder().access_token_lifetime(lifetime).build(),
            builder().code_lifetime(lifetime).build(),
        ];
        for b in built {
            assert_eq!(b.err(), Some(ConfigError::InvalidLifetime), "{lifetime}");
        }
    }
    assert!(builder()
        .refresh_token_lifetime(MAX_LIFETIME)
        .build()
        .is_ok());
}

#[test]
fn public_client_refreshes_with_its_client_id() {
    let s = password_server();
    let refresh1 = public_login(&s, "alice").1;
    let body = format!("grant_type=refresh_token&refresh_token={refresh1}&client_id=public-client");
    let r = token(&s, None, &body);
    assert_eq!(r.status, 200, "{}", r.body_str());
    let refresh2 = field(&r, "refresh_token");
    assert_ne!(refresh2, refresh1);
    // Rotation protects public clients (RFC 9700 §4.14.2) the same way.
    assert_error(
        &token(&s, None, &body),
        400,
        "invalid_grant",
        "already used",
    );
    let r = token(
        &s,
        None,
        &format!("grant_type=refresh_token&refresh_token={refresh2}&client_id=public-client"),
    );
    assert_error(&r, 400, "invalid_grant", "");
}

#[test]
fn public_client_refresh_tokens_rotate_whatever_the_host_says() {
    // RFC 9700 §4.14.2: refresh tokens of public clients MUST be
    // sender-constrained or rotated; this library does not
    // sender-constrain, so it always rotates them.
    let mut v = Delegating::new(common::realm());
    v.rotate = false;
    let s = common::builder_over(v).build().unwrap();
    let refresh1 = public_login(&s, "alice").1;
    let body = format!("grant_type=refresh_token&refresh_token={refresh1}&client_id=public-client");
    let r = token(&s, None, &body);
    assert_eq!(r.status, 200, "{}", r.body_str());
    let refresh2 = field(&r, "refresh_token");
    assert_ne!(refresh2, refresh1);
    assert_error(
        &token(&s, None, &body),
        400,
        "invalid_grant",
        "already used",
    );
}

#[test]
fn losing_a_rotation_race_is_reuse() {
    // Two requests validated the same refresh token; the second to rotate
    // it finds it already rotated: that is two holders of one token, and
    // the grant is revoked (RFC 9700 §4.14.2).
    let mut v = Delegating::new(common::realm());
    v.concurrent_rotation = true;
    let s = common::builder_over(v)
        .enable(Grant::Password)
        .build()
        .unwrap();
    let (access, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, "");
    assert_error(&r, 400, "invalid_grant", "already used");
    assert_eq!(bearer(&s, &access), Err(401));
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 0);
}

#[test]
fn client_no_longer_allowed_to_refresh_is_unauthorized_client() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    // The host re-registers conf-client without the refresh_token grant.
    s.validator().add_client(
        MemoryClient::confidential("conf-client", "conf-secret", [])
            .grants(["password"])
            .scopes(["read", "write"]),
    );
    let r = refresh(&s, &refresh1, "");
    assert_error(
        &r,
        400,
        "unauthorized_client",
        "not allowed to use this grant type",
    );
}

#[test]
fn disabled_refresh_grant_is_unsupported_grant_type() {
    let s = builder()
        .enable(Grant::Password)
        .disable(Grant::RefreshToken)
        .build()
        .unwrap();
    let r = token(&s, CONF, "grant_type=refresh_token&refresh_token=whatever");
    assert_error(&r, 400, "unsupported_grant_type", "not supported");
}

#[test]
fn failing_refresh_lookup_is_server_error() {
    let s = failing_password_server("validate_refresh_token");
    let (access, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, "");
    assert_error(&r, 500, "server_error", "storage is unavailable");
    // Nothing was revoked or issued.
    assert_eq!(bearer(&s, &access), Ok("read".to_owned()));
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 1);
}

#[test]
fn failing_rotation_is_server_error_and_issues_nothing() {
    let s = failing_password_server("invalidate_refresh_token");
    let (_, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, "");
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 1);
}

#[test]
fn failing_grant_revocation_on_reuse_is_server_error_never_success() {
    let s = failing_password_server("revoke_grant");
    let (_, refresh1) = login(&s, "read");
    assert_eq!(refresh(&s, &refresh1, "").status, 200);
    let r = refresh(&s, &refresh1, "");
    assert_error(&r, 500, "server_error", "storage is unavailable");
}

/// `MemoryValidator::purge_expired` forgets what has expired, and keeps a
/// rotated refresh token while it is unexpired, so that its reuse is still
/// detected (RFC 9700 §4.14.2).
#[test]
fn purging_keeps_what_reuse_detection_needs_and_forgets_the_expired() {
    let (s, now) = clocked(Some(100), true);
    let assert_counts = |access: usize, refresh: usize| {
        let counts = format!("{:?}", s.validator().inner);
        let expected = format!("access_tokens: {access}, refresh_tokens: {refresh}");
        assert!(counts.contains(&expected), "{counts}");
    };
    let (_, refresh1) = login(&s, "read");
    let r = refresh(&s, &refresh1, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    let refresh2 = field(&r, "refresh_token");
    assert_counts(2, 2);

    s.validator().inner.purge_expired(s.now());
    assert_counts(2, 2);
    assert_error(
        &refresh(&s, &refresh1, ""),
        400,
        "invalid_grant",
        "already used",
    );
    assert_error(&refresh(&s, &refresh2, ""), 400, "invalid_grant", "");

    let (_, refresh3) = login(&s, "read");
    now.fetch_add(3600, Ordering::SeqCst);
    s.validator().inner.purge_expired(s.now());
    assert_counts(0, 0);
    assert_error(
        &refresh(&s, &refresh3, ""),
        400,
        "invalid_grant",
        "invalid or expired",
    );
}

#[test]
fn a_scope_the_client_has_lost_is_not_refreshed() {
    // Least privilege (RFC 6749 §6, §3.3): the host narrows conf-client to
    // "read" after alice granted "read write".
    let s = password_server();
    let (_, refresh1) = login(&s, "read%20write");
    s.validator().add_client(
        MemoryClient::confidential("conf-client", "conf-secret", [])
            .grants(["password", "refresh_token"])
            .scopes(["read"]),
    );
    // Keeping the grant's scope, or naming the lost one, is invalid_scope,
    // and uses nothing up.
    for extra in ["", "&scope=read%20write", "&scope=write"] {
        let r = refresh(&s, &refresh1, extra);
        assert_error(&r, 400, "invalid_scope", "no longer allowed");
    }
    // Asking for what is left works; the new access and refresh tokens
    // carry only that.
    let r = refresh(&s, &refresh1, "&scope=read");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
    let refresh2 = field(&r, "refresh_token");
    assert_eq!(introspect(&s, &refresh2)["scope"], "read");
    assert_eq!(
        bearer(&s, &field(&r, "access_token")),
        Ok("read".to_owned())
    );
    let r = refresh(&s, &refresh2, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
}

#[test]
fn a_client_that_lost_every_scope_refreshes_nothing() {
    let s = password_server();
    let (_, refresh1) = login(&s, "read");
    s.validator().add_client(
        MemoryClient::confidential("conf-client", "conf-secret", [])
            .grants(["password", "refresh_token"]),
    );
    let r = refresh(&s, &refresh1, "");
    assert_error(&r, 400, "invalid_scope", "no longer allowed");
}

/// A purge between a grant's revocation and the save of a concurrent
/// request of that grant keeps the revocation: the save is refused, and
/// no token of the revoked grant becomes active.
#[test]
fn a_purge_never_forgets_a_revocation_a_request_may_still_meet() {
    let server = common::builder_over(Delegating {
        reuse_during_rotation: true,
        purge_during_rotation: true,
        ..Delegating::new(common::realm())
    })
    .enable(Grant::Password)
    .build()
    .unwrap();
    // A password grant: no code record keeps the grant in mind.
    let (access, refresh_token) = login(&server, "read");
    let r = refresh(&server, &refresh_token, "");
    assert_error(&r, 400, "invalid_grant", "revoked");
    assert_eq!(
        server.validator().inner.active_access_tokens(server.now()),
        0
    );
    assert!(bearer(&server, &access).is_err());
}

/// A request of a grant whose last code and refresh token expired, and
/// were purged, while it was served saves nothing: the store no longer
/// knows the grant, and only a new grant may start unknown.
#[test]
fn a_save_for_a_grant_that_ended_meanwhile_is_refused() {
    use oauth2_provider::{IssuedToken, OAuthRequest, Request, Scope};
    let (s, now) = clocked(Some(100), true);
    let (_, refresh1) = login(&s, "read");
    let grant_id = s
        .validator()
        .introspect_token(
            &refresh1,
            None,
            &OAuthRequest::new(
                Request::new("POST", "/", &[], b""),
                Default::default(),
                s.now(),
            ),
        )
        .unwrap()
        .and_then(|info| info.grant_id)
        .expect("a refresh token has a grant");
    now.fetch_add(101, Ordering::SeqCst);
    s.validator().inner.purge_expired(s.now());
    let http = Request::new("POST", "/token", &[], b"");
    let request = OAuthRequest::new(http, Default::default(), s.now());
    let continuing = |new_grant: bool| IssuedToken {
        access_token: format!("late-{new_grant}"),
        refresh_token: None,
        refresh_token_is_new: false,
        expires_in: 3600,
        scopes: Scope::parse("read").unwrap(),
        refresh_scopes: None,
        audience: Default::default(),
        refresh_audience: None,
        client_id: "conf-client".into(),
        user: Some("alice".into()),
        grant_id: Some(grant_id.clone()),
        new_grant,
        issued_at: START + 101,
        refresh_expires_at: None,
    };
    let before = s.validator().inner.active_access_tokens(s.now());
    let refused = s.validator().save_token(&continuing(false), &request);
    assert_eq!(
        refused.unwrap_err(),
        oauth2_provider::validator::grant_ended()
    );
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), before);
    s.validator()
        .save_token(&continuing(true), &request)
        .unwrap();
    assert_eq!(
        s.validator().inner.active_access_tokens(s.now()),
        before + 1
    );
}

/// RFC 9700 §4.14.2: once reuse of a refresh token has revoked its grant,
/// no token of that grant may become active, not even the ones a
/// concurrent rotation of the same token was about to store.
#[test]
fn tokens_stored_after_their_grant_was_revoked_never_become_active() {
    let server = common::builder_over(Delegating {
        reuse_during_rotation: true,
        ..Delegating::new(common::realm())
    })
    .enable(Grant::Password)
    .build()
    .unwrap();
    let (access, refresh_token) = public_login(&server, "alice");
    let before = server.validator().inner.active_access_tokens(server.now());
    assert_eq!(before, 1);

    let r = token(
        &server,
        None,
        &format!("grant_type=refresh_token&client_id=public-client&refresh_token={refresh_token}"),
    );
    common::assert_error(&r, 400, "invalid_grant", "revoked");
    assert!(json(&r).get("access_token").is_none());
    assert_eq!(
        server.validator().inner.active_access_tokens(server.now()),
        0
    );
    assert!(common::bearer(&server, &access, &[]).is_err());
    assert_eq!(introspect(&server, &refresh_token)["active"], false);
}
