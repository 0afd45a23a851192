//! A bounded load and robustness test for the demo server
//! (`examples/demo_server.rs`), run by `e2e/run.sh`.
//!
//! ```text
//! cargo run --release --example demo_load -- --base http://127.0.0.1:PORT [--threads 8] [--requests 5000]
//! ```
//!
//! 1. **Load**: `--threads` clients, each on one keep-alive connection,
//!    send `--requests` requests each, cycling through every route
//!    (client credentials, introspection, the resource, metadata, the
//!    consent page, a 404, revocation and the revoked token's 401, the
//!    consent form's approval, the code exchange with PKCE, a refresh), and
//!    check every answer (status and content). Throughput and latency are
//!    measured and printed, never asserted.
//! 2. **Hostile clients**: while a well-behaved client keeps checking
//!    answers, others send malformed request lines and headers, oversized
//!    bodies and header sections, half-sent requests and nothing at all;
//!    each must get 400/408/413/431/501/505 or a silent close, and the
//!    well-behaved client must see no failure.
//!
//! Loopback only; every loop is bounded, and the run ends by itself (the
//! hostile phase waits for the server's 10 s request deadline once). Exits
//! non-zero on any failed or wrong response.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use oauth2_provider::form;
use oauth2_provider::header::basic_header_value;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self, name: &str) -> Option<&str> {
        let key = format!("\"{name}\":\"");
        let rest = &self.body[self.body.find(&key)? + key.len()..];
        Some(&rest[..rest.find('"')?])
    }

    fn location_param(&self, name: &str) -> Option<String> {
        let params = self.header("location")?.split_once('?')?.1;
        form::pairs(params.as_bytes())
            .filter_map(Result::ok)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Reads one response (`Content-Length` framing); `Ok(None)` when the
/// server closed before sending anything.
fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Reply>> {
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::other("response cut short"))
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(io::Error::other)?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(Ok(0), |(_, v)| v.parse())
        .map_err(io::Error::other)?;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::other("body cut short"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    buf.drain(..head_end + length);
    Ok(Some(Reply {
        status,
        headers,
        body,
    }))
}

/// A well-behaved client on one keep-alive connection (reconnecting when
/// the server closes it).
struct Client {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            host: addr.to_string(),
            stream: None,
            buf: Vec::new(),
        }
    }

    fn send(
        &mut self,
        method: &str,
        target: &str,
        auth: Option<&str>,
        body: &str,
    ) -> io::Result<Reply> {
        let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(auth) = auth {
            text.push_str(&format!("Authorization: {auth}\r\n"));
        }
        if method == "POST" {
            text.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        text.push_str("\r\n");
        text.push_str(body);
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.stream = Some(stream);
            self.buf.clear();
        }
        let stream = self.stream.as_mut().expect("connected");
        let result = stream
            .write_all(text.as_bytes())
            .and_then(|()| read_reply(stream, &mut self.buf))
            .and_then(|r| r.ok_or_else(|| io::Error::other("closed without a response")));
        match &result {
            Ok(r) if r.header("connection") != Some("close") => {}
            _ => self.stream = None,
        }
        result
    }
}

/// The mixed workload: one step of the cycle, checked.
struct Flow {
    token: Option<String>,
    revoked: Option<String>,
    code: Option<String>,
    refresh: Option<String>,
    base: String,
}

const STEPS: usize = 11;

impl Flow {
    fn new(base: &str) -> Self {
        Flow {
            token: None,
            revoked: None,
            code: None,
            refresh: None,
            base: base.to_owned(),
        }
    }

    fn authorize_query() -> String {
        format!("/authorize?response_type=code&client_id=public-client&scope=read&state=load&code_challenge={CHALLENGE}&code_challenge_method=S256")
    }

