//! The demo's routes over the library's [`Server`], its HTML pages, and
//! the blocking serving loop (an accept thread and a fixed pool of workers).
//!
//! Every OAuth decision is the library's; this file only maps HTTP to it.

use std::borrow::Cow;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use oauth2_provider::form::{self, Param, Params};
use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::response::write_json_string;
use oauth2_provider::{
    AuthorizationError, AuthorizationRequest, ConfigError, Grant, OAuthError, Request, Response,
    ResponseType, Server,
};

use super::http::{Connection, Framing, HttpRequest, Limits, ReadError};
use super::realm::Realm;

/// How the server runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads; each serves one connection at a time.
    pub workers: usize,
    /// Accepted connections waiting for a worker; beyond this a new
    /// connection gets a 503 and is closed.
    pub queue: usize,
    /// Size limits and deadlines.
    pub limits: Limits,
    /// Whether to log one line per request on standard error.
    pub log: bool,
    /// How often expired codes and tokens are swept from memory, so that
    /// a long-running server does not keep every token it ever issued.
    pub purge_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: 16,
            queue: 128,
            limits: Limits::default(),
            log: true,
            purge_every: Duration::from_secs(60),
        }
    }
}

/// The demo application: the library's server over the realm.
pub struct App {
    server: Server<MemoryValidator>,
    /// Whether the realm is the default one (the consent page then shows
    /// the demo users).
    default_realm: bool,
}

/// The authorization request parameters the consent form carries along.
const CARRIED: [Param; 7] = [
    Param::ResponseType,
    Param::ClientId,
    Param::RedirectUri,
    Param::Scope,
    Param::State,
    Param::CodeChallenge,
    Param::CodeChallengeMethod,
];

/// A final response: the connection closes after it.
const CLOSE: Framing = Framing {
    close: true,
    http10: false,
    head: false,
};

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

impl App {
    /// The server for `realm`, with issuer `issuer` (`http://HOST:PORT`),
    /// or why it cannot be one (an `http` issuer must be on a loopback
    /// host: the demo speaks plain HTTP, fit for this machine only).
    pub fn new(realm: Realm, issuer: &str, default_realm: bool) -> Result<App, ConfigError> {
        let server = Server::builder(realm.validator)
            .issuer(issuer)
            .enable(Grant::Implicit)
            .enable(Grant::Password)
            .scopes_supported(realm.scopes.iter().map(String::as_str))
            .build()?;
        Ok(App {
            server,
            default_realm,
        })
    }

    /// Answers one request.
    pub fn handle(&self, http: &HttpRequest) -> Response {
        let headers = http.headers();
        let request = Request::new(http.method(), http.target(), &headers, &http.body);
        let s = &self.server;
        match (request.path(), request.method()) {
            ("/authorize", "GET") => self.authorize_get(&request),
            ("/authorize", "POST") => self.authorize_post(&request),
            ("/authorize", _) => method_not_allowed("GET, POST"),
            ("/token", "POST") => s.token_response(&request),
            ("/revoke", "POST") => s.revocation_response(&request),
            ("/introspect", "POST") => s.introspection_response(&request),
            ("/token" | "/revoke" | "/introspect", _) => method_not_allowed("POST"),
            ("/resource", "GET") => self.resource(&request),
            ("/.well-known/oauth-authorization-server", "GET") => s.metadata_response(),
            ("/resource" | "/.well-known/oauth-authorization-server", _) => {
                method_not_allowed("GET")
            }
            _ => plain(404, "404 Not Found\n"),
        }
    }

    /// `GET /authorize`: validate, then the login + consent page.
    fn authorize_get(&self, request: &Request<'_>) -> Response {
        match self.server.validate_authorization_request(request) {
            Ok(pending) => {
                let params =
                    Params::parse(request.query().unwrap_or("").as_bytes()).unwrap_or_default();
                self.consent_page(200, &pending, &params, "", None)
            }
            Err(e) => authorization_error(e),
        }
    }

