//! A constant-rate load generator for the demo server's tail latency, run
//! by `benches/latency.sh`.
//!
//! ```text
//! cargo run --release --example latency_load -- --addr 127.0.0.1:PORT \
//!     [--rate 5000] [--seconds 30] [--connections 8]
//! ```
//!
//! `--connections` keep-alive connections send client-credentials token
//! requests (HTTP Basic, `conf-client:conf-secret`) on a fixed schedule,
//! `--rate` a second in all: request `i` of connection `c` is due at
//! `(i * connections + c) / rate` seconds after the start, whatever came
//! before it. Each request's latency is measured from the time it was
//! due, not from when it was sent, so a stall that holds up the requests
//! queued behind it counts for each of them (no coordinated omission, as
//! wrk2 does it). Every successful request stores one new access token,
//! so the server's token table grows by `rate` entries a second.
//!
//! Prints one line of `key=value`: the latency percentiles (p50, p99,
//! p99.9, max, in milliseconds), the requests answered 200 (the tokens
//! stored), the failures, the rate achieved, and how late requests were
//! sent (`send_lag_p99_ms`: the generator's own scheduling, or a previous
//! response on the same connection still awaited).
//! Exits non-zero on any failure.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

const REQUEST_BODY: &str = "grant_type=client_credentials&scope=read";

struct Options {
    addr: SocketAddr,
    rate: f64,
    seconds: f64,
    connections: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut addr = None;
    let (mut rate, mut seconds, mut connections) = (5000.0, 30.0, 8);
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let value = args.next().ok_or(format!("{name} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{name} {value}: {e}");
        match name.as_str() {
            "--addr" => {
                addr = value
                    .to_socket_addrs()
                    .map_err(|e| bad(&e))?
                    .next()
                    .map(Some)
                    .ok_or(format!("{value}: no address"))?;
            }
            "--rate" => rate = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => seconds = value.parse().map_err(|e| bad(&e))?,
            "--connections" => connections = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown option {name}")),
        }
    }
    if !(rate > 0.0 && seconds > 0.0 && connections > 0) {
        return Err("--rate, --seconds and --connections must be positive".to_owned());
    }
    Ok(Options {
        addr: addr.ok_or("--addr is required")?,
        rate,
        seconds,
        connections,
    })
}

/// What one connection measured.
#[derive(Default)]
struct Measured {
    /// Due time to full response, nanoseconds, one per answered request.
    latency: Vec<u64>,
    /// Due time to the first byte written, nanoseconds.
    send_lag: Vec<u64>,
    failures: usize,
    first_failure: Option<String>,
}

/// Reads one response (`Content-Length` framing) into `buf`; its status.
fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..head_end]).map_err(io::Error::other)?;
            let status = head
                .get(9..12)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| io::Error::other("bad status line"))?;
            let length: usize = head
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(Ok(0), |(_, v)| v.trim().parse())
                .map_err(io::Error::other)?;
            if buf.len() >= head_end + 4 + length {
                if buf.len() > head_end + 4 + length {
                    return Err(io::Error::other("more bytes than one response"));
                }
                return Ok(status);
            }
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::other("connection closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Connection `index`'s share of the schedule.
fn run_connection(options: &Options, index: usize, start: Instant) -> Measured {
    let mut measured = Measured::default();
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic Y29uZi1jbGllbnQ6Y29uZi1zZWNyZXQ=\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
        options.addr,
        REQUEST_BODY.len(),
        REQUEST_BODY
    );
    let total = (options.rate * options.seconds) as usize;
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(4096);
    let mut n = index;
    while n < total {
        let due = start + Duration::from_secs_f64(n as f64 / options.rate);
        n += options.connections;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        let sent = Instant::now();
        let result = (|| {
            if stream.is_none() {
                let s = TcpStream::connect(options.addr)?;
                s.set_nodelay(true)?;
                stream = Some(s);
            }
            let s = stream.as_mut().expect("connected above");
            s.write_all(request.as_bytes())?;
            read_reply(s, &mut buf)
        })();
        let done = Instant::now();
        match result {
            Ok(200) if buf.windows(14).any(|w| w == b"\"access_token\"") => {
                measured.latency.push((done - due).as_nanos() as u64);
                measured.send_lag.push((sent - due).as_nanos() as u64);
            }
            other => {
                stream = None;
                measured.failures += 1;
                measured.first_failure.get_or_insert_with(|| match other {
                    Ok(status) => format!("status {status}"),
                    Err(e) => e.to_string(),
                });
            }
        }
    }
    measured
}

/// The `q` quantile of sorted `values`, in milliseconds.
fn quantile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1e6
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("latency_load: {e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now() + Duration::from_millis(100);
    let results: Vec<Measured> = thread::scope(|s| {
        let handles: Vec<_> = (0..options.connections)
            .map(|c| {
                let options = &options;
                s.spawn(move || run_connection(options, c, start))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a connection thread panicked"))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut latency: Vec<u64> = results.iter().flat_map(|m| m.latency.clone()).collect();
    let mut lag: Vec<u64> = results.iter().flat_map(|m| m.send_lag.clone()).collect();
    latency.sort_unstable();
    lag.sort_unstable();
    let failures: usize = results.iter().map(|m| m.failures).sum();
    println!(
        "p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} ok={} failures={} \
         rate={:.0} send_lag_p99_ms={:.3}",
        quantile_ms(&latency, 0.5),
        quantile_ms(&latency, 0.99),
        quantile_ms(&latency, 0.999),
        quantile_ms(&latency, 1.0),
        latency.len(),
        failures,
        latency.len() as f64 / elapsed,
        quantile_ms(&lag, 0.99),
    );
    if let Some(first) = results.iter().find_map(|m| m.first_failure.as_ref()) {
        eprintln!("latency_load: {failures} failed requests, the first: {first}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
