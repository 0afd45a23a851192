//! The endpoints, each a set of methods on [`Server`](crate::Server),
//! reading top to bottom in its RFC section's order.

pub mod authorization;
mod device_authorization;
mod introspection;
mod metadata;
pub mod protected_resource;
pub mod pushed_authorization;
mod resource;
mod revocation;
mod token;

use crate::error::{ErrorCode, OAuthError};
use crate::header;
use crate::request::OAuthRequest;
use crate::response::Response;

/// The JSON error response of the token, revocation and introspection
/// endpoints. `invalid_client` is a 401, and a 401 carries a challenge
/// (RFC 9110 §15.5.2): `Basic`, the one HTTP scheme these endpoints
/// accept (RFC 6749 §5.2), also when the client tried the body or another
/// scheme.
pub(crate) fn json_error(error: &OAuthError, realm: &str) -> Response {
    let response = Response::error_json(error);
    if error.code() == ErrorCode::InvalidClient {
        response.with_header("WWW-Authenticate", header::basic_challenge(realm))
    } else {
        response
    }
}

/// The checks every client-authenticated POST endpoint starts with
/// (token RFC 6749 §3.2, revocation RFC 7009 §2.1, introspection RFC 7662
/// §2.1): `POST`, a form body, parameters at most once, and no client
/// credentials in the query string. The parameters are parsed into
/// `oauth.params` (empty before), where the endpoint reads them: they are
/// some 400 bytes, and every move through a `Result` a copy.
pub(crate) fn parse_form_post(oauth: &mut OAuthRequest<'_>) -> Result<(), Response> {
    let request = oauth.http;
    if !request.is_method("POST") {
        let error = OAuthError::invalid_request("the endpoint only accepts POST");
        let mut response = Response::error_json(&error);
        response.status = 405;
        return Err(response.with_header("Allow", "POST"));
    }
    let checked = if request.has_form_body() {
        oauth
            .params
            .parse_into(request.body())
            .map_err(OAuthError::from)
            .and_then(|()| crate::client_auth::reject_query_credentials(&request))
    } else {
        Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ))
    };
    checked.map_err(|e| Response::error_json(&e))
}
