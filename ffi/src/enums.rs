//! The C integer codes of the ABI and their conversions, in one place:
//! token types, PKCE methods, grant bits, secret kinds, what
//! `consume_and_save` spends and callback answers. Each is a `uint32_t` typedef with `#define`d values (not a C
//! `enum`: a value that comes *from* C may be anything, and is checked
//! here, an unknown one becoming `OAP_STATUS_INVALID_PARAMETER` or, for a
//! callback's answer, a failure).

use provider::pkce::ChallengeMethod;
use provider::validator::TokenType;
use provider::Grant;

use crate::status::oap_status;

/// How an `oap_client`'s secret is given: `OAP_SECRET_*`.
pub type oap_secret_kind = u32;
/// No secret: a public client (RFC 6749 §2.1).
pub const OAP_SECRET_NONE: u32 = 0;
/// `secret` is the plaintext secret.
pub const OAP_SECRET_PLAIN: u32 = 1;
/// `secret` is the SHA-256 digest of the secret's UTF-8 bytes, as 64
/// hexadecimal digits (either case), so the host need not keep plaintext.
pub const OAP_SECRET_SHA256_HEX: u32 = 2;

/// An `oap_client`'s secret kind, checked.
pub(crate) enum SecretKind {
    /// `OAP_SECRET_NONE`.
    None,
    /// `OAP_SECRET_PLAIN`.
    Plain,
    /// `OAP_SECRET_SHA256_HEX`.
    Sha256Hex,
}

/// The secret kind `code` names; an unknown one is
/// `OAP_STATUS_INVALID_PARAMETER`.
pub(crate) fn secret_kind(code: oap_secret_kind) -> Result<SecretKind, oap_status> {
    match code {
        OAP_SECRET_NONE => Ok(SecretKind::None),
        OAP_SECRET_PLAIN => Ok(SecretKind::Plain),
        OAP_SECRET_SHA256_HEX => Ok(SecretKind::Sha256Hex),
        _ => Err(oap_status::InvalidParameter),
    }
}

/// A set of grant types: `OAP_GRANT_*` values or-ed together.
pub type oap_grants = u32;
/// RFC 6749 §4.1, with PKCE (RFC 7636).
pub const OAP_GRANT_AUTHORIZATION_CODE: u32 = 1;
/// RFC 6749 §4.2 (legacy; off by default).
pub const OAP_GRANT_IMPLICIT: u32 = 2;
/// RFC 6749 §4.3 (legacy; off by default).
pub const OAP_GRANT_PASSWORD: u32 = 4;
/// RFC 6749 §4.4.
pub const OAP_GRANT_CLIENT_CREDENTIALS: u32 = 8;
/// RFC 6749 §6.
pub const OAP_GRANT_REFRESH_TOKEN: u32 = 16;
/// Every grant type.
pub const OAP_GRANT_ALL: u32 = 31;

/// `grants` if it holds only `OAP_GRANT_*` bits; an unknown bit (a value
/// of another enum, a newer header's grant) is
/// `OAP_STATUS_INVALID_PARAMETER`, not silently dropped.
pub(crate) fn known_grants(grants: oap_grants) -> Result<oap_grants, oap_status> {
    if grants & !OAP_GRANT_ALL == 0 {
        Ok(grants)
    } else {
        Err(oap_status::InvalidParameter)
    }
}

/// The grant's bit.
pub(crate) fn grant_bit(grant: Grant) -> oap_grants {
    match grant {
        Grant::AuthorizationCode => OAP_GRANT_AUTHORIZATION_CODE,
        Grant::Implicit => OAP_GRANT_IMPLICIT,
        Grant::Password => OAP_GRANT_PASSWORD,
        Grant::ClientCredentials => OAP_GRANT_CLIENT_CREDENTIALS,
        Grant::RefreshToken => OAP_GRANT_REFRESH_TOKEN,
        // No C bit yet: the device grant cannot be enabled through the ABI.
        Grant::DeviceCode => 0,
    }
}

/// The kind of a token, as in `token_type_hint` (RFC 7009, RFC 7662).
pub type oap_token_type = u32;
/// Unknown, or no hint given.
pub const OAP_TOKEN_TYPE_NONE: u32 = 0;
/// An access token.
pub const OAP_TOKEN_TYPE_ACCESS_TOKEN: u32 = 1;
/// A refresh token.
pub const OAP_TOKEN_TYPE_REFRESH_TOKEN: u32 = 2;

