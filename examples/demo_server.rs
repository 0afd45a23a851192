//! # The demo authorization server
//!
//! A complete OAuth 2.0 authorization server and resource server built only
//! on this library and `std::net`: blocking I/O, an accept thread, a
//! poller thread and a fixed pool of 16 worker threads, no async, no HTTP
//! framework (requests are parsed by `httparse`). Every
//! OAuth decision is the library's [`Server`](oauth2_provider::Server)'s;
//! this example only maps HTTP to it. The contract is `shared/DEMO_SERVER.md`.
//!
//! ```text
//! cargo run --release --example demo_server [-- --addr HOST:PORT] [--realm FILE]
//!                                             [--db FILE | --postgres CONNINFO | --memory]
//! ```
//!
//! - `--addr HOST:PORT` — where to listen (default `127.0.0.1:8080`; port
//!   `0` picks a free one). The issuer is `http://HOST:PORT`, with the port
//!   actually bound.
//! - `--realm FILE` — clients and users to load instead of the default realm
//!   (`examples/demo_realm.txt`, embedded in the binary).
//! - `--db FILE` — the SQLite file that keeps clients, users, codes, tokens
//!   and grants (default `oauth2-demo.sqlite3` in the working directory).
//!   A restart loses nothing, and several servers may share one file. The
//!   realm is loaded into it at every start (clients registered afresh,
//!   passwords set); what was issued stays.
//! - `--postgres CONNINFO` — keep them in the PostgreSQL database
//!   `CONNINFO` names (`"host=… dbname=… user=…"` or a `postgresql://`
//!   URL) instead. Several servers on several ports or machines over one
//!   database act as one: a code redeemed on one is used on all, a
//!   revocation on one is seen by the next request on any other. While the
//!   database is unreachable requests get 500; service resumes by itself
//!   when it is back.
//! - `--memory` — keep everything in the library's `MemoryValidator`
//!   instead: gone when the server stops.
//!
//! The first line on standard output is `listening on http://HOST:PORT`
//! (scripts read the address from it); a few ready-to-paste `curl` lines
//! follow. Each request is logged on standard error as one line: peer,
//! method, path (never the query), status, body size, time taken. No
//! secret, token or code is ever logged.
//!
//! ## Routes
//!
//! | route | what |
//! |---|---|
//! | `GET /authorize` | validates the request; login + consent page (400 page for an untrusted client or redirect URI, a redirect for other errors) |
//! | `POST /authorize` | the consent form: `username`, `password`, `action=approve\|deny` and the original parameters |
//! | `POST /token` | every enabled grant (RFC 6749 §5) |
//! | `POST /revoke` | RFC 7009 |
//! | `POST /introspect` | RFC 7662 |
//! | `GET /resource` | a protected resource: `{"user":…,"client_id":…,"scope":…}`; a token with an audience (RFC 8707) must name `http://HOST:PORT/resource`; a refusal's challenge carries `resource_metadata` (RFC 9728 §5.1) |
//! | `GET /.well-known/oauth-authorization-server` | RFC 8414 metadata |
//! | `GET /.well-known/oauth-protected-resource/resource` | RFC 9728 metadata of `/resource` |
//!
//! Any other path is 404; another method on a known path is 405 with `Allow`.
//!
//! ## HTTP
//!
//! HTTP/1.1 (and 1.0) with keep-alive and pipelining; bodies by
//! `Content-Length` only (`Transfer-Encoding` gets 501); `Expect:
//! 100-continue` honoured. Every line of the request line and header
//! section ends in CRLF (a bare LF is 400). Limits: a header section over
//! 8 KiB or with more than 64 fields → 431; a body over 64 KiB → 413; a
//! malformed request line or header, or an HTTP/1.1 request without
//! exactly one `Host` → 400; a header section not complete within 10 s of
//! its first byte, or a body within 10 s of its header section → 408 (whole
//! deadlines: a byte now and then does not extend them). A connection on
//! which no request starts within 5 s (new, or after a kept-alive one) is
//! closed. Each of these errors closes its connection and costs no one
//! else anything.
//!
//! A worker holds a connection only while it answers a complete request.
//! Until a request is complete, its connection waits with the poller,
//! which reads what comes without blocking: idle keep-alive clients and
//! slow senders cost a socket and a buffer each, never a worker. Beyond
//! 1024 open connections, the one that has waited longest for a request
//! to complete is closed to make room (a slow one with 503), so a new
//! client is served even then.
//!
//! ## Stopping
//!
//! Ctrl-C (SIGINT) or SIGTERM. The standard library has no signal API and
//! this example takes no dependency for one, so the default action of the
//! signal ends the process. For this server that *is* the clean stop: all
//! state (codes, tokens) is in memory by design, nothing is buffered for a
//! file, and the kernel closes every socket. A client in the middle of a
//! request sees its connection close, as with any server going away.
//!
//! ## The realm file
//!
//! Plain text, one entry per line. Blank lines and lines starting with `#`
//! are ignored. Fields are separated by spaces or tabs, so no value may
//! contain either.
//!
//! ```text
//! client CLIENT_ID [ATTRIBUTE ...]
//! user USERNAME PASSWORD
//! ```
//!
//! Client attributes, in any order:
//!
//! | attribute | meaning |
//! |---|---|
//! | `secret=SECRET` | a confidential client with this secret |
//! | `secret-sha256=HEX` | a confidential client whose secret is stored as its SHA-256 digest (64 hex digits) |
//! | `redirect=URI` | a registered redirect URI (repeat for several; exact match) |
//! | `grants=G1,G2,…` | allowed grants: `authorization_code`, `implicit`, `password`, `client_credentials`, `refresh_token`, `urn:ietf:params:oauth:grant-type:device_code`; required: a client line without it is a load error |
//! | `scopes=S1,S2,…` | scopes the client may have (default: none; a request naming a scope is then `invalid_scope`) |
//! | `default-scopes=S1,…` | granted when a request names no scope, each among `scopes=` (default: none) |
//! | `resources=R1,R2,…` | the resources (RFC 8707) it may ask tokens for: absolute URIs without fragment, or `own` for this server's `http://HOST:PORT/resource` (default: none; a request naming one is then `invalid_target`) |
//! | `introspect` | may call `/introspect` (confidential clients only) |
//! | `pkce` | requires PKCE although confidential (public clients always need it, S256 only) |
//!
//! A client with neither secret is public. Every mistake (unknown entry or
//! attribute, a client or user defined twice, a malformed scope, an unknown
//! grant) stops the server at start-up with the line number. The default
//! realm, `examples/demo_realm.txt`:
//!
//! ```text
//! client conf-client secret=conf-secret redirect=https://client.example.com/cb redirect=https://client.example.com/cb2 grants=authorization_code,refresh_token,client_credentials,password scopes=read,write default-scopes=read resources=own,https://api.example.com/
//! client public-client redirect=http://127.0.0.1:9999/callback grants=authorization_code,refresh_token,implicit scopes=read default-scopes=read resources=own
//! client rs-client secret=rs-secret grants=client_credentials introspect
//! client device-client grants=urn:ietf:params:oauth:grant-type:device_code,refresh_token scopes=read default-scopes=read resources=own
//! user alice wonderland
//! user bob builder
//! ```
//!
//! Access tokens live 3600 s, authorization codes 600 s, device codes
//! 600 s (polled at most every 5 s), pushed requests 60 s, refresh tokens
//! until used (rotated on every use). The realm's clients and users are
//! loaded into the store at start, which also keeps the codes and tokens.