    /// Runs step `i % STEPS`; `Err` describes a wrong answer.
    fn step(&mut self, client: &mut Client, i: usize) -> Result<(), String> {
        let conf = basic_header_value("conf-client", "conf-secret");
        let rs = basic_header_value("rs-client", "rs-secret");
        let expect = |r: &Reply, status: u16, what: &str| {
            if r.status == status {
                Ok(())
            } else {
                Err(format!(
                    "{what}: status {} (expected {status}): {}",
                    r.status, r.body
                ))
            }
        };
        let io = |e: io::Error| format!("I/O: {e}");
        match i % STEPS {
            0 => {
                let r = client
                    .send(
                        "POST",
                        "/token",
                        Some(&conf),
                        "grant_type=client_credentials&scope=read",
                    )
                    .map_err(io)?;
                expect(&r, 200, "client credentials")?;
                if r.header("cache-control") != Some("no-store")
                    || r.json("token_type") != Some("Bearer")
                {
                    return Err(format!("client credentials: wrong response {}", r.body));
                }
                self.token = r.json("access_token").map(str::to_owned);
            }
            1 => {
                let token = self.token.clone().ok_or("no token")?;
                let r = client
                    .send("POST", "/introspect", Some(&rs), &format!("token={token}"))
                    .map_err(io)?;
                expect(&r, 200, "introspection")?;
                if !r.body.starts_with(r#"{"active":true"#)
                    || r.json("client_id") != Some("conf-client")
                {
                    return Err(format!("introspection: wrong response {}", r.body));
                }
            }
            2 => {
                let token = self.token.clone().ok_or("no token")?;
                let r = client
                    .send("GET", "/resource", Some(&format!("Bearer {token}")), "")
                    .map_err(io)?;
                expect(&r, 200, "resource")?;
                if r.body != r#"{"user":null,"client_id":"conf-client","scope":"read"}"# {
                    return Err(format!("resource: wrong body {}", r.body));
                }
            }
            3 => {
                let r = client
                    .send("GET", "/.well-known/oauth-authorization-server", None, "")
                    .map_err(io)?;
                expect(&r, 200, "metadata")?;
                if r.json("issuer") != Some(self.base.as_str()) {
                    return Err(format!("metadata: wrong issuer in {}", r.body));
                }
            }
            4 => {
                let r = client
                    .send("GET", &Self::authorize_query(), None, "")
                    .map_err(io)?;
                expect(&r, 200, "consent page")?;
                if !r.body.contains(r#"value="approve""#) {
                    return Err("consent page without the form".into());
                }
            }
            5 => {
                let r = client.send("GET", "/nowhere", None, "").map_err(io)?;
                expect(&r, 404, "unknown path")?;
            }
            6 => {
                let token = self.token.take().ok_or("no token")?;
                let r = client
                    .send("POST", "/revoke", Some(&conf), &format!("token={token}"))
                    .map_err(io)?;
                expect(&r, 200, "revocation")?;
                self.revoked = Some(token);
            }
            7 => {
                let token = self.revoked.take().ok_or("no revoked token")?;
                let r = client
                    .send("GET", "/resource", Some(&format!("Bearer {token}")), "")
                    .map_err(io)?;
                expect(&r, 401, "revoked token")?;
                if !r
                    .header("www-authenticate")
                    .unwrap_or("")
                    .contains("invalid_token")
                {
                    return Err("revoked token: no invalid_token challenge".into());
                }
            }
            8 => {
                let body = format!(
                    "response_type=code&client_id=public-client&scope=read&state=load&code_challenge={CHALLENGE}&code_challenge_method=S256&username=alice&password=wonderland&action=approve"
                );
                let r = client.send("POST", "/authorize", None, &body).map_err(io)?;
                expect(&r, 302, "consent approval")?;
                if r.location_param("state").as_deref() != Some("load") {
                    return Err("consent approval: state not echoed".into());
                }
                self.code = Some(r.location_param("code").ok_or("no code")?);
            }
            9 => {
                let code = self.code.take().ok_or("no code")?;
                let body = format!(
                    "grant_type=authorization_code&client_id=public-client&code={code}&code_verifier={VERIFIER}"
                );
                let r = client.send("POST", "/token", None, &body).map_err(io)?;
                expect(&r, 200, "code exchange")?;
                self.refresh = Some(
                    r.json("refresh_token")
                        .ok_or("no refresh token")?
                        .to_owned(),
                );
            }
            _ => {
                let refresh = self.refresh.take().ok_or("no refresh token")?;
                let body = format!(
                    "grant_type=refresh_token&client_id=public-client&refresh_token={refresh}"
                );
                let r = client.send("POST", "/token", None, &body).map_err(io)?;
                expect(&r, 200, "refresh")?;
                if r.json("refresh_token").is_none_or(|t| t == refresh) {
                    return Err("refresh: the refresh token was not rotated".into());
                }
            }
        }
        Ok(())
    }
}

struct Tally {
    ok: AtomicUsize,
    failed: AtomicUsize,
    messages: Mutex<Vec<String>>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            ok: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            messages: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, what: &str, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut messages = self.messages.lock().unwrap();
                if messages.len() < 20 {
                    messages.push(format!("{what}: {e}"));
                }
            }
        }
    }

    fn report(&self, name: &str) -> bool {
        let ok = self.ok.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        for m in self.messages.lock().unwrap().iter() {
            println!("  FAIL {m}");
        }
        println!("{name}: {ok} passed, {failed} failed");
        failed == 0
    }
}

