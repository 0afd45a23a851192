//! Builds the static library, then compiles and runs the C programs
//! against it with the system compiler: the C tests (`tests/c/`), the C++
//! header check, and the example (`examples/c/`), so none can rot. How
//! they are built and run (flags, valgrind): `c_build/mod.rs`.

mod c_build;

use c_build::{assert_all_passed, compile, out_dir, repo, run, CXX17_FLAGS, CXX_FLAGS, C_FLAGS};

fn c_test(file: &str) {
    let dir = repo().join("ffi/tests/c");
    let name = file.trim_end_matches(".c");
    let exe = compile(
        "CC",
        "cc",
        C_FLAGS,
        &[dir.join(file), dir.join("memstore.c")],
        name,
    );
    assert_all_passed(&run(&exe));
}

#[test]
fn c_flows() {
    c_test("test_flows.c");
}

/// Pushed authorization requests (RFC 9126) over the C store's callbacks,
/// and an older table without them.
#[test]
fn c_pushed_authorization_requests() {
    c_test("test_pushed.c");
}

#[test]
fn c_device_authorization_grant() {
    c_test("test_device.c");
}

#[test]
fn c_hostile_input() {
    c_test("test_hostile.c");
}

#[test]
fn c_registered_clients() {
    c_test("test_registered.c");
}

#[test]
fn c_host_kept_tokens() {
    c_test("test_tokens.c");
}

/// The header-only bearer check (`oap_server_check_bearer`) against
/// `oap_server_verify_bearer`: the same answers, the grant lent.
#[test]
fn c_header_only_bearer_check() {
    c_test("test_bearer_check.c");
}

#[test]
fn c_strict_abi() {
    c_test("test_strict.c");
}

#[test]
fn c_host_random_source() {
    c_test("test_random.c");
}

#[test]
fn c_resource_indicators_and_metadata() {
    c_test("test_resources.c");
}

#[test]
fn c_retry_after_a_failed_save() {
    c_test("test_retry.c");
}

/// The header's version macros are the library's `oap_version()`.
#[test]
fn c_version_matches_the_header() {
    c_test("test_version.c");
}

/// A server over an SQLite file, no callbacks: the program gets an empty
/// directory for its database.
#[cfg(feature = "sqlite")]
#[test]
fn c_sqlite_store() {
    let dir = repo().join("ffi/tests/c");
    let exe = compile(
        "CC",
        "cc",
        C_FLAGS,
        &[dir.join("test_sqlite.c")],
        "test_sqlite",
    );
    let db_dir = out_dir().join("test_sqlite.db.d");
    let _ = std::fs::remove_dir_all(&db_dir);
    std::fs::create_dir_all(&db_dir).expect("create the database directory");
    assert_all_passed(&c_build::run_with_args(&exe, &[db_dir.as_os_str()]));
}

/// Compiles and runs a C++ test of `tests/c/` with `flags`.
fn cxx_test(file: &str, flags: &[&str]) {
    let name = file.trim_end_matches(".cpp");
    let exe = compile(
        "CXX",
        "c++",
        flags,
        &[repo().join("ffi/tests/c").join(file)],
        name,
    );
    assert_all_passed(&run(&exe));
}

#[test]
fn header_compiles_as_cxx() {
    cxx_test("header_cpp.cpp", CXX_FLAGS);
}

/// `include/oauth2_provider.hpp` (C++17): a token request and bearer
/// checks through RAII handles, string_views and callbacks from a class
/// and from lambdas; exceptions stop at the callback boundary.
#[test]
fn cxx_header_token_and_bearer() {
    cxx_test("test_cpp.cpp", CXX17_FLAGS);
}

#[test]
fn header_is_self_contained_c11() {
    // A translation unit with nothing before the header.
    let source = out_dir().join("header_only.c");
    std::fs::write(
        &source,
        "#include \"oauth2_provider.h\"\nint main(void) { return oap_version().len > 0 ? 0 : 1; }\n",
    )
    .expect("write header_only.c");
    let exe = compile("CC", "cc", C_FLAGS, &[source], "header_only");
    run(&exe);
}

#[test]
fn c_example_build_line_matches_the_readme() {
    // The README builds the release library; the example's comment must
    // name the file that build makes.
    let example = std::fs::read_to_string(repo().join("examples/c/client_credentials.c"))
        .expect("read the example");
    let readme = std::fs::read_to_string(repo().join("ffi/README.md")).expect("read the README");
    assert!(readme.contains("cargo build --release -p oauth2-provider-ffi"));
    assert!(example.contains("cargo build --release -p oauth2-provider-ffi"));
    assert!(example.contains("target/release/liboauth2_provider.a"));
    assert!(
        !example.contains("target/debug"),
        "the example names target/debug"
    );
}

#[test]
fn c_example_builds_and_runs() {
    let exe = compile(
        "CC",
        "cc",
        C_FLAGS,
        &[repo().join("examples/c/client_credentials.c")],
        "client_credentials",
    );
    let stdout = run(&exe);
    assert!(
        stdout.contains("token endpoint: HTTP 200 {\"access_token\":\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("resource: access granted to reporting-job"),
        "{stdout}"
    );
}
