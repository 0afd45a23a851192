//! Compiles `../c/memstore.c` into `libmemstore.a` with the system C
//! compiler (`CC`, default `cc`) and archiver (`AR`, default `ar`), with
//! the warnings the C tests use (`ffi/tests/c_build/mod.rs`), and has it
//! linked into the crates that depend on this one.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn main() {
    let here = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let c_dir = here.join("../c");
    let include = here.join("../../../include");
    for input in [
        c_dir.join("memstore.c"),
        c_dir.join("memstore.h"),
        include.join("oauth2_provider.h"),
    ] {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=AR");

    let object = out.join("memstore.o");
    let archive = out.join("libmemstore.a");
    run(Command::new(env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(C_FLAGS)
        .args(["-fPIC", "-g", "-c", "-I"])
        .arg(&include)
        .arg(c_dir.join("memstore.c"))
        .arg("-o")
        .arg(&object));
    // `ar r` adds to an existing archive: start from none.
    let _ = std::fs::remove_file(&archive);
    run(Command::new(env::var("AR").unwrap_or_else(|_| "ar".into()))
        .arg("crs")
        .arg(&archive)
        .arg(&object));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=memstore");
}