#[path = "demo_server/app.rs"]
mod app;
#[path = "demo_server/device.rs"]
mod device;
#[path = "demo_server/http.rs"]
mod http;
#[path = "demo_server/realm.rs"]
mod realm;
#[path = "demo_server/storage.rs"]
mod storage;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

/// The RFC 7636 appendix B verifier and its S256 challenge, for the
/// printed browser example.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const USAGE: &str =
    "usage: demo_server [--addr HOST:PORT] [--realm FILE] [--db FILE | --postgres CONNINFO | --memory]";

/// The SQLite file used unless `--db` or `--memory` says otherwise.
const DEFAULT_DB: &str = "oauth2-demo.sqlite3";

struct Args {
    addr: String,
    realm: Option<String>,
    storage: Storage,
}

/// Where the state is kept.
enum Storage {
    /// An SQLite file.
    Sqlite(String),
    /// A PostgreSQL database (its connection string).
    Postgres(String),
    /// In memory.
    Memory,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:8080".into(),
        realm: None,
        storage: Storage::Sqlite(DEFAULT_DB.into()),
    };
    let mut given = 0;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--addr" => parsed.addr = value()?,
            "--realm" => parsed.realm = Some(value()?),
            "--db" => {
                parsed.storage = Storage::Sqlite(value()?);
                given += 1;
            }
            "--postgres" => {
                parsed.storage = Storage::Postgres(value()?);
                given += 1;
            }
            "--memory" if inline.is_none() => {
                parsed.storage = Storage::Memory;
                given += 1;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if given > 1 {
        return Err("give one of --db FILE, --postgres CONNINFO, --memory".into());
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("demo_server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (text, default_realm) = match &args.realm {
        None => (realm::DEFAULT_REALM.to_owned(), true),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => (text, false),
            Err(e) => {
                eprintln!("demo_server: cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let realm = match realm::parse(&text) {
        Ok(realm) => realm,
        Err(e) => {
            let name = args.realm.as_deref().unwrap_or("default realm");
            eprintln!("demo_server: {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&args.addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("demo_server: cannot listen on {}: {e}", args.addr);
            return ExitCode::from(1);
        }
    };
    let port = listener.local_addr().map_or(0, |a| a.port());
    // The host as given (a name stays a name), with the port actually bound.
    let host = args.addr.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
    let base = format!("http://{host}:{port}");
    // The realm's own resource is this server's: known once it is bound.
    let realm = realm.with_own_resource(&format!("{base}/resource"));
    // The store before the address is printed: it is printed only once
    // the server can serve.
    let store = match &args.storage {
        Storage::Memory => Opened::Memory(Box::new(realm.memory())),
        Storage::Sqlite(path) => match storage::open_sqlite(path, &realm) {
            Ok(store) => Opened::Sqlite(Box::new(store), path),
            Err(e) => {
                eprintln!("demo_server: {path}: {e}");
                return ExitCode::from(1);
            }
        },
        // The connection string is not printed: it may hold a password.
        Storage::Postgres(conninfo) => match storage::open_postgres(conninfo, &realm) {
            Ok(store) => Opened::Postgres(store),
            Err(e) => {
                eprintln!("demo_server: PostgreSQL: {e}");
                return ExitCode::from(1);
            }
        },
    };
    println!("listening on {base}");
    if default_realm {
        println!(
            r#"
Try (client credentials, then the protected resource):
  curl -s -u conf-client:conf-secret -d grant_type=client_credentials -d scope=read {base}/token
  TOKEN=$(curl -s -u conf-client:conf-secret -d grant_type=client_credentials -d scope=read {base}/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -s -H "Authorization: Bearer $TOKEN" {base}/resource
Authorization code + PKCE in a browser (log in as alice / wonderland):
  {base}/authorize?response_type=code&client_id=public-client&scope=read&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256
then exchange the code shown in the address bar (http://127.0.0.1:9999/callback?code=...):
  curl -s -d grant_type=authorization_code -d client_id=public-client -d code=CODE -d code_verifier={VERIFIER} {base}/token
"#
        );
    } else {
        println!(
            "realm: {} ({} clients, {} users)",
            args.realm.as_deref().unwrap_or(""),
            realm.clients.len(),
            realm.users.len()
        );
    }
    match store {
        Opened::Memory(store) => {
            println!("storage: in memory (lost when the server stops)");
            serve_on(listener, &realm, *store, &base, default_realm)
        }
        Opened::Sqlite(store, path) => {
            println!("storage: SQLite file {path}");
            serve_on(listener, &realm, *store, &base, default_realm)
        }
        Opened::Postgres(store) => {
            println!("storage: PostgreSQL");
            serve_on(listener, &realm, store, &base, default_realm)
        }
    }
}

/// The store the server runs on, opened and holding the realm.
enum Opened<'a> {
    Memory(Box<oauth2_provider::memory::MemoryValidator>),
    Sqlite(Box<oauth2_provider_sqlite::SqliteStore>, &'a str),
    Postgres(oauth2_provider_postgres::PostgresStore),
}

/// Serves the realm from `store` until accepting fails for good.
fn serve_on<S: storage::Store>(
    listener: TcpListener,
    realm: &realm::Realm,
    store: S,
    base: &str,
    default_realm: bool,
) -> ExitCode {
    let app = match app::App::new(realm, store, base, default_realm) {
        Ok(app) => Arc::new(app),
        Err(e) => {
            eprintln!("demo_server: issuer {base}: {e}");
            return ExitCode::from(2);
        }
    };
    match app::serve(listener, app, app::Options::default()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo_server: {e}");
            ExitCode::from(1)
        }
    }
}
