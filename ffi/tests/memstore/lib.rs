//! `memstore.c` (`ffi/tests/c/`), the C test store, compiled by this
//! crate's build script into a static library and linked into whatever
//! test names this crate: the ffi crate's own unit tests, which run the
//! conformance kit on it through the callback table
//! (`ffi/src/validator/conformance.rs`, where its functions are declared
//! beside the table's types).
//!
//! A crate of its own, and a dev-dependency, so that only test builds
//! compile C: `liboauth2_provider` itself has no build script. The store
//! calls the library's `oap_*` functions, which the test binary defines
//! (it is the ffi crate, built for tests).
