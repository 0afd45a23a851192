//! The demo's routes over the library's [`Server`], its HTML pages, and
//! the blocking serving loop (an accept thread, a poller that holds the
//! connections waiting for a request, and a fixed pool of workers).
//!
//! Every OAuth decision is the library's; this file only maps HTTP to it.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use oauth2_provider::form::{self, Param, Params};
use oauth2_provider::response::write_json_string;
use oauth2_provider::{
    AuthorizationError, AuthorizationRequest, ConfigError, Grant, OAuthError, ProtectedResource,
    Request, Response, ResponseType, Server,
};

use super::device;
use super::http::{Connection, Framing, HttpRequest, Limits, Progress, ReadError, CLOSE};
use super::realm::Realm;
use super::storage::Store;

/// How the server runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads; each answers one request at a time.
    pub workers: usize,
    /// Open connections at most; beyond, the poller closes one to make
    /// room (see `serve`). Keep it under the process's limit on open
    /// files (`ulimit -n`): past that limit accepting fails first, and no
    /// room is made.
    pub max_connections: usize,
    /// How long a worker waits for the next request on a kept connection
    /// when no one else is waiting, before handing it to the poller.
    pub linger: Duration,
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
            max_connections: 1024,
            linger: Duration::from_millis(2),
            limits: Limits::default(),
            log: true,
            purge_every: Duration::from_secs(60),
        }
    }
}

/// The demo application: the library's server over the realm's store.
pub struct App<S> {
    server: Server<S>,
    /// `/resource`, the demo's protected resource (RFC 9728).
    resource: ProtectedResource,
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

/// Where `/resource`'s metadata is (RFC 9728 §3.1).
const RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource/resource";

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

impl<S: Store> App<S> {
    /// The server over `store`, which holds `realm`, with issuer `issuer`
    /// (`http://HOST:PORT`), or why it cannot be one (an `http` issuer
    /// must be on a loopback host: the demo speaks plain HTTP, fit for
    /// this machine only).
    pub fn new(
        realm: &Realm,
        store: S,
        issuer: &str,
        default_realm: bool,
    ) -> Result<Self, ConfigError> {
        // Tokens asked for no resource in particular still open it (the
        // demo's clients that send no `resource` keep working); a token
        // restricted to other resources does not (RFC 8707).
        let resource = ProtectedResource::new(&format!("{issuer}/resource"))?
            .scopes_supported(realm.scopes.iter().map(String::as_str))
            .resource_name("The demo's protected resource")
            .accept_unrestricted_tokens(true);
        let server = Server::builder(store)
            .issuer(issuer)
            .enable(Grant::Implicit)
            .enable(Grant::Password)
            .enable(Grant::DeviceCode)
            .device_verification_uri(format!("{issuer}/device"))
            .scopes_supported(realm.scopes.iter().map(String::as_str))
            .protected_resources([resource.resource()])
            .build()?;
        Ok(App {
            server,
            resource,
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
            ("/par", "POST") => s.pushed_authorization_response(&request),
            ("/device_authorization", "POST") => s.device_authorization_response(&request),
            ("/device", "GET") => device::get(&request, self.default_realm),
            ("/device", "POST") => device::post(s, &request, self.default_realm),
            ("/device", _) => method_not_allowed("GET, POST"),
            ("/revoke", "POST") => s.revocation_response(&request),
            ("/introspect", "POST") => s.introspection_response(&request),
            ("/token" | "/par" | "/device_authorization" | "/revoke" | "/introspect", _) => {
                method_not_allowed("POST")
            }
            ("/resource", "GET") => self.resource(&request),
            ("/.well-known/oauth-authorization-server", "GET") => s.metadata_response(),
            (RESOURCE_METADATA, "GET") => s.protected_resource_metadata_response(&self.resource),
            ("/resource" | "/.well-known/oauth-authorization-server" | RESOURCE_METADATA, _) => {
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
        let action = form_value(request.body(), "action");
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
        match self.server.verify_bearer_at(request, &self.resource, &[]) {
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
        pending: &AuthorizationRequest<S::Client>,
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
        // A pushed request (RFC 9126 §4) travels as its reference alone:
        // client_id and request_uri; the library ignores anything else.
        let pushed = params.contains(Param::RequestUri);
        let carried: &[Param] = if pushed {
            &[Param::ClientId, Param::RequestUri]
        } else {
            &CARRIED
        };
        let carried = carried
            .iter()
            .filter_map(|&param| params.get(param).map(|value| (param, value)));
        // `resource` may repeat (RFC 8707): every value is carried.
        let resources = params
            .resources()
            .filter(|_| !pushed)
            .map(|value| (Param::Resource, value));
        for (param, value) in carried.chain(resources) {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                param.name(),
                escape(value)
            ));
        }
        let mut audience = String::new();
        for resource in pending.audience.iter() {
            audience.push_str(&format!("<li><code>{}</code></li>", escape(resource)));
        }
        if !audience.is_empty() {
            audience = format!("<p>For use at:</p>\n<ul class=\"scopes\">{audience}</ul>\n");
        }
        let grant = match pending.response_type {
            ResponseType::Code => "",
            ResponseType::Token => {
                "<p class=\"note\">The access token goes straight to the application (implicit grant).</p>"
            }
        };
        let error = error_banner(error);
        let hint = demo_hint(self.default_realm);
        let body = format!(
            r#"<p class="issuer">{issuer}</p>
<h1><code>{client}</code> wants to access your account</h1>
<p>It asks permission to:</p>
<ul class="scopes">{scopes}</ul>
{audience}{grant}<p class="redirect">You will then be sent back to <code>{redirect}</code></p>
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
        html_page(status, &format!("Authorize {client}"), &body)
    }
}

pub const STYLE: &str = "\
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
        r#"<h1>This authorization request cannot be processed</h1>
<p class="error" role="alert"><code>{code}</code> {description}</p>
<p class="note">The application that sent you here could not be verified, so you are not being sent back to it.</p>
"#,
        code = escape(error.code().as_str()),
        description = escape(error.description()),
    );
    html_page(400, "Authorization request rejected", &body)
}

/// An HTML page in the demo's shell: its `title` (HTML: the caller
/// escapes what it takes from a request) and what goes in `<main>`.
pub fn html_page(status: u16, title: &str, main: &str) -> Response {
    html(
        status,
        format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
{main}</main>
</body>
</html>
"#
        ),
    )
}

/// A form's error line (escaped), or nothing.
pub fn error_banner(error: Option<&str>) -> String {
    error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default()
}

/// The demo accounts, shown under a login form when the server runs the
/// default realm.
pub fn demo_hint(default_realm: bool) -> &'static str {
    if default_realm {
        "<p class=\"hint\">Demo accounts: <code>alice</code> / <code>wonderland</code>, <code>bob</code> / <code>builder</code></p>"
    } else {
        ""
    }
}

