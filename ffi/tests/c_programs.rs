//! Builds the static library, then compiles and runs the C programs
//! against it with the system compiler: the C tests (`tests/c/`), the C++
//! header check, and the example (`examples/c/`), so none can rot.
//!
//! C is compiled with `-std=c11 -Wall -Wextra -Wpedantic -Werror`, C++
//! with `-std=c++11` and the same warnings. `OAP_VALGRIND=1` runs every
//! program under `valgrind --leak-check=full --error-exitcode=1` (when
//! valgrind is installed). `CC` and `CXX` choose the compilers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
const CXX_FLAGS: &[&str] = &["-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
const LINK: &[&str] = &["-lpthread", "-ldl", "-lm"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oap-c");
    std::fs::create_dir_all(&dir).expect("create the C build directory");
    dir
}

/// `liboauth2_provider.a`, built once for this test binary's profile.
///
/// Cargo builds a staticlib only when asked (test targets link rlibs), so
/// this runs `cargo build -p oauth2-provider-ffi --lib` for the profile
/// this test was built with, in the same target directory.
fn staticlib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<this test>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let target_dir = profile_dir.parent().expect("target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-p",
                "oauth2-provider-ffi",
                "--lib",
                "--profile",
                profile,
            ])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(repo())
            .status()
            .expect("run cargo build for the static library");
        assert!(status.success(), "building liboauth2_provider.a failed");
        let lib = profile_dir.join("liboauth2_provider.a");
        assert!(lib.is_file(), "no static library at {}", lib.display());
        lib
    })
}

/// Compiles `sources` into the executable `name` and returns its path.
fn compile(
    compiler_var: &str,
    default: &str,
    flags: &[&str],
    sources: &[PathBuf],
    name: &str,
) -> PathBuf {
    let compiler = std::env::var(compiler_var).unwrap_or_else(|_| default.into());
    let exe = out_dir().join(name);
    let output = Command::new(&compiler)
        .args(flags)
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-I")
        .arg(repo().join("ffi/tests/c"))
        .args(sources)
        .arg(staticlib())
        .args(LINK)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the compiler {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} failed for {name}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

fn valgrind_wanted() -> bool {
    std::env::var("OAP_VALGRIND").is_ok_and(|v| v == "1")
}

fn valgrind_installed() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `exe` (under valgrind when asked), asserts success, returns stdout.
fn run(exe: &Path) -> String {
    let mut command = if valgrind_wanted() && valgrind_installed() {
        let mut c = Command::new("valgrind");
        c.args(["--leak-check=full", "--error-exitcode=1"]).arg(exe);
        c
    } else {
        if valgrind_wanted() {
            eprintln!(
                "OAP_VALGRIND=1 but valgrind is not installed: running {} directly",
                exe.display()
            );
        }
        Command::new(exe)
    };
    let output = command.output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "{} exited with {:?}:\n{stdout}\n{stderr}",
        exe.display(),
        output.status.code()
    );
    stdout
}

/// The closing line of a C test program: "N passed, 0 failed", N > 0.
fn assert_all_passed(stdout: &str) {
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let passed = last
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse::<u32>().ok());
    assert!(
        passed.is_some_and(|n| n > 0),
        "unexpected closing line {last:?}"
    );
}

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

#[test]
fn c_hostile_input() {
    c_test("test_hostile.c");
}

#[test]
fn c_review_cases() {
    c_test("test_review.c");
}

#[test]
fn c_registered_clients() {
    c_test("test_registered.c");
}

#[test]
fn c_host_kept_tokens() {
    c_test("test_tokens.c");
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
fn header_compiles_as_cxx() {
    let exe = compile(
        "CXX",
        "c++",
        CXX_FLAGS,
        &[repo().join("ffi/tests/c/header_cpp.cpp")],
        "header_cpp",
    );
    assert_all_passed(&run(&exe));
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
