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

fn generate() -> String {
    let (ffi, _) = paths();
    let config = cbindgen::Config::from_file(ffi.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
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
