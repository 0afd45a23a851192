//! The random bytes behind every token, code and grant id.
//!
//! A system call per token was a fifth of a token request (`getrandom(2)`
//! of 32 bytes takes about 0.4 µs on a shared VM, where the rest of a client
//! credentials request takes about 1.3 µs), so each thread keeps a ChaCha20
//! key seeded from the operating system and draws from it with fast key
//! erasure, as the Linux kernel's and OpenBSD's generators do: each refill
//! makes four keystream blocks, whose first 32 bytes replace the key before
//! anything is handed out, so the state never reveals what it produced
//! before. The other 224 bytes are handed out in order, each erased as it
//! goes. The key is reseeded from the OS every [`REFILLS_PER_SEED`] refills.
//!
//! The state lives in memory that a forked child sees as zeros
//! ([`per_thread`]), so a child never repeats its parent's tokens: nginx
//! forks its workers after loading modules. Where such memory is not
//! available (other systems, or Linux before 4.14), no state is kept and
//! every draw asks the OS.

mod chacha20;
/// Linux on the architectures whose `mmap` constants `per_thread` knows.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
mod per_thread;
/// Elsewhere no memory is wiped on fork, so no state is kept.
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
mod per_thread {
    pub(super) fn with<R>(_: impl FnOnce(&mut super::State) -> R) -> Result<Option<R>, ()> {
        Ok(None)
    }
}

use chacha20::{KEY_WORDS, STREAM_BYTES};

/// Random bytes kept between draws: a refill's stream
/// ([`chacha20::four_blocks`]) but for its first 32 bytes, which become the
/// next key; the other 224 (seven tokens) are handed out one by one.
const BUFFER: usize = STREAM_BYTES - 4 * KEY_WORDS;

/// Refills between two seeds from the OS: a bound on how long one seed
/// serves (about 450 tokens, one system call each time).
pub(crate) const REFILLS_PER_SEED: u32 = 64;

/// Fills `dest` with random bytes. Fails only when the OS cannot supply a
/// seed.
pub(crate) fn fill(dest: &mut [u8]) -> Result<(), getrandom::Error> {
    if let Ok(Some(result)) = per_thread::with(|state| state.fill(dest)) {
        return result;
    }
    getrandom::fill(dest)
}

/// One thread's generator state, `#[repr(C)]` integers only, so that the
/// all-zero state a forked child finds is a valid one: nothing buffered
/// and no refills left, which forces a seed before anything is drawn.
#[repr(C)]
struct State {
    key: [u32; KEY_WORDS],
    refills_left: u32,
    /// Unread bytes at the end of `buffer`; the bytes before them are
    /// zeroed as they are handed out.
    available: u32,
    buffer: [u8; BUFFER],
}

impl State {
    #[cfg(test)]
    fn zeroed() -> Self {
        State {
            key: [0; KEY_WORDS],
            refills_left: 0,
            available: 0,
            buffer: [0; BUFFER],
        }
    }

    /// Fills `dest` from the buffer, refilling it as often as needed.
    fn fill(&mut self, mut dest: &mut [u8]) -> Result<(), getrandom::Error> {
        while !dest.is_empty() {
            if self.available == 0 {
                self.refill()?;
            }
            let available = (self.available as usize).min(BUFFER);
            let taken = available.min(dest.len());
            let unread = &mut self.buffer[BUFFER - available..][..taken];
            let (head, rest) = dest.split_at_mut(taken);
            head.copy_from_slice(unread);
            // Handed out once: erased, so the state never holds an output.
            unread.fill(0);
            self.available = (available - taken) as u32;
            dest = rest;
        }
        Ok(())
    }

