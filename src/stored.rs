//! What a store keeps of a code or token, and what the protocol makes of
//! it: plain records of the columns a store keeps (a stored code, refresh
//! token, access token) and the methods that turn one into the library's
//! answer for a request ([`CodeStatus`], [`RefreshTokenStatus`],
//! [`TokenInfo`]). The in-memory store and the database stores share them,
//! as they share [`ClientRecord`](crate::ClientRecord), so that a stored
//! record means the same wherever it is kept: each store only reads and
//! writes its rows.
//!
//! ```
//! use std::sync::Arc;
//! use oauth2_provider::stored::{RefreshState, StoredRefreshToken};
//! use oauth2_provider::{RefreshTokenStatus, Scope, ValidatedRefreshToken};
//!
//! let token = StoredRefreshToken {
//!     token: ValidatedRefreshToken {
//!         client_id: Arc::from("web"),
//!         user: Some(Arc::from("alice")),
//!         scopes: Scope::parse("read").unwrap(),
//!         audience: Default::default(),
//!         grant_id: Arc::from("g1"),
//!         expires_at: Some(2_000),
//!     },
//!     issued_at: 1_000,
//!     state: RefreshState::Rotated,
//! };
//! // Presented again after rotation: a leak, the grant is revoked.
//! assert!(matches!(token.status("web", 1_500), RefreshTokenStatus::Rotated { .. }));
//! // Expired, or presented by another client: unknown.
//! assert_eq!(token.status("web", 2_000), RefreshTokenStatus::Invalid);
//! assert_eq!(token.status("other", 1_500), RefreshTokenStatus::Invalid);
//! ```

use std::sync::Arc;

use crate::audience::Audience;
use crate::pkce::ChallengeMethod;
use crate::scope::Scope;
use crate::validator::{
    AuthorizationCode, CodeStatus, RefreshTokenStatus, TokenInfo, TokenType, ValidatedCode,
    ValidatedRefreshToken,
};

/// A stored authorization code: what `validate_code` needs of it, and
/// whether it was exchanged.
///
/// ```
/// use std::sync::Arc;
/// use oauth2_provider::stored::StoredCode;
/// use oauth2_provider::{CodeStatus, Scope, ValidatedCode};
///
/// let mut code = StoredCode {
///     code: ValidatedCode {
///         client_id: Arc::from("web"),
///         user: Arc::from("alice"),
///         scopes: Scope::parse("read").unwrap(),
///         redirect_uri: None,
///         audience: Default::default(),
///         grant_id: Arc::from("g1"),
///         expires_at: 1_600,
///         code_challenge: StoredCode::challenge(Some("abc"), Some("S256")),
///     },
///     used: false,
/// };
/// assert!(matches!(code.status("web", 1_000), CodeStatus::Valid(_)));
/// assert_eq!(code.status("web", 1_600), CodeStatus::Invalid);
/// code.used = true;
/// assert!(matches!(code.status("web", 1_000), CodeStatus::Used { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// The code's record, as `validate_code` hands it back.
    pub code: ValidatedCode,
    /// Exchanged already.
    pub used: bool,
}

