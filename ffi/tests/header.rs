//! The committed header `include/oauth2_provider.h` must be what cbindgen
//! generates from `ffi/src` today. Regenerate it with
//!
//! ```sh
//! OAP_UPDATE_HEADER=1 cargo test -p oauth2-provider-ffi --test header
//! ```

use std::path::{Path, PathBuf};

fn paths() -> (PathBuf, PathBuf) {
    let ffi = Path::new(env!("CARGO_MANIFEST_DIR"));
    (ffi.to_path_buf(), ffi.join("../include/oauth2_provider.h"))
}

/// The version macros, from this crate's version in `ffi/Cargo.toml`: the
/// header is stale when the version changes, so they cannot drift.
fn version_macros() -> String {
    format!(
        "\n\n/**\n * The version of this header. oap_version() is the library's (its\n \
         * text is NUL-terminated): a host checks it links what it compiled\n \
         * against with strcmp(oap_version().ptr, OAP_VERSION) == 0. Before\n \
         * 1.0 every minor version may change the ABI (the SONAME is\n \
         * liboauth2_provider.so.0.MINOR).\n \
         */\n\
         #define OAP_VERSION_MAJOR {major}\n\
         #define OAP_VERSION_MINOR {minor}\n\
         #define OAP_VERSION_PATCH {patch}\n\
         #define OAP_VERSION \"{major}.{minor}.{patch}\"",
        major = env!("CARGO_PKG_VERSION_MAJOR"),
        minor = env!("CARGO_PKG_VERSION_MINOR"),
        patch = env!("CARGO_PKG_VERSION_PATCH"),
    )
}

