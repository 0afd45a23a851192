//! Shared set-up for the integration tests: the demo realm on a
//! [`MemoryValidator`], and small helpers to drive endpoints.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use oauth2_provider::form::encode_pairs;
use oauth2_provider::header::basic_header_value;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::server::DEFAULT_REFRESH_TOKEN_LIFETIME;
use oauth2_provider::{
    AuthorizationError, AuthorizationRequest, ClientLookup, Grant, Request, RequestValidator,
    Response, Scope, Server, ServerBuilder, TokenInfo,
};
use serde_json::Value;

pub const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
pub const CONF_REDIRECT: &str = "https://client.example.com/cb";
pub const PUBLIC_REDIRECT: &str = "http://127.0.0.1:9999/callback";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The issuer of [`builder`]'s servers.
pub const ISSUER: &str = "https://as.example";
/// conf-client's Basic credentials, as [`post`] takes them.
pub const CONF: Option<(&str, &str)> = Some(("conf-client", "conf-secret"));
/// rs-client's (the resource server's) Basic credentials.
pub const RS: Option<(&str, &str)> = Some(("rs-client", "rs-secret"));
/// A password grant request body for alice.
pub const ALICE: &str = "grant_type=password&username=alice&password=wonderland";
/// Where the clocks of [`clocked`] start.
pub const START: u64 = 1_700_000_000;

/// The demo realm (see shared/DEMO_SERVER.md).
pub fn realm() -> MemoryValidator {
    let v = MemoryValidator::new();
    v.add_client(
        MemoryClient::confidential(
            "conf-client",
            "conf-secret",
            [CONF_REDIRECT, "https://client.example.com/cb2"],
        )
        .grants([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
        ])
        .scopes(["read", "write"])
        .default_scopes(["read"]),
    );
    v.add_client(
        MemoryClient::public("public-client", [PUBLIC_REDIRECT])
            .grants(["authorization_code", "refresh_token", "implicit"])
            .scopes(["read"])
            .default_scopes(["read"]),
    );
    v.add_client(
        MemoryClient::confidential("rs-client", "rs-secret", [])
            .grants(["client_credentials"])
            .may_introspect(true),
    );
    v.add_user("alice", "wonderland");
    v.add_user("bob", "builder");
    v
}

pub fn builder() -> ServerBuilder<MemoryValidator> {
    builder_over(realm())
}

/// A builder over `validator` with the tests' issuer.
pub fn builder_over<V: RequestValidator>(validator: V) -> ServerBuilder<V> {
    Server::builder(validator).issuer(ISSUER)
}

pub fn server() -> Server<MemoryValidator> {
    builder().build().unwrap()
}

pub fn basic(id: &str, secret: &str) -> String {
    basic_header_value(id, secret)
}