/// An HTML response that no one caches or frames.
pub fn html(status: u16, body: String) -> Response {
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

/// The value of field `name` in a form-encoded `form`, empty when absent
/// or repeated.
pub fn form_value<'a>(form: &'a [u8], name: &str) -> Cow<'a, str> {
    let mut values = form::pairs(form)
        .filter_map(Result::ok)
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v);
    match (values.next(), values.next()) {
        (Some(v), None) => v,
        _ => Cow::Borrowed(""),
    }
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

// ---------------------------------------------------------------------
// Serving: an accept loop, one poller, a fixed pool of workers.
//
// A worker holds a connection only while a complete request is answered:
// reading is the poller's. Every connection that is not being answered —
// new, idle between keep-alive requests, or sending a request slowly — is
// parked with the poller, which reads what has come on each without
// blocking and hands a request to the workers once it is complete (or
// wrong, or late). Idle and slow clients then cost a socket and a buffer
// each, never a worker, so a few dozen of them cannot starve anyone as
// they could when each held a worker until its timeout.
//
// Why a poller that sweeps rather than waits: std has no readiness API
// (poll, epoll), and this demo takes no dependency and no `unsafe` for
// one. A sweep is one non-blocking read per parked connection; its period
// grows with their number (`SWEEP_PER_CONNECTION`, between `SWEEP_MIN` and
// `SWEEP_MAX`), so sweeping costs about 2% of a core however many are
// parked (measured with the release build: 2.5% with 72 parked, 2.2%
// with 1000, nothing with none), and a parked client waits at most
// `SWEEP_MAX` for its request to be seen. A connection the poller receives (a new one, or one
// a worker hands back) is read at once, without waiting for the next
// sweep. Clients that send their next request right after a response (a
// load test, a browser) are kept by their worker for up to `linger` when
// no one else is waiting, so they do not pay the poller's period.
//
// Over `max_connections`, the poller closes a parked connection to make
// room: a draining one first, else the one that has waited longest for a
// request to complete, idle (closed silently) or slow (answered 503). A
// new connection has waited least, so it is the last to go: slow or idle
// clients can fill the server, never keep a new one out.