impl StoredCode {
    /// A new, unused code as [`save_authorization_code`] hands it to the
    /// store.
    ///
    /// [`save_authorization_code`]: crate::RequestValidator::save_authorization_code
    ///
    /// ```
    /// use std::sync::Arc;
    /// use oauth2_provider::stored::StoredCode;
    /// use oauth2_provider::{AuthorizationCode, CodeStatus, Scope};
    /// let issued = AuthorizationCode {
    ///     code: "c0de".into(),
    ///     client_id: Arc::from("web"),
    ///     user: Arc::from("alice"),
    ///     scopes: Scope::empty(),
    ///     audience: Default::default(),
    ///     redirect_uri: None,
    ///     effective_redirect_uri: "https://web.example/cb".into(),
    ///     code_challenge: None,
    ///     grant_id: Arc::from("g1"),
    ///     issued_at: 1_000,
    ///     expires_at: 1_600,
    /// };
    /// let stored = StoredCode::issued(&issued);
    /// assert!(!stored.used);
    /// assert!(matches!(stored.status("web", 1_000), CodeStatus::Valid(_)));
    /// ```
    pub fn issued(code: &AuthorizationCode) -> Self {
        StoredCode {
            code: ValidatedCode {
                client_id: Arc::clone(&code.client_id),
                user: Arc::clone(&code.user),
                scopes: code.scopes.clone(),
                redirect_uri: code.redirect_uri.clone(),
                audience: code.audience.clone(),
                grant_id: Arc::clone(&code.grant_id),
                expires_at: code.expires_at,
                code_challenge: code
                    .code_challenge
                    .as_ref()
                    .map(|(challenge, method)| (Arc::from(challenge.as_str()), *method)),
            },
            used: false,
        }
    }

    /// A code's challenge from its two stored columns: both present and
    /// the method known, or none.
    ///
    /// ```
    /// use oauth2_provider::pkce::ChallengeMethod;
    /// use oauth2_provider::stored::StoredCode;
    /// let (challenge, method) = StoredCode::challenge(Some("abc"), Some("S256")).unwrap();
    /// assert_eq!((&*challenge, method), ("abc", ChallengeMethod::S256));
    /// assert_eq!(StoredCode::challenge(Some("abc"), Some("md5")), None);
    /// assert_eq!(StoredCode::challenge(None, Some("S256")), None);
    /// ```
    pub fn challenge(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Option<(Arc<str>, ChallengeMethod)> {
        match (challenge, method.and_then(ChallengeMethod::parse)) {
            (Some(challenge), Some(method)) => Some((Arc::from(challenge), method)),
            _ => None,
        }
    }

    /// The code's state as presented by `client_id` at `now` (seconds
    /// since the Unix epoch): invalid if expired or issued to another
    /// client, else used or valid.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use oauth2_provider::stored::StoredCode;
    /// use oauth2_provider::{CodeStatus, Scope, ValidatedCode};
    /// let code = StoredCode {
    ///     code: ValidatedCode {
    ///         client_id: Arc::from("web"),
    ///         user: Arc::from("alice"),
    ///         scopes: Scope::empty(),
    ///         redirect_uri: Some("https://web.example/cb".into()),
    ///         audience: Default::default(),
    ///         grant_id: Arc::from("g1"),
    ///         expires_at: 1_600,
    ///         code_challenge: None,
    ///     },
    ///     used: false,
    /// };
    /// assert_eq!(code.status("mallory", 1_000), CodeStatus::Invalid);
    /// let CodeStatus::Valid(valid) = code.status("web", 1_000) else { panic!() };
    /// assert_eq!(&*valid.user, "alice");
    /// ```
    pub fn status(&self, client_id: &str, now: u64) -> CodeStatus {
        let code = &self.code;
        if *code.client_id != *client_id || code.expires_at <= now {
            return CodeStatus::Invalid;
        }
        if self.used {
            return CodeStatus::Used {
                grant_id: Arc::clone(&code.grant_id),
                code_challenge: code.code_challenge.clone(),
            };
        }
        CodeStatus::Valid(code.clone())
    }
}

/// Where a stored refresh token stands.
///
/// ```
/// use oauth2_provider::stored::RefreshState;
/// assert_eq!(RefreshState::parse("rotated"), RefreshState::Rotated);
/// assert_eq!(RefreshState::Rotated.as_str(), "rotated");
/// // Anything else a store holds is no live token.
/// assert_eq!(RefreshState::parse("bogus"), RefreshState::Revoked);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshState {
    /// Usable.
    Active,
    /// Replaced by rotation: presenting it again means it leaked.
    Rotated,
    /// Its grant was revoked.
    Revoked,
}

