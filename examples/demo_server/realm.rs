//! The realm file: clients and users, one per line (the format is
//! documented at the top of `examples/demo_server.rs`), parsed into plain
//! records that the chosen store loads (see `storage.rs`).

use std::collections::HashSet;
use std::fmt;

use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::secret::{parse_sha256_hex, sha256};
use oauth2_provider::{Grant, Scope};

/// The default realm: the table of `shared/DEMO_SERVER.md`.
pub const DEFAULT_REALM: &str = include_str!("../demo_realm.txt");

/// A parsed realm: its clients and users, in file order, and every scope
/// some client may have.
pub struct Realm {
    /// The clients.
    pub clients: Vec<RealmClient>,
    /// The users.
    pub users: Vec<RealmUser>,
    /// Every scope some client may have, in order of first appearance
    /// (metadata's `scopes_supported`).
    pub scopes: Vec<String>,
}

/// A client line.
#[derive(Clone)]
pub struct RealmClient {
    /// Its identifier.
    pub id: String,
    /// The SHA-256 digest of its secret (`secret=` is hashed as it is
    /// read); `None` for a public client.
    pub secret_sha256: Option<[u8; 32]>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// The grant types it may use, by name.
    pub grants: Vec<String>,
    /// The scopes it may have.
    pub scopes: Vec<String>,
    /// The scopes it gets when it asks for none.
    pub default_scopes: Vec<String>,
    /// Whether it may call the introspection endpoint.
    pub may_introspect: bool,
    /// Whether it must use PKCE even when confidential.
    pub pkce_required: bool,
    /// The resources (RFC 8707) it may ask tokens for: absolute URIs, and
    /// [`OWN`] for the demo's own protected resource until
    /// [`Realm::with_own_resource`] names it.
    pub resources: Vec<String>,
}

/// The realm's name for the demo's own protected resource
/// (`http://HOST:PORT/resource`, known once the server is bound).
pub const OWN: &str = "own";

/// A user line.
#[derive(Clone)]
pub struct RealmUser {
    /// The username.
    pub name: String,
    /// The password, as the realm file gives it.
    pub password: String,
}

impl RealmClient {
    /// The client as the library's in-memory store keeps it.
    pub fn to_memory(&self) -> MemoryClient {
        let redirects = self.redirect_uris.iter().map(String::as_str);
        let client = match &self.secret_sha256 {
            Some(digest) => MemoryClient::confidential_hashed(&self.id, *digest, redirects),
            None => MemoryClient::public(&self.id, redirects),
        };
        client
            .grants(self.grants.iter().map(String::as_str))
            .scopes(self.scopes.iter().map(String::as_str))
            .default_scopes(self.default_scopes.iter().map(String::as_str))
            .may_introspect(self.may_introspect)
            .pkce_required(self.pkce_required)
            .resources(self.resources.iter().map(String::as_str))
    }
}

impl Realm {
    /// The realm with [`OWN`] replaced by `url`, the demo's protected
    /// resource, wherever a client names it.
    pub fn with_own_resource(mut self, url: &str) -> Realm {
        for client in &mut self.clients {
            for resource in &mut client.resources {
                if resource == OWN {
                    url.clone_into(resource);
                }
            }
        }
        self
    }

    /// A fresh in-memory store holding the realm.
    pub fn memory(&self) -> MemoryValidator {
        let store = MemoryValidator::new();
        for client in &self.clients {
            store.add_client(client.to_memory());
        }
        for user in &self.users {
            store.add_user(&user.name, &user.password);
        }
        store
    }
}

/// A line of a realm file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RealmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for RealmError {}

/// Parses a realm file. Every problem is an error naming its line; nothing
/// is half-loaded.
pub fn parse(text: &str) -> Result<Realm, RealmError> {
    let mut realm = Realm {
        scopes: Vec::new(),
        clients: Vec::new(),
        users: Vec::new(),
    };
    let mut seen_clients = HashSet::new();
    let mut seen_users = HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |message: String| RealmError { line, message };
        let content = raw.trim_matches([' ', '\t', '\r']);
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut fields = content.split([' ', '\t']).filter(|f| !f.is_empty());
        match fields.next() {
            Some("client") => {
                let id = fields
                    .next()
                    .ok_or_else(|| err("a client line needs a client_id".into()))?;
                if !seen_clients.insert(id.to_owned()) {
                    return Err(err(format!("client {id:?} is defined twice")));
                }
                let client = parse_client(id, fields).map_err(err)?;
                for scope in &client.scopes {
                    if !realm.scopes.contains(scope) {
                        realm.scopes.push(scope.clone());
                    }
                }
                realm.clients.push(client);
            }
            Some("user") => {
                let (Some(name), Some(password), None) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    return Err(err("expected: user NAME PASSWORD".into()));
                };
                if !seen_users.insert(name.to_owned()) {
                    return Err(err(format!("user {name:?} is defined twice")));
                }
                realm.users.push(RealmUser {
                    name: name.to_owned(),
                    password: password.to_owned(),
                });
            }
            Some(other) => {
                return Err(err(format!(
                    "unknown entry {other:?} (expected \"client\" or \"user\")"
                )))
            }
            None => unreachable!("blank lines are skipped"),
        }
    }
    Ok(realm)
}

