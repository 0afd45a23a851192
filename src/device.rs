//! The device authorization grant (RFC 8628): its values — the grant type
//! URN, the user code's alphabet and form, a device authorization as a
//! store keeps it — and the rules on user codes (§6.1).
//!
//! The endpoints are [`Server::device_authorization_response`]
//! (§3.1–3.2), [`Server::device_verification`] and
//! [`Server::device_decision`] for the user's page (§3.3), and the token
//! endpoint's grant (§3.4–3.5).
//!
//! [`Server::device_authorization_response`]: crate::Server::device_authorization_response
//! [`Server::device_verification`]: crate::Server::device_verification
//! [`Server::device_decision`]: crate::Server::device_decision

use std::fmt;

use crate::audience::Audience;
use crate::error::OAuthError;
use crate::scope::Scope;
use crate::secret::sha256;

/// The grant type URN (RFC 8628 §3.4).
pub use crate::grant_type::DEVICE_CODE_GRANT_TYPE;

/// The user code's alphabet (RFC 8628 §6.1): twenty consonants, no vowels
/// (no words spelled by accident) and no look-alike digits.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Characters in a user code: 8 of 20 letters, 20^8 ≈ 2^34.6 codes
/// (RFC 8628 §6.1's example), shown as `XXXX-XXXX`.
pub const USER_CODE_LEN: usize = 8;

/// The polling interval's growth on each `slow_down` (RFC 8628 §3.5: "the
/// interval MUST be increased by 5 seconds").
pub const SLOW_DOWN_STEP: u64 = 5;

/// Where a device authorization stands: what the user decided, and
/// whether it gave its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// The user has decided nothing yet: the device polls
    /// (`authorization_pending`).
    Pending,
    /// The user approved. The approved scopes and audience are in
    /// [`DeviceAuthorization::scopes`] and [`DeviceAuthorization::audience`].
    Approved {
        /// Who approved: the tokens' user.
        user_id: String,
    },
    /// The user denied (`access_denied`).
    Denied,
    /// The approved authorization gave its tokens: single use (§3.5); a
    /// later poll is a replay, which revokes them.
    Used,
}

/// A device authorization as a store keeps it, keyed by the SHA-256
/// digests of its device code and of its normalized user code: neither
/// code is ever handed to the store in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// The client (device) that asked, the only one that may poll for it.
    pub client_id: String,
    /// The scopes asked, then, once approved, what the user approved (a
    /// subset of those asked).
    pub scopes: Scope,
    /// The resources (RFC 8707) asked at the device authorization endpoint.
    pub audience: Audience,
    /// The token family of the tokens it will give
    /// ([`TokenKind::GrantId`](crate::TokenKind::GrantId)).
    pub grant_id: String,
    /// When the device code and user code expire, seconds since the Unix
    /// epoch.
    pub expires_at: u64,
    /// The current minimum polling interval, seconds: grows by
    /// [`SLOW_DOWN_STEP`] on every `slow_down`.
    pub interval: u64,
    /// When the device last polled (`None`: never).
    pub last_poll: Option<u64>,
    /// What the user decided, and whether it gave its tokens.
    pub status: DeviceStatus,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nothing secret here (the codes are not kept); written by hand so
        // that adding a secret field later cannot print it unnoticed.
        f.debug_struct("DeviceAuthorization")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("grant_id", &self.grant_id)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .field("last_poll", &self.last_poll)
            .field("status", &self.status)
            .finish()
    }
}

/// Which digest a device authorization is looked up by
/// ([`RequestValidator::find_device_authorization`](crate::RequestValidator::find_device_authorization)).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeKey<'a> {
    /// The SHA-256 digest of the device code (the token endpoint).
    DeviceCode(&'a [u8; 32]),
    /// The SHA-256 digest of the normalized user code (the user's page).
    UserCode(&'a [u8; 32]),
}

impl fmt::Debug for DeviceCodeKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest of a live code is as good as the code to a store's
        // attacker: not for logs.
        f.write_str(match self {
            DeviceCodeKey::DeviceCode(_) => "DeviceCode(***)",
            DeviceCodeKey::UserCode(_) => "UserCode(***)",
        })
    }
}

/// The user's decision at the verification page (RFC 8628 §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceDecision {
    /// Grant the device access.
    Approve,
    /// Refuse: the device's next poll gets `access_denied`.
    Deny,
}

