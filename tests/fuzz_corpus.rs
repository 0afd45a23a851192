//! Replays every committed fuzz seed (`fuzz/seeds/<target>/*`) through the
//! same entry functions the cargo-fuzz targets call, on stable Rust, so a
//! regression found once is caught by every `cargo test`.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::fs;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let data = fs::read(&path).expect("seed file");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "{target}: seed {} breaks an invariant",
            path.display()
        );
        count += 1;
    }
    assert!(count > 0, "{target}: no seeds in {}", dir.display());
}

#[test]
fn authorization_header_corpus() {
    replay("authorization_header", targets::authorization_header);
}

#[test]
fn form_corpus() {
    replay("form", targets::form);
}

#[test]
fn token_request_corpus() {
    replay("token_request", targets::token_request);
}

#[test]
fn authorization_request_corpus() {
    replay("authorization_request", targets::authorization_request);
}

#[test]
fn device_authorization_corpus() {
    replay("device_authorization", targets::device_authorization);
}