fn generate() -> String {
    let (ffi, _) = paths();
    let mut config =
        cbindgen::Config::from_file(ffi.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    let after_includes = config.after_includes.take().unwrap_or_default();
    config.after_includes = Some(after_includes + &version_macros());
    // with_src follows `mod` declarations from lib.rs without running cargo.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(ffi.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed on ffi/src");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

#[test]
fn committed_header_is_up_to_date() {
    let (_, header) = paths();
    let fresh = generate();
    if std::env::var_os("OAP_UPDATE_HEADER").is_some() {
        std::fs::write(&header, &fresh).expect("write include/oauth2_provider.h");
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    if committed != fresh {
        let first_difference = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(fresh.lines().count()));
        panic!(
            "include/oauth2_provider.h is stale: it differs from what ffi/src generates \
             (first at line {}).\nRegenerate it and commit the result:\n\n    \
             OAP_UPDATE_HEADER=1 cargo test -p oauth2-provider-ffi --test header\n",
            first_difference + 1
        );
    }
}

#[test]
fn header_documents_every_function() {
    let fresh = generate();
    let lines: Vec<&str> = fresh.lines().collect();
    let mut functions = 0;
    for (i, line) in lines.iter().enumerate() {
        // A prototype starts at column 0 with its return type, then the
        // name and '(' on the same line, right after its doc comment.
        let is_prototype = !line.starts_with([' ', '#', '/', '*', '}'])
            && !line.starts_with("typedef")
            && line.contains(" oap_")
            && line.contains('(');
        if !is_prototype {
            continue;
        }
        functions += 1;
        assert!(
            i > 0 && lines[i - 1].trim_end().ends_with("*/"),
            "undocumented function in the header: {line}"
        );
    }
    assert!(functions >= 50, "found only {functions} functions");
}

/// No struct the caller fills in holds a `bool`: the library would read it
/// as a Rust `bool`, and a byte other than 0 or 1 there (a C `bool` set
/// through a `char *`, `memset` with a pattern, an uninitialised field) is
/// undefined behaviour. Yes/no fields are integers tested `!= 0`. Only the
/// structs the library fills and hands to callbacks may carry a `bool`.
#[test]
fn caller_filled_structs_hold_no_bool() {
    const LIBRARY_FILLED: &[&str] = &["oap_issued_token", "oap_authorization_code"];
    let fresh = generate();
    let mut structs = 0;
    let mut current: Option<&str> = None;
    for line in fresh.lines() {
        if let Some(name) = line
            .strip_prefix("typedef struct ")
            .and_then(|rest| rest.strip_suffix(" {"))
        {
            current = Some(name);
            structs += 1;
            continue;
        }
        if line.starts_with('}') {
            current = None;
            continue;
        }
        if let Some(name) = current.filter(|n| !LIBRARY_FILLED.contains(n)) {
            let field = line.trim_start();
            assert!(
                !field.starts_with("bool "),
                "{name} has a bool field the library reads from caller memory: {field}"
            );
        }
    }
    assert!(structs >= 10, "found only {structs} structs");
}

/// The doc comment of the item whose definition starts with `marker`, and
/// the item itself, as plain words (comment markers and line breaks gone).
fn documentation_of(header: &str, marker: &str) -> String {
    let at = header
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not in the header"));
    let start = header[..at].rfind("/**").unwrap_or(at);
    let end = header[at..].find("\n\n").map_or(header.len(), |n| at + n);
    let words: Vec<&str> = header[start..end]
        .lines()
        .map(|l| l.trim().trim_start_matches("/**").trim_start_matches('*'))
        .flat_map(str::split_whitespace)
        .collect();
    words.join(" ")
}

/// What a new C user needed and did not find in the header (issue 12):
/// each answer must be there, with the declaration it concerns.
#[test]
fn header_answers_what_new_c_users_asked() {
    let fresh = generate();
    // (where the declaration starts, words of the answer)
    let answers: &[(&str, &str)] = &[
        // rotate_refresh_token is asked only for confidential clients.
        (
            "(*oap_rotate_refresh_token_cb)",
            "Asked for confidential clients only",
        ),
        // The token endpoint needs the form Content-Type.
        (
            "oap_status oap_server_token_response(",
            "must carry the header `Content-Type: application/x-www-form-urlencoded`",
        ),
        // A caller without introspection rights: which status, and why.
        (
            "oap_status oap_server_introspection_response(",
            "`may_introspect` 0 gets 400 `unauthorized_client`",
        ),
        // invalidate_refresh_token answering false revokes the grant.
        (
            "(*oap_invalidate_refresh_token_cb)",
            "the library calls `revoke_grant` for the token's whole grant",
        ),
        // save_bearer_token is not needed when save_token is set.
        (
            "(*oap_save_bearer_token_cb)",
            "(required unless `save_token` is set",
        ),
        (
            "typedef struct oap_validator {",
            "save_bearer_token unless save_token is set",
        ),
        // A struct_size that ends inside a field: the conventions.
        (
            "Conventions (every function follows them)",
            "would end inside a field (half a pointer or length), gives OAP_STATUS_INVALID_PARAMETER",
        ),
        // A missing code_verifier.
        (
            "oap_status oap_server_token_response(",
            "without `code_verifier` is 400 `invalid_request`",
        ),
        // The expires_in arithmetic and its bounds.
        (
            "uint64_t expires_in;",
            "The access token expires at `issued_at + expires_in`",
        ),
        ("uint64_t expires_in;", "1 to `OAP_MAX_LIFETIME` (ten years)"),
    ];
    for (marker, words) in answers {
        let doc = documentation_of(&fresh, marker);
        assert!(
            doc.contains(words),
            "the header does not say, at {marker}: {words}\n\nit says: {doc}"
        );
    }
}

/// Every function the library exports is `oap_`: rustc's version script
/// for the shared library lists exactly the `#[no_mangle]` functions, so
/// this keeps the exports to the prefix (`tests/packaging.sh` checks the
/// built library's `nm -D` for what dependencies might add).
#[test]
fn every_exported_function_is_oap_prefixed() {
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read ffi/src") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let (ffi, _) = paths();
    let mut files = Vec::new();
    rust_files(&ffi.join("src"), &mut files);
    let mut exported = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != "#[no_mangle]" {
                continue;
            }
            let signature = lines[i + 1..]
                .iter()
                .find(|l| l.contains("fn "))
                .unwrap_or_else(|| {
                    panic!(
                        "{}:{}: no function after #[no_mangle]",
                        file.display(),
                        i + 1
                    )
                });
            let name = signature
                .split("fn ")
                .nth(1)
                .and_then(|rest| rest.split('(').next())
                .unwrap_or("");
            assert!(
                name.starts_with("oap_"),
                "{}:{}: exported function {name:?} is not oap_-prefixed",
                file.display(),
                i + 1
            );
            exported += 1;
        }
    }
    assert!(exported >= 50, "found only {exported} exported functions");
}
