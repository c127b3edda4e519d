//! Links the sparc64 firmware at its virtual base (FW_VA) with its load address
//! (the domain's real base, GUEST_BASE, default 0x80000000) as the ELF physical address.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=src/entry.s");
    println!("cargo:rerun-if-env-changed=GUEST_BASE");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("sparc64") {
        let base = std::env::var("GUEST_BASE").unwrap_or_else(|_| "0x80000000".into());
        println!("cargo:rustc-link-arg-bins=--defsym=GUEST_BASE={base}");
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
}
