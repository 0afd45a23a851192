//! The panic boundary. Every exported function runs its body through
//! [`status`] or [`value`], so a Rust panic becomes `OAP_STATUS_PANIC` (or a
//! documented neutral value) instead of unwinding into C, which would abort
//! the host. The workspace builds with `panic = "unwind"`: with `abort`
//! nothing could be caught.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::oap_status;

/// Runs the body of a function that returns `oap_status`: `Ok(())` is
/// `OAP_STATUS_OK`, `Err(s)` is `s`, and a panic is `OAP_STATUS_PANIC`.
///
/// `AssertUnwindSafe`: a panic leaves nothing half-changed that C could see,
/// because out-parameters are written only after the work succeeded and
/// handles are immutable once created.
pub(crate) fn status(body: impl FnOnce() -> Result<(), oap_status>) -> oap_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => oap_status::Ok,
        Ok(Err(status)) => status,
        Err(_) => oap_status::Panic,
    }
}

/// Runs the body of an accessor that returns a value: a panic gives
/// `fallback` (the same neutral value a NULL argument gives).
pub(crate) fn value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_or_the_fallback() {
        // Silence the default hook's message for this expected panic.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        assert_eq!(status(|| panic!("boom")), oap_status::Panic);
        assert_eq!(value(7u32, || panic!("boom")), 7);
        std::panic::set_hook(hook);
        assert_eq!(status(|| Err(oap_status::NotFound)), oap_status::NotFound);
        assert_eq!(status(|| Ok(())), oap_status::Ok);
        assert_eq!(value(0u32, || 3), 3);
    }
}