/// POSTs a form to an endpoint with optional Basic credentials.
pub fn post(
    endpoint: impl Fn(&Request<'_>) -> Response,
    basic_auth: Option<(&str, &str)>,
    body: &str,
) -> Response {
    let auth = basic_auth.map(|(id, secret)| basic(id, secret));
    let mut headers = vec![FORM];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    endpoint(&Request::new("POST", "/", &headers, body.as_bytes()))
}

/// A parameter of a JSON body (string or number), by a deliberately
/// simple scan: enough for the flat objects OAuth returns.
pub fn json_field(response: &Response, name: &str) -> Option<String> {
    let body = response.body_str();
    let key = format!("\"{name}\":");
    let start = body.find(&key)? + key.len();
    let rest = &body[start..];
    if let Some(stripped) = rest.strip_prefix('"') {
        let end = stripped.find('"')?;
        Some(stripped[..end].to_owned())
    } else {
        let end = rest.find([',', '}'])?;
        Some(rest[..end].to_owned())
    }
}

/// A query (or fragment) parameter of a redirect's `Location`.
pub fn location_param(response: &Response, name: &str) -> Option<String> {
    let location = response.header("location")?;
    let params = location.split_once(['?', '#'])?.1;
    oauth2_provider::form::pairs(params.as_bytes())
        .filter_map(Result::ok)
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// [`server`] with the password grant enabled.
pub fn password_server() -> Server<MemoryValidator> {
    builder().enable(Grant::Password).build().unwrap()
}

/// A password-grant server over a [`Delegating`] realm whose
/// callback `hook` fails with `server_error`.
pub fn failing_password_server(hook: &'static str) -> Server<Delegating> {
    builder_over(Delegating::new(realm()).failing(hook))
        .enable(Grant::Password)
        .build()
        .unwrap()
}

/// A password-grant server on a clock the test moves, with the given
/// refresh token lifetime. The store's lookups see [`START`] unless
/// `shared`, so the library's expiry checks are what is tested.
pub fn clocked(
    refresh_lifetime: Option<u64>,
    shared: bool,
) -> (Server<Delegating>, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(START));
    let mut validator = Delegating::new(realm());
    if !shared {
        validator.store_now = Some(START);
    }
    let c = Arc::clone(&now);
    let server = Server::builder(validator)
        .issuer(ISSUER)
        .enable(Grant::Password)
        .refresh_token_lifetime(refresh_lifetime.unwrap_or(DEFAULT_REFRESH_TOKEN_LIFETIME))
        .clock(move || c.load(Ordering::SeqCst))
        .build()
        .unwrap();
    (server, now)
}

/// The realm plus `extra` clients.
pub fn realm_plus(extra: impl IntoIterator<Item = MemoryClient>) -> MemoryValidator {
    let v = realm();
    for c in extra {
        v.add_client(c);
    }
    v
}

/// The JSON body of a response.
pub fn json(response: &Response) -> Value {
    serde_json::from_slice(&response.body).expect("a JSON body")
}

/// A string member of a response's JSON body; panics if there is none.
pub fn field(response: &Response, name: &str) -> String {
    json(response)[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {}", response.body_str()))
        .to_owned()
}

/// Asserts a JSON error response (RFC 6749 §5.2 and its kin): `status`,
/// `Cache-Control: no-store`, `error` = `code` and an `error_description`
/// containing `fragment`. Returns the body for further checks.
#[track_caller]
pub fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) -> Value {
    assert_eq!(response.status, status, "body: {}", response.body_str());
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    let body = json(response);
    assert_eq!(body["error"], code, "body: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(fragment),
        "{description:?} should contain {fragment:?}"
    );
    body
}

/// Asserts JSON that is never cached (RFC 6749 §5.1): `Content-Type`,
/// `Cache-Control: no-store` and `Pragma: no-cache`.
#[track_caller]
pub fn assert_no_store_json(response: &Response) {
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(response.header("Pragma"), Some("no-cache"));
}

/// POSTs a form `body` to the token endpoint with optional Basic credentials.
pub fn token<V: RequestValidator>(
    server: &Server<V>,
    auth: Option<(&str, &str)>,
    body: &str,
) -> Response {
    post(|r| server.token_response(r), auth, body)
}

/// alice's access and refresh tokens for conf-client (password grant,
/// `scope` as given, possibly empty).
pub fn login<V: RequestValidator>(server: &Server<V>, scope: &str) -> (String, String) {
    let r = token(server, CONF, &format!("{ALICE}&scope={scope}"));
    assert_eq!(r.status, 200, "{}", r.body_str());
    (field(&r, "access_token"), field(&r, "refresh_token"))
}

/// `user`'s access and refresh tokens for public-client, through the
/// authorization code flow with PKCE (scope "read").
pub fn public_login<V: RequestValidator>(server: &Server<V>, user: &str) -> (String, String) {
    let uri = format!(
        "/authorize?response_type=code&client_id=public-client&scope=read&state=x\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let req = Request::new("GET", &uri, &[], b"");
    let pending = server
        .validate_authorization_request(&req)
        .expect("a valid request");
    let code = location_param(&server.authorize(&req, &pending, user, None), "code").unwrap();
    let r = token(
        server,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=public-client&code_verifier={VERIFIER}"
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    (field(&r, "access_token"), field(&r, "refresh_token"))
}

/// conf-client's refresh token request for `refresh_token`, plus `extra`
/// (`&name=value` pairs).
pub fn refresh<V: RequestValidator>(
    server: &Server<V>,
    refresh_token: &str,
    extra: &str,
) -> Response {
    token(
        server,
        CONF,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}{extra}"),
    )
}

/// rs-client's introspection of `token`, asserted to be a 200; its JSON.
pub fn introspect<V: RequestValidator>(server: &Server<V>, token: &str) -> Value {
    let r = post(
        |r| server.introspection_response(r),
        RS,
        &format!("token={token}"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    json(&r)
}

/// The resource server's check of `GET /api` with `Authorization: Bearer
/// token`, needing `scopes`.
pub fn bearer<V: RequestValidator>(
    server: &Server<V>,
    token: &str,
    scopes: &[&str],
) -> Result<TokenInfo, Response> {
    let value = format!("Bearer {token}");
    let headers = [("Authorization", value.as_str())];
    server.verify_bearer(&Request::new("GET", "/api", &headers, b""), scopes)
}

/// What the authorization endpoint's validation gives.
pub type Pending<V> = AuthorizationRequest<<V as ClientLookup>::Client>;

/// `GET /authorize?<pairs>`.
pub fn get<V: RequestValidator>(
    server: &Server<V>,
    pairs: &[(&str, &str)],
) -> Result<Pending<V>, AuthorizationError> {
    get_raw(server, &encode_pairs(pairs.iter().copied()))
}

/// `GET /authorize?<query>`, the query as given.
pub fn get_raw<V: RequestValidator>(
    server: &Server<V>,
    query: &str,
) -> Result<Pending<V>, AuthorizationError> {
    let uri = format!("/authorize?{query}");
    server.validate_authorization_request(&Request::new("GET", &uri, &[], b""))
}

/// alice approves `pending` (a form POST); `approved` is the consented
/// scope, `None` for all requested.
pub fn approve<V: RequestValidator>(
    server: &Server<V>,
    pending: &Pending<V>,
    approved: Option<&str>,
) -> Response {
    let consent = Request::new("POST", "/authorize", &[FORM], b"action=approve");
    server.authorize(
        &consent,
        pending,
        "alice",
        approved.map(|s| Scope::parse(s).unwrap()),
    )
}

/// A host's own [`RequestValidator`] over a [`MemoryValidator`]: every
/// callback is forwarded, except that the one named in `fail` answers
/// `Err(server_error)` (the host's storage failing), and a few switches
/// change host policy. Lets tests show how the library treats a failing
/// or unusual validator.
pub struct Delegating {
    /// The validator every callback is forwarded to.
    pub inner: MemoryValidator,
    /// The callback (by method name) that fails with `server_error`.
    pub fail: Option<&'static str>,
    /// What `rotate_refresh_token` answers (the default: true).
    pub rotate: bool,
    /// `authenticate_client` accepts any registered client named by the
    /// body's `client_id`, without a secret (a careless host).
    pub trust_client_id: bool,
    /// `client_authentication_required` answers false and
    /// `authenticate_client_id` hands back any registered client, secret or
    /// not: a careless host that lets clients in by `client_id` alone.
    pub skip_client_auth: bool,
    /// `invalidate_refresh_token` loses a race: another request rotated the
    /// token between its validation and its rotation.
    pub concurrent_rotation: bool,
    /// The `hint` of every `revoke_token` call, in order.
    pub revoke_hints: std::sync::Mutex<Vec<Option<oauth2_provider::TokenType>>>,
    /// Stores PKCE challenges but leaves `get_code_challenge_method` at the
    /// trait default (`None`): an easy omission.
    pub forget_method: bool,
    /// `validate_code` hands back the code's PKCE challenge, as
    /// `MemoryValidator` does, instead of leaving it to
    /// `get_code_challenge(_method)` (the default here, so that the tests
    /// of those hooks reach them).
    pub challenge_in_validate_code: bool,
    /// `validate_code` reports the code's PKCE method as `plain`, whatever
    /// it was (a host that saved the method wrongly).
    pub claim_plain: bool,
    /// `validate_code` answers from a snapshot taken at the code's first
    /// validation: a second exchange that read the code before the first
    /// one consumed it (two requests racing).
    pub stale_codes: bool,
    /// While a refresh token is being rotated, a concurrent request with
    /// the same token detects its reuse and revokes the grant, before this
    /// request stores the tokens it issues.
    pub reuse_during_rotation: bool,
    /// With `reuse_during_rotation`: the store is purged right after the
    /// revocation, before this request saves its tokens.
    pub purge_during_rotation: bool,
    /// `validate_bearer_token` is the host's one token lookup, shared with
    /// `introspect_token` (which finds refresh tokens too).
    pub bearer_via_introspect: bool,
    /// The time the store's lookups see instead of the request's: a store
    /// whose clock lags, so that the library's own expiry checks are what
    /// a test exercises.
    pub store_now: Option<u64>,
    /// How many times `find_client` was called.
    pub lookups: std::sync::atomic::AtomicUsize,
    /// Forwards the device authorization hooks to `inner` (off: the
    /// trait's defaults, which refuse, as a store without them).
    pub device: bool,
    /// Keeps only the first `slow_down`'s growth of the interval: a store
    /// whose polls read the interval and write it back grown.
    pub one_slow_down: bool,
    /// Whether a growth was kept, with `one_slow_down`.
    pub grown: std::sync::atomic::AtomicBool,
    /// Whether a `token_request` is running its flow.
    pub in_token_request: std::sync::atomic::AtomicBool,
    /// Each forwarded device hook called at the token endpoint (poll,
    /// spend), and whether it ran inside `token_request`.
    pub device_calls: std::sync::Mutex<Vec<(&'static str, bool)>>,
    /// The snapshots `stale_codes` answers from.
    pub code_snapshots:
        std::sync::Mutex<std::collections::HashMap<String, oauth2_provider::CodeStatus>>,
}

impl Delegating {
    /// Forwards to `inner`, failing nothing.
    pub fn new(inner: MemoryValidator) -> Self {
        Delegating {
            inner,
            fail: None,
            rotate: true,
            trust_client_id: false,
            skip_client_auth: false,
            concurrent_rotation: false,
            revoke_hints: std::sync::Mutex::default(),
            forget_method: false,
            challenge_in_validate_code: false,
            claim_plain: false,
            stale_codes: false,
            reuse_during_rotation: false,
            purge_during_rotation: false,
            bearer_via_introspect: false,
            store_now: None,
            lookups: std::sync::atomic::AtomicUsize::new(0),
            code_snapshots: std::sync::Mutex::default(),
            device: false,
            one_slow_down: false,
            grown: std::sync::atomic::AtomicBool::new(false),
            in_token_request: std::sync::atomic::AtomicBool::new(false),
            device_calls: std::sync::Mutex::default(),
        }
    }

    /// Forwards the device authorization hooks too.
    pub fn with_device(mut self) -> Self {
        self.device = true;
        self
    }

    /// Notes a device hook's call and whether `token_request` runs it.
    fn device_call(&self, name: &'static str) {
        let inside = self
            .in_token_request
            .load(std::sync::atomic::Ordering::SeqCst);
        self.device_calls.lock().unwrap().push((name, inside));
    }

    /// The request as the store's lookups see it: at `store_now`, if set.
    fn seen<'r>(
        &self,
        request: &oauth2_provider::OAuthRequest<'r>,
    ) -> oauth2_provider::OAuthRequest<'r> {
        let mut seen = request.clone();
        seen.now = self.store_now.unwrap_or(request.now);
        seen
    }

    /// Makes the callback `name` fail with `server_error`.
    pub fn failing(mut self, name: &'static str) -> Self {
        self.fail = Some(name);
        self
    }

    fn check(&self, name: &str) -> Result<(), oauth2_provider::OAuthError> {
        if self.fail == Some(name) {
            Err(oauth2_provider::OAuthError::server_error(
                "the storage is unavailable",
            ))
        } else {
            Ok(())
        }
    }
}

mod delegating_impl {
    use super::Delegating;
    use oauth2_provider::client_auth::{Client, ClientAuthenticator, ClientLookup};
    use oauth2_provider::device::{DeviceAuthorization, DeviceCodeKey, DeviceStatus};
    use oauth2_provider::form::Param;
    use oauth2_provider::memory::MemoryClient;
    use oauth2_provider::validator::defaults;
    use oauth2_provider::{
        AuthorizationCode, BearerToken, CodeStatus, IssuedToken, OAuthError, OAuthRequest,
        RefreshTokenStatus, RequestValidator, Scope, TokenInfo, TokenType,
    };
    use std::sync::Arc;

    type R<T> = Result<T, OAuthError>;

    impl ClientLookup for Delegating {
        type Client = Arc<MemoryClient>;

        fn find_client(&self, client_id: &str) -> R<Option<Arc<MemoryClient>>> {
            self.check("find_client")?;
            self.lookups
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.find_client(client_id)
        }
    }

    impl RequestValidator for Delegating {
        fn authenticate_client(&self, request: &OAuthRequest<'_>) -> R<Option<Self::Client>> {
            self.check("authenticate_client")?;
            if self.trust_client_id {
                return match request.params.get(Param::ClientId) {
                    Some(id) => self.find_client(id),
                    None => Ok(None),
                };
            }
            ClientAuthenticator::new(self)
                .by_identifier_secret(&request.http, &request.params, None)
                .map(Some)
        }

        fn authenticate_client_id(
            &self,
            client_id: &str,
            _request: &OAuthRequest<'_>,
        ) -> R<Option<Self::Client>> {
            self.check("authenticate_client_id")?;
            let client = self.find_client(client_id)?;
            if self.skip_client_auth {
                return Ok(client);
            }
            Ok(client.filter(|c| !c.is_confidential()))
        }

        fn client_authentication_required(&self, request: &OAuthRequest<'_>) -> R<bool> {
            self.check("client_authentication_required")?;
            if self.skip_client_auth {
                return Ok(false);
            }
            oauth2_provider::validator::defaults::client_authentication_required(self, request)
        }

        fn get_code_challenge(&self, code: &str, request: &OAuthRequest<'_>) -> R<Option<String>> {
            self.check("get_code_challenge")?;
            self.inner.get_code_challenge(code, request)
        }

        fn get_code_challenge_method(
            &self,
            code: &str,
            request: &OAuthRequest<'_>,
        ) -> R<Option<oauth2_provider::pkce::ChallengeMethod>> {
            self.check("get_code_challenge_method")?;
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
            self.check("get_default_scopes")?;
            self.inner.get_default_scopes(client_id, client, request)
        }

        fn introspect_token(
            &self,
            token: &str,
            hint: Option<TokenType>,
            request: &OAuthRequest<'_>,
        ) -> R<Option<TokenInfo>> {
            self.check("introspect_token")?;
            let request = &self.seen(request);
            self.inner.introspect_token(token, hint, request)
        }

        fn invalidate_authorization_code(
            &self,
            client_id: &str,
            code: &str,
            request: &OAuthRequest<'_>,
        ) -> R<bool> {
            self.check("invalidate_authorization_code")?;
            self.inner
                .invalidate_authorization_code(client_id, code, request)
        }

        fn is_pkce_required(
            &self,
            client_id: &str,
            client: &Self::Client,
            request: &OAuthRequest<'_>,
        ) -> R<bool> {
            self.check("is_pkce_required")?;
            self.inner.is_pkce_required(client_id, client, request)
        }

        fn revoke_token(
            &self,
            token: &str,
            hint: Option<TokenType>,
            request: &OAuthRequest<'_>,
        ) -> R<()> {
            self.check("revoke_token")?;
            self.revoke_hints
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(hint);
            self.inner.revoke_token(token, hint, request)
        }

        fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> R<()> {
            self.check("revoke_grant")?;
            self.inner.revoke_grant(grant_id, request)
        }

        fn invalidate_refresh_token(
            &self,
            refresh_token: &str,
            request: &OAuthRequest<'_>,
        ) -> R<bool> {
            self.check("invalidate_refresh_token")?;
            let grant = self
                .inner
                .introspect_token(refresh_token, Some(TokenType::RefreshToken), request)?
                .and_then(|info| info.grant_id);
            let rotated = self
                .inner
                .invalidate_refresh_token(refresh_token, request)?;
            if self.reuse_during_rotation {
                // The other request: its validation saw the token active,
                // its rotation lost, so it revoked the whole grant.
                let grant = grant.expect("a refresh token with a grant");
                self.inner.revoke_grant(&grant, request)?;
                if self.purge_during_rotation {
                    self.inner.purge_expired(request.now);
                }
            }
            Ok(rotated && !self.concurrent_rotation)
        }

        fn rotate_refresh_token(&self, request: &OAuthRequest<'_>) -> R<bool> {
            self.check("rotate_refresh_token")?;
            let _ = request;
            Ok(self.rotate)
        }

        fn save_authorization_code(
            &self,
            client_id: &str,
            code: &AuthorizationCode,
            request: &OAuthRequest<'_>,
        ) -> R<()> {
            self.check("save_authorization_code")?;
            self.inner.save_authorization_code(client_id, code, request)
        }

        fn save_bearer_token(&self, token: &IssuedToken, request: &OAuthRequest<'_>) -> R<()> {
            self.check("save_bearer_token")?;
            self.inner.save_bearer_token(token, request)
        }

        fn validate_bearer_token(
            &self,
            token: &str,
            scopes: &[&str],
            request: &OAuthRequest<'_>,
        ) -> R<Option<TokenInfo>> {
            self.check("validate_bearer_token")?;
            let request = &self.seen(request);
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
            self.check("validate_code")?;
            let request = &self.seen(request);
            let mut status = self.inner.validate_code(client_id, code, client, request)?;
            if let CodeStatus::Used { code_challenge, .. } = &mut status {
                if !self.challenge_in_validate_code {
                    *code_challenge = None;
                }
            }
            if let CodeStatus::Valid(validated) = &mut status {
                if !self.challenge_in_validate_code {
                    validated.code_challenge = None;
                } else if let (Some((_, method)), true) =
                    (&mut validated.code_challenge, self.claim_plain)
                {
                    *method = oauth2_provider::pkce::ChallengeMethod::Plain;
                }
            }
            if !self.stale_codes {
                return Ok(status);
            }
            let mut snapshots = self
                .code_snapshots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(snapshots.entry(code.to_owned()).or_insert(status).clone())
        }

        fn validate_refresh_token(
            &self,
            refresh_token: &str,
            client: &Self::Client,
            request: &OAuthRequest<'_>,
        ) -> R<RefreshTokenStatus> {
            self.check("validate_refresh_token")?;
            let request = &self.seen(request);
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
            self.check("validate_scopes")?;
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
            self.check("validate_user")?;
            self.inner
                .validate_user(username, password, client, request)
        }

        fn token_request(
            &self,
            request: &OAuthRequest<'_>,
            run: &mut dyn FnMut() -> R<BearerToken>,
        ) -> R<BearerToken> {
            use std::sync::atomic::Ordering;
            let nested = self.in_token_request.swap(true, Ordering::SeqCst);
            let out = self.inner.token_request(request, run);
            self.in_token_request.store(nested, Ordering::SeqCst);
            out
        }

        fn save_device_authorization(
            &self,
            device_code: &[u8; 32],
            user_code: &[u8; 32],
            authorization: &DeviceAuthorization,
            request: &OAuthRequest<'_>,
        ) -> R<()> {
            if !self.device {
                return defaults::save_device_authorization(
                    self,
                    device_code,
                    user_code,
                    authorization,
                    request,
                );
            }
            self.inner
                .save_device_authorization(device_code, user_code, authorization, request)
        }

        fn find_device_authorization(
            &self,
            key: DeviceCodeKey<'_>,
            request: &OAuthRequest<'_>,
        ) -> R<Option<DeviceAuthorization>> {
            if !self.device {
                return defaults::find_device_authorization(self, key, request);
            }
            if matches!(key, DeviceCodeKey::DeviceCode(_)) {
                self.device_call("find_device_authorization");
            }
            self.inner.find_device_authorization(key, request)
        }

        fn decide_device_authorization(
            &self,
            user_code: &[u8; 32],
            status: &DeviceStatus,
            scopes: &Scope,
            request: &OAuthRequest<'_>,
        ) -> R<bool> {
            if !self.device {
                return defaults::decide_device_authorization(
                    self, user_code, status, scopes, request,
                );
            }
            self.inner
                .decide_device_authorization(user_code, status, scopes, request)
        }

        fn record_device_poll(
            &self,
            device_code: &[u8; 32],
            last_poll: u64,
            slowed_down: bool,
            request: &OAuthRequest<'_>,
        ) -> R<()> {
            if !self.device {
                return defaults::record_device_poll(
                    self,
                    device_code,
                    last_poll,
                    slowed_down,
                    request,
                );
            }
            self.device_call("record_device_poll");
            // One growth kept per store: every later one is lost, as when
            // racing polls each write back the interval they read.
            let slowed_down = slowed_down
                && !(self.one_slow_down
                    && self.grown.swap(true, std::sync::atomic::Ordering::SeqCst));
            self.inner
                .record_device_poll(device_code, last_poll, slowed_down, request)
        }

        fn record_user_code_attempt(
            &self,
            subject: &str,
            since: u64,
            request: &OAuthRequest<'_>,
        ) -> R<u32> {
            if !self.device {
                return defaults::record_user_code_attempt(self, subject, since, request);
            }
            self.inner.record_user_code_attempt(subject, since, request)
        }

        fn user_code_attempts(
            &self,
            subject: &str,
            since: u64,
            request: &OAuthRequest<'_>,
        ) -> R<u32> {
            if !self.device {
                return defaults::user_code_attempts(self, subject, since, request);
            }
            self.inner.user_code_attempts(subject, since, request)
        }

        fn invalidate_device_code(
            &self,
            client_id: &str,
            device_code: &[u8; 32],
            request: &OAuthRequest<'_>,
        ) -> R<bool> {
            if !self.device {
                return defaults::invalidate_device_code(self, client_id, device_code, request);
            }
            self.device_call("invalidate_device_code");
            self.inner
                .invalidate_device_code(client_id, device_code, request)
        }
    }
}
