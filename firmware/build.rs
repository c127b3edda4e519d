//! Links the sparc64 firmware image with its own linker script.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=link.ld");
    // HV_TRACE=1 builds a hypervisor that logs every hypercall that reaches Rust (a
    // debugging aid for real guests; never used by the tests).
    println!("cargo:rerun-if-env-changed=HV_TRACE");
    println!("cargo:rustc-check-cfg=cfg(hv_trace)");
    println!("cargo:rustc-check-cfg=cfg(hv_stats)");
    println!("cargo:rerun-if-env-changed=HV_STATS");
    // HV_STATS=1: count the traps that reach Rust, by trap type and function, and print
    // the counts when a domain stops (a profiling aid; never used by the tests).
    if std::env::var("HV_STATS").as_deref() == Ok("1") {
        println!("cargo:rustc-cfg=hv_stats");
    }
    if std::env::var("HV_TRACE").as_deref() == Ok("1") {
        println!("cargo:rustc-cfg=hv_trace");
    }
    // HV_NO_FAST=1: every assembly fast path (TLB misses, cpu_myid, cons_putchar,
    // cons_getchar, ta 0x83/0x84) enters the common path instead, so the Rust handlers
    // answer everything (`cargo xtask test` runs the test guest on both builds and compares).
    println!("cargo:rerun-if-env-changed=HV_NO_FAST");
    println!("cargo:rustc-check-cfg=cfg(hv_no_fast)");
    if std::env::var("HV_NO_FAST").as_deref() == Ok("1") {
        println!("cargo:rustc-cfg=hv_no_fast");
    }
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("sparc64") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
}
