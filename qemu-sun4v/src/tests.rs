//! Unit tests of the crate.

use crate::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Builds a big-endian ELF64 file with the given PT_LOAD segments
/// `(p_type, p_paddr, file bytes, p_memsz)`.
fn make_elf(segments: &[(u32, u64, &[u8], u64)]) -> Vec<u8> {
    const EHDR: usize = 64;
    const PHDR: usize = 56;
    let phoff = EHDR;
    let mut data_off = EHDR + PHDR * segments.len();
    let mut f = Vec::new();
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 2, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_be_bytes()); // ET_EXEC
    f.extend_from_slice(&43u16.to_be_bytes()); // EM_SPARCV9
    f.extend_from_slice(&1u32.to_be_bytes()); // EV_CURRENT
    f.extend_from_slice(&0xfff0000020u64.to_be_bytes()); // e_entry
    f.extend_from_slice(&(phoff as u64).to_be_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_be_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_be_bytes()); // e_flags
    f.extend_from_slice(&(EHDR as u16).to_be_bytes());
    f.extend_from_slice(&(PHDR as u16).to_be_bytes());
    f.extend_from_slice(&(segments.len() as u16).to_be_bytes());
    f.extend_from_slice(&64u16.to_be_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_be_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_be_bytes()); // e_shstrndx
    assert_eq!(f.len(), EHDR);
    for (ty, paddr, bytes, memsz) in segments {
        f.extend_from_slice(&ty.to_be_bytes());
        f.extend_from_slice(&5u32.to_be_bytes()); // R+X
        f.extend_from_slice(&(data_off as u64).to_be_bytes());
        f.extend_from_slice(&(paddr + 0x1000_0000).to_be_bytes()); // vaddr differs
        f.extend_from_slice(&paddr.to_be_bytes());
        f.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        f.extend_from_slice(&memsz.to_be_bytes());
        f.extend_from_slice(&8u64.to_be_bytes());
        data_off += bytes.len();
    }
    for (_, _, bytes, _) in segments {
        f.extend_from_slice(bytes);
    }
    f
}

const LOAD: u32 = 1;

impl Qemu {
    fn runner_with_args(mut self, args: &[&str]) -> Self {
        self.override_args = Some(args.iter().map(OsString::from).collect());
        self
    }
}

#[test]
fn elf_to_raw_places_segments_at_paddr() {
    let elf = make_elf(&[
        (LOAD, PROM_BASE, &[1, 2, 3, 4], 4),
        (LOAD, PROM_BASE + 0x10, &[9, 9], 2),
        // .bss-like: nothing in the file, must not extend the image.
        (LOAD, PROM_BASE + 0x100, &[], 0x1000),
        // not PT_LOAD: ignored
        (4, PROM_BASE + 0x200, &[7; 4], 4),
    ]);
    let raw = elf_to_raw(&elf, PROM_BASE).unwrap();
    let mut want = vec![0u8; 0x12];
    want[..4].copy_from_slice(&[1, 2, 3, 4]);
    want[0x10..].copy_from_slice(&[9, 9]);
    assert_eq!(raw, want);
}

#[test]
fn elf_to_raw_out_of_order_and_data_load_address() {
    // .data is loaded in the PROM (p_paddr) but runs in HV RAM (p_vaddr).
    let elf = make_elf(&[(LOAD, PROM_BASE + 0x20000, &[0xaa; 3], 0x100), (LOAD, PROM_BASE, &[0x55; 2], 2)]);
    let raw = elf_to_raw(&elf, PROM_BASE).unwrap();
    assert_eq!(raw.len(), 0x20003);
    assert_eq!(&raw[..2], &[0x55, 0x55]);
    assert!(raw[2..0x20000].iter().all(|&b| b == 0));
    assert_eq!(&raw[0x20000..], &[0xaa; 3]);
}

#[test]
fn elf_to_raw_errors() {
    let below = make_elf(&[(LOAD, PROM_BASE - 4, &[1], 1)]);
    assert!(elf_to_raw(&below, PROM_BASE).unwrap_err().contains("below the image base"));
    let far = make_elf(&[(LOAD, 0x8000_0000, &[1], 1)]);
    assert!(elf_to_raw(&far, 0).unwrap_err().contains("ends more than"));
    let empty = make_elf(&[(LOAD, PROM_BASE, &[], 8)]);
    assert!(elf_to_raw(&empty, PROM_BASE).unwrap_err().contains("no PT_LOAD"));
    assert!(elf_to_raw(b"not an elf at all, definitely not", PROM_BASE).is_err());
    let mut truncated = make_elf(&[(LOAD, PROM_BASE, &[1, 2, 3, 4], 4)]);
    truncated.truncate(truncated.len() - 2);
    assert!(elf_to_raw(&truncated, PROM_BASE).is_err());
}

