//! The ChaCha20 block function (RFC 8439 §2.3), the core of the random
//! generator. Only the block function is needed: the generator never
//! encrypts, it uses keystream blocks as random bytes, as the Linux kernel's
//! and OpenBSD's generators do.

/// "expand 32-byte k", the constant first row of the state.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Words of key: 256 bits.
pub(crate) const KEY_WORDS: usize = 8;

/// Blocks [`four_blocks`] makes at once.
pub(crate) const BLOCKS: usize = 4;

/// Bytes [`four_blocks`] makes at once.
pub(crate) const STREAM_BYTES: usize = 64 * BLOCKS;

/// One 64-byte keystream block for `key`, block `counter` and `nonce`, as
/// sixteen little-endian words (RFC 8439 §2.3). On x86-64 only the
/// reference the SSE2 path is tested against.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn block(key: &[u32; KEY_WORDS], counter: u32, nonce: [u32; 3]) -> [u32; 16] {
    let initial = [
        SIGMA[0], SIGMA[1], SIGMA[2], SIGMA[3], key[0], key[1], key[2], key[3], key[4], key[5],
        key[6], key[7], counter, nonce[0], nonce[1], nonce[2],
    ];
    let mut x = initial;
    for _ in 0..10 {
        // A column round, then a diagonal round (RFC 8439 §2.3).
        quarter_round(&mut x, 0, 4, 8, 12);
        quarter_round(&mut x, 1, 5, 9, 13);
        quarter_round(&mut x, 2, 6, 10, 14);
        quarter_round(&mut x, 3, 7, 11, 15);
        quarter_round(&mut x, 0, 5, 10, 15);
        quarter_round(&mut x, 1, 6, 11, 12);
        quarter_round(&mut x, 2, 7, 8, 13);
        quarter_round(&mut x, 3, 4, 9, 14);
    }
    for (word, start) in x.iter_mut().zip(initial) {
        *word = word.wrapping_add(start);
    }
    x
}

/// Four consecutive keystream blocks, `counter` to `counter + 3` with a
/// zero nonce, serialized (256 bytes): what a refill of the generator
/// makes at once. On x86-64 the four are computed side by side in SSE2
/// registers (the baseline there), in about half the time of four scalar
/// blocks; elsewhere one after the other.
pub(crate) fn four_blocks(key: &[u32; KEY_WORDS], counter: u32) -> [u8; STREAM_BYTES] {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        #[allow(unsafe_code)]
        // SAFETY: the function only needs SSE2, which this build enables
        // (the cfg above): x86-64's baseline.
        unsafe {
            sse2::four_blocks(key, counter)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        four_scalar_blocks(key, counter)
    }
}

/// [`four_blocks`] one block at a time.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn four_scalar_blocks(key: &[u32; KEY_WORDS], counter: u32) -> [u8; STREAM_BYTES] {
    let mut out = [0u8; STREAM_BYTES];
    for (i, chunk) in out.chunks_exact_mut(64).enumerate() {
        let words = block(key, counter.wrapping_add(i as u32), [0; 3]);
        for (bytes, word) in chunk.chunks_exact_mut(4).zip(words) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
    }
    out
}