/// A pending device authorization, as the user's page shows it before
/// asking for a decision ([`Server::device_verification`](crate::Server::device_verification)).
#[derive(Clone, PartialEq, Eq)]
pub struct PendingDevice {
    /// The client (device) asking.
    pub client_id: String,
    /// The scopes it asks for.
    pub scopes: Scope,
    /// The resources (RFC 8707) it asks for.
    pub audience: Audience,
    /// When the request expires, seconds since the Unix epoch.
    pub expires_at: u64,
    /// The user code, normalized and in its shown form (`XXXX-XXXX`).
    pub user_code: String,
}

impl fmt::Debug for PendingDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The user code of a pending authorization approves it: not for logs.
        f.debug_struct("PendingDevice")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The user code as typed, normalized (RFC 8628 §6.1: "case-insensitive
/// … ignoring punctuation"): uppercased, dashes and spaces dropped. `None`
/// unless what remains is [`USER_CODE_LEN`] letters of
/// [`USER_CODE_ALPHABET`].
///
/// ```
/// use oauth2_provider::device::normalize_user_code;
/// assert_eq!(normalize_user_code("wdjb-mjht").as_deref(), Some("WDJBMJHT"));
/// assert_eq!(normalize_user_code(" WDJB MJHT ").as_deref(), Some("WDJBMJHT"));
/// assert_eq!(normalize_user_code("WDJB-MJHA"), None); // a vowel
/// assert_eq!(normalize_user_code("WDJB-MJH"), None); // too short
/// ```
pub fn normalize_user_code(input: &str) -> Option<String> {
    // Bounded before any work: a hostile megabyte of dashes stops here.
    if input.len() > 64 {
        return None;
    }
    let mut code = String::with_capacity(USER_CODE_LEN);
    for c in input.chars() {
        if c == '-' || c == ' ' {
            continue;
        }
        let upper = c.to_ascii_uppercase();
        if !upper.is_ascii() || !USER_CODE_ALPHABET.contains(&(upper as u8)) {
            return None;
        }
        if code.len() == USER_CODE_LEN {
            return None;
        }
        code.push(upper);
    }
    (code.len() == USER_CODE_LEN).then_some(code)
}

/// A normalized user code in its shown form: `WDJBMJHT` → `WDJB-MJHT`.
///
/// ```
/// use oauth2_provider::device::display_user_code;
/// assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");
/// ```
pub fn display_user_code(normalized: &str) -> String {
    let half = normalized.len() / 2;
    match (normalized.get(..half), normalized.get(half..)) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => normalized.to_owned(),
    }
}

/// The user code made from a generated value: the value is conditioned
/// through SHA-256 (a custom token generator's values are never used as
/// they are: a sequence or a prefix would make codes guessable), then
/// mapped to [`USER_CODE_ALPHABET`] by rejection sampling (bytes below
/// 240 = 12 × 20, so every letter is equally likely). Normalized form.
///
/// ```
/// use oauth2_provider::device::{normalize_user_code, user_code_from};
/// let code = user_code_from("any generated value");
/// assert_eq!(normalize_user_code(&code), Some(code.clone()));
/// assert_ne!(user_code_from("another value"), code);
/// ```
pub fn user_code_from(generated: &str) -> String {
    const LIMIT: u8 = (256 / USER_CODE_ALPHABET.len() * USER_CODE_ALPHABET.len()) as u8;
    let mut code = String::with_capacity(USER_CODE_LEN);
    let mut block = sha256(generated.as_bytes());
    loop {
        for &b in &block {
            if b < LIMIT {
                code.push(USER_CODE_ALPHABET[usize::from(b) % USER_CODE_ALPHABET.len()] as char);
                if code.len() == USER_CODE_LEN {
                    return code;
                }
            }
        }
        // 32 bytes gave fewer than 8 letters (about 1 in 10^20): hash on.
        block = sha256(&block);
    }
}

/// The SHA-256 digest a store keys a user code by: of its normalized form.
pub fn user_code_digest(normalized: &str) -> [u8; 32] {
    sha256(normalized.as_bytes())
}

/// The answer when a user code is malformed, unknown, expired or already
/// decided: the same for all, so the page reveals nothing about which
/// codes exist.
pub(crate) fn unknown_user_code() -> OAuthError {
    OAuthError::new(
        crate::error::ErrorCode::InvalidGrant,
        "unknown or expired user code",
    )
}