fn load(addr: SocketAddr, base: &str, threads: usize, requests: usize) -> bool {
    let tally = Arc::new(Tally::new());
    let started = Instant::now();
    let latencies: Vec<Vec<u32>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let tally = Arc::clone(&tally);
                scope.spawn(move || {
                    let mut client = Client::new(addr);
                    let mut flow = Flow::new(base);
                    let mut latencies = Vec::with_capacity(requests);
                    for i in 0..requests {
                        let sent = Instant::now();
                        let result = flow.step(&mut client, i);
                        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        if result.is_err() {
                            // Start the cycle's state afresh.
                            flow = Flow::new(base);
                        }
                        tally.record(&format!("thread {t} request {i}"), result);
                    }
                    latencies
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut all: Vec<u32> = latencies.into_iter().flatten().collect();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    let total = threads * requests;
    println!(
        "load: {total} requests ({threads} threads x {requests}, keep-alive, {STEPS}-step mix) in {:.2} s: {:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    tally.report("load")
}

/// Sends `bytes` on a new connection and returns what came back before
/// the server closed (bounded by `wait`).
fn hostile_exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(wait))?;
    // The server may answer and close before reading everything.
    let _ = stream.write_all(bytes);
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !out.is_empty() => {
                return Ok(out)
            }
            Err(e) => return Err(e),
        }
    }
}

/// Checks that the reply is exactly one response with one of `statuses`
/// (an empty list: a silent close), then the close.
fn check_hostile(reply: io::Result<Vec<u8>>, statuses: &[u16]) -> Result<(), String> {
    let bytes = reply.map_err(|e| format!("connection not closed cleanly: {e}"))?;
    if statuses.is_empty() {
        return if bytes.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "expected a silent close, got {:?}",
                String::from_utf8_lossy(&bytes)
            ))
        };
    }
    let text = String::from_utf8_lossy(&bytes);
    let status: Option<u16> = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok());
    match status {
        Some(s) if statuses.contains(&s) && text.contains("\r\nConnection: close\r\n") => Ok(()),
        _ => Err(format!(
            "expected {statuses:?} and a close, got {:?}",
            text.lines().next().unwrap_or("")
        )),
    }
}

