//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–4.1.2, §4.2.1–4.2.2;
//! RFC 7636 §4.3–4.4; RFC 9207), in two phases:
//!
//! 1. [`Server::validate_authorization_request`] checks the request and
//!    returns what the host's consent page shows;
//! 2. once the host has authenticated the user and asked for consent,
//!    [`Server::authorize`] issues the code (or, for the implicit grant, the
//!    token) and [`Server::deny`] answers `access_denied`.
//!
//! Errors about the client or the redirect URI are never redirected: they
//! come back as [`AuthorizationError::Fatal`] for the host to show.

use crate::audience::Audience;
use crate::client_auth::{Client, ClientAuthenticator};
use crate::error::{ErrorCode, OAuthError};
use crate::form::{Param, Params};
use crate::grant;
pub use crate::grant::authorization_request::{AuthorizationRequest, ResponseType};
use crate::pkce::{self, ChallengeMethod};
use crate::redirect_uri::is_absolute_without_fragment;
pub use crate::redirect_uri::redirect_uri_matches;
use crate::request::{OAuthRequest, Request};
use crate::response::{redirect_uri_with, Response, ResponseMode};
use crate::scope::Scope;
use crate::secret::sha256;
use crate::server::{Grant, Server};
use crate::validator::RequestValidator;

/// Why an authorization request failed.
#[derive(Clone, Debug)]
pub enum AuthorizationError {
    /// The client or redirect URI could not be trusted: show the error to
    /// the user; never redirect (RFC 6749 §4.1.2.1).
    Fatal(OAuthError),
    /// Send `response`, a redirect carrying `error` to the client.
    Redirect {
        /// The error sent.
        error: OAuthError,
        /// The `302` to the client's redirect URI.
        response: Response,
    },
}

impl AuthorizationError {
    /// The OAuth error.
    pub fn error(&self) -> &OAuthError {
        match self {
            AuthorizationError::Fatal(e) | AuthorizationError::Redirect { error: e, .. } => e,
        }
    }

    /// The response to send: the redirect, or for a fatal error a JSON
    /// error body (hosts usually render their own page) with status 400,
    /// or 500 / 503 when the validator failed (`server_error`,
    /// `temporarily_unavailable`).
    pub fn into_response(self) -> Response {
        match self {
            AuthorizationError::Fatal(e) => {
                let mut r = Response::error_json(&e);
                r.status = match e.code() {
                    ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => e.status(),
                    _ => 400,
                };
                r
            }
            AuthorizationError::Redirect { response, .. } => response,
        }
    }
}

/// Where an authorization request's parameters come from.
pub(crate) enum Source<C> {
    /// The request itself.
    Plain,
    /// A pushed request (RFC 9126 §4), by the digest of its `request_uri`.
    Pushed([u8; 32]),
    /// The body of a pushed authorization request, from this
    /// authenticated client (RFC 9126 §2.1).
    Pushing(C),
}

/// The authorization request's parameters: the query string for `GET`, or
/// the form body for `POST` (RFC 6749 §3.1).
fn authorization_params<'r>(request: &Request<'r>) -> Result<Params<'r>, OAuthError> {
    let raw = if request.is_method("POST") && request.has_form_body() {
        request.body()
    } else {
        request.query().unwrap_or("").as_bytes()
    };
    Params::parse(raw).map_err(|e| {
        let e = OAuthError::from(e);
        OAuthError::no_redirect(e.code(), e.description().to_owned())
    })
}

impl<V: RequestValidator> Server<V> {
    /// Validates an authorization request (`GET` with a query, or `POST`
    /// with a form body) and returns what the consent page needs.
    ///
    /// ```
    /// use oauth2_provider::memory::{MemoryClient, MemoryValidator};
    /// use oauth2_provider::{pkce, AuthorizationError, Request, Server};
    /// let v = MemoryValidator::new();
    /// v.add_client(MemoryClient::public("app", ["https://app.example/cb"]).grants(["authorization_code"]).scopes(["read"]));
    /// let server = Server::builder(v).issuer("https://as.example").build().unwrap();
    /// let challenge = pkce::s256_challenge(&"v".repeat(43));
    /// let uri = format!(
    ///     "/authorize?response_type=code&client_id=app&state=xyz&scope=read&code_challenge={}&code_challenge_method=S256",
    ///     challenge.as_str()
    /// );
    /// let req = server.validate_authorization_request(&Request::new("GET", &uri, &[], b"")).unwrap();
    /// assert_eq!(req.redirect_uri, "https://app.example/cb");
    /// assert_eq!(req.state.as_deref(), Some("xyz"));
    ///
    /// let bad = Request::new("GET", "/authorize?response_type=code&client_id=nobody", &[], b"");
    /// assert!(matches!(server.validate_authorization_request(&bad), Err(AuthorizationError::Fatal(_))));
    /// ```
    pub fn validate_authorization_request(
        &self,
        request: &Request<'_>,
    ) -> Result<AuthorizationRequest<V::Client>, AuthorizationError> {
        // Only a server with an issuer has an authorization endpoint
        // (RFC 9207's `iss` in every response): a resource server has none.
        if self.issuer().is_none() {
            return Err(AuthorizationError::Fatal(OAuthError::no_redirect(
                ErrorCode::UnsupportedResponseType,
                "this server has no authorization endpoint (a resource server)",
            )));
        }
        let params = authorization_params(request).map_err(AuthorizationError::Fatal)?;
        let oauth = OAuthRequest::new(*request, params, self.now());
        if let Some(request_uri) = oauth.params.get(Param::RequestUri) {
            return self.resolve_pushed_request(&oauth, request_uri);
        }
        self.check_authorization(&oauth, Source::Plain)
    }

