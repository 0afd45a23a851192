//! Sets `fork_wiping_memory` on the targets where `src/random/wipe_on_fork.rs`
//! knows the system's constants: Linux on x86-64, AArch64 and RISC-V 64.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fork_wiping_memory)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "linux" && matches!(arch.as_str(), "x86_64" | "aarch64" | "riscv64") {
        println!("cargo::rustc-cfg=fork_wiping_memory");
    }
}
