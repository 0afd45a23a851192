//! The keys of the store's code and token maps: inline when short enough,
//! as the library's own values are (43 characters), so that saving a token
//! copies it into the map's table instead of allocating a `String` for it.
//! Longer values (a host's token generator may make anything) go on the
//! heap. Maps are looked up by the text's bytes (`Borrow<[u8]>`), so that
//! neither a lookup nor a rehash checks a key as UTF-8 again.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Bytes kept inline: a generated token or code (43) fits, and the key is
/// 48 bytes with its length and tag.
const INLINE: usize = 46;

/// A code or token as a map key; looked up by its bytes.
#[derive(Clone)]
pub(super) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

const _: () = assert!(size_of::<Key>() == 48);

impl Key {
    pub(super) fn new(text: &str) -> Key {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                Key::Inline { len, bytes }
            }
            _ => Key::Heap(text.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(text) => text.as_bytes(),
        }
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

// Hash and equality are the bytes', as `Borrow<[u8]>` requires.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Key {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_keys_are_inline_and_long_ones_on_the_heap() {
        for len in [0, 1, 43, INLINE, INLINE + 1, 300] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let key = Key::new(&text);
            assert_eq!(key.bytes(), text.as_bytes());
            assert_eq!(
                matches!(key, Key::Inline { .. }),
                text.len() <= INLINE,
                "{len}"
            );
        }
    }

    #[test]
    fn a_map_finds_keys_by_their_bytes() {
        let mut map = HashMap::new();
        let long = "t".repeat(100);
        for text in ["a", "abc", &"9".repeat(43), &long] {
            map.insert(Key::new(text), text.len());
        }
        assert_eq!(map.get(b"abc".as_slice()), Some(&3));
        assert_eq!(map.get("9".repeat(43).as_bytes()), Some(&43));
        assert_eq!(map.get(long.as_bytes()), Some(&100));
        assert_eq!(map.get(b"ab".as_slice()), None);
        assert!(map.remove(b"a".as_slice()).is_some());
    }
}
