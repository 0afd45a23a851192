//! The shared library's ABI identity on ELF targets:
//!
//! - its SONAME carries the version while the ABI is unstable:
//!   `liboauth2_provider.so.0.<minor>` before 1.0, `.so.<major>` after,
//!   derived from this crate's version so it cannot drift;
//! - the version script `oauth2_provider.map` exports `oap_*` and hides
//!   everything else, even a `#[no_mangle]` symbol a dependency adds.
//!
//! rustc hands the linker its own version script (the crate's exported
//! symbols). rust-lld merges ours with it; GNU ld refuses a second
//! anonymous version script, so ours is passed only when rustc links with
//! its bundled lld (the default on x86_64-unknown-linux-gnu since Rust
//! 1.90) and the flags do not choose another linker. Elsewhere rustc's
//! own list (our `#[no_mangle]` functions, all `oap_`) still decides, and
//! `ffi/tests/packaging.sh` checks the exports of the built library.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=oauth2_provider.map");
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let elf = matches!(
        env("CARGO_CFG_TARGET_OS").as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    );
    if !elf {
        return;
    }
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,-soname,{}",
        soname(
            &env("CARGO_PKG_VERSION_MAJOR"),
            &env("CARGO_PKG_VERSION_MINOR")
        )
    );
    if links_with_rust_lld(&env("TARGET"), &env("CARGO_ENCODED_RUSTFLAGS")) {
        let map = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("oauth2_provider.map");
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
            map.display()
        );
    }
}

/// `liboauth2_provider.so.0.1` for 0.1.x, `liboauth2_provider.so.1` for 1.x.
fn soname(major: &str, minor: &str) -> String {
    if major == "0" {
        format!("liboauth2_provider.so.0.{minor}")
    } else {
        format!("liboauth2_provider.so.{major}")
    }
}

/// Whether rustc links this target with its bundled lld: x86_64 Linux
/// (GNU), Rust 1.90 or newer, and neither a flag nor a configured linker
/// choosing another one.
fn links_with_rust_lld(target: &str, rustflags: &str) -> bool {
    if target != "x86_64-unknown-linux-gnu" {
        return false;
    }
    let chooses_linker = [
        "linker-features",
        "link-self-contained",
        "linker-flavor",
        "fuse-ld",
        "linker=",
    ];
    if rustflags
        .split('\x1f')
        .any(|flag| chooses_linker.iter().any(|c| flag.contains(c)))
    {
        return false;
    }
    if std::env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-vV").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .lines()
        .find_map(|l| l.strip_prefix("release: 1."))
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
