//! End-to-end tests of the demo authorization server
//! (`examples/demo_server.rs`, contract in `shared/DEMO_SERVER.md`) over
//! real TCP.
//!
//! The example's modules are compiled into this test (`#[path]`), and the
//! server runs in-process on an ephemeral port with the default realm and
//! short timeouts, so the test needs no separately built binary. The tests
//! that load a server on purpose (idle, slow and busy clients, the
//! connection cap) start one of their own.
//! `e2e/run.sh` drives the real release binary.

#[allow(dead_code)]
#[path = "../examples/demo_server/app.rs"]
mod app;
#[allow(dead_code)]
#[path = "../examples/demo_server/device.rs"]
mod device;
#[allow(dead_code)]
#[path = "../examples/demo_server/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../examples/demo_server/realm.rs"]
mod realm;
#[allow(dead_code)]
#[path = "../examples/demo_server/storage.rs"]
mod storage;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use oauth2_provider::form;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CALLBACK: &str = "http://127.0.0.1:9999/callback";

/// The shared server: default realm, the default limits but short
/// deadlines (so the timeout cases finish quickly), no request log.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let mut options = app::Options {
            log: false,
            ..app::Options::default()
        };
        options.limits.header_timeout = Duration::from_millis(1500);
        options.limits.body_timeout = Duration::from_millis(1500);
        options.limits.idle_timeout = Duration::from_millis(1500);
        start(options)
    })
}

/// A server of its own for a test that loads it, so that its load and
/// its timing do not depend on the other tests: the default options,
/// no request log, and a 3 s idle timeout.
fn own_server() -> SocketAddr {
    let mut options = app::Options {
        log: false,
        ..app::Options::default()
    };
    options.limits.idle_timeout = Duration::from_secs(3);
    start(options)
}

fn start(options: app::Options) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let realm = realm::parse(realm::DEFAULT_REALM)
        .unwrap()
        .with_own_resource(&format!("http://{addr}/resource"));
    let store = realm.memory();
    let app = Arc::new(app::App::new(&realm, store, &format!("http://{addr}"), true).unwrap());
    thread::spawn(move || app::serve(listener, app, options));
    addr
}

fn base() -> String {
    format!("http://{}", server())
}

// ---------------------------------------------------------------------
// A small, strict HTTP client.

#[derive(Debug)]
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

    /// A string or number member of a flat JSON object.
    fn json(&self, name: &str) -> Option<String> {
        let key = format!("\"{name}\":");
        let rest = &self.body[self.body.find(&key)? + key.len()..];
        if let Some(s) = rest.strip_prefix('"') {
            Some(s[..s.find('"')?].to_owned())
        } else {
            Some(rest[..rest.find([',', '}'])?].to_owned())
        }
    }

    /// A parameter of the `Location` (query or fragment).
    fn location_param(&self, name: &str) -> Option<String> {
        let location = self.header("location")?;
        let params = location.split_once(['?', '#'])?.1;
        form::pairs(params.as_bytes())
            .filter_map(Result::ok)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }
}

fn connect() -> TcpStream {
    connect_to(server())
}

fn connect_to(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Reads one response; `None` when the server closed without one.
fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Reply> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => {
                assert!(buf.is_empty(), "truncated response: {buf:?}");
                return None;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "body cut short");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buf[head_end..head_end + length].to_vec()).unwrap();
    buf.drain(..head_end + length);
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// Sends raw bytes on a new connection and reads one response.
fn raw(bytes: &[u8]) -> Option<Reply> {
    let mut stream = connect();
    stream.write_all(bytes).unwrap();
    read_reply(&mut stream, &mut Vec::new())
}

/// Sends each raw request on its own connection: each must get a 400 and
/// the connection closed.
fn assert_each_is_400_and_closes(cases: &[&[u8]]) {
    for case in cases {
        let mut stream = connect();
        stream.write_all(case).unwrap();
        let r = read_reply(&mut stream, &mut Vec::new()).expect("a response");
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(case));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(closed(&mut stream));
    }
}

/// Whether the server closes `stream` (EOF or reset) without sending more.
fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", server());
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        text.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    raw(text.as_bytes()).expect("a response")
}

fn get(target: &str) -> Reply {
    request("GET", target, &[], "")
}

fn basic(id: &str, secret: &str) -> String {
    oauth2_provider::header::basic_header_value(id, secret)
}

fn post(path: &str, client: Option<(&str, &str)>, body: &str) -> Reply {
    match client {
        Some((id, secret)) => request("POST", path, &[("Authorization", &basic(id, secret))], body),
        None => request("POST", path, &[], body),
    }
}

fn bearer_get(path: &str, token: &str) -> Reply {
    request(
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    )
}

fn client_credentials_token() -> String {
    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        "grant_type=client_credentials&scope=read",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json("access_token").unwrap()
}

fn authorize_query(extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id=public-client&scope=read&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

/// The hidden fields of the consent form, form-encoded (in page order).
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for part in page.split("<input type=\"hidden\" ").skip(1) {
        let name = part
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value = part
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value = value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        fields.push((name.to_owned(), value));
    }
    fields
}

/// Submits the consent form shown by `page`.
fn submit_consent(page: &str, username: &str, password: &str, action: &str) -> Reply {
    let mut pairs = hidden_fields(page);
    pairs.push(("username".into(), username.into()));
    pairs.push(("password".into(), password.into()));
    pairs.push(("action".into(), action.into()));
    let body = form::encode_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    post("/authorize", None, &body)
}

/// Runs the code flow for public-client as alice; returns the code.
fn code_for_public_client() -> String {
    let page = get(&authorize_query(""));
    assert_eq!(page.status, 200, "{}", page.body);
    let r = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(r.status, 302, "{}", r.body);
    r.location_param("code").unwrap()
}

// ---------------------------------------------------------------------
// Routes: happy paths.

