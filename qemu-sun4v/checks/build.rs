//! Links the sparc64 check image at the niagara PROM base with its own linker script.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=src/checks.s");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("sparc64") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    }
}