impl RefreshState {
    /// The state as a store writes it: `active`, `rotated`, `revoked`.
    ///
    /// ```
    /// use oauth2_provider::stored::RefreshState;
    /// assert_eq!(RefreshState::Active.as_str(), "active");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            RefreshState::Active => "active",
            RefreshState::Rotated => "rotated",
            RefreshState::Revoked => "revoked",
        }
    }

    /// A state as a store wrote it; anything but `active` or `rotated` is
    /// [`Revoked`](RefreshState::Revoked), no live token.
    ///
    /// ```
    /// use oauth2_provider::stored::RefreshState;
    /// assert_eq!(RefreshState::parse("active"), RefreshState::Active);
    /// assert_eq!(RefreshState::parse("ACTIVE"), RefreshState::Revoked);
    /// ```
    pub fn parse(text: &str) -> Self {
        match text {
            "active" => RefreshState::Active,
            "rotated" => RefreshState::Rotated,
            _ => RefreshState::Revoked,
        }
    }
}

/// A stored refresh token: its record and state. The module docs show
/// [`status`](Self::status); [`info`](Self::info) has its own example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRefreshToken {
    /// The token's record, as `validate_refresh_token` hands it back.
    pub token: ValidatedRefreshToken,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Active, rotated or revoked.
    pub state: RefreshState,
}

impl StoredRefreshToken {
    /// Not expired at `now` (seconds since the Unix epoch).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oauth2_provider::stored::{RefreshState, StoredRefreshToken};
    /// # use oauth2_provider::{Scope, ValidatedRefreshToken};
    /// let token = StoredRefreshToken {
    ///     token: ValidatedRefreshToken {
    ///         client_id: Arc::from("web"), user: None, scopes: Scope::empty(),
    ///         audience: Default::default(), grant_id: Arc::from("g1"), expires_at: None,
    ///     },
    ///     issued_at: 0,
    ///     state: RefreshState::Active,
    /// };
    /// assert!(token.unexpired(u64::MAX));
    /// ```
    pub fn unexpired(&self, now: u64) -> bool {
        self.token.expires_at.is_none_or(|e| e > now)
    }

    /// The token's state as presented by `client_id` at `now`: invalid
    /// if expired, issued to another client or revoked; else rotated or
    /// active. See the [module docs](self) for an example.
    pub fn status(&self, client_id: &str, now: u64) -> RefreshTokenStatus {
        if *self.token.client_id != *client_id || !self.unexpired(now) {
            return RefreshTokenStatus::Invalid;
        }
        match self.state {
            RefreshState::Revoked => RefreshTokenStatus::Invalid,
            RefreshState::Rotated => RefreshTokenStatus::Rotated {
                grant_id: Arc::clone(&self.token.grant_id),
            },
            RefreshState::Active => RefreshTokenStatus::Active(self.token.clone()),
        }
    }

    /// What introspection says of the token at `now`: its record if it is
    /// active and unexpired, else nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oauth2_provider::stored::{RefreshState, StoredRefreshToken};
    /// # use oauth2_provider::{Scope, TokenType, ValidatedRefreshToken};
    /// let mut token = StoredRefreshToken {
    ///     token: ValidatedRefreshToken {
    ///         client_id: Arc::from("web"), user: Some(Arc::from("alice")),
    ///         scopes: Scope::parse("read").unwrap(), grant_id: Arc::from("g1"),
    ///         audience: Default::default(), expires_at: None,
    ///     },
    ///     issued_at: 1_000,
    ///     state: RefreshState::Active,
    /// };
    /// let info = token.info(5_000).unwrap();
    /// assert_eq!(info.token_type, Some(TokenType::RefreshToken));
    /// assert_eq!(info.sub.as_deref(), Some("alice"));
    /// token.state = RefreshState::Rotated;
    /// assert!(token.info(5_000).is_none());
    /// ```
    pub fn info(&self, now: u64) -> Option<TokenInfo> {
        if self.state != RefreshState::Active || !self.unexpired(now) {
            return None;
        }
        let token = &self.token;
        Some(TokenInfo {
            token_type: Some(TokenType::RefreshToken),
            client_id: Arc::clone(&token.client_id),
            username: token.user.clone(),
            sub: token.user.clone(),
            scopes: token.scopes.clone(),
            exp: token.expires_at,
            iat: Some(self.issued_at),
            aud: token.audience.as_slice().to_vec(),
            iss: None,
            grant_id: Some(Arc::clone(&token.grant_id)),
        })
    }
}

