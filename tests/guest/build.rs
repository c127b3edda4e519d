//! Links the sparc64 test guest at its real base (env GUEST_BASE, default 0x80000000).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-env-changed=GUEST_BASE");
    println!("cargo:rerun-if-env-changed=GUEST_MODE");
    println!("cargo:rustc-check-cfg=cfg(guest_bench)");
    println!("cargo:rustc-check-cfg=cfg(guest_fault)");
    println!("cargo:rustc-check-cfg=cfg(guest_fault_windows)");
    println!("cargo:rustc-check-cfg=cfg(guest_fault_tl2_miss)");
    println!("cargo:rustc-check-cfg=cfg(guest_fault_windows_fast)");
    println!("cargo:rustc-check-cfg=cfg(guest_fault_windows_tlb)");
    println!("cargo:rustc-check-cfg=cfg(guest_fault_watchdog)");
    println!("cargo:rustc-check-cfg=cfg(guest_hostile)");
    println!("cargo:rustc-check-cfg=cfg(guest_console_intr)");
    println!("cargo:rustc-check-cfg=cfg(guest_ra2pa)");
    // GUEST_MODE: `test` (default), `bench` (cargo xtask bench), `fault`, `fault-windows`,
    // `fault-windows-fast`, `fault-windows-tlb`, `fault-tl2-miss` or `fault-watchdog` (fail
    // on purpose), `hostile`
    // (the hostile guest: hostile calls through the machine path, case `hostile`),
    // `console-interrupt` (the console's device interrupt, case `console-interrupt`), `ra2pa`
    // (the tests plus real accesses outside the domain, which need RA->PA translation:
    // real_access.rs).
    match std::env::var("GUEST_MODE").as_deref() {
        Ok("bench") => println!("cargo:rustc-cfg=guest_bench"),
        Ok("fault") => println!("cargo:rustc-cfg=guest_fault"),
        Ok("fault-windows") => {
            println!("cargo:rustc-cfg=guest_fault");
            println!("cargo:rustc-cfg=guest_fault_windows");
        }
        Ok("fault-windows-fast") => {
            println!("cargo:rustc-cfg=guest_fault");
            println!("cargo:rustc-cfg=guest_fault_windows");
            println!("cargo:rustc-cfg=guest_fault_windows_fast");
        }
        Ok("fault-windows-tlb") => {
            println!("cargo:rustc-cfg=guest_fault");
            println!("cargo:rustc-cfg=guest_fault_windows_tlb");
        }
        Ok("fault-tl2-miss") => {
            println!("cargo:rustc-cfg=guest_fault");
            println!("cargo:rustc-cfg=guest_fault_tl2_miss");
        }
        Ok("fault-watchdog") => {
            println!("cargo:rustc-cfg=guest_fault");
            println!("cargo:rustc-cfg=guest_fault_watchdog");
        }
        Ok("hostile") => println!("cargo:rustc-cfg=guest_hostile"),
        Ok("console-interrupt") => println!("cargo:rustc-cfg=guest_console_intr"),
        Ok("ra2pa") => println!("cargo:rustc-cfg=guest_ra2pa"),
        _ => {}
    }
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("sparc64") {
        let base = std::env::var("GUEST_BASE").unwrap_or_else(|_| "0x80000000".into());
        println!("cargo:rustc-link-arg-bins=--defsym=GUEST_BASE={base}");
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
}
