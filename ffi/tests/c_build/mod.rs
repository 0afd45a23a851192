//! Building and running C programs against the static library, for the
//! tests that need one (`c_programs.rs`, `parity.rs`).
//!
//! C is compiled with `-std=c11 -Wall -Wextra -Wpedantic -Werror`, C++
//! with `-std=c++11` (`-std=c++17` for the C++ header) and the same warnings. `OAP_VALGRIND=1` runs every
//! program under `valgrind --leak-check=full --error-exitcode=1` (when
//! valgrind is installed). `CC` and `CXX` choose the compilers.
#![allow(dead_code)] // each test binary uses its own part

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
pub const CXX_FLAGS: &[&str] = &["-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
/// For `include/oauth2_provider.hpp`, which needs C++17.
pub const CXX17_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
const LINK: &[&str] = &["-lpthread", "-ldl", "-lm"];

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the C programs are built.
pub fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oap-c");
    std::fs::create_dir_all(&dir).expect("create the C build directory");
    dir
}

/// `liboauth2_provider.a`, built once for this test binary's profile.
///
/// Cargo builds a staticlib only when asked (test targets link rlibs), so
/// this runs `cargo build -p oauth2-provider-ffi --lib` for the profile
/// this test was built with, in the same target directory.
pub fn staticlib() -> &'static Path {
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
pub fn compile(
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

/// Whether `OAP_VALGRIND=1` asks for valgrind.
pub fn valgrind_wanted() -> bool {
    std::env::var("OAP_VALGRIND").is_ok_and(|v| v == "1")
}

/// Whether valgrind can be run.
pub fn valgrind_installed() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `exe` (under valgrind when asked), asserts success, returns stdout.
pub fn run(exe: &Path) -> String {
    run_with_args(exe, &[])
}

/// [`run`] with command-line arguments.
pub fn run_with_args(exe: &Path, args: &[&OsStr]) -> String {
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
    let output = command.args(args).output().expect("run the C program");
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
pub fn assert_all_passed(stdout: &str) {
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
