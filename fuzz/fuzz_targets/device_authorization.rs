#![no_main]
//! Fuzz target `device_authorization`: the invariants live in
//! `fuzz/targets.rs`, shared with the stable corpus replay test
//! (`tests/fuzz_corpus.rs`).

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::device_authorization(data));