/// What `consume_and_save` spends: `OAP_CONSUMED_*`.
pub type oap_consumed_kind = u32;
/// An authorization code (single use, RFC 6749 §4.1.2).
pub const OAP_CONSUMED_AUTHORIZATION_CODE: u32 = 1;
/// A refresh token replaced by rotation (RFC 9700 §4.14.2).
pub const OAP_CONSUMED_REFRESH_TOKEN: u32 = 2;

/// A PKCE code challenge method (RFC 7636 §4.3).
pub type oap_pkce_method = u32;
/// No challenge.
pub const OAP_PKCE_NONE: u32 = 0;
/// `plain`: the challenge is the verifier (legacy).
pub const OAP_PKCE_PLAIN: u32 = 1;
/// `S256`: the challenge is BASE64URL(SHA256(verifier)).
pub const OAP_PKCE_S256: u32 = 2;

/// The code of a token type (`OAP_TOKEN_TYPE_NONE` for none).
pub(crate) fn token_type_code(t: Option<TokenType>) -> oap_token_type {
    match t {
        None => OAP_TOKEN_TYPE_NONE,
        Some(TokenType::AccessToken) => OAP_TOKEN_TYPE_ACCESS_TOKEN,
        Some(TokenType::RefreshToken) => OAP_TOKEN_TYPE_REFRESH_TOKEN,
    }
}

/// The token type `code` names (`None` for `OAP_TOKEN_TYPE_NONE`); an
/// unknown one is `OAP_STATUS_INVALID_PARAMETER`.
pub(crate) fn token_type(code: oap_token_type) -> Result<Option<TokenType>, oap_status> {
    match code {
        OAP_TOKEN_TYPE_NONE => Ok(None),
        OAP_TOKEN_TYPE_ACCESS_TOKEN => Ok(Some(TokenType::AccessToken)),
        OAP_TOKEN_TYPE_REFRESH_TOKEN => Ok(Some(TokenType::RefreshToken)),
        _ => Err(oap_status::InvalidParameter),
    }
}

/// The code of a PKCE method (`OAP_PKCE_NONE` for none).
pub(crate) fn pkce_code(m: Option<ChallengeMethod>) -> oap_pkce_method {
    match m {
        None => OAP_PKCE_NONE,
        Some(ChallengeMethod::Plain) => OAP_PKCE_PLAIN,
        Some(ChallengeMethod::S256) => OAP_PKCE_S256,
    }
}

/// The PKCE method `code` names: `OAP_PKCE_PLAIN` or `OAP_PKCE_S256`;
/// anything else (`OAP_PKCE_NONE` too) is `OAP_STATUS_INVALID_PARAMETER`.
pub(crate) fn pkce_method(code: oap_pkce_method) -> Result<ChallengeMethod, oap_status> {
    match code {
        OAP_PKCE_PLAIN => Ok(ChallengeMethod::Plain),
        OAP_PKCE_S256 => Ok(ChallengeMethod::S256),
        _ => Err(oap_status::InvalidParameter),
    }
}

/// What a callback answers: `OAP_CB_TRUE`, `OAP_CB_FALSE` or `OAP_CB_ERROR`.
/// Any other value counts as `OAP_CB_ERROR`.
pub type oap_cb_result = u32;
/// No / not found / invalid (see each callback).
pub const OAP_CB_FALSE: u32 = 0;
/// Yes / found / done (see each callback).
pub const OAP_CB_TRUE: u32 = 1;
/// The callback failed (storage unreachable, …). The library answers
/// `server_error` (HTTP 500) and ignores anything the callback set.
pub const OAP_CB_ERROR: u32 = 2;

/// A callback's answer: `Some(true)` for `OAP_CB_TRUE`, `Some(false)` for
/// `OAP_CB_FALSE`, `None` for `OAP_CB_ERROR` and any unknown value.
#[inline]
pub(crate) fn cb_answer(raw: oap_cb_result) -> Option<bool> {
    match raw {
        OAP_CB_TRUE => Some(true),
        OAP_CB_FALSE => Some(false),
        _ => None,
    }
}