/// A stored access token: the columns a store keeps.
///
/// ```
/// use std::sync::Arc;
/// use oauth2_provider::stored::StoredAccessToken;
/// use oauth2_provider::{Audience, Scope, TokenType};
/// let token = StoredAccessToken {
///     client_id: Arc::from("svc"),
///     user: None,
///     scopes: Scope::parse("read").unwrap(),
///     audience: Audience::parse(["https://api.example/"]).unwrap(),
///     grant_id: None,
///     issued_at: 1_000,
///     expires_at: 4_600,
/// };
/// let info = token.info();
/// assert_eq!(info.token_type, Some(TokenType::AccessToken));
/// assert_eq!((info.iat, info.exp), (Some(1_000), Some(4_600)));
/// assert_eq!(info.aud, ["https://api.example/"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAccessToken {
    /// The client it was issued to.
    pub client_id: Arc<str>,
    /// The resource owner, if any.
    pub user: Option<Arc<str>>,
    /// The granted scopes.
    pub scopes: Scope,
    /// The resources it is for (RFC 8707); empty: no audience.
    pub audience: Audience,
    /// The grant (token family) it belongs to, if any.
    pub grant_id: Option<Arc<str>>,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl StoredAccessToken {
    /// What a bearer check and introspection say of the token: its
    /// record, the user as both `username` and `sub`. (A store finds only
    /// unexpired tokens; the library refuses one past `exp` anyway.) See
    /// the type's example.
    pub fn info(self) -> TokenInfo {
        TokenInfo {
            token_type: Some(TokenType::AccessToken),
            client_id: self.client_id,
            username: self.user.clone(),
            sub: self.user,
            scopes: self.scopes,
            exp: Some(self.expires_at),
            iat: Some(self.issued_at),
            aud: self.audience.into_vec(),
            iss: None,
            grant_id: self.grant_id,
        }
    }
}

/// Introspection's lookup order: the kind the hint names first, then the
/// other (RFC 7662 §2.1: a hint only speeds the search). `access` and
/// `refresh` look the token up in `store` as that kind.
///
/// ```
/// use oauth2_provider::stored::introspect;
/// use oauth2_provider::TokenType;
/// let mut looked = Vec::new();
/// let found: Result<Option<&str>, ()> = introspect(
///     Some(TokenType::RefreshToken),
///     &mut looked,
///     |l| { l.push("access"); Ok(Some("an access token")) },
///     |l| { l.push("refresh"); Ok(None) },
/// );
/// assert_eq!(found, Ok(Some("an access token")));
/// assert_eq!(looked, ["refresh", "access"]);
/// ```
pub fn introspect<S: ?Sized, T, E>(
    hint: Option<TokenType>,
    store: &mut S,
    access: impl FnOnce(&mut S) -> Result<Option<T>, E>,
    refresh: impl FnOnce(&mut S) -> Result<Option<T>, E>,
) -> Result<Option<T>, E> {
    if hint == Some(TokenType::RefreshToken) {
        match refresh(store)? {
            Some(found) => Ok(Some(found)),
            None => access(store),
        }
    } else {
        match access(store)? {
            Some(found) => Ok(Some(found)),
            None => refresh(store),
        }
    }
}
