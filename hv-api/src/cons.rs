//! Console special values (hv-api.md §2.3, §3; OSH `src/include/hypervisor.h`).

/// `cons_getchar`/`cons_read` BREAK indication, and the `cons_putchar`
/// argument that sends a BREAK: -1 (hv-api.md §2.3; OSH `CONS_BREAK`).
pub const CONS_BREAK: u64 = -1i64 as u64;
/// `cons_getchar`/`cons_read` hang-up indication: -2 (hv-api.md §2.3; OSH `CONS_HUP`).
pub const CONS_HUP: u64 = -2i64 as u64;
/// Highest ordinary character value for `cons_putchar` (OSH `MAX_CHAR`).
pub const MAX_CHAR: u64 = 255;

static_assertions::const_assert_eq!(CONS_BREAK, 0xffff_ffff_ffff_ffff);
static_assertions::const_assert_eq!(CONS_HUP, 0xffff_ffff_ffff_fffe);
static_assertions::const_assert_eq!(MAX_CHAR, 255);

/// The keys of this hypervisor's console concentrator (not part of the sun4v API): with
/// several domains, [`keys::ESCAPE`] followed by a key switches which domain gets the
/// console input (docs/consoles.md). Shared by the hypervisor and `cargo xtask run`.
pub mod keys {
    /// Starts a console command: Ctrl-E (0x05). Neither QEMU's `-nographic` mux escape
    /// (Ctrl-A) nor `cargo xtask run`'s quit key (Ctrl-]).
    pub const ESCAPE: u8 = 0x05;
    /// After [`ESCAPE`]: input to the next domain (configuration order, wrapping).
    pub const NEXT: u8 = b'n';
    /// After [`ESCAPE`]: list the keys and the domains.
    pub const HELP: u8 = b'?';
    /// After [`ESCAPE`], `DOMAIN_0 + i` (`'0'`–`'7'`): input to domain `i`.
    pub const DOMAIN_0: u8 = b'0';
}
