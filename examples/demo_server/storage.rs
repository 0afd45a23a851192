//! Where the demo keeps its state. Any store of the library's contract
//! serves; the app asks two more things of one: checking a user's
//! password on the login page, and purging what has expired.

use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::RequestValidator;

/// A store the demo can run on.
pub trait Store: RequestValidator + 'static {
    /// Whether `password` is `username`'s.
    fn check_user(&self, username: &str, password: &str) -> bool;

    /// Forgets codes and tokens expired at `now`, keeping what replay and
    /// reuse detection still need.
    fn purge_expired(&self, now: u64);
}

impl Store for MemoryValidator {
    fn check_user(&self, username: &str, password: &str) -> bool {
        MemoryValidator::check_user(self, username, password)
    }

    fn purge_expired(&self, now: u64) {
        MemoryValidator::purge_expired(self, now);
    }
}
