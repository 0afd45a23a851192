//! The growing maps of the store (codes, access and refresh tokens): split
//! into [`SHARDS`] tables once large, so that growing one rehashes a
//! sixty-fourth of the entries. A single table doubles by rehashing every
//! entry at once, under the store's lock, holding up every request: under
//! a constant load of token requests the demo server's p99.9 was 60 ms with
//! one table and 5 ms sharded (`benches/latency.sh`).
//!
//! A small store keeps one table, allocating as a plain map does (the
//! allocation budgets count a request on a near-empty store); at
//! [`SPLIT_AT`] entries it is split once, moving that many entries.
//!
//! The shard is chosen from the key's last eight bytes and its length,
//! hashed with a seed other than the shards': generated tokens are random there, and a
//! host generator whose values differ only before their last eight bytes
//! puts everything in one shard, which is a plain map again, never worse.

use std::borrow::Borrow;
use std::collections::hash_map::{Entry, VacantEntry};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use super::hasher::StoreHashBuilder;

/// Shards once split: a power of two.
const SHARDS: usize = 64;
/// The tables of a map, split or not: the one table, then the shards
/// ([`Sharded::retain_table`]).
pub(super) const TABLES: usize = SHARDS + 1;
/// Entries at which one table becomes [`SHARDS`].
const SPLIT_AT: usize = 1 << 13;

type Map<K, V> = HashMap<K, V, StoreHashBuilder>;

/// A map from keys looked up by their bytes (`Borrow<[u8]>`), sharded
/// once large. See the [module docs](self).
pub(super) struct Sharded<K, V> {
    /// Every entry while `shards` is empty; once split, empty, its seed
    /// picking the shard of a key.
    small: Map<K, V>,
    /// [`SHARDS`] tables once split, else none (no allocation).
    shards: Box<[Map<K, V>]>,
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            small: Map::default(),
            shards: Box::default(),
        }
    }
}

impl<K: Borrow<[u8]> + Hash + Eq, V> Sharded<K, V> {
    fn index(&self, key: &[u8]) -> usize {
        let tail = &key[key.len().saturating_sub(8)..];
        // The top bits: the hash's best mixed.
        (self.small.hasher().hash_one(tail) >> (64 - SHARDS.trailing_zeros())) as usize
    }

    fn map(&self, key: &[u8]) -> &Map<K, V> {
        if self.shards.is_empty() {
            &self.small
        } else {
            &self.shards[self.index(key)]
        }
    }

    fn map_mut(&mut self, key: &[u8]) -> &mut Map<K, V> {
        if self.shards.is_empty() {
            &mut self.small
        } else {
            let i = self.index(key);
            &mut self.shards[i]
        }
    }

    pub(super) fn get(&self, key: &[u8]) -> Option<&V> {
        self.map(key).get(key)
    }

    pub(super) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.map_mut(key).get_mut(key)
    }

    pub(super) fn contains_key(&self, key: &[u8]) -> bool {
        self.map(key).contains_key(key)
    }

    pub(super) fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.map_mut(key).remove(key)
    }

    pub(super) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.split_if_large();
        self.map_mut(key.borrow()).insert(key, value)
    }

    /// The empty slot for `key`, to fill later; `None` when `key` is
    /// there. One lookup where `contains_key` then `insert` make two.
    pub(super) fn vacant(&mut self, key: K) -> Option<VacantEntry<'_, K, V>> {
        self.split_if_large();
        match self.map_mut(key.borrow()).entry(key) {
            Entry::Vacant(slot) => Some(slot),
            Entry::Occupied(_) => None,
        }
    }

    fn split_if_large(&mut self) {
        if self.shards.is_empty() && self.small.len() >= SPLIT_AT {
            self.split();
        }
    }

    /// Moves the one table's entries into [`SHARDS`] tables, each sized
    /// for twice its share.
    fn split(&mut self) {
        let each = self.small.len() * 2 / SHARDS;
        self.shards = (0..SHARDS)
            .map(|_| Map::with_capacity_and_hasher(each, StoreHashBuilder::default()))
            .collect();
        // Taken first: the empty map left in its place has a new seed,
        // and `index` picks with it from now on.
        let entries = std::mem::take(&mut self.small);
        for (key, value) in entries {
            let i = self.index(key.borrow());
            self.shards[i].insert(key, value);
        }
    }

    /// Keeps the entries of table `table` (of [`TABLES`]) for which `keep`
    /// says so; nothing when there is no such table (not split yet).
    pub(super) fn retain_table(&mut self, table: usize, keep: impl FnMut(&K, &mut V) -> bool) {
        let map = match table.checked_sub(1) {
            None => Some(&mut self.small),
            Some(i) => self.shards.get_mut(i),
        };
        if let Some(map) = map {
            map.retain(keep);
        }
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.small.retain(&mut keep);
        for shard in &mut self.shards {
            shard.retain(&mut keep);
        }
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.small
            .values()
            .chain(self.shards.iter().flat_map(Map::values))
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.small
            .values_mut()
            .chain(self.shards.iter_mut().flat_map(Map::values_mut))
    }

    pub(super) fn len(&self) -> usize {
        self.small.len() + self.shards.iter().map(Map::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> Vec<u8> {
        format!("token-{i:08}").into_bytes()
    }

    #[test]
    fn splits_once_large_and_keeps_every_entry() {
        let mut m: Sharded<Vec<u8>, usize> = Sharded::default();
        let n = SPLIT_AT * 3;
        for i in 0..n {
            assert_eq!(m.insert(key(i), i), None);
            if i + 1 == SPLIT_AT {
                assert!(m.shards.is_empty(), "one table up to SPLIT_AT");
            }
        }
        assert_eq!(m.shards.len(), SHARDS);
        assert!(m.small.is_empty());
        assert_eq!(m.len(), n);
        // Sequential keys differing in their last bytes spread out.
        let largest = m.shards.iter().map(Map::len).max().unwrap_or(0);
        assert!(largest < n / SHARDS * 2, "largest shard {largest} of {n}");
        for i in 0..n {
            assert_eq!(m.get(&key(i)), Some(&i));
        }
        assert_eq!(m.insert(key(7), 71), Some(7));
        *m.get_mut(&key(8)).expect("present") = 80;
        assert_eq!(m.remove(&key(9)), Some(9));
        assert!(!m.contains_key(&key(9)));
        assert!(!m.contains_key(b"absent"));
        for table in 0..TABLES {
            m.retain_table(table, |_, v| *v != 3);
        }
        assert!(!m.contains_key(&key(3)));
        m.retain(|_, v| *v % 2 == 0);
        assert!(m.values().all(|v| v % 2 == 0));
        assert_eq!(m.get(&key(8)), Some(&80));
        assert_eq!(m.get(&key(7)), None);
        for v in m.values_mut() {
            *v += 1;
        }
        assert_eq!(m.get(&key(8)), Some(&81));
        assert_eq!(m.len(), m.values().count());
    }
}