    /// `POST /authorize`: the consent form's submission.
    fn authorize_post(&self, request: &Request<'_>) -> Response {
        let pending = match self.server.validate_authorization_request(request) {
            Ok(pending) => pending,
            Err(e) => return authorization_error(e),
        };
        // The parameters parsed once already (validation succeeded).
        let params = Params::parse(request.body()).unwrap_or_default();
        let mut actions = form::pairs(request.body())
            .filter_map(Result::ok)
            .filter(|(name, _)| name == "action")
            .map(|(_, value)| value);
        let action = match (actions.next(), actions.next()) {
            (Some(a), None) => a,
            _ => Cow::Borrowed(""),
        };
        let username = params.get(Param::Username).unwrap_or("");
        match &*action {
            "deny" => self.server.deny(&pending),
            "approve" => {
                let password = params.get(Param::Password).unwrap_or("");
                if self.server.validator().check_user(username, password) {
                    self.server.authorize(request, &pending, username, None)
                } else {
                    let error = "Wrong username or password.";
                    self.consent_page(401, &pending, &params, username, Some(error))
                }
            }
            _ => {
                let error = "Choose Approve or Deny.";
                self.consent_page(400, &pending, &params, username, Some(error))
            }
        }
    }

    /// `GET /resource`: a protected resource.
    fn resource(&self, request: &Request<'_>) -> Response {
        match self.server.verify_bearer(request, &[]) {
            Ok(info) => {
                let mut body = String::from("{\"user\":");
                match &info.username {
                    Some(user) => write_json_string(&mut body, user),
                    None => body.push_str("null"),
                }
                body.push_str(",\"client_id\":");
                write_json_string(&mut body, &info.client_id);
                body.push_str(",\"scope\":");
                write_json_string(&mut body, info.scopes.as_str());
                body.push('}');
                Response::json_no_store(200, body)
            }
            Err(denied) => denied,
        }
    }

