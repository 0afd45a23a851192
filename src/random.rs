//! The random bytes behind every token, code and grant id.
//!
//! A system call per token is most of a token request's cost (`getrandom(2)`
//! of 32 bytes takes about 0.4 µs on a shared VM, where the rest of a client
//! credentials request takes about 1.4 µs), so each thread keeps a ChaCha20
//! key seeded from the operating system and draws from it, with fast key
//! erasure as the Linux kernel's and OpenBSD's generators do: every draw's
//! first 32 bytes of keystream replace the key before any byte is handed
//! out, so the state never reveals what it produced before. The key is
//! reseeded from the OS every [`DRAWS_PER_SEED`] draws.
//!
//! The key lives in memory that a forked child sees as zeros
//! ([`wipe_on_fork`]), so a child never repeats its parent's tokens: nginx
//! forks its workers after loading modules. Where such memory is not
//! available (other systems, or Linux before 4.14), no state is kept and
//! every draw asks the OS.

mod chacha20;
#[cfg(fork_wiping_memory)]
mod wipe_on_fork;

use chacha20::KEY_WORDS;

/// Draws between two seeds from the OS: a bound on how long one seed
/// serves (one system call per 256 tokens costs about 1.5 ns a token).
pub(crate) const DRAWS_PER_SEED: u32 = 256;

/// The most bytes one draw makes from the key; longer requests go to the
/// OS (the crate asks for at most a few tokens at once).
const MAX_DRAW: usize = 1024;

/// Fills `dest` with random bytes. Fails only when the OS cannot supply a
/// seed.
pub(crate) fn fill(dest: &mut [u8]) -> Result<(), getrandom::Error> {
    #[cfg(fork_wiping_memory)]
    if dest.len() <= MAX_DRAW {
        if let Ok(Some(result)) = thread_state::with(|state| state.draw(dest)) {
            return result;
        }
    }
    getrandom::fill(dest)
}

/// One thread's generator state, `#[repr(C)]` integers only, so that the
/// all-zero state a forked child finds is a valid one: no draws left,
/// which forces a seed before anything is drawn.
#[repr(C)]
#[derive(Default)]
struct State {
    key: [u32; KEY_WORDS],
    draws_left: u32,
}

// SAFETY: `State` is `#[repr(C)]`, nine `u32`s, no padding.
#[cfg(fork_wiping_memory)]
#[allow(unsafe_code)]
unsafe impl wipe_on_fork::ZeroValid for State {}

impl State {
    /// Fills `dest` (at most [`MAX_DRAW`] bytes) from the key, replacing
    /// the key first.
    fn draw(&mut self, dest: &mut [u8]) -> Result<(), getrandom::Error> {
        debug_assert!(dest.len() <= MAX_DRAW);
        if self.draws_left == 0 {
            self.seed()?;
        }
        self.draws_left -= 1;
        let key = self.key;
        // Block 0's first half is the next key, its second half the first
        // output; blocks 1, 2, … follow. A key makes one draw only, so the
        // counter always starts at 0 and the nonce can stay zero.
        let first = chacha20::block(&key, 0, [0; 3]);
        self.key.copy_from_slice(&first[..KEY_WORDS]);
        let (head, rest) = dest.split_at_mut(dest.len().min(32));
        copy_words(&first[KEY_WORDS..], head);
        for (counter, chunk) in (1..).zip(rest.chunks_mut(64)) {
            copy_words(&chacha20::block(&key, counter, [0; 3]), chunk);
        }
        Ok(())
    }

    /// A new key from the OS.
    fn seed(&mut self) -> Result<(), getrandom::Error> {
        let mut seed = [0u8; 4 * KEY_WORDS];
        getrandom::fill(&mut seed)?;
        for (word, bytes) in self.key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        self.draws_left = DRAWS_PER_SEED;
        Ok(())
    }
}

/// Writes `words` as little-endian bytes (ChaCha20's serialization) into
/// `out`, as many as fit.
fn copy_words(words: &[u32], out: &mut [u8]) {
    for (chunk, word) in out.chunks_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
    }
}

#[cfg(fork_wiping_memory)]
mod thread_state {
    use std::cell::RefCell;

    use super::wipe_on_fork::WipeOnFork;
    use super::State;

    thread_local! {
        /// Mapped on a thread's first draw, unmapped when the thread ends.
        static STATE: RefCell<Option<WipeOnFork<State>>> = RefCell::new(WipeOnFork::new());
    }

    /// Runs `f` on this thread's state: `Ok(None)` when there is none
    /// (the kernel cannot wipe on fork), `Err` when the thread is being torn
    /// down or the state is already borrowed; the caller then asks the OS.
    pub(super) fn with<R>(f: impl FnOnce(&mut State) -> R) -> Result<Option<R>, ()> {
        STATE
            .try_with(|cell| {
                let mut slot = cell.try_borrow_mut().map_err(|_| ())?;
                Ok(slot.as_mut().map(|page| f(page.get_mut())))
            })
            .map_err(|_| ())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> State {
        let mut state = State::default();
        state.seed().unwrap();
        state
    }

    #[test]
    fn a_draw_replaces_the_key_before_output() {
        let mut state = seeded();
        let key = state.key;
        let mut out = [0u8; 32];
        state.draw(&mut out).unwrap();
        let block = chacha20::block(&key, 0, [0; 3]);
        assert_eq!(
            state.key[..],
            block[..KEY_WORDS],
            "next key = block 0, first half"
        );
        let mut expected = [0u8; 32];
        copy_words(&block[KEY_WORDS..], &mut expected);
        assert_eq!(out, expected, "output = block 0, second half");
        assert_ne!(state.key, key);
    }

    #[test]
    fn long_draws_continue_with_the_next_blocks() {
        let mut state = seeded();
        let key = state.key;
        let mut out = [0u8; 32 + 64 + 5];
        state.draw(&mut out).unwrap();
        let mut expected = Vec::new();
        let block0 = chacha20::block(&key, 0, [0; 3]);
        expected.extend(block0[KEY_WORDS..].iter().flat_map(|w| w.to_le_bytes()));
        for counter in 1..=2 {
            let block = chacha20::block(&key, counter, [0; 3]);
            expected.extend(block.iter().flat_map(|w| w.to_le_bytes()));
        }
        assert_eq!(out[..], expected[..out.len()]);
    }

    #[test]
    fn a_zeroed_state_seeds_itself_and_reseeds_on_schedule() {
        let mut state = State::default();
        let mut out = [0u8; 32];
        state.draw(&mut out).unwrap();
        assert_ne!(state.key, [0; KEY_WORDS]);
        assert_eq!(state.draws_left, DRAWS_PER_SEED - 1);
        for _ in 1..DRAWS_PER_SEED {
            state.draw(&mut out).unwrap();
        }
        assert_eq!(state.draws_left, 0);
        state.draw(&mut out).unwrap();
        assert_eq!(state.draws_left, DRAWS_PER_SEED - 1, "a fresh seed");
    }

    #[test]
    fn fill_gives_distinct_values_of_any_length() {
        let mut seen = std::collections::HashSet::new();
        for len in [1, 16, 31, 32, 33, 64, 95, 96, 97, MAX_DRAW, MAX_DRAW + 1] {
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

    #[cfg(fork_wiping_memory)]
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
        assert_eq!(
            thread_state::with(|_| ()),
            Ok(Some(())),
            "the state is mapped"
        );
    }
}