/// The shortest and longest period of the poller's sweep.
const SWEEP_MIN: Duration = Duration::from_millis(1);
const SWEEP_MAX: Duration = Duration::from_millis(50);
/// The sweep's period per parked connection: a non-blocking read that
/// finds nothing costs about a microsecond, so sweeps take about 2% of a
/// core.
const SWEEP_PER_CONNECTION: Duration = Duration::from_micros(50);

/// A connection to a client, counted while it lives.
struct Client {
    conn: Connection,
    peer: SocketAddr,
    _live: Live,
}

/// One of the open connections (`serve`'s count).
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::Relaxed);
        Live(Arc::clone(count))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Work for a worker: a complete request to answer, or an error to send.
struct Job {
    client: Client,
    read: Result<HttpRequest, (u16, &'static str)>,
}

/// The workers' queue.
#[derive(Default)]
struct Jobs {
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

impl Jobs {
    fn push(&self, job: Job) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(job);
        self.ready.notify_one();
    }

    fn pop(&self) -> Job {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(job) = queue.pop_front() {
                return job;
            }
            queue = self
                .ready
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// Serves `listener` forever: one accept loop (this thread), one poller
/// thread, `workers` threads. Returns only if accepting fails for good.
pub fn serve<S: Store>(
    listener: TcpListener,
    app: Arc<App<S>>,
    options: Options,
) -> io::Result<()> {
    let jobs = Arc::new(Jobs::default());
    let (park, parked) = mpsc::channel::<Client>();
    let live = Arc::new(AtomicUsize::new(0));
    for i in 0..options.workers.max(1) {
        let (jobs, park, app) = (Arc::clone(&jobs), park.clone(), Arc::clone(&app));
        thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker(&jobs, &park, &app, &options))?;
    }
    {
        let (jobs, live) = (Arc::clone(&jobs), Arc::clone(&live));
        thread::Builder::new()
            .name("poller".to_owned())
            .spawn(move || poller(&parked, &jobs, &live, &options))?;
    }
    let janitor = Arc::clone(&app);
    thread::Builder::new()
        .name("purge".to_owned())
        .spawn(move || loop {
            thread::sleep(options.purge_every.max(Duration::from_secs(1)));
            janitor
                .server
                .validator()
                .purge_expired(janitor.server.now());
        })?;
    for accepted in listener.incoming() {
        match accepted {
            Ok(stream) => {
                let Ok(peer) = stream.peer_addr() else {
                    continue;
                };
                let Ok(conn) = Connection::new(stream, options.limits) else {
                    continue;
                };
                let client = Client {
                    conn,
                    peer,
                    _live: Live::new(&live),
                };
                if park.send(client).is_err() {
                    return Err(io::Error::other("the poller has stopped"));
                }
            }
            // Out of file descriptors and the like: do not spin.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    Ok(())
}

/// Reads what has come on one parked connection: `Some` to keep it parked.
fn poll_one(mut client: Client, now: Instant, jobs: &Jobs) -> Option<Client> {
    // A bug must cost one connection, never the poller.
    let progress = catch_unwind(AssertUnwindSafe(|| client.conn.read_available(now)))
        .unwrap_or(Progress::Failed(ReadError::Closed));
    match progress {
        Progress::Pending => return Some(client),
        Progress::Ready(request) => jobs.push(Job {
            client,
            read: Ok(request),
        }),
        Progress::Failed(ReadError::Reject(status, why)) => jobs.push(Job {
            client,
            read: Err((status, why)),
        }),
        Progress::Failed(ReadError::Closed) => {}
    }
    None
}

/// The poller: holds every connection not being answered (see above).
fn poller(incoming: &Receiver<Client>, jobs: &Jobs, live: &AtomicUsize, options: &Options) {
    let mut parked: Vec<Client> = Vec::new();
    let mut next_sweep = Instant::now();
    loop {
        let first = if parked.is_empty() {
            // Nothing to sweep: sleep until a connection comes.
            match incoming.recv() {
                Ok(client) => Some(client),
                Err(_) => return,
            }
        } else {
            let wait = next_sweep.saturating_duration_since(Instant::now());
            match incoming.recv_timeout(wait) {
                Ok(client) => Some(client),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        let now = Instant::now();
        for client in first.into_iter().chain(incoming.try_iter()) {
            parked.extend(poll_one(client, now, jobs));
        }
        if now >= next_sweep {
            parked = parked
                .into_iter()
                .filter_map(|client| poll_one(client, now, jobs))
                .collect();
            let period = SWEEP_PER_CONNECTION.saturating_mul(parked.len() as u32);
            next_sweep = now + period.clamp(SWEEP_MIN, SWEEP_MAX);
        }
        // Over the cap: make room, cheapest loss first.
        let excess = live
            .load(Ordering::Relaxed)
            .saturating_sub(options.max_connections.max(1));
        for _ in 0..excess {
            let victim = parked.iter().enumerate().min_by_key(|(_, c)| {
                let conn = &c.conn;
                let waiting = conn.idle_since().or(conn.request_started());
                (!conn.draining(), waiting.unwrap_or(now))
            });
            let Some((i, _)) = victim else {
                break;
            };
            let client = parked.swap_remove(i);
            if client.conn.request_started().is_some() {
                // Answered here, without waiting, so that the place is
                // free at once (a worker's lingering close would keep it).
                let started = Instant::now();
                let why = "too many connections: the slowest request is dropped";
                let body = format!("503 {}: {why}\n", super::http::reason(503));
                let headers = [("Content-Type", TEXT), ("Retry-After", "1")];
                client.conn.abort(503, &headers, body.as_bytes());
                if options.log {
                    log_line(client.peer, &format!("- ({why})"), 503, body.len(), started);
                }
            }
        }
    }
}

fn worker<S: Store>(jobs: &Jobs, park: &Sender<Client>, app: &App<S>, options: &Options) {
    loop {
        let Job { client, read } = jobs.pop();
        let peer = client.peer;
        // A bug must cost one connection, never a worker.
        match catch_unwind(AssertUnwindSafe(|| {
            serve_client(app, client, read, jobs, options)
        })) {
            Ok(Some(client)) => {
                let _ = park.send(client);
            }
            Ok(None) => {}
            Err(_) => {
                if options.log {
                    log_line(peer, "- (internal error)", 500, 0, Instant::now());
                }
            }
        }
    }
}

/// Answers a request, then the next ones already there (pipelined, or
/// sent within `linger` while no one else waits); returns the connection
/// to park, if it stays open.
fn serve_client<S: Store>(
    app: &App<S>,
    mut client: Client,
    mut read: Result<HttpRequest, (u16, &'static str)>,
    jobs: &Jobs,
    options: &Options,
) -> Option<Client> {
    loop {
        let request = match read {
            Ok(request) => request,
            Err((status, why)) => {
                let started = Instant::now();
                let body = format!("{status} {}: {why}\n", super::http::reason(status));
                let headers = [("Content-Type", TEXT)];
                let conn = &mut client.conn;
                let _ = conn.write_response(status, &headers, body.as_bytes(), CLOSE);
                if options.log {
                    log_line(
                        client.peer,
                        &format!("- ({why})"),
                        status,
                        body.len(),
                        started,
                    );
                }
                conn.finish();
                return Some(client);
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
        let conn = &mut client.conn;
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
            log_line(
                client.peer,
                &what,
                response.status,
                response.body.len(),
                started,
            );
        }
        if written.is_err() {
            return None;
        }
        if close || response.status == 500 {
            conn.finish();
            return Some(client);
        }
        // The next request: answered here if it is already complete, or
        // completes within `linger`, and no one else is waiting.
        let mut lingered = false;
        read = loop {
            if !jobs.is_empty() {
                return Some(client);
            }
            match client.conn.read_available(Instant::now()) {
                Progress::Ready(request) => break Ok(request),
                Progress::Failed(ReadError::Reject(status, why)) => break Err((status, why)),
                Progress::Failed(ReadError::Closed) => return None,
                Progress::Pending if lingered => return Some(client),
                Progress::Pending => {
                    lingered = true;
                    if !client.conn.wait_readable(options.linger) {
                        return Some(client);
                    }
                }
            }
        };
    }
}