    /// The login + consent page.
    fn consent_page(
        &self,
        status: u16,
        pending: &AuthorizationRequest<<MemoryValidator as oauth2_provider::ClientLookup>::Client>,
        params: &Params<'_>,
        username: &str,
        error: Option<&str>,
    ) -> Response {
        let client = escape(&pending.client_id);
        let mut scopes = String::new();
        for scope in pending.scopes.iter() {
            let what = match scope {
                "read" => "read your data",
                "write" => "change your data",
                _ => "",
            };
            scopes.push_str(&format!("<li><code>{}</code>", escape(scope)));
            if !what.is_empty() {
                scopes.push_str(&format!(" <span>{what}</span>"));
            }
            scopes.push_str("</li>");
        }
        if scopes.is_empty() {
            scopes.push_str("<li><span>no particular permission</span></li>");
        }
        let mut hidden = String::new();
        for param in CARRIED {
            if let Some(value) = params.get(param) {
                hidden.push_str(&format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    param.name(),
                    escape(value)
                ));
            }
        }
        let grant = match pending.response_type {
            ResponseType::Code => "",
            ResponseType::Token => {
                "<p class=\"note\">The access token goes straight to the application (implicit grant).</p>"
            }
        };
        let error = error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
            .unwrap_or_default();
        let hint = if self.default_realm {
            "<p class=\"hint\">Demo accounts: <code>alice</code> / <code>wonderland</code>, <code>bob</code> / <code>builder</code></p>"
        } else {
            ""
        };
        let body = format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {client}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<p class="issuer">{issuer}</p>
<h1><code>{client}</code> wants to access your account</h1>
<p>It asks permission to:</p>
<ul class="scopes">{scopes}</ul>
{grant}<p class="redirect">You will then be sent back to <code>{redirect}</code></p>
{error}<form method="post" action="/authorize">
{hidden}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{username}" required{focus_user}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{focus_password}>
<div class="actions">
<button type="submit" name="action" value="approve" class="approve">Approve</button>
<button type="submit" name="action" value="deny" class="deny" formnovalidate>Deny</button>
</div>
</form>
{hint}
</main>
</body>
</html>
"#,
            issuer = escape(self.server.issuer().unwrap_or("")),
            redirect = escape(&pending.redirect_uri),
            username = escape(username),
            focus_user = if username.is_empty() {
                " autofocus"
            } else {
                ""
            },
            focus_password = if username.is_empty() {
                ""
            } else {
                " autofocus"
            },
        );
        html(status, body)
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#f2f4f7;color:#1d2433;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{width:100%;max-width:26rem;margin:2rem 1rem;padding:2rem;background:#fff;border-radius:12px;\
box-shadow:0 1px 3px rgba(16,24,40,.1),0 8px 24px rgba(16,24,40,.08)}\
.issuer{margin:0 0 .5rem;color:#667085;font-size:.85rem}\
h1{margin:0 0 1rem;font-size:1.3rem;line-height:1.3}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em;background:#f2f4f7;\
padding:.05em .3em;border-radius:4px;overflow-wrap:anywhere}\
h1 code{background:none;padding:0}\
ul.scopes{margin:0 0 1rem;padding:0;list-style:none}\
ul.scopes li{padding:.5rem .75rem;border:1px solid #e4e7ec;border-radius:8px;margin-bottom:.4rem}\
ul.scopes span{color:#475467}\
.redirect,.note,.hint{color:#475467;font-size:.9rem}\
.error{margin:0 0 1rem;padding:.6rem .75rem;border-radius:8px;background:#fef3f2;color:#b42318;\
border:1px solid #fecdca}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600;font-size:.9rem}\
input{width:100%;padding:.55rem .7rem;font:inherit;border:1px solid #d0d5dd;border-radius:8px}\
input:focus{outline:2px solid #84adff;border-color:#84adff}\
.actions{display:flex;gap:.75rem;margin-top:1.25rem}\
button{flex:1;padding:.6rem 1rem;font:inherit;font-weight:600;border-radius:8px;cursor:pointer}\
.approve{background:#1570ef;color:#fff;border:1px solid #1570ef}\
.approve:hover{background:#175cd3}\
.deny{background:#fff;color:#344054;border:1px solid #d0d5dd}\
.deny:hover{background:#f9fafb}\
.hint{margin:1.25rem 0 0;padding-top:1rem;border-top:1px solid #e4e7ec}";

/// An authorization request that failed validation: a redirect to the
/// client, or — when the client or redirect URI cannot be trusted — a 400
/// page that never redirects.
fn authorization_error(error: AuthorizationError) -> Response {
    match error {
        AuthorizationError::Fatal(e) => error_page(&e),
        AuthorizationError::Redirect { response, .. } => response,
    }
}

fn error_page(error: &OAuthError) -> Response {
    let body = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorization request rejected</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>This authorization request cannot be processed</h1>
<p class="error" role="alert"><code>{code}</code> {description}</p>
<p class="note">The application that sent you here could not be verified, so you are not being sent back to it.</p>
</main>
</body>
</html>
"#,
        code = escape(error.code().as_str()),
        description = escape(error.description()),
    );
    html(400, body)
}

/// An HTML response that no one caches or frames.
fn html(status: u16, body: String) -> Response {
    let mut response = Response::new(status)
        .with_header("Content-Type", HTML)
        .with_header("Cache-Control", "no-store")
        .with_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        )
        .with_header("X-Frame-Options", "DENY")
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("X-Content-Type-Options", "nosniff");
    response.body = body.into_bytes();
    response
}

fn plain(status: u16, text: &str) -> Response {
    let mut response = Response::new(status).with_header("Content-Type", TEXT);
    response.body = text.as_bytes().to_vec();
    response
}

fn method_not_allowed(allow: &'static str) -> Response {
    plain(405, "405 Method Not Allowed\n").with_header("Allow", allow)
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One log line on standard error: never a query, header or body (they
/// carry secrets), only where, what and how it went.
fn log_line(peer: SocketAddr, what: &str, status: u16, bytes: usize, started: Instant) {
    use std::fmt::Write as _;
    let micros = started.elapsed().as_micros();
    // Formatted first, then written at once: standard error is unbuffered,
    // and formatting straight into it costs one write(2) per piece (about
    // twenty per line), more than the request itself.
    let mut line = String::with_capacity(96);
    let _ = writeln!(
        line,
        "{peer} {what} {status} {bytes}B {}.{:03}ms",
        micros / 1000,
        micros % 1000
    );
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Serves `listener` forever: one accept loop (this thread), `workers`
/// threads each serving one connection at a time. Returns only if
/// accepting fails for good.
pub fn serve(listener: TcpListener, app: Arc<App>, options: Options) -> io::Result<()> {
    let (queue, waiting) = mpsc::sync_channel::<(TcpStream, SocketAddr)>(options.queue);
    let waiting = Arc::new(Mutex::new(waiting));
    for i in 0..options.workers.max(1) {
        let waiting = Arc::clone(&waiting);
        let app = Arc::clone(&app);
        thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker(&waiting, &app, &options))?;
    }
    let janitor = Arc::clone(&app);
    thread::Builder::new()
        .name("purge".to_owned())
        .spawn(move || loop {
            thread::sleep(options.purge_every.max(Duration::from_secs(1)));
            janitor.server.validator().purge_expired();
        })?;
    for accepted in listener.incoming() {
        match accepted {
            Ok(stream) => {
                let Ok(peer) = stream.peer_addr() else {
                    continue;
                };
                match queue.try_send((stream, peer)) {
                    Ok(()) => {}
                    Err(TrySendError::Full((stream, peer))) => busy(stream, peer, &options),
                    Err(TrySendError::Disconnected(_)) => {
                        return Err(io::Error::other("every worker has stopped"))
                    }
                }
            }
            // Out of file descriptors and the like: do not spin.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    Ok(())
}

/// Every worker busy and the queue full: say so and close.
fn busy(stream: TcpStream, peer: SocketAddr, options: &Options) {
    let started = Instant::now();
    let mut limits = options.limits;
    limits.write_timeout = Duration::from_millis(200);
    if let Ok(mut conn) = Connection::new(stream, limits) {
        let body = b"503 Service Unavailable: all workers are busy\n";
        let headers = [("Content-Type", TEXT), ("Retry-After", "1")];
        let _ = conn.write_response(503, &headers, body, CLOSE);
        if options.log {
            log_line(peer, "- (server busy)", 503, body.len(), started);
        }
    }
}

fn worker(waiting: &Mutex<Receiver<(TcpStream, SocketAddr)>>, app: &App, options: &Options) {
    loop {
        let next = waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok((stream, peer)) = next else {
            return;
        };
        // A bug must cost one connection, never a worker.
        if catch_unwind(AssertUnwindSafe(|| {
            serve_connection(app, stream, peer, options)
        }))
        .is_err()
            && options.log
        {
            log_line(peer, "- (internal error)", 500, 0, Instant::now());
        }
    }
}

/// Serves one connection until it closes, fails, or times out.
fn serve_connection(app: &App, stream: TcpStream, peer: SocketAddr, options: &Options) {
    let Ok(mut conn) = Connection::new(stream, options.limits) else {
        return;
    };
    loop {
        let request = match conn.read_request() {
            Ok(request) => request,
            Err(ReadError::Closed) => return,
            Err(ReadError::Reject(status, why)) => {
                let started = Instant::now();
                let body = format!("{status} {}: {why}\n", super::http::reason(status));
                let headers = [("Content-Type", TEXT)];
                let _ = conn.write_response(status, &headers, body.as_bytes(), CLOSE);
                if options.log {
                    log_line(peer, &format!("- ({why})"), status, body.len(), started);
                }
                conn.close();
                return;
            }
        };
        let started = Instant::now();
        let mut response = app.handle(&request);
        let close = !request.keep_alive;
        let headers: Vec<(&str, &str)> = response
            .headers
            .iter()
            .map(|(name, value)| (*name, value.as_ref()))
            .collect();
        let framing = Framing {
            close,
            http10: request.http10,
            head: request.method() == "HEAD",
        };
        let mut written = conn.write_response(response.status, &headers, &response.body, framing);
        if matches!(&written, Err(e) if e.kind() == io::ErrorKind::InvalidData) {
            response = plain(500, "500 Internal Server Error\n");
            written = conn.write_response(
                500,
                &[("Content-Type", TEXT)],
                &response.body,
                Framing {
                    close: true,
                    ..framing
                },
            );
        }
        if options.log {
            let path = request.target().split(['?', '#']).next().unwrap_or("");
            let what = format!("{} {path}", request.method());
            log_line(peer, &what, response.status, response.body.len(), started);
        }
        if written.is_err() {
            return;
        }
        if close || response.status == 500 {
            conn.close();
            return;
        }
    }
}
