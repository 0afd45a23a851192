//! The device code grant at the token endpoint (RFC 8628 §3.4–3.5): the
//! device polls with its device code until the user decides; an approved
//! authorization gives its tokens once.

use std::sync::Arc;

use crate::client_auth::Client;
use crate::device::{DeviceCodeKey, DeviceStatus, SLOW_DOWN_STEP};
use crate::error::{ErrorCode, OAuthError};
use crate::form::Param;
use crate::grant::{
    check_grant_type, continued_audience, draw_tokens, save_tokens, Grantee, Refresh,
};
use crate::request::OAuthRequest;
use crate::secret::sha256;
use crate::server::{Grant, Server};
use crate::token::BearerToken;
use crate::validator::{self, Consumed, RequestValidator};

/// Answers one poll: the tokens, or why not yet (or never).
pub(crate) fn poll<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
) -> Result<BearerToken, OAuthError> {
    let v = &server.validator;
    let client = validator::authenticate(v, request)?;
    check_grant_type(server, request, &client, Grant::DeviceCode)?;
    let device_code = request.params.require(Param::DeviceCode)?;
    let digest = sha256(device_code.as_bytes());
    let authorization = v
        .find_device_authorization(DeviceCodeKey::DeviceCode(&digest), request)?
        // §3.5: another client's code is as unknown as a made-up one.
        .filter(|a| a.client_id == client.client_id())
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidGrant, "unknown device code"))?;
    // A replay is a replay however late: its tokens go before anything
    // else is said about the code.
    if authorization.status == DeviceStatus::Used {
        v.revoke_grant(&authorization.grant_id, request)?;
        return Err(used());
    }
    if request.now >= authorization.expires_at {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code has expired; start a new device authorization",
        ));
    }
    let user = match authorization.status {
        DeviceStatus::Pending => {
            // §3.5: polling faster than the interval is slow_down, and the
            // interval "MUST be increased by 5 seconds for this and all
            // subsequent requests".
            let too_soon = authorization
                .last_poll
                .is_some_and(|last| request.now < last.saturating_add(authorization.interval));
            let interval = if too_soon {
                authorization.interval.saturating_add(SLOW_DOWN_STEP)
            } else {
                authorization.interval
            };
            // The store grows its interval itself, atomically: racing
            // polls answered slow_down each add their 5 s.
            v.record_device_poll(&digest, request.now, too_soon, request)?;
            return Err(if too_soon {
                OAuthError::new(
                    ErrorCode::SlowDown,
                    format!("polling too fast: wait at least {interval} seconds between polls"),
                )
            } else {
                OAuthError::new(
                    ErrorCode::AuthorizationPending,
                    "the user has not decided yet",
                )
            });
        }
        DeviceStatus::Denied => {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the authorization",
            ))
        }
        // Single use: a second poll after the tokens is a copy of the
        // device code at work; the tokens of that grant went above.
        DeviceStatus::Used => return Err(used()),
        DeviceStatus::Approved { user_id } => user_id,
    };
    let (audience, refresh_audience) =
        continued_audience(request, &client, authorization.audience)?;
    let mut drawn = draw_tokens(server, request, &client, true, Refresh::IfAllowed)?;
    // The family starts here, under the id drawn with the device code:
    // the tokens are a new grant, and a replay revokes them by that id.
    drawn.grant_id = Some(Arc::from(authorization.grant_id));
    save_tokens(
        server,
        request,
        Grantee {
            client: &client,
            user: Some(Arc::from(user)),
            scopes: authorization.scopes,
            audience,
            refresh_audience,
            grant_id: None,
        },
        drawn,
        Some(Consumed::DeviceCode {
            client_id: client.client_id(),
            device_code: &digest,
        }),
    )
}

fn used() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, "the device code was already used")
}
