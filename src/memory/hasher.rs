//! The hash of the in-memory store's maps: cheaper than the standard
//! library's SipHash, which guards against an attacker who chooses the keys
//! a map inserts. No such key exists here: codes, tokens and grant ids are
//! values this crate generated (uniformly random unless the host plugged in
//! its own generator), and clients and users are registered by the host.
//! A request can only look keys up, which costs one probe sequence however
//! the key was chosen. The seed is still random per map, so that no one
//! can predict bucket placement.

use std::hash::{BuildHasher, Hasher, RandomState};

/// Multiplier of the mixing step (the 64-bit golden ratio, odd).
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Multiplies as 128 bits and folds the halves together: every input bit
/// reaches every output bit in one step.
const fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = (a as u128).wrapping_mul(b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Builds [`StoreHasher`]s from one random seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoreHashBuilder {
    seed: u64,
}

impl Default for StoreHashBuilder {
    /// A seed from the standard library's per-process random keys: no
    /// system call of its own.
    fn default() -> Self {
        StoreHashBuilder {
            seed: RandomState::new().hash_one(0x5eed_u64) | 1,
        }
    }
}

impl BuildHasher for StoreHashBuilder {
    type Hasher = StoreHasher;

    fn build_hasher(&self) -> StoreHasher {
        StoreHasher { state: self.seed }
    }
}

/// Eight bytes per multiply; see the [module docs](self) for why this is
/// safe here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoreHasher {
    state: u64,
}

impl StoreHasher {
    fn mix(&mut self, word: u64) {
        self.state = folded_multiply(self.state ^ word, MULTIPLIER);
    }
}

impl Hasher for StoreHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            // The length in the top byte: "ab" and "ab\0" differ.
            self.mix(u64::from_le_bytes(word) ^ ((tail.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.state, MULTIPLIER.rotate_left(32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hash(builder: &StoreHashBuilder, s: &str) -> u64 {
        builder.hash_one(s)
    }

    #[test]
    fn equal_keys_hash_equal_and_near_keys_differ() {
        let b = StoreHashBuilder::default();
        assert_eq!(hash(&b, "conf-client"), hash(&b, "conf-client"));
        let keys = [
            "",
            "a",
            "b",
            "ab",
            "ab\0",
            "abcdefgh",
            "abcdefghi",
            "abcdefgi",
        ];
        let hashes: HashSet<u64> = keys.iter().map(|k| hash(&b, k)).collect();
        assert_eq!(hashes.len(), keys.len());
    }

    #[test]
    fn sequential_keys_spread_over_buckets() {
        // A host generator's `tok-0001`, `tok-0002`, …: the low bits (the
        // bucket index) and the top seven (hashbrown's tag) both vary.
        let b = StoreHashBuilder::default();
        let hashes: Vec<u64> = (0..4096)
            .map(|i| hash(&b, &format!("tok-{i:04}")))
            .collect();
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        let tags: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 2400, "{} distinct buckets of 4096", low.len());
        assert_eq!(tags.len(), 128);
    }

    #[test]
    fn seeds_differ_between_maps() {
        let (a, b) = (StoreHashBuilder::default(), StoreHashBuilder::default());
        assert_ne!(hash(&a, "token"), hash(&b, "token"));
    }
}
