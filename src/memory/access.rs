//! How the store keeps an access token: [`AccessRecord`], what a
//! [`TokenInfo`] says of it minus what every stored access token has alike
//! (its type, no issuer, `sub` equal to `username`), 96 bytes where a
//! `TokenInfo` is 168; and [`SharedScopes`], so that the tokens of one
//! scope point to one copy of its text.
//!
//! Both are for the cache: a bearer check or an introspection of one of
//! 40,000 scattered tokens misses the cache for each line of the table's
//! slot and for each heap value it copies a reference to (the `Arc`'s count
//! is written). A smaller slot spans fewer lines; a scope shared by many
//! tokens stays cached.

use std::sync::Arc;

use crate::scope::Scope;
use crate::validator::{IssuedToken, TokenInfo, TokenType};

/// What the store keeps of an access token.
pub(super) struct AccessRecord {
    /// Expiry, seconds since the Unix epoch.
    pub(super) exp: u64,
    /// Issue time, seconds since the Unix epoch.
    iat: u64,
    client_id: Arc<str>,
    /// The resource owner: `username` and `sub` of its [`TokenInfo`].
    user: Option<Arc<str>>,
    scopes: Scope,
    /// The grant (token family).
    pub(super) grant_id: Option<Arc<str>>,
    /// The audiences (RFC 8707); empty, without an allocation, for none.
    aud: Box<[String]>,
}

// The size the slot layout was measured with (a 64-bit target; half the
// pointers' width elsewhere).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<AccessRecord>() == 96);

impl AccessRecord {
    /// The record of `token`'s access token, its scope shared through
    /// `scopes`; the same [`TokenInfo`] as
    /// [`IssuedToken::access_token_info`] gives back.
    pub(super) fn new(token: &IssuedToken, scopes: &mut SharedScopes) -> AccessRecord {
        let info = token.access_token_info();
        AccessRecord {
            // Always set by `access_token_info`.
            exp: info.exp.unwrap_or(0),
            iat: info.iat.unwrap_or(0),
            client_id: info.client_id,
            user: info.username,
            scopes: scopes.share(info.scopes),
            grant_id: info.grant_id,
            aud: info.aud.into_boxed_slice(),
        }
    }

    /// What the token grants, as `validate_bearer_token` hands it back.
    pub(super) fn info(&self) -> TokenInfo {
        TokenInfo {
            token_type: Some(TokenType::AccessToken),
            client_id: Arc::clone(&self.client_id),
            username: self.user.clone(),
            sub: self.user.clone(),
            scopes: self.scopes.clone(),
            exp: Some(self.exp),
            iat: Some(self.iat),
            aud: self.aud.to_vec(),
            iss: None,
            grant_id: self.grant_id.clone(),
        }
    }
}

/// Scopes recently saved, so that a new token of the same scope shares the
/// text already kept. Bounded: a server whose clients ask for more distinct
/// scopes than [`SharedScopes::KEPT`] at once only shares less.
#[derive(Default)]
pub(super) struct SharedScopes {
    kept: [Scope; SharedScopes::KEPT],
    /// The slot the next new scope replaces (round robin).
    next: usize,
}

impl SharedScopes {
    /// Scopes kept: a few, compared one by one (short strings).
    const KEPT: usize = 8;

    /// `scope`, or the equal one kept, which is then shared.
    pub(super) fn share(&mut self, scope: Scope) -> Scope {
        if scope.is_empty() {
            return scope;
        }
        if let Some(kept) = self.kept.iter().find(|k| **k == scope) {
            return kept.clone();
        }
        self.kept[self.next] = scope.clone();
        self.next = (self.next + 1) % Self::KEPT;
        scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_scopes_share_one_text_and_the_set_stays_bounded() {
        let mut shared = SharedScopes::default();
        let first = shared.share(Scope::parse("read write").unwrap());
        let again = shared.share(Scope::parse("read write").unwrap());
        assert_eq!(first.as_str().as_ptr(), again.as_str().as_ptr());
        for i in 0..3 * SharedScopes::KEPT {
            let s = shared.share(Scope::parse(&format!("s{i}")).unwrap());
            assert_eq!(s.as_str(), format!("s{i}"));
        }
        // Pushed out by newer scopes: kept again, equal all the same.
        let later = shared.share(Scope::parse("read write").unwrap());
        assert_eq!(later, first);
        assert!(shared.share(Scope::empty()).is_empty());
    }
}
