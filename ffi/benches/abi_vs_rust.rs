//! A client-credentials token request through the C ABI and through the
//! Rust API, side by side: median nanoseconds per request.
//!
//! ```sh
//! cargo bench -p oauth2-provider-ffi --bench abi_vs_rust
//! ```
//!
//! The ABI side is a C program (`benches/c/bench_client_credentials.c`)
//! linked against the release `liboauth2_provider.a`, with the C in-memory
//! validator of the C tests; the Rust side is the same request through
//! `Server::token_response` over `MemoryValidator`. Both run batches of
//! requests and report the median batch's time per request. Both stores
//! keep every issued token, as a real one would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use provider::header::basic_header_value;
use provider::memory::{MemoryClient, MemoryValidator};
use provider::{Request, Server};

const BATCHES: usize = 200;
const PER_BATCH: usize = 100;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the release static library and the C benchmark; returns the
/// benchmark's path.
fn build_c_bench() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let target_dir = profile_dir.parent().expect("target directory");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "oauth2-provider-ffi", "--lib", "--release"])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(repo())
        .status()
        .expect("run cargo build --release");
    assert!(
        status.success(),
        "building the release static library failed"
    );
    let out = target_dir.join("release/bench_client_credentials");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(cc)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-I")
        .arg(repo().join("ffi/tests/c"))
        .arg(repo().join("ffi/benches/c/bench_client_credentials.c"))
        .arg(repo().join("ffi/tests/c/memstore.c"))
        .arg(target_dir.join("release/liboauth2_provider.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .output()
        .expect("run the C compiler");
    assert!(
        output.status.success(),
        "compiling the C benchmark failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// The same request through the Rust API; returns the median ns/op.
fn rust_median_ns() -> f64 {
    let validator = MemoryValidator::new();
    validator.add_client(
        MemoryClient::confidential("svc", "s3cret", [])
            .grants(["client_credentials"])
            .scopes(["read"])
            .default_scopes(["read"]),
    );
    let server = Server::builder(validator)
        .issuer("https://as.example")
        .build()
        .expect("a valid configuration");
    let auth = basic_header_value("svc", "s3cret");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let body = b"grant_type=client_credentials&scope=read";
    let mut samples = Vec::with_capacity(BATCHES);
    for batch in 0..BATCHES + 5 {
        let start = Instant::now();
        for _ in 0..PER_BATCH {
            let response = server.token_response(&Request::new("POST", "/token", &headers, body));
            assert_eq!(response.status, 200);
            std::hint::black_box(response);
        }
        if batch >= 5 {
            samples.push(start.elapsed().as_nanos() as f64 / PER_BATCH as f64);
        }
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, where a release build and a benchmark would only
    // cost time.
    if !std::env::args().any(|a| a == "--bench") {
        println!("abi_vs_rust: run with `cargo bench -p oauth2-provider-ffi --bench abi_vs_rust`");
        return;
    }
    let c_bench = build_c_bench();
    let output = Command::new(&c_bench)
        .args([BATCHES.to_string(), PER_BATCH.to_string()])
        .output()
        .expect("run the C benchmark");
    let abi_line = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(output.status.success(), "C benchmark failed: {abi_line}");
    let abi_ns: f64 = abi_line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("median_ns_per_op="))
        .and_then(|n| n.parse().ok())
        .expect("the C benchmark's median");
    let rust_ns = rust_median_ns();
    println!("client_credentials token request, median of {BATCHES} batches of {PER_BATCH}:");
    println!("  C ABI (C validator):          {abi_ns:>8.0} ns/op");
    println!("  Rust API (MemoryValidator):   {rust_ns:>8.0} ns/op");
    println!("  ratio ABI / Rust:             {:>8.2}", abi_ns / rust_ns);
}