fn hostile(addr: SocketAddr, base: &str) -> bool {
    let good = Tally::new();
    let bad = Tally::new();
    let done = AtomicBool::new(false);
    let host = format!("Host: {addr}\r\n");
    let long_wait = Duration::from_secs(30);
    let mut cases: Vec<(String, Vec<u8>, Vec<u16>)> = Vec::new();
    let mut case = |name: &str, bytes: Vec<u8>, statuses: &[u16]| {
        cases.push((name.to_owned(), bytes, statuses.to_vec()));
    };
    for (name, line) in [
        ("no target", "GET\r\n"),
        ("no version", "GET /token\r\n"),
        ("double space", "GET  /token HTTP/1.1\r\n"),
        ("relative target", "GET token HTTP/1.1\r\n"),
        ("bad method", "G{T / HTTP/1.1\r\n"),
        ("bad version", "GET / HTTQ/1.1\r\n"),
        ("asterisk", "OPTIONS * HTTP/1.1\r\n"),
    ] {
        case(name, format!("{line}{host}\r\n").into_bytes(), &[400]);
    }
    case(
        "HTTP/2 preface",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        &[400],
    );
    case(
        "HTTP/3.0",
        format!("GET / HTTP/3.0\r\n{host}\r\n").into_bytes(),
        &[505],
    );
    case(
        "header without colon",
        format!("GET / HTTP/1.1\r\n{host}Broken\r\n\r\n").into_bytes(),
        &[400],
    );
    case(
        "folded header",
        format!("GET / HTTP/1.1\r\n{host}X: a\r\n b\r\n\r\n").into_bytes(),
        &[400],
    );
    case(
        "NUL in header",
        format!("GET / HTTP/1.1\r\n{host}X: a\0b\r\n\r\n").into_bytes(),
        &[400],
    );
    case("no Host", b"GET / HTTP/1.1\r\n\r\n".to_vec(), &[400]);
    case(
        "bad Content-Length",
        format!("POST /token HTTP/1.1\r\n{host}Content-Length: -5\r\n\r\n").into_bytes(),
        &[400],
    );
    case(
        "chunked",
        format!("POST /token HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            .into_bytes(),
        &[501],
    );
    let mut big_body = format!("POST /token HTTP/1.1\r\n{host}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 102400\r\n\r\n").into_bytes();
    big_body.extend(std::iter::repeat_n(b'a', 102_400));
    case("100 KiB body", big_body, &[413]);
    case(
        "huge Content-Length",
        format!("POST /token HTTP/1.1\r\n{host}Content-Length: 18446744073709551616\r\n\r\n")
            .into_bytes(),
        &[413],
    );
    case(
        "16 KiB header",
        format!(
            "GET / HTTP/1.1\r\n{host}X-Big: {}\r\n\r\n",
            "x".repeat(16384)
        )
        .into_bytes(),
        &[431],
    );
    case(
        "16 KiB target",
        format!("GET /{} HTTP/1.1\r\n{host}\r\n", "p".repeat(16384)).into_bytes(),
        &[431],
    );
    let many: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
    case(
        "200 headers",
        format!("GET / HTTP/1.1\r\n{host}{many}\r\n").into_bytes(),
        &[431],
    );
    // Pseudo-random binary (xorshift), with no blank line in it: refused
    // as a malformed method from its first byte (400), or as an oversized
    // header section by a server that looks for the blank line first (431).
    let mut x: u32 = 0x9e37_79b9;
    let garbage: Vec<u8> = (0..9000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as u8) | 0x80
        })
        .collect();
    case("9000 bytes of binary", garbage, &[400, 431]);
    case(
        "half-sent header section",
        format!("GET /resource HTTP/1.1\r\n{host}").into_bytes(),
        &[408],
    );
    case(
        "half-sent body",
        format!("POST /token HTTP/1.1\r\n{host}Content-Length: 100\r\n\r\ngrant").into_bytes(),
        &[408],
    );
    case("half-sent request line", b"GET /reso".to_vec(), &[408]);
    case("never sends", Vec::new(), &[]);
    case("never sends (2)", Vec::new(), &[]);

    let started = Instant::now();
    thread::scope(|scope| {
        // The well-behaved client, until the hostile ones are done.
        scope.spawn(|| {
            let mut client = Client::new(addr);
            let mut flow = Flow::new(base);
            let mut i = 0;
            while !done.load(Ordering::Relaxed) && i < 200_000 {
                let result = flow.step(&mut client, i);
                if result.is_err() {
                    flow = Flow::new(base);
                }
                good.record(&format!("well-behaved request {i}"), result);
                i += 1;
                if i % STEPS == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
            }
        });
        scope.spawn(|| {
            thread::scope(|inner| {
                for (name, bytes, statuses) in &cases {
                    let bad = &bad;
                    inner.spawn(move || {
                        let reply = hostile_exchange(addr, bytes, long_wait);
                        bad.record(name, check_hostile(reply, statuses));
                    });
                }
                // Clients that connect and vanish, or reset mid-request.
                for i in 0..50 {
                    if let Ok(stream) = TcpStream::connect(addr) {
                        if i % 2 == 0 {
                            let _ = (&stream)
                                .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Le");
                        }
                        let _ = stream.shutdown(Shutdown::Both);
                    }
                }
            });
            done.store(true, Ordering::Relaxed);
        });
    });
    println!("hostile phase: {:.1} s", started.elapsed().as_secs_f64());
    let hostile_ok = bad.report("hostile clients answered as expected");
    let good_ok = good.report("well-behaved client during the hostile phase");
    // And afterwards.
    let after = Tally::new();
    let mut client = Client::new(addr);
    let mut flow = Flow::new(base);
    for i in 0..STEPS * 3 {
        after.record(&format!("after request {i}"), flow.step(&mut client, i));
    }
    let after_ok = after.report("well-behaved client after the hostile phase");
    hostile_ok && good_ok && after_ok
}

fn main() -> ExitCode {
    let mut base = None;
    let mut threads = 8;
    let mut requests = 5000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--base", Some(v)) => base = Some(v),
            ("--threads", Some(v)) => threads = v.parse().expect("--threads N"),
            ("--requests", Some(v)) => requests = v.parse().expect("--requests N"),
            _ => {
                eprintln!(
                    "usage: demo_load --base http://127.0.0.1:PORT [--threads N] [--requests N]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(base) = base else {
        eprintln!("demo_load: --base is required");
        return ExitCode::from(2);
    };
    let authority = base.strip_prefix("http://").unwrap_or(&base);
    let addr = match authority.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) if addr.ip().is_loopback() => addr,
        _ => {
            eprintln!("demo_load: {base} is not a loopback address");
            return ExitCode::from(2);
        }
    };
    let loaded = load(addr, &base, threads.max(1), requests.max(STEPS));
    let survived = hostile(addr, &base);
    if loaded && survived {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