    /// New keystream from the key, which the first 32 bytes of it replace
    /// before anything is handed out. A key makes one refill only, so the
    /// block counter always starts at 0 and the nonce can stay zero.
    fn refill(&mut self) -> Result<(), getrandom::Error> {
        if self.refills_left == 0 {
            self.seed()?;
        }
        self.refills_left -= 1;
        let mut stream = chacha20::four_blocks(&self.key, 0);
        let (next_key, output) = stream.split_at(4 * KEY_WORDS);
        for (word, bytes) in self.key.iter_mut().zip(next_key.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        self.buffer.copy_from_slice(output);
        self.available = BUFFER as u32;
        // The stack copy goes too (best effort: nothing obliges the
        // compiler to keep a dead store, `black_box` asks it to).
        stream.fill(0);
        std::hint::black_box(&mut stream);
        Ok(())
    }

    /// A new key from the OS.
    fn seed(&mut self) -> Result<(), getrandom::Error> {
        let mut seed = [0u8; 4 * KEY_WORDS];
        getrandom::fill(&mut seed)?;
        for (word, bytes) in self.key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        // The seed is the key: no copy stays on the stack (best effort, as
        // for a refill's stream).
        seed.fill(0);
        std::hint::black_box(&mut seed);
        self.refills_left = REFILLS_PER_SEED;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keystream(key: &[u32; KEY_WORDS], blocks: u32) -> Vec<u8> {
        (0..blocks)
            .flat_map(|counter| chacha20::block(key, counter, [0; 3]))
            .flat_map(u32::to_le_bytes)
            .collect()
    }

    fn seeded() -> State {
        let mut state = State::zeroed();
        state.seed().unwrap();
        state
    }

    #[test]
    fn a_refill_replaces_the_key_before_output() {
        let mut state = seeded();
        let key = state.key;
        let mut out = [0u8; 32];
        state.fill(&mut out).unwrap();
        let stream = keystream(&key, chacha20::BLOCKS as u32);
        let next_key: Vec<u8> = state.key.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(next_key[..], stream[..32], "next key = the first 32 bytes");
        assert_eq!(out[..], stream[32..64], "then the output");
        assert_eq!(state.available as usize, BUFFER - 32);
        assert!(
            state.buffer[..32].iter().all(|&b| b == 0),
            "handed-out bytes are erased"
        );
    }

    #[test]
    fn draws_run_through_the_buffer_and_across_refills() {
        let mut state = seeded();
        let key = state.key;
        let mut out = vec![0u8; BUFFER + 100];
        let (first, second) = out.split_at_mut(40);
        state.fill(first).unwrap();
        state.fill(second).unwrap();
        let stream = keystream(&key, chacha20::BLOCKS as u32);
        assert_eq!(out[..BUFFER], stream[32..]);
        let next: [u32; KEY_WORDS] = std::array::from_fn(|i| {
            u32::from_le_bytes(stream[4 * i..4 * i + 4].try_into().unwrap())
        });
        let stream = keystream(&next, chacha20::BLOCKS as u32);
        assert_eq!(
            out[BUFFER..],
            stream[32..132],
            "the next key's output follows"
        );
        assert!(state.buffer[..100].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_zeroed_state_seeds_itself_and_reseeds_on_schedule() {
        let mut state = State::zeroed();
        let mut out = [0u8; BUFFER];
        state.fill(&mut out).unwrap();
        assert_ne!(state.key, [0; KEY_WORDS]);
        assert_eq!(state.refills_left, REFILLS_PER_SEED - 1);
        for _ in 1..REFILLS_PER_SEED {
            state.fill(&mut out).unwrap();
        }
        assert_eq!((state.refills_left, state.available), (0, 0));
        state.fill(&mut out[..1]).unwrap();
        assert_eq!(state.refills_left, REFILLS_PER_SEED - 1, "a fresh seed");
    }

    #[test]
    fn fill_gives_distinct_values_of_any_length() {
        let mut seen = std::collections::HashSet::new();
        for len in [1, 16, 31, 32, 33, 64, 95, 96, 97, BUFFER, BUFFER + 1, 4096] {
            let mut a = vec![0u8; len];
            let mut b = vec![0u8; len];
            fill(&mut a).unwrap();
            fill(&mut b).unwrap();
            if len >= 16 {
                assert_ne!(a, b, "{len} bytes");
                assert!(seen.insert(a), "{len} bytes repeated");
            }
        }
    }

    #[test]
    fn each_thread_has_its_own_state() {
        let mut mine = [0u8; 32];
        fill(&mut mine).unwrap();
        let theirs = std::thread::spawn(|| {
            let mut out = [0u8; 32];
            fill(&mut out).unwrap();
            out
        })
        .join()
        .unwrap();
        assert_ne!(mine, theirs);
        assert!(per_thread::with(|_| ()).is_ok());
    }
}