/// Four blocks in SSE2: each register holds one state word of all four
/// blocks, so the rounds are the scalar ones applied lane-wise, with no
/// shuffling between them.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_or_si128, _mm_set1_epi32, _mm_set_epi32,
        _mm_shuffle_epi32, _mm_slli_epi32, _mm_srli_epi32, _mm_xor_si128,
    };

    use super::{KEY_WORDS, SIGMA, STREAM_BYTES};

    #[inline]
    #[target_feature(enable = "sse2")]
    fn rotate_left<const LEFT: i32, const RIGHT: i32>(x: __m128i) -> __m128i {
        _mm_or_si128(_mm_slli_epi32::<LEFT>(x), _mm_srli_epi32::<RIGHT>(x))
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn quarter_round(x: &mut [__m128i; 16], a: usize, b: usize, c: usize, d: usize) {
        x[a] = _mm_add_epi32(x[a], x[b]);
        x[d] = rotate_left::<16, 16>(_mm_xor_si128(x[d], x[a]));
        x[c] = _mm_add_epi32(x[c], x[d]);
        x[b] = rotate_left::<12, 20>(_mm_xor_si128(x[b], x[c]));
        x[a] = _mm_add_epi32(x[a], x[b]);
        x[d] = rotate_left::<8, 24>(_mm_xor_si128(x[d], x[a]));
        x[c] = _mm_add_epi32(x[c], x[d]);
        x[b] = rotate_left::<7, 25>(_mm_xor_si128(x[b], x[c]));
    }

    /// The four lanes of `x`, lane 0 first.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn lanes(x: __m128i) -> [u32; 4] {
        [
            _mm_cvtsi128_si32(x) as u32,
            _mm_cvtsi128_si32(_mm_shuffle_epi32::<0b01_01_01_01>(x)) as u32,
            _mm_cvtsi128_si32(_mm_shuffle_epi32::<0b10_10_10_10>(x)) as u32,
            _mm_cvtsi128_si32(_mm_shuffle_epi32::<0b11_11_11_11>(x)) as u32,
        ]
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn four_blocks(key: &[u32; KEY_WORDS], counter: u32) -> [u8; STREAM_BYTES] {
        let splat = |word: u32| _mm_set1_epi32(word as i32);
        let mut initial = [splat(0); 16];
        for (row, &word) in initial.iter_mut().zip(SIGMA.iter().chain(key)) {
            *row = splat(word);
        }
        // Lane i is block counter + i.
        initial[12] = _mm_add_epi32(splat(counter), _mm_set_epi32(3, 2, 1, 0));
        let mut x = initial;
        for _ in 0..10 {
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        let mut out = [0u8; STREAM_BYTES];
        for (word, (row, start)) in x.iter().zip(initial).enumerate() {
            for (block, value) in lanes(_mm_add_epi32(*row, start)).into_iter().enumerate() {
                let at = 64 * block + 4 * word;
                out[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        out
    }
}

/// RFC 8439 §2.1 on four words of the state.
#[inline(always)]
fn quarter_round(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialized(words: [u32; 16]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn quarter_round_matches_rfc_8439_2_1_1() {
        let mut x = [0u32; 16];
        x[..4].copy_from_slice(&[0x1111_1111, 0x0102_0304, 0x9b8d_6f43, 0x0123_4567]);
        quarter_round(&mut x, 0, 1, 2, 3);
        assert_eq!(x[..4], [0xea2a_92f4, 0xcb1c_f8ce, 0x4581_472e, 0x5881_c4bb]);
    }

    #[test]
    fn block_matches_rfc_8439_2_3_2() {
        let key: [u32; 8] =
            std::array::from_fn(|i| u32::from_le_bytes(std::array::from_fn(|j| (4 * i + j) as u8)));
        let nonce = [0x0900_0000, 0x4a00_0000, 0];
        let expected = hex("10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4
             c7 d1 f4 c7 33 c0 68 03 04 22 aa 9a c3 d4 6c 4e
             d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2
             b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e");
        assert_eq!(serialized(block(&key, 1, nonce)), expected);
    }

    #[test]
    fn four_blocks_are_four_consecutive_blocks() {
        let mut key = [0x0123_4567u32; 8];
        for round in 0..64u32 {
            for (i, word) in key.iter_mut().enumerate() {
                *word = word.rotate_left(5) ^ round.wrapping_mul(0x9e37_79b9) ^ i as u32;
            }
            let counter = round.wrapping_mul(0x0101_0101).wrapping_sub(2);
            assert_eq!(
                four_blocks(&key, counter),
                four_scalar_blocks(&key, counter),
                "counter {counter:#x}"
            );
            let expected: Vec<u8> = (0..4)
                .flat_map(|i| serialized(block(&key, counter.wrapping_add(i), [0; 3])))
                .collect();
            assert_eq!(four_blocks(&key, counter)[..], expected[..]);
        }
    }

    #[test]
    fn block_matches_rfc_8439_a_1_first_vector() {
        let expected = hex("76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28
             bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7
             da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37
             6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86");
        assert_eq!(serialized(block(&[0; 8], 0, [0; 3])), expected);
    }
}
