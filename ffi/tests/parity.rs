//! One table of client configurations (`tests/data/client_table.txt`)
//! answered by the Rust API and by the C ABI: each row's client is
//! registered as a `MemoryClient` and, in C (`tests/c/parity.c`), with
//! `oap_registered_client_new`; each row's request must get the same
//! answer (HTTP status and `error`, or the granted scopes) from both, and
//! the one the table states. The table must cover what least privilege
//! promises: no grants, no scopes, default scopes, a public client's
//! secretless request, and response types without their grant.

mod c_build;

use std::collections::BTreeMap;
use std::path::PathBuf;

use c_build::{assert_all_passed, compile, repo, run_with_args, C_FLAGS};
use provider::form::pairs;
use provider::header::basic_header_value;
use provider::memory::{MemoryClient, MemoryValidator};
use provider::{Grant, Request, Response, Server};

const CLIENT_ID: &str = "app";
const SECRET: &str = "app-secret";
const REDIRECT: &str = "https://app.example/cb";
const REDIRECT_ENC: &str = "https%3A%2F%2Fapp.example%2Fcb";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// One row of the table (see its header for the columns).
#[derive(Debug)]
struct Row {
    line: usize,
    public: bool,
    grants: Vec<String>,
    scopes: Vec<String>,
    defaults: Vec<String>,
    auth: String,
    endpoint: String,
    kind: String,
    scope: Option<String>,
    expect: String,
}

fn table_path() -> PathBuf {
    repo().join("ffi/tests/data/client_table.txt")
}

/// "a,b" -> ["a", "b"]; "-" -> [].
fn list(column: &str) -> Vec<String> {
    match column {
        "-" => Vec::new(),
        _ => column.split(',').map(String::from).collect(),
    }
}

fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(table_path()).expect("read the client table");
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.is_empty() || cols[0].starts_with('#') {
            continue;
        }
        assert_eq!(cols.len(), 9, "line {}: {line}", i + 1);
        assert!(
            matches!(cols[0], "public" | "confidential"),
            "line {}",
            i + 1
        );
        rows.push(Row {
            line: i + 1,
            public: cols[0] == "public",
            grants: list(cols[1]),
            scopes: list(cols[2]),
            defaults: list(cols[3]),
            auth: cols[4].to_owned(),
            endpoint: cols[5].to_owned(),
            kind: cols[6].to_owned(),
            scope: (cols[7] != "-").then(|| cols[7].to_owned()),
            expect: cols[8].to_owned(),
        });
    }
    rows
}

/// The string value of the flat JSON object field `name`, if any.
fn json_field(body: &str, name: &str) -> Option<String> {
    let key = format!("\"{name}\":\"");
    let start = body.find(&key)? + key.len();
    let len = body[start..].find('"')?;
    Some(body[start..start + len].to_owned())
}

/// "a b" -> "a,b"; "" -> "-".
fn commas(scopes: &str) -> String {
    match scopes {
        "" => "-".into(),
        s => s.replace(' ', ","),
    }
}

fn error_answer(response: &Response) -> String {
    let error = if response.status == 302 {
        let location = response.header("Location").unwrap_or_default();
        // The query (code) or the fragment (token, RFC 6749 §4.2.2.1).
        let query = location.split_once(['?', '#']).map_or("", |(_, q)| q);
        pairs(query.as_bytes())
            .filter_map(Result::ok)
            .find(|(name, _)| name == "error")
            .map(|(_, value)| value.into_owned())
    } else {
        json_field(response.body_str(), "error")
    };
    format!("{}:{}", response.status, error.as_deref().unwrap_or("?"))
}

