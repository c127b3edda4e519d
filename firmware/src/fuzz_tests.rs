//! Every hypercall with hostile arguments: a random walk over all trap numbers and all
//! fast-trap functions (offered or not), with arguments biased towards the edges of the
//! domain's memory. Nothing may panic, and nothing outside the domain's own memory and
//! devices (its NVRAM and its disk) may be written.

use crate::test_bench::{Bench, GuestMd, HvMd, XorShift, BASE, NVBASE, SIZE};
use crate::trap::Action;
use hv_api::{core_fn, group, hcall};

const DISK: u64 = 0x1f_4000_0000;

/// Hypercall arguments.
impl XorShift {
    /// An argument: a small number, a random word, or an address near an edge of the
    /// domain's memory (often aligned).
    fn arg(&mut self) -> u64 {
        let edges = [0, BASE, BASE + SIZE, BASE + SIZE - 0x40, BASE - 0x40, u64::MAX - 0x3f, NVBASE, DISK];
        match self.below(5) {
            0 => [0, 1, 2, 3, 0x3c, 0x3f, 0x100, 0x2000, 8192][self.below(9) as usize],
            1 => self.next(),
            2 => edges[self.below(edges.len() as u64) as usize].wrapping_add(self.below(0x100)),
            _ => (BASE + self.below(SIZE)) & !(0x3f * self.below(2)),
        }
    }
}

#[test]
fn hostile_hypercalls_stay_inside_the_domain() {
    let hv_md = HvMd { diskpa: Some(DISK), ..HvMd::default() };
    let mut b = Bench::with(&hv_md, &GuestMd::default());
    // A disk with a Sun VTOC: slice 2 of 16 blocks.
    b.hw.load(DISK + 0x1d0, &16u32.to_be_bytes());
    let pages_before: Vec<u64> = b.hw.pages().collect();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let functions: Vec<u64> = hv_api::hcall::FUNCTIONS.iter().map(|f| f.number).collect();
    let never_return = [hcall::MACH_EXIT, hcall::MACH_SIR];
    let mut calls = 0u64;
    let mut succeeded = 0u64;
    for _ in 0..200_000 {
        let mut frame = b.frame(0x180, 1 + rng.below(3));
        for o in frame.o.iter_mut().take(5) {
            *o = rng.arg();
        }
        match rng.below(10) {
            // Core trap: versions (often good ones), putchar; never exit.
            0 => {
                frame.tt = 0x1ff;
                frame.o[5] = [core_fn::API_SET_VERSION, core_fn::API_GET_VERSION, core_fn::API_PUTCHAR, 9]
                    [rng.below(4) as usize];
                if frame.o[5] == core_fn::API_SET_VERSION && rng.below(2) == 0 {
                    let g = [group::CORE, group::INTR, group::SOFT_STATE, group::SUN4V][rng.below(4) as usize];
                    frame.o[0] = g;
                    frame.o[1] = rng.below(3);
                    frame.o[2] = rng.below(3);
                }
            }
            // Other hypervisor trap numbers (ta 0x81-0xfe).
            1 => frame.tt = 0x181 + rng.below(0x7e),
            // A random function number.
            2 => frame.o[5] = rng.next() & 0x1ff,
            // A function of the API.
            _ => {
                let f = functions[rng.below(functions.len() as u64) as usize];
                if never_return.contains(&f) || (f == hcall::MEM_SCRUB && rng.below(20) != 0) {
                    continue;
                }
                frame.o[5] = f;
            }
        }
        calls += 1;
        match b.handle(&mut frame) {
            Action::Resume => succeeded += u64::from(frame.o[0] == 0 && frame.tt != 0x1ff),
            // A guest failure (e.g. a trap level above MAXPTL): check, then a fresh bench.
            Action::Idle => {
                assert_only_own_pages_written(&b, &pages_before);
                b = Bench::with(&hv_md, &GuestMd::default());
                b.hw.load(DISK + 0x1d0, &16u32.to_be_bytes());
            }
        }
    }
    assert!(calls > 150_000);
    assert!(succeeded > 5_000, "the walk must reach the handlers, not only their checks ({succeeded})");
    assert_only_own_pages_written(&b, &pages_before);
}

fn assert_only_own_pages_written(b: &Bench, pages_before: &[u64]) {
    for page in b.hw.pages() {
        let own = (BASE..BASE + SIZE).contains(&page)
            || (NVBASE..NVBASE + 0x2000).contains(&page)
            || (DISK..DISK + 16 * 512).contains(&page);
        assert!(own || pages_before.contains(&page), "write outside the domain at {page:#x}");
    }
}

/// The hypervisor MDs the configurations in `configs/` and `tests/configs/` build, randomly
/// corrupted (a byte, a 32- or 64-bit field set to an edge value, a cut): reading them
/// never panics, and what is accepted keeps the rules the rest of the hypervisor relies on
/// (memory in 8 KiB-aligned blocks that do not wrap, vCPUs that name a domain; the fast
/// paths check 4 MiB alignment themselves, see case `hostile-unaligned-memory`).
#[test]
fn corrupted_hypervisor_mds_never_panic() {
    use crate::hv_config::HvConfig;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut rng = XorShift(0x0014_c0f1_6000_0001);
    let (mut accepted, mut refused) = (0u64, 0u64);
    for dir in ["configs", "tests/configs"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let cfg = ldom_config::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            let placed: Vec<(u64, u64, u64)> = (0..cfg.domains.len() as u64)
                .map(|i| (0xff_f008_0000 + i * 0x10_0000, 0x8_0000, 0x1f_1200_0000 + i * 0x2000))
                .collect();
            let bytes = ldom_config::build::hv_md(&cfg, &placed).to_bytes();
            HvConfig::from_md(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            for _ in 0..1500 {
                let mut b = bytes.clone();
                for _ in 0..1 + rng.below(3) {
                    let size = b.len() as u64;
                    let edges = [
                        0,
                        1,
                        0x2000,
                        0xffff_ffff,
                        u64::MAX,
                        1 << 63,
                        0x40_0000,
                        0x8000_0000,
                        size,
                        size / 16,
                        rng.next(),
                    ];
                    let v = edges[rng.below(edges.len() as u64) as usize];
                    match rng.below(4) {
                        0 => b[rng.below(size) as usize] = rng.next() as u8,
                        1 => {
                            let i = rng.below(size / 4) as usize * 4;
                            b[i..i + 4].copy_from_slice(&(v as u32).to_be_bytes());
                        }
                        2 => {
                            let i = rng.below(size / 8) as usize * 8;
                            b[i..i + 8].copy_from_slice(&v.to_be_bytes());
                        }
                        _ => b.truncate(rng.below(size) as usize),
                    }
                    if b.len() < 64 {
                        break;
                    }
                }
                match HvConfig::from_md(&b) {
                    Ok(c) => {
                        accepted += 1;
                        for d in &c.domains {
                            let (base, end) = (d.memory.realbase.raw(), d.memory.real_end());
                            assert!(
                                base % 0x2000 == 0 && end % 0x2000 == 0 && end > base,
                                "{}: memory {base:#x}..{end:#x}",
                                path.display()
                            );
                        }
                        for v in &c.vcpus {
                            assert!(v.domain < c.domains.len());
                        }
                    }
                    Err(_) => refused += 1,
                }
            }
        }
    }
    assert!(accepted > 500 && refused > 500, "{accepted} accepted, {refused} refused");
}