#[test]
fn metadata_describes_the_server() {
    let r = get("/.well-known/oauth-authorization-server");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    let base = base();
    assert_eq!(r.json("issuer"), Some(base.clone()));
    assert_eq!(
        r.json("authorization_endpoint"),
        Some(format!("{base}/authorize"))
    );
    assert_eq!(r.json("token_endpoint"), Some(format!("{base}/token")));
    assert_eq!(
        r.json("revocation_endpoint"),
        Some(format!("{base}/revoke"))
    );
    assert_eq!(
        r.json("introspection_endpoint"),
        Some(format!("{base}/introspect"))
    );
    assert!(
        r.body.contains(r#""scopes_supported":["read","write"]"#),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains(r#""response_types_supported":["code","token"]"#));
    assert!(r.body.contains(r#""grant_types_supported":["authorization_code","implicit","password","client_credentials","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]"#));
    assert_eq!(
        r.json("device_authorization_endpoint"),
        Some(format!("{base}/device_authorization"))
    );
    assert_eq!(
        r.json("pushed_authorization_request_endpoint"),
        Some(format!("{base}/par"))
    );
    assert!(r
        .body
        .contains(r#""code_challenge_methods_supported":["S256"]"#));
    assert!(r
        .body
        .contains(r#""authorization_response_iss_parameter_supported":true"#));
}

#[test]
fn client_credentials_by_basic_and_by_body() {
    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        "grant_type=client_credentials&scope=read",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.json("token_type").as_deref(), Some("Bearer"));
    assert_eq!(r.json("expires_in").as_deref(), Some("3600"));
    assert_eq!(r.json("scope").as_deref(), Some("read"));
    assert_eq!(r.json("refresh_token"), None);

    let r = post(
        "/token",
        None,
        "grant_type=client_credentials&client_id=conf-client&client_secret=conf-secret&scope=read+write",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json("scope").as_deref(), Some("read write"));
}

#[test]
fn token_endpoint_errors() {
    let r = post(
        "/token",
        Some(("conf-client", "wrong")),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json("error").as_deref(), Some("invalid_client"));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with(r#"Basic realm="oauth2""#));

    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        "grant_type=magic",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("unsupported_grant_type"));

    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        "grant_type=client_credentials&scope=admin",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("invalid_scope"));

    // Not a form body.
    let r = request(
        "POST",
        "/token",
        &[("Content-Type", "application/json")],
        "{}",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("invalid_request"));
}

#[test]
fn password_grant_for_the_confidential_client() {
    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        "grant_type=password&username=bob&password=builder&scope=write",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json("refresh_token").is_some());
    let me = bearer_get("/resource", &r.json("access_token").unwrap());
    assert_eq!(
        me.body,
        r#"{"user":"bob","client_id":"conf-client","scope":"write"}"#
    );

    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        "grant_type=password&username=bob&password=wrong",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("invalid_grant"));
}

#[test]
fn introspection() {
    let token = client_credentials_token();
    let rs = Some(("rs-client", "rs-secret"));
    let r = post("/introspect", rs, &format!("token={token}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json("active").as_deref(), Some("true"));
    assert_eq!(r.json("client_id").as_deref(), Some("conf-client"));
    assert_eq!(r.json("scope").as_deref(), Some("read"));
    assert_eq!(r.json("token_type").as_deref(), Some("Bearer"));

    let r = post("/introspect", rs, "token=no-such-token");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"active":false}"#);

    let r = post("/introspect", None, &format!("token={token}"));
    assert_eq!(r.status, 401);
    assert_eq!(r.json("error").as_deref(), Some("invalid_client"));
}

#[test]
fn resource_requires_a_valid_bearer_token() {
    let token = client_credentials_token();
    let r = bearer_get("/resource", &token);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        r#"{"user":null,"client_id":"conf-client","scope":"read"}"#
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let r = get("/resource");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="oauth2", resource_metadata="{}/.well-known/oauth-protected-resource/resource""#,
                base()
            )
            .as_str()
        )
    );
    assert_eq!(r.body, "");

    let r = bearer_get("/resource", "not-a-token");
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="oauth2", error="invalid_token""#),
        "{challenge}"
    );

    let r = request("GET", "/resource", &[("Authorization", "Bearer")], "");
    assert_eq!(r.status, 400);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_request""#));
}

#[test]
fn revocation() {
    let token = client_credentials_token();
    let conf = Some(("conf-client", "conf-secret"));
    let r = post("/revoke", None, &format!("token={token}"));
    assert_eq!(r.status, 401, "client authentication is required");
    assert_eq!(bearer_get("/resource", &token).status, 200);

    let r = post("/revoke", conf, &format!("token={token}"));
    assert_eq!(r.status, 200);
    assert_eq!(bearer_get("/resource", &token).status, 401);
    let r = post(
        "/introspect",
        Some(("rs-client", "rs-secret")),
        &format!("token={token}"),
    );
    assert_eq!(r.body, r#"{"active":false}"#);

    // Unknown tokens are still a success (RFC 7009 §2.2).
    let r = post("/revoke", conf, "token=never-issued");
    assert_eq!(r.status, 200);
}

#[test]
fn authorization_code_flow_with_pkce_refresh_and_rotation() {
    let page = get(&authorize_query(""));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(page.body.contains("<code>public-client</code>"));
    assert!(page.body.contains(CALLBACK));
    assert!(page.body.contains(r#"name="username""#));
    assert!(page.body.contains(r#"name="password" type="password""#));
    assert!(page.body.contains(r#"value="approve""#));
    assert!(page.body.contains(r#"value="deny""#));
    let fields = hidden_fields(&page.body);
    assert_eq!(
        fields,
        [
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("scope", "read"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );

    let r = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{CALLBACK}?code=")),
        "{location}"
    );
    assert_eq!(r.location_param("state").as_deref(), Some("xyz"));
    assert_eq!(r.location_param("iss"), Some(base()));
    let code = r.location_param("code").unwrap();

    // Without the verifier: refused.
    let r = post(
        "/token",
        None,
        &format!("grant_type=authorization_code&client_id=public-client&code={code}&redirect_uri={CALLBACK}"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("invalid_request"));

    let exchange = format!(
        "grant_type=authorization_code&client_id=public-client&code={code}&code_verifier={VERIFIER}"
    );
    let r = post("/token", None, &exchange);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json("scope").as_deref(), Some("read"));
    let access = r.json("access_token").unwrap();
    let refresh = r.json("refresh_token").unwrap();
    let me = bearer_get("/resource", &access);
    assert_eq!(
        me.body,
        r#"{"user":"alice","client_id":"public-client","scope":"read"}"#
    );

    // Refresh rotates; reusing the old refresh token is refused and
    // revokes the whole grant (RFC 9700 §4.14.2).
    let refresh_body =
        |t: &str| format!("grant_type=refresh_token&client_id=public-client&refresh_token={t}");
    let r = post("/token", None, &refresh_body(&refresh));
    assert_eq!(r.status, 200, "{}", r.body);
    let new_refresh = r.json("refresh_token").unwrap();
    assert_ne!(new_refresh, refresh);
    let new_access = r.json("access_token").unwrap();
    assert_eq!(bearer_get("/resource", &new_access).status, 200);
    let r = post("/token", None, &refresh_body(&refresh));
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("invalid_grant"));
    assert_eq!(bearer_get("/resource", &new_access).status, 401);
    assert_eq!(
        post("/token", None, &refresh_body(&new_refresh)).status,
        400
    );
}

#[test]
fn authorization_code_replay_is_refused_and_revokes_its_tokens() {
    let code = code_for_public_client();
    let exchange = format!(
        "grant_type=authorization_code&client_id=public-client&code={code}&code_verifier={VERIFIER}"
    );
    let r = post("/token", None, &exchange);
    assert_eq!(r.status, 200, "{}", r.body);
    let access = r.json("access_token").unwrap();
    assert_eq!(bearer_get("/resource", &access).status, 200);
    let r = post("/token", None, &exchange);
    assert_eq!(r.status, 400);
    assert_eq!(r.json("error").as_deref(), Some("invalid_grant"));
    assert_eq!(bearer_get("/resource", &access).status, 401);
}

#[test]
fn confidential_client_code_flow_with_redirect_uri() {
    let query = "/authorize?response_type=code&client_id=conf-client&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb2&scope=read+write&state=s1";
    let page = get(query);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<code>write</code>"));
    let r = submit_consent(&page.body, "bob", "builder", "approve");
    assert_eq!(r.status, 302);
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("https://client.example.com/cb2?code="));
    let code = r.location_param("code").unwrap();
    let r = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb2"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json("scope").as_deref(), Some("read write"));
}

#[test]
fn deny_redirects_access_denied() {
    let page = get(&authorize_query(""));
    let r = submit_consent(&page.body, "", "", "deny");
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().starts_with(CALLBACK));
    assert_eq!(r.location_param("error").as_deref(), Some("access_denied"));
    assert_eq!(r.location_param("state").as_deref(), Some("xyz"));
    assert_eq!(r.location_param("iss"), Some(base()));
    assert_eq!(r.location_param("code"), None);
}

#[test]
fn bad_login_shows_the_form_again_with_401() {
    let page = get(&authorize_query(""));
    for (user, password) in [("alice", "nope"), ("mallory", "wonderland"), ("", "")] {
        let r = submit_consent(&page.body, user, password, "approve");
        assert_eq!(r.status, 401, "{user}");
        assert_eq!(r.header("location"), None);
        assert!(r.body.contains("Wrong username or password."));
        assert!(r.body.contains(&format!(
            r#"name="username" autocomplete="username" value="{user}""#
        )));
        assert_eq!(hidden_fields(&r.body), hidden_fields(&page.body));
        // The form still works after a failed attempt.
        let again = submit_consent(&r.body, "alice", "wonderland", "approve");
        assert_eq!(again.status, 302);
        assert!(again.location_param("code").is_some());
    }
    let r = submit_consent(&page.body, "alice", "wonderland", "maybe");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Choose Approve or Deny."));
}

#[test]
fn implicit_grant_puts_the_token_in_the_fragment() {
    let page = get("/authorize?response_type=token&client_id=public-client&state=imp");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("implicit grant"));
    let r = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{CALLBACK}#access_token=")),
        "{location}"
    );
    assert_eq!(r.location_param("token_type").as_deref(), Some("Bearer"));
    assert_eq!(r.location_param("state").as_deref(), Some("imp"));
    let token = r.location_param("access_token").unwrap();
    assert_eq!(bearer_get("/resource", &token).status, 200);
}

#[test]
fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let cases = [
        "/authorize?response_type=code&client_id=nobody&code_challenge=x",
        "/authorize?response_type=code&scope=read",
        "/authorize?response_type=code&client_id=public-client&redirect_uri=https%3A%2F%2Fevil.example%2F",
        "/authorize?response_type=code&client_id=conf-client",
        "/authorize?client_id=public-client&client_id=conf-client",
        "/authorize?response_type=code&client_id=public-client&state=%zz",
    ];
    for target in cases {
        let r = get(target);
        assert_eq!(r.status, 400, "{target}");
        assert_eq!(r.header("location"), None, "{target}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.body.contains("cannot be processed"), "{target}");
        assert!(
            r.body.contains("<code>invalid_request</code>"),
            "{target}: {}",
            r.body
        );
    }
    // The same holds for the form submission.
    let r = post(
        "/authorize",
        None,
        "response_type=code&client_id=nobody&action=approve",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.header("location"), None);
}

#[test]
fn other_authorization_errors_redirect_with_state_and_iss() {
    let cases = [
        (
            "/authorize?response_type=code&client_id=public-client&state=s",
            "invalid_request",
            "code challenge required",
        ),
        (
            "/authorize?response_type=code&client_id=public-client&state=s&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
            "S256",
        ),
        (
            "/authorize?response_type=magic&client_id=public-client&state=s",
            "unsupported_response_type",
            "",
        ),
        (
            "/authorize?response_type=code&client_id=public-client&scope=write&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            "invalid_scope",
            "",
        ),
    ];
    for (target, error, description) in cases {
        let r = get(target);
        assert_eq!(r.status, 302, "{target}: {}", r.body);
        assert!(r.header("location").unwrap().starts_with(CALLBACK));
        assert_eq!(
            r.location_param("error").as_deref(),
            Some(error),
            "{target}"
        );
        assert!(r
            .location_param("error_description")
            .unwrap()
            .contains(description));
        assert_eq!(r.location_param("iss"), Some(base()));
        assert_eq!(r.location_param("state").as_deref(), Some("s"));
    }
}

#[test]
fn consent_page_escapes_what_it_shows() {
    let state = "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let page = get(&authorize_query("").replace("state=xyz", &format!("state={state}")));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>"));
    assert!(page
        .body
        .contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    let r = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(
        r.location_param("state").as_deref(),
        Some("\"><script>alert(1)</script>")
    );
    // A username is echoed escaped too.
    let r = submit_consent(&page.body, "<b>x</b>", "y", "approve");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("value=\"&lt;b&gt;x&lt;/b&gt;\""));
    assert_eq!(
        app::escape(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
}

// ---------------------------------------------------------------------
// HTTP: routing and hostile input.

/// A device authorization for device-client: (device_code, user_code).
fn device_authorization() -> (String, String) {
    let r = post(
        "/device_authorization",
        None,
        "client_id=device-client&scope=read",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    (r.json("device_code").unwrap(), r.json("user_code").unwrap())
}

fn device_poll(device_code: &str) -> Reply {
    post(
        "/token",
        None,
        &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=device-client&device_code={device_code}"),
    )
}

fn device_page(user_code: &str, username: &str, password: &str, action: &str) -> Reply {
    post(
        "/device",
        None,
        &format!("user_code={user_code}&username={username}&password={password}&action={action}"),
    )
}

#[test]
fn device_flow_through_the_pages() {
    // The answer (RFC 8628 §3.2), as DEMO_SERVER.md gives it.
    let r = post(
        "/device_authorization",
        None,
        "client_id=device-client&scope=read",
    );
    let user_code = r.json("user_code").unwrap();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "BCDFGHJKLMNPQRSTVWXZ".contains(c)
    }));
    let base = base();
    assert_eq!(r.json("verification_uri"), Some(format!("{base}/device")));
    assert_eq!(
        r.json("verification_uri_complete"),
        Some(format!("{base}/device?user_code={user_code}"))
    );
    assert_eq!(r.json("expires_in").as_deref(), Some("600"));
    assert_eq!(r.json("interval").as_deref(), Some("5"));
    let pending = device_poll(&r.json("device_code").unwrap());
    assert_eq!(pending.status, 400);
    assert_eq!(
        pending.json("error").as_deref(),
        Some("authorization_pending")
    );

    // The user's page, prefilled; both actions need the login.
    let (device_code, user_code) = device_authorization();
    let page = get(&format!("/device?user_code={user_code}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("value=\"{user_code}\"")),
        "{}",
        page.body
    );
    assert_eq!(
        device_page(&user_code, "alice", "wrong", "approve").status,
        401
    );
    assert_eq!(
        device_page("BCDF-GHJK", "alice", "wonderland", "approve").status,
        400
    );
    assert_eq!(
        device_page(&user_code, "alice", "wonderland", "dance").status,
        400
    );
    // Any case, with or without the dash.
    let loose = user_code.replace('-', "").to_lowercase();
    let approved = device_page(&loose, "alice", "wonderland", "approve");
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert!(approved.body.contains("device-client"));
    // Decided once.
    assert_eq!(
        device_page(&user_code, "alice", "wonderland", "deny").status,
        400
    );

    let tokens = device_poll(&device_code);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert!(tokens.json("refresh_token").is_some());
    let access = tokens.json("access_token").unwrap();
    let resource = bearer_get("/resource", &access);
    assert_eq!(resource.status, 200);
    assert!(
        resource.body.contains("\"user\":\"alice\""),
        "{}",
        resource.body
    );
    // Once: a replay is refused and revokes what the code gave.
    let replay = device_poll(&device_code);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json("error").as_deref(), Some("invalid_grant"));
    assert_eq!(bearer_get("/resource", &access).status, 401);

    // Denied.
    let (device_code, user_code) = device_authorization();
    assert_eq!(
        device_page(&user_code, "bob", "builder", "deny").status,
        200
    );
    let denied = device_poll(&device_code);
    assert_eq!(denied.json("error").as_deref(), Some("access_denied"));

    // Only POST and GET where the contract says.
    assert_eq!(get("/device_authorization").status, 405);
    assert_eq!(request("PUT", "/device", &[], "").status, 405);
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    for path in [
        "/",
        "/tokens",
        "/token/",
        "/%74oken",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(get(path).status, 404, "{path}");
    }
    let cases = [
        ("GET", "/token", "POST"),
        ("PUT", "/revoke", "POST"),
        ("GET", "/introspect", "POST"),
        ("GET", "/par", "POST"),
        ("DELETE", "/authorize", "GET, POST"),
        ("POST", "/resource", "GET"),
    ];
    for (method, path, allow) in cases {
        let r = request(method, path, &[], "");
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
}

#[test]
fn head_responses_have_no_body() {
    // HEAD is not a listed method: 405, headers only, and the connection
    // stays in step for the next request.
    let mut stream = connect();
    stream
        .write_all(b"HEAD /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let text = String::from_utf8(all).unwrap();
    let second = text.find("HTTP/1.1 404 ").expect("the second response");
    let first = &text[..second];
    assert!(first.starts_with("HTTP/1.1 405 "), "{first}");
    assert!(first.contains("\r\nAllow: GET\r\n"), "{first}");
    assert!(first.ends_with("\r\n\r\n"), "a body was sent: {first:?}");
    assert!(text[second..].ends_with("404 Not Found\n"));
}

#[test]
fn malformed_requests_get_400_and_the_connection_closes() {
    let cases: [&[u8]; 14] = [
        b"GET\r\n\r\n",
        b"GET /token\r\nHost: x\r\n\r\n",
        b"GET  /token HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /token HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        b"GET token HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTX/1.1\r\nHost: x\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: \xff\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ];
    assert_each_is_400_and_closes(&cases);
}

#[test]
fn host_content_length_and_version_rules() {
    let r = raw(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(r.status, 400, "HTTP/1.1 without Host");
    let r = raw(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").unwrap();
    assert_eq!(r.status, 400, "two Hosts");
    let r = raw(b"GET /nowhere HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(r.status, 404, "HTTP/1.0 needs no Host");
    let r = raw(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(r.status, 505);
    assert_eq!(
        raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap().status,
        400
    );

    for cl in ["-1", "abc", "1 2", "", "0x10", "+5"] {
        let text = format!("POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(
            raw(text.as_bytes()).unwrap().status,
            400,
            "Content-Length {cl:?}"
        );
    }
    let r = raw(
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    )
    .unwrap();
    assert_eq!(r.status, 400, "conflicting lengths");
    let body = "grant_type=client_credentials&scope=read";
    let text = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {n}, {n}\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n{body}",
        basic("conf-client", "conf-secret"),
        n = body.len()
    );
    assert_eq!(
        raw(text.as_bytes()).unwrap().status,
        200,
        "identical lengths are one"
    );

    let r = raw(b"POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(r.status, 501);
    let r =
        raw(b"POST /token HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx")
            .unwrap();
    assert_eq!(r.status, 417);
}

#[test]
fn bodies_over_64_kib_get_413() {
    // Announced and sent.
    let body = "a".repeat(64 * 1024 + 1);
    let text = format!("POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let mut stream = connect();
    // The server may answer before reading it all; a failed write is fine.
    let _ = stream.write_all(text.as_bytes());
    let r = read_reply(&mut stream, &mut Vec::new()).unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.header("connection"), Some("close"));

    // Announced only: refused without waiting for it.
    let r =
        raw(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n")
            .unwrap();
    assert_eq!(r.status, 413);

    // Exactly 64 KiB is accepted (and is just a bad token request).
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(64 * 1024 - 34)
    );
    assert_eq!(body.len(), 64 * 1024);
    let r = post("/token", Some(("conf-client", "conf-secret")), &body);
    assert_eq!(r.status, 200, "{}", r.body);

    // Expect: 100-continue: the server refuses before the body is sent.
    let mut stream = connect();
    stream
        .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 70000\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_reply(&mut stream, &mut Vec::new()).unwrap().status,
        413
    );
}

#[test]
fn expect_100_continue() {
    let body = "grant_type=client_credentials";
    let mut stream = connect();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        basic("conf-client", "conf-secret"),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let interim = read_reply(&mut stream, &mut buf).unwrap();
    assert_eq!(interim.status, 100);
    stream.write_all(body.as_bytes()).unwrap();
    let r = read_reply(&mut stream, &mut buf).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn header_sections_over_8_kib_get_431() {
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(9000)
    );
    assert_eq!(raw(big.as_bytes()).unwrap().status, 431);
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "p".repeat(9000));
    assert_eq!(raw(long_target.as_bytes()).unwrap().status, 431);
    let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(raw(many.as_bytes()).unwrap().status, 431);
    // Just under the limit is fine.
    let fits = format!(
        "GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(8000)
    );
    assert_eq!(raw(fits.as_bytes()).unwrap().status, 404);
}

#[test]
fn half_sent_requests_get_408_and_silent_clients_are_closed() {
    // Headers never finished.
    let mut stream = connect();
    stream
        .write_all(b"GET /resource HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let r = read_reply(&mut stream, &mut Vec::new()).unwrap();
    assert_eq!(r.status, 408);
    assert!(closed(&mut stream));

    // Body never finished.
    let mut stream = connect();
    stream
        .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ngrant_type=")
        .unwrap();
    let r = read_reply(&mut stream, &mut Vec::new()).unwrap();
    assert_eq!(r.status, 408);

    // Never sends anything: closed without a response.
    let mut stream = connect();
    assert!(closed(&mut stream));

    // Half-sent, then the client gives up: the server just closes.
    let mut stream = connect();
    stream.write_all(b"GET / HTT").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    assert!(closed(&mut stream));
}

#[test]
fn keep_alive_and_pipelining() {
    let mut stream = connect();
    let mut buf = Vec::new();
    let one = format!(
        "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: {}\r\n\r\n",
        server()
    );
    for _ in 0..3 {
        stream.write_all(one.as_bytes()).unwrap();
        let r = read_reply(&mut stream, &mut buf).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
    // Three pipelined in one write, the last closing.
    let last = "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let token = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: {}\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials",
        basic("conf-client", "conf-secret")
    );
    stream
        .write_all(format!("{one}{token}{last}").as_bytes())
        .unwrap();
    assert_eq!(read_reply(&mut stream, &mut buf).unwrap().status, 200);
    let r = read_reply(&mut stream, &mut buf).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.json("access_token").is_some());
    let r = read_reply(&mut stream, &mut buf).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed(&mut stream));

    // Empty lines before a request are ignored (RFC 9112 §2.2).
    assert_eq!(
        raw(b"\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .status,
        404
    );

    // HTTP/1.0: closed unless asked to keep alive.
    let mut stream = connect();
    stream.write_all(b"GET /nowhere HTTP/1.0\r\n\r\n").unwrap();
    let r = read_reply(&mut stream, &mut Vec::new()).unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed(&mut stream));
    let mut stream = connect();
    let mut buf = Vec::new();
    stream
        .write_all(b"GET /nowhere HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = read_reply(&mut stream, &mut buf).unwrap();
    assert_eq!(r.header("connection"), Some("keep-alive"));
    stream.write_all(b"GET /nowhere HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(read_reply(&mut stream, &mut buf).unwrap().status, 404);
}

#[test]
fn hostile_clients_do_not_disturb_others() {
    // Several silent and half-sent connections held open while a
    // well-behaved client keeps getting correct answers.
    let mut idle: Vec<TcpStream> = (0..4).map(|_| connect()).collect();
    for s in idle.iter_mut().take(2) {
        s.write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Len")
            .unwrap();
    }
    for _ in 0..20 {
        let token = client_credentials_token();
        assert_eq!(bearer_get("/resource", &token).status, 200);
        assert_eq!(raw(b"BROKEN\r\n\r\n").unwrap().status, 400);
    }
    for mut s in idle {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(
            rest.is_empty() || rest.starts_with(b"HTTP/1.1 408 "),
            "{rest:?}"
        );
    }
    assert_eq!(get("/.well-known/oauth-authorization-server").status, 200);
}

#[test]
fn bare_lf_line_endings_get_400() {
    // RFC 9112 §2.2 lets a server accept a bare LF; this one does not:
    // every line of the request line and header section ends in CRLF.
    let cases: [&[u8]; 5] = [
        b"GET /nowhere HTTP/1.1\nHost: x\n\n",
        b"GET /nowhere HTTP/1.1\r\nHost: x\n\r\n",
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\n",
        b"GET /nowhere HTTP/1.1\nHost: x\r\n\r\n",
        b"\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    assert_each_is_400_and_closes(&cases);
    // A line feed in a body is no line ending.
    let r = raw(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na\nb").unwrap();
    assert_eq!(r.status, 404);
}

/// A cheap request that keeps its connection open.
const CHEAP: &[u8] = b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\n\r\n";

/// A new client's client-credentials token request on a new connection:
/// its status and how long it took, connecting included.
fn timed_token(addr: SocketAddr) -> (u16, Duration) {
    let body = "grant_type=client_credentials&scope=read";
    let text = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        basic("conf-client", "conf-secret"),
        body.len()
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(text.as_bytes()).unwrap();
    let status = read_reply(&mut stream, &mut Vec::new()).map_or(0, |r| r.status);
    (status, started.elapsed())
}

#[test]
fn idle_and_slow_connections_do_not_starve_a_new_client() {
    let addr = own_server();
    // 64 keep-alive connections: one request each, then silence.
    let mut idle: Vec<TcpStream> = (0..64).map(|_| connect_to(addr)).collect();
    let mut bufs = vec![Vec::new(); idle.len()];
    for stream in &mut idle {
        stream.write_all(CHEAP).unwrap();
    }
    for (stream, buf) in idle.iter_mut().zip(&mut bufs) {
        assert_eq!(read_reply(stream, buf).unwrap().status, 200);
    }
    // 8 slowloris connections trickling a header, and 16 (as many as
    // the workers) trickling a body.
    let mut slow: Vec<TcpStream> = (0..24).map(|_| connect_to(addr)).collect();
    for (i, stream) in slow.iter_mut().enumerate() {
        let start: &[u8] = if i < 8 {
            b"POST /token HTTP/1.1\r\nHost: x\r\nX-Slow: "
        } else {
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\ngrant_type="
        };
        stream.write_all(start).unwrap();
    }
    let done = AtomicBool::new(false);
    let (status, took) = thread::scope(|scope| {
        scope.spawn(|| {
            // A byte on each every 50 ms, for 2 s at most.
            for _ in 0..40 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
                for mut stream in &slow {
                    let _ = stream.write_all(b"a");
                }
            }
        });
        thread::sleep(Duration::from_millis(300));
        let answer = timed_token(addr);
        done.store(true, Ordering::Relaxed);
        answer
    });
    assert_eq!(status, 200, "after {took:?}");
    assert!(took < Duration::from_secs(1), "the token took {took:?}");
    // The idle connections were kept, not dropped: each answers again.
    for (stream, buf) in idle.iter_mut().zip(&mut bufs) {
        stream.write_all(CHEAP).unwrap();
        assert_eq!(read_reply(stream, buf).unwrap().status, 200);
    }
}

#[test]
fn busy_keep_alive_clients_do_not_starve_a_new_client() {
    // 16 clients (as many as the workers), each sending a cheap request
    // on its connection every 300 ms, eight times.
    let addr = own_server();
    let (status, took) = thread::scope(|scope| {
        let clients: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(move || {
                    let mut stream = connect_to(addr);
                    let mut buf = Vec::new();
                    for _ in 0..8 {
                        stream.write_all(CHEAP).unwrap();
                        assert_eq!(read_reply(&mut stream, &mut buf).unwrap().status, 200);
                        thread::sleep(Duration::from_millis(300));
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(500));
        let answer = timed_token(addr);
        for client in clients {
            client.join().unwrap();
        }
        answer
    });
    assert_eq!(status, 200, "after {took:?}");
    assert!(took < Duration::from_secs(1), "the token took {took:?}");
}

/// A server that keeps at most 32 connections open.
fn capped_server() -> SocketAddr {
    let mut options = app::Options {
        log: false,
        max_connections: 32,
        ..app::Options::default()
    };
    options.limits.idle_timeout = Duration::from_secs(3);
    start(options)
}

/// Whether the server has closed `stream` (with or without a 503), not
/// waiting: a connection closed a while ago has its end of file there.
fn evicted(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => got.is_empty() || got.starts_with(b"HTTP/1.1 503 "),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn over_the_connection_cap_the_oldest_idle_connections_make_room() {
    let addr = capped_server();
    let mut idle: Vec<TcpStream> = (0..40).map(|_| connect_to(addr)).collect();
    thread::sleep(Duration::from_millis(100));
    let (status, took) = timed_token(addr);
    assert_eq!(status, 200, "after {took:?}");
    assert!(took < Duration::from_secs(1), "the token took {took:?}");
    // 40 connections for 32 places: the 8 oldest were closed silently.
    // The new client's made room by closing the next oldest, or (if its
    // answer was quicker) by going away after its answer. The newest 31
    // are still open.
    for (i, stream) in idle.iter_mut().enumerate() {
        if i != 8 {
            assert_eq!(evicted(stream), i < 8, "connection {i}");
        }
    }
}

#[test]
fn over_the_connection_cap_the_slowest_requests_make_room() {
    let addr = capped_server();
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut stream = connect_to(addr);
            stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            stream
        })
        .collect();
    thread::sleep(Duration::from_millis(100));
    let (status, took) = timed_token(addr);
    assert_eq!(status, 200, "after {took:?}");
    assert!(took < Duration::from_secs(1), "the token took {took:?}");
    // 40 connections for 32 places: 8 slow ones made room (with a 503, or
    // silently if the server closed them before their first byte), and
    // maybe a ninth for the new client (see above). The 503s are written
    // by the workers: wait for them a little.
    let mut gone = vec![false; slow.len()];
    let until = Instant::now() + Duration::from_secs(2);
    while gone.iter().filter(|&&g| g).count() < 8 && Instant::now() < until {
        thread::sleep(Duration::from_millis(20));
        for (stream, gone) in slow.iter_mut().zip(&mut gone) {
            *gone = *gone || evicted(stream);
        }
    }
    thread::sleep(Duration::from_millis(100));
    for (stream, gone) in slow.iter_mut().zip(&mut gone) {
        *gone = *gone || evicted(stream);
    }
    let count = gone.iter().filter(|&&g| g).count();
    assert!(count == 8 || count == 9, "{count} closed");
}

// ---------------------------------------------------------------------
// Resource indicators (RFC 8707) and protected resource metadata (RFC 9728).

fn own() -> String {
    format!("{}/resource", base())
}

fn introspected_aud(token: &str) -> Option<String> {
    let r = post(
        "/introspect",
        Some(("rs-client", "rs-secret")),
        &format!("token={token}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json("active").as_deref(), Some("true"), "{}", r.body);
    let at = r.body.find("\"aud\":")?;
    let rest = &r.body[at + 6..];
    let end = if rest.starts_with('[') {
        rest.find(']').unwrap() + 1
    } else {
        rest.find([',', '}']).unwrap()
    };
    Some(rest[..end].to_owned())
}

#[test]
fn resource_gives_tokens_an_audience_that_resource_checks() {
    let conf = Some(("conf-client", "conf-secret"));
    let metadata = format!(
        r#"resource_metadata="{}/.well-known/oauth-protected-resource/resource""#,
        base()
    );
    // For the demo's resource: aud at /introspect, 200 at /resource.
    let body = form::encode_pairs([("grant_type", "client_credentials"), ("resource", &own())]);
    let r = post("/token", conf, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json("access_token").unwrap();
    assert_eq!(introspected_aud(&token), Some(format!("\"{}\"", own())));
    assert_eq!(bearer_get("/resource", &token).status, 200);
    // For both ("both" client): opens it too.
    let body = form::encode_pairs([
        ("grant_type", "client_credentials"),
        ("resource", &own()),
        ("resource", "https://api.example.com/"),
    ]);
    let token = post("/token", conf, &body).json("access_token").unwrap();
    assert_eq!(
        introspected_aud(&token),
        Some(format!("[\"{}\",\"https://api.example.com/\"]", own()))
    );
    assert_eq!(bearer_get("/resource", &token).status, 200);
    // For another resource only: 401 invalid_token with resource_metadata.
    let body = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com%2F";
    let token = post("/token", conf, body).json("access_token").unwrap();
    let r = bearer_get("/resource", &token);
    assert_eq!(r.status, 401, "{}", r.body);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(&metadata), "{challenge}");
    // No resource: a token without audience, which the demo's resource
    // still accepts (the contract's clients that send none keep working).
    let token = client_credentials_token();
    assert_eq!(introspected_aud(&token), None);
    assert_eq!(bearer_get("/resource", &token).status, 200);
}

#[test]
fn resource_values_the_client_may_not_use_are_invalid_target() {
    let cases = [
        // rs-client has no resources: it may ask for none.
        (
            Some(("rs-client", "rs-secret")),
            form::encode_pairs([("grant_type", "client_credentials"), ("resource", &own())]),
        ),
        (
            Some(("conf-client", "conf-secret")),
            "grant_type=client_credentials&resource=https%3A%2F%2Fother.example%2F".to_owned(),
        ),
        (
            Some(("conf-client", "conf-secret")),
            "grant_type=client_credentials&resource=%2Fresource".to_owned(),
        ),
        (
            Some(("conf-client", "conf-secret")),
            form::encode_pairs([
                ("grant_type", "client_credentials"),
                ("resource", &format!("{}#x", own())),
            ]),
        ),
    ];
    for (client, body) in cases {
        let r = post("/token", client, &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json("error").as_deref(), Some("invalid_target"), "{body}");
    }
    // At /authorize: public-client's "own" only; anything else redirects.
    let extra = format!("&resource={}", form_value("https://api.example.com/"));
    let r = get(&authorize_query(&extra));
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.location_param("error").as_deref(), Some("invalid_target"));
    assert_eq!(r.location_param("state").as_deref(), Some("xyz"));
}

fn form_value(value: &str) -> String {
    let mut out = String::new();
    form::encode_into(&mut out, value);
    out
}

#[test]
fn the_code_flow_carries_resource_through_consent_and_refresh_narrows_only() {
    let extra = format!("&resource={}", form_value(&own()));
    let page = get(&authorize_query(&extra));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("<code>{}</code>", own())),
        "the page shows the resource"
    );
    let r = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(r.status, 302, "{}", r.body);
    let code = r.location_param("code").unwrap();
    let r = post(
        "/token",
        None,
        &format!("grant_type=authorization_code&code={code}&client_id=public-client&code_verifier={VERIFIER}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (access, refresh) = (
        r.json("access_token").unwrap(),
        r.json("refresh_token").unwrap(),
    );
    assert_eq!(introspected_aud(&access), Some(format!("\"{}\"", own())));
    let r = bearer_get("/resource", &access);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""user":"alice""#), "{}", r.body);
    // A refresh may not widen the grant's audience...
    let r = post(
        "/token",
        None,
        &format!(
            "grant_type=refresh_token&refresh_token={refresh}&client_id=public-client&resource={}",
            form_value("https://api.example.com/")
        ),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json("error").as_deref(), Some("invalid_target"));
    // ...and without resource keeps it.
    let r = post(
        "/token",
        None,
        &format!("grant_type=refresh_token&refresh_token={refresh}&client_id=public-client"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        introspected_aud(&r.json("access_token").unwrap()),
        Some(format!("\"{}\"", own()))
    );
}

#[test]
fn protected_resource_metadata_route() {
    let r = get("/.well-known/oauth-protected-resource/resource");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(
        r.body,
        format!(
            r#"{{"resource":"{own}","authorization_servers":["{base}"],"scopes_supported":["read","write"],"bearer_methods_supported":["header"],"resource_name":"The demo's protected resource"}}"#,
            own = own(),
            base = base()
        )
    );
    let r = post("/.well-known/oauth-protected-resource/resource", None, "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(get("/.well-known/oauth-protected-resource").status, 404);
    // The authorization server's metadata lists it (RFC 9728 §4).
    let r = get("/.well-known/oauth-authorization-server");
    assert!(
        r.body
            .contains(&format!(r#""protected_resources":["{}"]"#, own())),
        "{}",
        r.body
    );
}

// ---------------------------------------------------------------------
// The realm file.

#[test]
fn default_realm_is_the_contract_table() {
    let own = "http://127.0.0.1:8080/resource";
    let realm = realm::parse(realm::DEFAULT_REALM)
        .unwrap()
        .with_own_resource(own);
    // The resources column: "both", "own", none, "own".
    let resources: Vec<Vec<&str>> = realm
        .clients
        .iter()
        .map(|c| c.resources.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        resources,
        [
            vec![own, "https://api.example.com/"],
            vec![own],
            vec![],
            vec![own]
        ]
    );
    assert_eq!(
        realm
            .clients
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["conf-client", "public-client", "rs-client", "device-client"]
    );
    // device-client: public, the device grant and refresh tokens.
    let device = &realm.clients[3];
    assert!(device.secret_sha256.is_none());
    assert_eq!(
        device.grants,
        [
            "urn:ietf:params:oauth:grant-type:device_code",
            "refresh_token"
        ]
    );
    assert_eq!(
        (&device.scopes[..], &device.default_scopes[..]),
        (&["read".to_owned()][..], &["read".to_owned()][..])
    );
    assert_eq!(
        realm
            .users
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    assert_eq!(realm.scopes, ["read", "write"]);
    assert!(realm.memory().check_user("alice", "wonderland"));
    assert!(realm.memory().check_user("bob", "builder"));
    assert!(!realm.memory().check_user("alice", "builder"));
}

#[test]
fn realm_file_format() {
    let text = "\
# comment\n\
\n\
client svc\tsecret-sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad grants=client_credentials introspect\n\
   client app redirect=https://app.example/cb pkce grants=authorization_code scopes=a,b default-scopes=a  \r\n\
user carol p@ss\n";
    let realm = realm::parse(text).unwrap();
    assert_eq!(
        realm
            .clients
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["svc", "app"]
    );
    assert_eq!(
        realm
            .users
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["carol"]
    );
    assert_eq!(realm.scopes, ["a", "b"]);

    let errors = [
        ("bogus x", 1, "unknown entry"),
        ("client", 1, "needs a client_id"),
        (
            "client a grants=password\nclient a grants=password",
            2,
            "defined twice",
        ),
        ("client a colour=blue", 1, "unknown client attribute"),
        ("client a secret=", 1, "needs a value"),
        ("client a secret", 1, "needs a value"),
        ("client a secret=x secret=y", 1, "given twice"),
        (
            "client a secret=x secret-sha256=ab",
            1,
            "64 hexadecimal digits",
        ),
        ("client a grants=magic", 1, "unknown grant"),
        ("client a scopes=a\"b", 1, "scope tokens"),
        (
            "client a grants=password scopes=a default-scopes=b",
            1,
            "not in scopes=",
        ),
        // Least privilege: no grants= is a mistake, no scopes= is no scope.
        ("client a", 1, "grants= is missing"),
        ("client a secret=x scopes=a", 1, "grants= is missing"),
        (
            "client a grants=password default-scopes=a",
            1,
            "not in scopes=",
        ),
        ("client a introspect", 1, "confidential"),
        ("client a introspect=yes", 1, "takes no value"),
        ("client a redirect=/relative", 1, "absolute URI"),
        ("client a redirect=https://x/#f", 1, "absolute URI"),
        ("client a grants=password resources=/api", 1, "absolute URI"),
        (
            "client a grants=password resources=https://x/#f",
            1,
            "absolute URI",
        ),
        (
            "client a grants=password resources=own resources=own",
            1,
            "given twice",
        ),
        ("client a grants=password resources", 1, "needs a value"),
        ("\n\nuser alice", 3, "expected: user NAME PASSWORD"),
        ("user a b c", 1, "expected: user NAME PASSWORD"),
        ("user a b\nuser a c", 2, "defined twice"),
    ];
    for (text, line, message) in errors {
        let Err(e) = realm::parse(text) else {
            panic!("{text:?} was accepted");
        };
        assert_eq!(e.line, line, "{text:?}");
        assert!(e.message.contains(message), "{text:?}: {}", e.message);
    }
}

#[test]
fn realm_file_clients_work_end_to_end() {
    let text = "client svc secret-sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad grants=client_credentials scopes=x\n";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let realm = realm::parse(text).unwrap();
    let app =
        Arc::new(app::App::new(&realm, realm.memory(), &format!("http://{addr}"), false).unwrap());
    let options = app::Options {
        workers: 2,
        log: false,
        ..app::Options::default()
    };
    thread::spawn(move || app::serve(listener, app, options));
    let token_request = |secret: &str| {
        let body = "grant_type=client_credentials&scope=x";
        let text = format!(
            "POST /token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            basic("svc", secret),
            body.len()
        );
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(text.as_bytes()).unwrap();
        read_reply(&mut stream, &mut Vec::new()).unwrap()
    };
    assert_eq!(token_request("abc").status, 200);
    assert_eq!(token_request("abd").status, 401);
}

#[test]
fn http_dates_are_imf_fixdate() {
    use std::time::{Duration, UNIX_EPOCH};
    assert_eq!(http::http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(
        http::http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    assert_eq!(
        http::http_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
        "Tue, 29 Feb 2000 00:00:00 GMT"
    );
}

/// The SQLite file's clients and users are the realm's at every start:
/// what the realm no longer names is removed, what it names is kept with
/// the realm's settings.
#[test]
fn the_sqlite_file_follows_the_realm() {
    let dir = std::env::temp_dir().join(format!("oap-demo-realm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("demo.sqlite3");
    let path = path.to_str().unwrap();
    let before = realm::parse(
        "client keep secret=a grants=client_credentials scopes=x\n\
         client gone secret=b grants=client_credentials scopes=x\n\
         user carol c4rol\nuser dave d4ve\n",
    )
    .unwrap();
    drop(storage::open_sqlite(path, &before).unwrap());
    let after =
        realm::parse("client keep secret=a grants=client_credentials scopes=y\nuser carol c4rol\n")
            .unwrap();
    let store = storage::open_sqlite(path, &after).unwrap();
    let clients = store.list_clients().unwrap();
    let ids: Vec<&str> = clients
        .iter()
        .map(oauth2_provider::Client::client_id)
        .collect();
    assert_eq!(ids, ["keep"]);
    assert_eq!(clients[0].allowed_scopes().as_str(), "y");
    assert_eq!(store.list_users().unwrap(), ["carol"]);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------
// Pushed authorization requests (RFC 9126).

/// Pushes conf-client's request; the `request_uri`.
fn push_conf_request(extra: &str) -> String {
    let r = post(
        "/par",
        Some(("conf-client", "conf-secret")),
        &format!("response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&scope=read+write&state=par{extra}"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.json("expires_in").as_deref(), Some("60"));
    let uri = r.json("request_uri").unwrap();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );
    uri
}

fn by_reference(client_id: &str, request_uri: &str) -> Reply {
    let query = form::encode_pairs([("client_id", client_id), ("request_uri", request_uri)]);
    get(&format!("/authorize?{query}"))
}

#[test]
fn par_then_authorize_by_reference_gives_a_code_once() {
    let uri = push_conf_request("");
    let page = by_reference("conf-client", &uri);
    assert_eq!(page.status, 200, "{}", page.body);
    // The consent form carries the reference, not the parameters.
    let fields = hidden_fields(&page.body);
    let names: Vec<_> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["client_id", "request_uri"]);
    // A bad login keeps it usable.
    let r = submit_consent(&page.body, "alice", "nope", "approve");
    assert_eq!(r.status, 401, "{}", r.body);
    let r = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.location_param("state").as_deref(), Some("par"));
    let code = r.location_param("code").unwrap();
    let t = post(
        "/token",
        Some(("conf-client", "conf-secret")),
        &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb"),
    );
    assert_eq!(t.status, 200, "{}", t.body);
    // Used up: neither the page nor the form works again.
    assert_eq!(by_reference("conf-client", &uri).status, 400);
    let again = submit_consent(&page.body, "alice", "wonderland", "approve");
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.header("location").is_none());
}

#[test]
fn a_denied_pushed_request_is_used_up() {
    let uri = push_conf_request("");
    let page = by_reference("conf-client", &uri);
    let r = submit_consent(&page.body, "alice", "wonderland", "deny");
    assert_eq!(r.location_param("error").as_deref(), Some("access_denied"));
    assert_eq!(by_reference("conf-client", &uri).status, 400);
}

#[test]
fn a_request_uri_is_bound_to_its_client_and_never_redirects() {
    let uri = push_conf_request("");
    let r = by_reference("public-client", &uri);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.header("location").is_none());
    assert_eq!(by_reference("conf-client", &uri).status, 200);
    let r = by_reference("conf-client", "urn:ietf:params:oauth:request_uri:forged");
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

#[test]
fn par_errors_are_json_never_redirects() {
    let conf = Some(("conf-client", "conf-secret"));
    let cases = [
        (conf, "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&request_uri=urn%3Ax", 400, "invalid_request"),
        (conf, "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&scope=admin", 400, "invalid_scope"),
        (conf, "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&resource=https%3A%2F%2Fevil.example%2F", 400, "invalid_target"),
        (Some(("conf-client", "wrong")), "response_type=code", 401, "invalid_client"),
        (None, "response_type=code&client_id=public-client", 400, "invalid_request"),
    ];
    for (client, body, status, error) in cases {
        let r = post("/par", client, body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.json("error").as_deref(), Some(error), "{body}");
        assert!(r.header("location").is_none());
    }
    let r = get("/.well-known/oauth-authorization-server");
    assert_eq!(
        r.json("pushed_authorization_request_endpoint"),
        Some(format!("{}/par", base()))
    );
}