/// The row's answer through the Rust API.
fn rust_answer(row: &Row) -> String {
    let client = if row.public {
        MemoryClient::public(CLIENT_ID, [REDIRECT])
    } else {
        MemoryClient::confidential(CLIENT_ID, SECRET, [REDIRECT])
    };
    let client = client
        .grants(row.grants.iter().map(String::as_str))
        .scopes(row.scopes.iter().map(String::as_str))
        .default_scopes(row.defaults.iter().map(String::as_str));
    let validator = MemoryValidator::new();
    validator.add_client(client);
    validator.add_user("alice", "wonderland");
    let server = Server::builder(validator)
        .issuer("https://as.example")
        .enable(Grant::Implicit)
        .enable(Grant::Password)
        .build()
        .expect("a server");
    let scope = row
        .scope
        .as_ref()
        .map(|s| format!("&scope={}", s.replace(',', "+")))
        .unwrap_or_default();
    match row.endpoint.as_str() {
        "token" => {
            let extra = match row.kind.as_str() {
                "password" => "&username=alice&password=wonderland".to_owned(),
                "authorization_code" => format!(
                    "&code=no-such-code&redirect_uri={REDIRECT_ENC}&code_verifier={VERIFIER}"
                ),
                "refresh_token" => "&refresh_token=no-such-token".to_owned(),
                _ => String::new(),
            };
            let id = if row.auth == "id" {
                format!("&client_id={CLIENT_ID}")
            } else {
                String::new()
            };
            let body = format!("grant_type={}{extra}{scope}{id}", row.kind);
            let basic = basic_header_value(CLIENT_ID, SECRET);
            let mut headers = vec![FORM];
            if row.auth == "secret" {
                headers.push(("Authorization", &basic));
            }
            let response =
                server.token_response(&Request::new("POST", "/token", &headers, body.as_bytes()));
            if response.status == 200 {
                let scope = json_field(response.body_str(), "scope").unwrap_or_default();
                format!("200:{}", commas(&scope))
            } else {
                error_answer(&response)
            }
        }
        "authorize" => {
            let uri = format!(
                "/authorize?response_type={}&client_id={CLIENT_ID}&redirect_uri={REDIRECT_ENC}\
                 &state=s&code_challenge={CHALLENGE}&code_challenge_method=S256{scope}",
                row.kind
            );
            match server.validate_authorization_request(&Request::new("GET", &uri, &[], b"")) {
                Ok(pending) => format!("ok:{}", commas(pending.scopes.as_str())),
                Err(error) => error_answer(&error.into_response()),
            }
        }
        other => panic!("line {}: unknown endpoint {other}", row.line),
    }
}

/// Every row's answer through the C ABI, by line.
fn c_answers() -> BTreeMap<usize, String> {
    let exe = compile(
        "CC",
        "cc",
        C_FLAGS,
        &[repo().join("ffi/tests/c/parity.c")],
        "parity",
    );
    let stdout = run_with_args(&exe, &[table_path().as_os_str()]);
    assert_all_passed(&stdout);
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("row "))
        .map(|l| {
            let (line, answer) = l.split_once(' ').expect("row <line> <answer>");
            (line.parse().expect("a line number"), answer.to_owned())
        })
        .collect()
}

#[test]
fn rust_and_c_give_the_tables_answers() {
    let rows = table();
    let c = c_answers();
    assert_eq!(c.len(), rows.len(), "one C answer per row");
    let mut wrong = Vec::new();
    for row in &rows {
        let rust = rust_answer(row);
        let c = &c[&row.line];
        if rust != row.expect || *c != row.expect {
            wrong.push(format!(
                "line {}: table {}, Rust {rust}, C {c}",
                row.line, row.expect
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_covers_least_privilege() {
    let rows = table();
    let covers = |what: &str, pred: &dyn Fn(&Row) -> bool| {
        assert!(rows.iter().any(pred), "the table has no row where {what}");
    };
    // No grants: unauthorized_client for every grant and response type,
    // public and confidential.
    for public in [false, true] {
        for grant in ["password", "authorization_code", "refresh_token"] {
            covers(&format!("a grantless client asks for {grant}"), &|r| {
                r.public == public && r.grants.is_empty() && r.kind == grant
            });
        }
        for response_type in ["code", "token"] {
            covers(
                &format!("a grantless client asks for {response_type}"),
                &|r| r.public == public && r.grants.is_empty() && r.kind == response_type,
            );
        }
    }
    covers("a grantless client asks for client_credentials", &|r| {
        r.grants.is_empty() && r.kind == "client_credentials"
    });
    for row in rows
        .iter()
        .filter(|r| r.grants.is_empty() && r.auth != "id")
    {
        assert!(
            row.expect.ends_with(":unauthorized_client"),
            "line {}",
            row.line
        );
    }
    // No scopes: invalid_scope when one is named, none granted otherwise.
    covers("a scopeless client names a scope", &|r| {
        r.scopes.is_empty() && r.scope.is_some() && r.expect.ends_with(":invalid_scope")
    });
    covers("a scopeless client gets a scopeless token", &|r| {
        r.scopes.is_empty() && r.defaults.is_empty() && r.scope.is_none() && r.expect == "200:-"
    });
    for row in rows.iter().filter(|r| r.scopes.is_empty()) {
        assert!(
            row.expect.ends_with(":-")
                || !row.expect.starts_with("200") && !row.expect.starts_with("ok"),
            "line {}: a client without scopes got some",
            row.line
        );
    }
    // Default scopes.
    covers("default scopes are granted", &|r| {
        !r.defaults.is_empty()
            && r.scope.is_none()
            && r.expect.ends_with(&format!(":{}", r.defaults.join(",")))
    });
    // A public client's secretless request.
    covers("a public client asks without a secret", &|r| {
        r.public && r.auth == "id" && r.endpoint == "token"
    });
    // response_type code / token without the grant.
    for (response_type, grant) in [("code", "authorization_code"), ("token", "implicit")] {
        covers(&format!("{response_type} without {grant}"), &|r| {
            r.kind == response_type
                && !r.grants.is_empty()
                && !r.grants.iter().any(|g| g == grant)
                && r.expect == "302:unauthorized_client"
        });
    }
}