#[test]
fn split_limits() {
    let (r, q) = split_firmware(&[1; 100]).unwrap();
    assert_eq!((r.len(), q.len()), (100, 0));
    let (r, q) = split_firmware(&vec![2; RESET_BIN_MAX + 5]).unwrap();
    assert_eq!((r.len(), q.len()), (RESET_BIN_MAX, 5));
    assert!(split_firmware(&vec![0; RESET_BIN_MAX + Q_BIN_MAX]).is_ok());
    let e = split_firmware(&vec![0; RESET_BIN_MAX + Q_BIN_MAX + 1]).unwrap_err();
    assert!(e.contains("1 bytes too many"), "{e}");
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qemu-sun4v-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn firmware_set_writes_six_files() {
    let set = FirmwareSet::from_hypervisor(&[3; 0x10010], vec![4; 10], vec![5; 20], vec![6; 30]).unwrap();
    let dir = tmpdir("six");
    let written = set.write_to(&dir).unwrap();
    let names: Vec<_> = written.iter().map(|w| (w.name, w.size)).collect();
    assert_eq!(
        names,
        [
            ("reset.bin", 0x10000),
            ("q.bin", 0x10),
            ("openboot.bin", 10),
            ("1up-hv.bin", 20),
            ("1up-md.bin", 30),
            ("nvram1", 0x2000)
        ]
    );
    assert_eq!(std::fs::read(dir.join("nvram1")).unwrap(), vec![0; 0x2000]);
    assert_eq!(FirmwareSet::read_from(&dir).unwrap().q_bin, vec![3; 0x10]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn firmware_set_limits() {
    let ok = FirmwareSet {
        reset_bin: vec![0; RESET_BIN_MAX],
        q_bin: vec![0; Q_BIN_MAX],
        openboot_bin: vec![0; OPENBOOT_BIN_MAX],
        hv_md: vec![0; SMALL_ROM_MAX],
        md_rom: vec![0; SMALL_ROM_MAX],
        nvram: Some(vec![0; SMALL_ROM_MAX]),
    };
    ok.check().unwrap();
    type Grow = fn(&mut FirmwareSet);
    let cases: [(&str, Grow); 6] = [
        ("reset.bin", |s| s.reset_bin.push(0)),
        ("q.bin", |s| s.q_bin.push(0)),
        ("openboot.bin", |s| s.openboot_bin.push(0)),
        ("1up-hv.bin", |s| s.hv_md.push(0)),
        ("1up-md.bin", |s| s.md_rom.push(0)),
        ("nvram1", |s| s.nvram.as_mut().unwrap().push(0)),
    ];
    for (name, grow) in cases {
        let mut s = ok.clone();
        grow(&mut s);
        let e = s.check().unwrap_err();
        assert!(e.starts_with(name), "{name}: {e}");
        let dir = tmpdir(name);
        assert!(s.write_to(&dir).is_err());
        assert!(!dir.exists(), "nothing is written when a limit is broken");
    }
}

#[test]
fn command_line() {
    let q =
        Qemu::new("/tmp/fw dir").memory(256 << 20).drive("/x/disk,1.img").icount(3).extra_arg("-d").extra_arg("int");
    let c = q.command();
    assert_eq!(c.get_program(), "qemu-system-sparc64");
    let args: Vec<_> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    assert_eq!(
        args,
        [
            "-M",
            "niagara",
            "-L",
            "/tmp/fw dir",
            "-nographic",
            "-monitor",
            "none",
            "-m",
            "256M",
            "-drive",
            "if=pflash,format=raw,readonly=on,file=/x/disk,,1.img",
            "-icount",
            "shift=3",
            "-d",
            "int"
        ]
    );
    assert!(q.command_line().contains("-L '/tmp/fw dir' "));
    // Default memory and rounding up to whole MiB.
    let a = Qemu::new("fw").args();
    assert_eq!(a[8], "128M");
    let a = Qemu::new("fw").memory((1 << 20) + 1).args();
    assert_eq!(a[8], "2M");
    // -smp only when asked for, right after the memory.
    assert!(!Qemu::new("fw").args().iter().any(|a| a == "-smp"));
    let a = Qemu::new("fw").smp(6).extra_arg("-d").args();
    assert_eq!(a[9..], ["-smp", "6", "-d"]);
}

#[test]
fn capture_stops_at_marker_and_timeout() {
    // Uses /bin/sh as a stand-in for QEMU: the runner only needs a process.
    if !Path::new("/bin/sh").exists() {
        return;
    }
    let script = "echo banner; echo 'hv: all domains stopped'; sleep 30";
    let t = Instant::now();
    let o = Qemu::new("fw")
        .binary("/bin/sh")
        .no_core_dump(false)
        .runner_with_args(&["-c", script])
        .run_capture(Duration::from_secs(20), &[END_MARKER])
        .unwrap();
    assert_eq!(o.ended_by, EndedBy::EndMarker(END_MARKER.into()));
    assert!(o.output.contains("banner\nhv: all domains stopped\n"), "{}", o.output);
    assert!(t.elapsed() < Duration::from_secs(10));

    let o = Qemu::new("fw")
        .binary("/bin/sh")
        .runner_with_args(&["-c", "echo x; echo err >&2; sleep 30"])
        .run_capture(Duration::from_millis(500), &[END_MARKER])
        .unwrap();
    assert_eq!(o.ended_by, EndedBy::Timeout);
    assert!(o.output.contains("x\n") && o.output.contains("err\n"));

    let o = Qemu::new("fw")
        .binary("/bin/sh")
        .runner_with_args(&["-c", "echo bye; exit 3"])
        .run_capture(Duration::from_secs(20), &[END_MARKER])
        .unwrap();
    assert_eq!(o.ended_by, EndedBy::Exited(Some(3)));
    assert_eq!(o.output, "bye\n");
    assert_eq!(o.stdout, b"bye\n");
}

#[test]
fn scripted_input_is_typed_after_prompts() {
    if !Path::new("/bin/sh").exists() {
        return;
    }
    // A tiny "monitor": prints a prompt, echoes each line read, twice.
    let script = "printf 'ok '; read a; echo \"got $a\"; printf 'ok '; read b; \
                  echo \"got $b\"; echo 'hv: all domains stopped'; sleep 30";
    let o = Qemu::new("fw")
        .binary("/bin/sh")
        .runner_with_args(&["-c", script])
        .run_scripted(
            Duration::from_secs(20),
            &[END_MARKER],
            &[InputStep::new("ok", "banner\r\n"), InputStep::new("ok", "words\n")],
        )
        .unwrap();
    assert_eq!(o.ended_by, EndedBy::EndMarker(END_MARKER.into()));
    assert!(o.output.contains("got banner\n"), "{}", o.output);
    assert!(o.output.contains("got words\n"), "{}", o.output);
}

#[test]
fn qmp_socket_on_the_command_line() {
    let a = Qemu::new("fw").qmp_socket("/tmp/a,b.sock").args();
    let i = a.iter().position(|x| x == "-qmp").expect("-qmp");
    assert_eq!(a[i + 1], "unix:/tmp/a,,b.sock,server=on,wait=off");
    assert!(!Qemu::new("fw").args().iter().any(|a| a == "-qmp"));
    assert_eq!(crate::monitor::json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}

/// A stand-in QMP server: greets, answers every command with `return` (after an event),
/// `pmemsave` by writing the file the way QEMU does; records the commands.
#[test]
fn qmp_snapshots_stop_save_and_go_on() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;
    let dir = tmpdir("qmp");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("q.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let mut seen = Vec::new();
        writeln!(w, "{{\"QMP\": {{\"version\": {{}}, \"capabilities\": []}}}}").unwrap();
        for line in BufReader::new(s).lines() {
            let line = line.unwrap();
            if let Some(f) = line.split("\"filename\": \"").nth(1) {
                std::fs::write(f.trim_end_matches("\"}}"), b"bytes").unwrap();
            }
            writeln!(w, "{{\"event\": \"STOP\"}}").unwrap();
            if line.contains("bad") {
                writeln!(w, "{{\"error\": {{\"class\": \"GenericError\"}}}}").unwrap();
            } else {
                writeln!(w, "{{\"return\": {{}}}}").unwrap();
            }
            seen.push(line);
        }
        seen
    });
    let mut q = Qmp::connect(&sock, Duration::from_secs(5)).unwrap();
    let snap = Snapshot { at: None, base: 0xfff0000000, size: 0x2000, file: dir.join("m.bin") };
    q.take(&[&snap], true).unwrap();
    assert!(q.execute("bad", "").is_err());
    drop(q);
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(seen[0].contains("qmp_capabilities") && seen[1].contains("\"stop\"") && seen[4].contains("bad"));
    assert!(seen[2].contains("\"pmemsave\"") && seen[2].contains("\"val\": 1099243192320, \"size\": 8192"));
    assert!(seen[3].contains("\"cont\""));
    assert_eq!(std::fs::read(dir.join("m.bin")).unwrap(), b"bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}