    /// RFC 9126 §4: the pushed request behind `request_uri`, of the client
    /// named by `client_id`, unexpired, validated as any authorization
    /// request. The request's other parameters are ignored. Every failure
    /// is fatal: until the pushed request is found, neither the client nor
    /// a redirect URI can be trusted.
    fn resolve_pushed_request(
        &self,
        oauth: &OAuthRequest<'_>,
        request_uri: &str,
    ) -> Result<AuthorizationRequest<V::Client>, AuthorizationError> {
        let fatal = |d: &'static str| {
            AuthorizationError::Fatal(OAuthError::no_redirect(ErrorCode::InvalidRequest, d))
        };
        let client_id = oauth
            .params
            .get(Param::ClientId)
            .ok_or_else(|| fatal("missing required parameter 'client_id' with request_uri"))?;
        let digest = sha256(request_uri.as_bytes());
        let pushed = self
            .validator
            .find_pushed_request(&digest, oauth)
            .map_err(AuthorizationError::Fatal)?
            // Another client's request is as unknown as none: §4 binds
            // the request URI to the client that pushed it.
            .filter(|p| p.client_id == client_id)
            .ok_or_else(|| fatal("request_uri is unknown, used, or not this client's"))?;
        if pushed.expires_at <= oauth.now {
            return Err(fatal("request_uri has expired"));
        }
        let params = Params::parse(pushed.parameters.as_bytes()).map_err(|e| {
            let e = OAuthError::from(e);
            AuthorizationError::Fatal(OAuthError::no_redirect(
                e.code(),
                e.description().to_owned(),
            ))
        })?;
        if params.get(Param::ClientId) != Some(client_id) {
            return Err(fatal("the pushed request is not this client's"));
        }
        let pushed_oauth = OAuthRequest::new(oauth.http, params, oauth.now);
        self.check_authorization(&pushed_oauth, Source::Pushed(digest))
    }

    /// The authorization endpoint's checks, for a plain request, a pushed
    /// one, or one being pushed (whose client is authenticated).
    pub(crate) fn check_authorization(
        &self,
        oauth: &OAuthRequest<'_>,
        source: Source<V::Client>,
    ) -> Result<AuthorizationRequest<V::Client>, AuthorizationError> {
        let v = &self.validator;
        let (authenticated, pushed) = match source {
            Source::Plain => (None, None),
            Source::Pushed(digest) => (None, Some(digest)),
            Source::Pushing(client) => (Some(client), None),
        };
        let pushing = authenticated.is_some();

        // Phase 1: who is asking, and where may we answer? Failures here
        // are never redirected.
        let client = match (authenticated, oauth.params.get(Param::ClientId)) {
            (Some(client), _) => client,
            (None, None) => ClientAuthenticator::new(v)
                .by_identifier(&oauth.params)
                .map_err(AuthorizationError::Fatal)?,
            (None, Some(id)) => v
                .validate_client_id(id, oauth)
                .map_err(AuthorizationError::Fatal)?
                .ok_or_else(|| {
                    AuthorizationError::Fatal(OAuthError::no_redirect(
                        ErrorCode::InvalidRequest,
                        "unknown client_id",
                    ))
                })?,
        };
        let client_id = client.client_id().to_owned();
        let fatal = |d: &'static str| {
            AuthorizationError::Fatal(OAuthError::no_redirect(ErrorCode::InvalidRequest, d))
        };
        let (redirect_uri, redirect_uri_sent) = match oauth.params.get(Param::RedirectUri) {
            Some(uri) => {
                if !is_absolute_without_fragment(uri) {
                    return Err(fatal(
                        "redirect_uri must be an absolute URI without a fragment",
                    ));
                }
                let registered = v
                    .validate_redirect_uri(&client_id, uri, &client, oauth)
                    .map_err(AuthorizationError::Fatal)?;
                if !registered {
                    return Err(fatal("redirect_uri is not registered for this client"));
                }
                (uri.to_owned(), true)
            }
            None => {
                let default = v
                    .get_default_redirect_uri(&client_id, &client, oauth)
                    .map_err(AuthorizationError::Fatal)?
                    .ok_or_else(|| fatal("missing required parameter 'redirect_uri'"))?;
                // A registration mistake must not become a redirect either.
                if !is_absolute_without_fragment(&default) {
                    return Err(fatal(
                        "the registered redirect URI is not an absolute URI without a fragment",
                    ));
                }
                (default, false)
            }
        };

        // Phase 2: errors go back to the client's redirect URI.
        let state = oauth.params.get(Param::State).map(str::to_owned);
        let response_type = oauth.params.get(Param::ResponseType);
        let mode = match response_type {
            Some("token") => ResponseMode::Fragment,
            _ => ResponseMode::Query,
        };
        let redirect_error = |error: OAuthError| AuthorizationError::Redirect {
            response: self.error_redirect(&redirect_uri, mode, &error, state.as_deref()),
            error,
        };
        // RFC 9126 §5–6: where pushing is required, a plain request is
        // refused (to the redirect URI, checked above).
        if !pushing
            && pushed.is_none()
            && (self.config.require_pushed_authorization_requests
                || client.requires_pushed_authorization_requests())
        {
            return Err(redirect_error(OAuthError::invalid_request(
                "pushed authorization requests are required: use request_uri",
            )));
        }
        let checked = self.check_authorization_request(oauth, &client, &client_id, response_type);
        let (response_type, scopes, audience, code_challenge) = match checked {
            Ok(checked) => checked,
            Err(e) if e.may_redirect() => return Err(redirect_error(e)),
            Err(e) => return Err(AuthorizationError::Fatal(e)),
        };
        Ok(AuthorizationRequest {
            client,
            client_id,
            redirect_uri,
            redirect_uri_sent,
            response_type,
            scopes,
            audience,
            state,
            code_challenge,
            pushed,
        })
    }

    /// The redirectable checks of an authorization request: response type,
    /// scope, resources (RFC 8707 §2: `invalid_target`), PKCE.
    #[allow(clippy::type_complexity)]
    fn check_authorization_request(
        &self,
        oauth: &OAuthRequest<'_>,
        client: &V::Client,
        client_id: &str,
        response_type: Option<&str>,
    ) -> Result<
        (
            ResponseType,
            Scope,
            Audience,
            Option<(String, ChallengeMethod)>,
        ),
        OAuthError,
    > {
        let v = &self.validator;
        let response_type = match response_type {
            None => return Err(OAuthError::missing_parameter("response_type")),
            Some("code") if self.is_enabled(Grant::AuthorizationCode) => ResponseType::Code,
            Some("token") if self.is_enabled(Grant::Implicit) => ResponseType::Token,
            Some(_) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "the response_type is not supported",
                ))
            }
        };
        if !v.validate_response_type(client_id, response_type.as_str(), client, oauth)? {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the client is not allowed to use this response_type",
            ));
        }
        let scopes = grant::resolve_scope(self, oauth, client)?;
        let audience = Audience::requested(&oauth.params, client)?;
        let code_challenge = match response_type {
            ResponseType::Code => self.check_code_challenge(oauth, client, client_id)?,
            ResponseType::Token => None,
        };
        Ok((response_type, scopes, audience, code_challenge))
    }

    /// RFC 7636 §4.3–4.4: the challenge's syntax and method, and whether
    /// one is required (always for public clients).
    fn check_code_challenge(
        &self,
        oauth: &OAuthRequest<'_>,
        client: &V::Client,
        client_id: &str,
    ) -> Result<Option<(String, ChallengeMethod)>, OAuthError> {
        let challenge = oauth.params.get(Param::CodeChallenge);
        let method = oauth.params.get(Param::CodeChallengeMethod);
        let Some(challenge) = challenge else {
            if method.is_some() {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method sent without code_challenge",
                ));
            }
            let required = !client.is_confidential()
                || self.validator.is_pkce_required(client_id, client, oauth)?;
            if required {
                return Err(OAuthError::invalid_request("code challenge required"));
            }
            return Ok(None);
        };
        let method = match method {
            None => ChallengeMethod::Plain,
            Some(name) => ChallengeMethod::parse(name)
                .ok_or_else(|| OAuthError::invalid_request("transform algorithm not supported"))?,
        };
        if method == ChallengeMethod::Plain && !self.config.allow_plain_pkce {
            return Err(OAuthError::invalid_request(
                "transform algorithm not supported: use code_challenge_method=S256",
            ));
        }
        if !pkce::is_valid_challenge(challenge, method) {
            return Err(OAuthError::invalid_request("code_challenge is malformed"));
        }
        Ok(Some((challenge.to_owned(), method)))
    }

    /// Creates the response to an approved authorization request: a
    /// redirect with the code (query) or, for `response_type=token`, the
    /// access token (fragment); with `state` and, when an issuer is
    /// configured, `iss` (RFC 9207).
    ///
    /// `user` is the resource owner the host authenticated; `approved` the
    /// scopes they consented to (`None`: all requested). An approved scope
    /// that is not within the requested one (a tampered consent form) is
    /// answered with an `invalid_scope` redirect, never widened into the
    /// grant. `request` is the HTTP request being answered (the consent
    /// form's submission), handed to the validator.
    pub fn authorize(
        &self,
        request: &Request<'_>,
        pending: &AuthorizationRequest<V::Client>,
        user: &str,
        approved: Option<Scope>,
    ) -> Response {
        let oauth = OAuthRequest::new(
            *request,
            authorization_params(request).unwrap_or_default(),
            self.now(),
        );
        let scopes = match approved {
            None => pending.scopes.clone(),
            Some(approved) if approved.is_subset_of(&pending.scopes) => approved,
            Some(_) => {
                let error = OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the approved scope exceeds the requested scope",
                );
                return self.error_redirect(
                    &pending.redirect_uri,
                    pending.response_type.response_mode(),
                    &error,
                    pending.state.as_deref(),
                );
            }
        };
        // RFC 9126 §4: the response uses the pushed request up, once.
        if let Some(digest) = &pending.pushed {
            let spent = self
                .validator
                .consume_pushed_request(digest, &pending.client_id, &oauth)
                .and_then(|spent| {
                    spent.then_some(()).ok_or_else(|| {
                        OAuthError::invalid_request("the request_uri was already used")
                    })
                });
            if let Err(error) = spent {
                return self.error_redirect(
                    &pending.redirect_uri,
                    pending.response_type.response_mode(),
                    &error,
                    pending.state.as_deref(),
                );
            }
        }
        let issued = match pending.response_type {
            ResponseType::Code => grant::authorization_code::create_code(
                self, &oauth, pending, user, scopes,
            )
            .map(|code| {
                redirect_uri_with(
                    &pending.redirect_uri,
                    ResponseMode::Query,
                    &[
                        ("code", Some(&code)),
                        ("state", pending.state.as_deref()),
                        ("iss", self.issuer()),
                    ],
                )
            }),
            ResponseType::Token => grant::implicit::issue(self, &oauth, pending, user, scopes),
        };
        match issued {
            Ok(location) => Response::redirect(location),
            Err(error) => self.error_redirect(
                &pending.redirect_uri,
                pending.response_type.response_mode(),
                &error,
                pending.state.as_deref(),
            ),
        }
    }

    /// The response when the resource owner (or the host) refuses: a
    /// redirect with `error=access_denied`. A pushed request is used up
    /// (RFC 9126 §4); the validator's hook is handed an empty request.
    pub fn deny(&self, pending: &AuthorizationRequest<V::Client>) -> Response {
        if let Some(digest) = &pending.pushed {
            let path = &self.config.endpoints.authorization;
            let oauth = OAuthRequest::new(
                Request::new("POST", path, &[], b""),
                Params::default(),
                self.now(),
            );
            // The refusal stands whatever the store answers: a request it
            // failed to spend still expires within its short lifetime.
            let _ = self
                .validator
                .consume_pushed_request(digest, &pending.client_id, &oauth);
        }
        let error = OAuthError::new(
            ErrorCode::AccessDenied,
            "the resource owner denied the request",
        );
        self.error_redirect(
            &pending.redirect_uri,
            pending.response_type.response_mode(),
            &error,
            pending.state.as_deref(),
        )
    }

    fn error_redirect(
        &self,
        redirect_uri: &str,
        mode: ResponseMode,
        error: &OAuthError,
        state: Option<&str>,
    ) -> Response {
        Response::redirect(redirect_uri_with(
            redirect_uri,
            mode,
            &[
                ("error", Some(error.code().as_str())),
                ("error_description", Some(error.description())),
                ("state", state),
                ("iss", self.issuer()),
            ],
        ))
    }
}
