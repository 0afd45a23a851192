//! The Rust column of `benches/compare/run.sh`: the five side-by-side
//! operations through this library's Rust API and the in-memory validator,
//! timed the same way as the C driver (`c_driver.c`) and the oauthlib
//! driver (`oauthlib_bench.py`).
//!
//! Method (identical in all three drivers): for each operation, `ROUNDS`
//! rounds of `BATCH` calls; a round's time divided by `BATCH` is one sample;
//! the figure printed is the median sample, in microseconds. Operations
//! that consume state (a code, a refresh token) get their inputs made before
//! the round starts, outside the timed region.
//!
//! Output: one line per operation, `rust<TAB>operation<TAB>median_us`.
//!
//! With `--store sqlite`, the same operations through the SQLite store
//! (`oauth2-provider-sqlite`) on a fresh temporary file, as every file
//! that store opens in WAL mode with `synchronous=NORMAL`; the file (and
//! its `-wal` and `-shm` companions) is deleted afterwards. Output lines
//! then start with `rust-sqlite`.
//!
//! Run: `cargo bench --bench compare` (options after `--`: `--rounds N`,
//! `--batch N`, `--only OPERATION`, `--store memory|sqlite`).

#[path = "../../tests/support/fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::time::Instant;

use std::path::PathBuf;

use oauth2_provider::{Request, RequestValidator, Server};

use fixture::{exchange_body, field, Fixture};

/// Median of `rounds` samples, each the mean time of `batch` calls of `op`
/// on inputs made by `setup` before the round (µs).
fn measure<I>(
    rounds: usize,
    batch: usize,
    mut setup: impl FnMut() -> I,
    mut op: impl FnMut(&I) -> bool,
) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
        let start = Instant::now();
        for input in &inputs {
            assert!(timed_call(&mut op, input), "operation failed");
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// One call of the measured operation. Never inlined, so that an
/// instruction count can take it alone:
/// `valgrind --tool=callgrind --toggle-collect='compare::timed_call*'`.
#[inline(never)]
fn timed_call<I>(op: &mut impl FnMut(&I) -> bool, input: &I) -> bool {
    black_box(op(black_box(input)))
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A database file in the temporary directory, deleted (with its WAL and
/// shared-memory files) when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("oap-compare-{}.db", std::process::id()));
        let file = TempFile(path);
        file.remove();
        file
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.remove();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = args
        .iter()
        .position(|a| a == "--store")
        .and_then(|i| args.get(i + 1))
        .map_or("memory", String::as_str);
    match store {
        "memory" => run(&Fixture::new(), "rust", &args),
        "sqlite" => {
            let file = TempFile::new();
            run(&Fixture::sqlite(&file.0), "rust-sqlite", &args);
        }
        other => panic!("unknown store {other:?}: memory or sqlite"),
    }
}

/// Measures the operations on `b` and prints them, each line starting
/// with `side`.
fn run<V: RequestValidator>(b: &Fixture<V>, side: &str, args: &[String]) {
    let rounds = arg(args, "--rounds", 31);
    let batch = arg(args, "--batch", 400);

    // Warm up every path once (and check it answers as expected).
    let warm = b.client_credentials();
    assert_eq!(warm.status, 200, "{}", warm.body_str());
    let access = field(&warm, "access_token");
    let bearer = format!("Bearer {access}");
    let introspect_body = format!("token={access}");

    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let want = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let mut results = Vec::new();
    if want("client_credentials") {
        let us = measure(
            rounds,
            batch,
            || (),
            |_| b.client_credentials().status == 200,
        );
        results.push(("client_credentials", us));
    }
    if want("auth_code_pkce") {
        let us = measure(
            rounds,
            batch,
            || exchange_body(&b.code()),
            |body| b.post(Server::token_response, body).status == 200,
        );
        results.push(("auth_code_pkce", us));
    }
    if want("refresh_rotation") {
        let us = measure(
            rounds,
            batch,
            || b.refresh_body(),
            |body| b.post(Server::token_response, body).status == 200,
        );
        results.push(("refresh_rotation", us));
    }
    if want("introspection") {
        let us = measure(
            rounds,
            batch,
            || (),
            |_| {
                let r = b.post_to(
                    Server::introspection_response,
                    "/introspect",
                    &introspect_body,
                );
                r.status == 200 && r.body.starts_with(b"{\"active\":true")
            },
        );
        results.push(("introspection", us));
    }
    if want("bearer_check") {
        let us = measure(
            rounds,
            batch,
            || (),
            |_| {
                let headers = [("Authorization", bearer.as_str())];
                b.server
                    .verify_bearer(&Request::new("GET", "/resource", &headers, b""), &["read"])
                    .is_ok()
            },
        );
        results.push(("bearer_check", us));
    }
    for (name, us) in results {
        println!("{side}\t{name}\t{us:.3}");
    }
}
