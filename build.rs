//! Sets the cfgs of the core's two system-call modules, on the targets
//! whose constants they know: `fork_wiping_memory` (`src/random/
//! wipe_on_fork.rs`) on Linux on x86-64, AArch64 and RISC-V 64, and
//! `coarse_clock` (`src/clock.rs`) on 64-bit Linux.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fork_wiping_memory)");
    println!("cargo::rustc-check-cfg=cfg(coarse_clock)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let pointer_width = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").unwrap_or_default();
    if os == "linux" && matches!(arch.as_str(), "x86_64" | "aarch64" | "riscv64") {
        println!("cargo::rustc-cfg=fork_wiping_memory");
    }
    if os == "linux" && pointer_width == "64" {
        println!("cargo::rustc-cfg=coarse_clock");
    }
}