/// A comma-separated list of scope tokens, checked.
fn scope_list(key: &str, value: &str) -> Result<Vec<String>, String> {
    let tokens: Vec<&str> = value.split(',').filter(|t| !t.is_empty()).collect();
    Scope::from_tokens(tokens.iter().copied())
        .map_err(|_| format!("{key}: {value:?} is not a list of scope tokens"))?;
    Ok(tokens.into_iter().map(str::to_owned).collect())
}

fn parse_client<'a>(
    id: &str,
    fields: impl Iterator<Item = &'a str>,
) -> Result<RealmClient, String> {
    let mut secret = None;
    let mut secret_sha256 = None;
    let mut redirects: Vec<&str> = Vec::new();
    let mut grants: Option<Vec<&str>> = None;
    let mut scopes: Option<Vec<String>> = None;
    let mut default_scopes: Vec<String> = Vec::new();
    let mut introspect = false;
    let mut pkce = false;
    let mut resources: Option<Vec<String>> = None;
    for field in fields {
        let (key, value) = match field.split_once('=') {
            Some((k, "")) => return Err(format!("{k}= needs a value")),
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        let once = |present: bool| {
            if present {
                Err(format!("{key} is given twice"))
            } else {
                Ok(())
            }
        };
        match (key, value) {
            ("secret", Some(v)) => {
                once(secret.is_some())?;
                secret = Some(v);
            }
            ("secret-sha256", Some(v)) => {
                once(secret_sha256.is_some())?;
                secret_sha256 = Some(
                    parse_sha256_hex(v)
                        .ok_or("secret-sha256 must be 64 hexadecimal digits".to_owned())?,
                );
            }
            ("redirect", Some(v)) => {
                if !v.contains(':') || v.contains('#') {
                    return Err(format!(
                        "redirect {v:?} must be an absolute URI without a fragment"
                    ));
                }
                redirects.push(v);
            }
            ("grants", Some(v)) => {
                once(grants.is_some())?;
                let list: Vec<&str> = v.split(',').filter(|g| !g.is_empty()).collect();
                for g in &list {
                    if Grant::from_name(g).is_none() {
                        return Err(format!("unknown grant {g:?}"));
                    }
                }
                grants = Some(list);
            }
            ("scopes", Some(v)) => {
                once(scopes.is_some())?;
                scopes = Some(scope_list(key, v)?);
            }
            ("default-scopes", Some(v)) => {
                once(!default_scopes.is_empty())?;
                default_scopes = scope_list(key, v)?;
            }
            ("resources", Some(v)) => {
                once(resources.is_some())?;
                let list: Vec<&str> = v.split(',').filter(|r| !r.is_empty()).collect();
                for r in &list {
                    if *r != OWN && !oauth2_provider::audience::is_resource_indicator(r) {
                        return Err(format!(
                            "resource {r:?} must be \"own\" or an absolute URI without a fragment"
                        ));
                    }
                }
                resources = Some(list.into_iter().map(str::to_owned).collect());
            }
            ("introspect", None) => introspect = true,
            ("pkce", None) => pkce = true,
            (
                "secret" | "secret-sha256" | "redirect" | "grants" | "scopes" | "default-scopes"
                | "resources",
                None,
            ) => return Err(format!("{key} needs a value ({key}=...)")),
            ("introspect" | "pkce", Some(_)) => return Err(format!("{key} takes no value")),
            _ => return Err(format!("unknown client attribute {key:?}")),
        }
    }
    let secret_sha256 = match (secret, secret_sha256) {
        (Some(_), Some(_)) => return Err("give secret or secret-sha256, not both".into()),
        (Some(s), None) => Some(sha256(s.as_bytes())),
        (None, Some(d)) => Some(d),
        (None, None) => {
            if introspect {
                return Err("only a confidential client may introspect".into());
            }
            None
        }
    };
    // Least privilege: a client may use the grants and have the scopes its
    // line names, nothing else. A line without grants= would describe a
    // client that can do nothing, which is a mistake worth reporting; a
    // line without scopes= is a client without scopes.
    let grants = grants.ok_or("grants= is missing (the grant types the client may use)")?;
    let scopes = scopes.unwrap_or_default();
    if let Some(extra) = default_scopes.iter().find(|s| !scopes.contains(s)) {
        return Err(format!("default scope {extra:?} is not in scopes="));
    }
    Ok(RealmClient {
        id: id.to_owned(),
        secret_sha256,
        redirect_uris: redirects.iter().map(|r| (*r).to_owned()).collect(),
        grants: grants.iter().map(|g| (*g).to_owned()).collect(),
        scopes,
        default_scopes,
        may_introspect: introspect,
        pkce_required: pkce,
        resources: resources.unwrap_or_default(),
    })
}
