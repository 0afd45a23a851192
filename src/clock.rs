//! The wall clock, in whole seconds since the Unix epoch: all that expiry
//! needs. On Linux it is `CLOCK_REALTIME_COARSE`, the time of the kernel's
//! last tick (a few milliseconds behind at most), which the vDSO answers
//! from memory, where `SystemTime::now` reads the hardware clock, a cost a
//! bearer check would pay twice (the README gives the figures). Elsewhere,
//! `SystemTime`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, 0 if the clock is before it.
pub(crate) fn unix_seconds() -> u64 {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    if let Some(seconds) = coarse::realtime_seconds() {
        return seconds;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)]
mod coarse {
    #![deny(clippy::undocumented_unsafe_blocks)]
    use std::ffi::c_int;

    /// `CLOCK_REALTIME_COARSE` on every Linux architecture.
    const CLOCK_REALTIME_COARSE: c_int = 5;

    /// `struct timespec` on 64-bit Linux: two 64-bit fields.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    extern "C" {
        fn clock_gettime(clock: c_int, time: *mut Timespec) -> c_int;
    }

    /// The coarse clock's seconds, `None` if the kernel refuses the clock
    /// (before Linux 2.6.32) or it reads before the epoch.
    pub(super) fn realtime_seconds() -> Option<u64> {
        let mut time = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `time` is a valid, writable `struct timespec` for the
        // call; the clock id is a constant the kernel checks.
        let status = unsafe { clock_gettime(CLOCK_REALTIME_COARSE, &mut time) };
        if status != 0 {
            return None;
        }
        u64::try_from(time.tv_sec).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_system_clock() {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ours = unix_seconds();
        // The coarse clock lags by a tick at most: the same second, or the
        // one before when a second boundary fell in between.
        assert!(
            ours + 1 >= system && ours <= system + 1,
            "{ours} vs {system}"
        );
    }
}
