//! Byte scans eight bytes at a time, for the questions the hot paths ask
//! of every token, identifier and form value: "is there any byte that
//! needs work?" The answer is almost always no, and then the text is used
//! or copied whole.
//!
//! Each test is the classic word-at-a-time one ("determine if a word has a
//! byte less than n"): exact for "any", which is all that is asked here.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is below `n` (`n` ≤ 128).
const fn has_byte_below(word: u64, n: u8) -> bool {
    word.wrapping_sub(ONES * n as u64) & !word & HIGHS != 0
}

/// Whether any byte of `word` is `b`.
const fn has_byte(word: u64, b: u8) -> bool {
    has_byte_below(word ^ (ONES * b as u64), 1)
}

/// The bits of the bytes of `word` that are zero, and maybe of some bytes
/// above them: the lowest bit set is exact, the classic trick's borrow
/// only running upwards.
const fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The eight bytes of `chunk` as a little-endian word.
fn word(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    u64::from_le_bytes(word)
}

/// The index of the first `b` in `bytes`, eight bytes at a time: the
/// separators of a form are searched in strings too short for `memchr`
/// to earn its set-up.
pub(crate) fn find_byte(bytes: &[u8], b: u8) -> Option<usize> {
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().position(|&c| c == b);
    };
    let found_in = |chunk: &[u8]| {
        let found = zero_bytes(word(chunk) ^ (ONES * b as u64));
        (found != 0).then(|| (found.trailing_zeros() / 8) as usize)
    };
    // The last eight bytes overlap words already searched, and without a
    // match there: the first match in them is the first in the input.
    bytes
        .chunks_exact(8)
        .enumerate()
        .find_map(|(n, chunk)| found_in(chunk).map(|i| n * 8 + i))
        .or_else(|| found_in(&bytes[last..]).map(|i| last + i))
}

/// `word` with its ASCII capitals made small letters, every other byte
/// as it was. Per byte, without carries between them: the additions are
/// on seven-bit values.
const fn ascii_lowercase(word: u64) -> u64 {
    let low_bits = word & !HIGHS;
    let above_z = low_bits.wrapping_add(ONES * (0x7F - b'Z') as u64);
    let from_a = low_bits.wrapping_add(ONES * (0x80 - b'A') as u64);
    let capitals = from_a & !above_z & !word & HIGHS;
    word | (capitals >> 2)
}

/// Whether `a` and `b` are equal ignoring ASCII case, eight bytes at a
/// time: header names and media types, compared on every request, are
/// about a word or a few long.
pub(crate) fn eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Mostly the same case already: no lowercasing to do.
    let equal = |x: u64, y: u64| x == y || ascii_lowercase(x) == ascii_lowercase(y);
    let Some(last) = a.len().checked_sub(8) else {
        // Four to seven bytes (a scheme): two half words, overlapping.
        let Some(last) = a.len().checked_sub(4) else {
            return a.eq_ignore_ascii_case(b);
        };
        let half = |s: &[u8], i: usize| {
            let mut word = [0u8; 4];
            word.copy_from_slice(&s[i..i + 4]);
            u64::from(u32::from_le_bytes(word))
        };
        return equal(half(a, 0), half(b, 0)) && equal(half(a, last), half(b, last));
    };
    let equal = |x: &[u8], y: &[u8]| equal(word(x), word(y));
    // The last eight bytes overlap compared ones, which compare equal again.
    a.chunks_exact(8)
        .zip(b.chunks_exact(8))
        .all(|(x, y)| equal(x, y))
        && equal(&a[last..], &b[last..])
}

/// Whether `word_test` holds for some eight-byte word of `bytes` or
/// `byte_test` for some byte of an input shorter than a word.
#[inline(always)]
fn any_word(bytes: &[u8], word_test: impl Fn(u64) -> bool, byte_test: impl Fn(u8) -> bool) -> bool {
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().any(|&b| byte_test(b));
    };
    // The bytes after the last whole word are tested as the input's last
    // eight, overlapping: "any" does not mind a byte tested twice, and one
    // word costs less than a loop over up to seven bytes.
    bytes.chunks_exact(8).any(|chunk| word_test(word(chunk))) || word_test(word(&bytes[last..]))
}

/// Whether `bytes` has a `%` or a `+`: a form component to decode.
pub(crate) fn has_form_escape(bytes: &[u8]) -> bool {
    any_word(
        bytes,
        |w| has_byte(w, b'%') | has_byte(w, b'+'),
        |b| b == b'%' || b == b'+',
    )
}

/// Whether `bytes` has a byte a JSON string must escape: `"`, `\` or a
/// control character below U+0020.
pub(crate) fn has_json_escape(bytes: &[u8]) -> bool {
    any_word(
        bytes,
        |w| has_byte_below(w, 0x20) | has_byte(w, b'"') | has_byte(w, b'\\'),
        |b| b < 0x20 || b == b'"' || b == b'\\',
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of strings up to 17 bytes long,
    /// against the byte-by-byte answer.
    #[test]
    fn word_scans_agree_with_byte_scans() {
        for len in 1..=17 {
            for at in 0..len {
                for b in 0..=255u8 {
                    // Fillers around the probe: plain, high, and both.
                    for filler in [b'a', 0xc3, 0x7f] {
                        let mut s = vec![filler; len];
                        s[at] = b;
                        let form = s.iter().any(|&c| c == b'%' || c == b'+');
                        let json = s.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
                        assert_eq!(has_form_escape(&s), form, "{s:?}");
                        assert_eq!(has_json_escape(&s), json, "{s:?}");
                        let upper = s.to_ascii_uppercase();
                        assert!(eq_ignore_ascii_case(&s, &upper), "{s:?}");
                        // The byte with its case bit, or another bit, flipped.
                        for flip in [0x20, 0x01, 0x80] {
                            let mut t = s.clone();
                            t[at] ^= flip;
                            assert_eq!(eq_ignore_ascii_case(&s, &t), s.eq_ignore_ascii_case(&t));
                        }
                        for wanted in [b'&', b'=', 0x00, 0xc3] {
                            let first = s.iter().position(|&c| c == wanted);
                            assert_eq!(find_byte(&s, wanted), first, "{s:?} {wanted}");
                        }
                    }
                }
            }
        }
        assert!(!has_form_escape(b""));
        assert_eq!(find_byte(b"", b'&'), None);
        assert!(!has_json_escape(b""));
    }
}
