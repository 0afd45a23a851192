//! The shared library's SONAME on ELF targets carries the version while
//! the ABI is unstable: `liboauth2_provider.so.0.<minor>` before 1.0,
//! `.so.<major>` after, derived from this crate's version so it cannot
//! drift from it (`make -C ffi install` names the links the same way).
//!
//! Exports need no linker script of ours: rustc hands the linker its own
//! version script, listing the crate's `#[no_mangle]` functions (all
//! `oap_`, `tests/header.rs`) and making everything else local. A second
//! script cannot narrow it (rustc's exact names win over a wildcard, and
//! GNU ld refuses two anonymous scripts), so `tests/packaging.sh` checks
//! the built library's `nm -D` instead.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let elf = matches!(
        env("CARGO_CFG_TARGET_OS").as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    );
    if elf {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-soname,{}",
            soname(
                &env("CARGO_PKG_VERSION_MAJOR"),
                &env("CARGO_PKG_VERSION_MINOR")
            )
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
