//! Runs the `ldom-config` binary: every negative configuration under tests/invalid,
//! the examples under configs/, the golden MDs, dump and lint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ldom-config"))
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn configs_dir() -> PathBuf {
    crate_dir().join("../configs")
}

/// The fixed fake image used by the examples and goldens: 4 KiB, a recognisable pattern.
fn fake_image() -> Vec<u8> {
    (0..4096u32).map(|i| (i.wrapping_mul(7) ^ (i >> 8)) as u8).collect()
}

/// A temporary directory unique to this test and process, with `test-guest.bin` (4 KiB)
/// and, for the invalid configurations, `big-guest.bin` (5 MiB). Tests remove it at the end.
fn image_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ldom-config-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("test-guest.bin"), fake_image()).unwrap();
    if tag == "invalid" {
        std::fs::write(d.join("big-guest.bin"), vec![0u8; 5 << 20]).unwrap();
    }
    d
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `(rule, line)` of every `FILE:LINE:COL: error[RULE]: …` line.
fn errors(stderr: &str) -> Vec<(String, usize)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (head, rest) = l.split_once(": error[")?;
            let rule = rest.split_once(']')?.0.to_string();
            let mut parts = head.rsplitn(3, ':');
            let _col: usize = parts.next()?.parse().ok()?;
            let line: usize = parts.next()?.parse().ok()?;
            Some((rule, line))
        })
        .collect()
}

#[test]
fn every_invalid_config_breaks_exactly_its_rule() {
    let imgs = image_dir("invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(crate_dir().join("tests/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} invalid configs", files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let first = text.lines().next().unwrap();
        let spec = first.strip_prefix("# expect: ").unwrap_or_else(|| panic!("{}: no `# expect:` line", f.display()));
        let (rule, line) = spec.split_once(" at line ").unwrap();
        let line: usize = line.trim().parse().unwrap();
        assert_eq!(f.file_stem().unwrap().to_str().unwrap(), rule, "file name = rule id");
        let (code, _out, err) = run(bin().arg("check").arg(f).arg("--image-dir").arg(&imgs));
        assert_eq!(code, 1, "{}: exit status\n{err}", f.display());
        let errs = errors(&err);
        assert!(!errs.is_empty(), "{}: no located error in\n{err}", f.display());
        assert!(errs.iter().all(|(r, _)| r == rule), "{}: expected only [{rule}], got {errs:?}\n{err}", f.display());
        assert!(
            errs.iter().any(|(_, l)| *l == line),
            "{}: expected [{rule}] at line {line}, got {errs:?}\n{err}",
            f.display()
        );
        // The message names the file.
        assert!(err.contains(&format!("{}:{line}:", f.display())), "{err}");
    }
    let _ = std::fs::remove_dir_all(&imgs);
}

#[test]
fn examples_check_and_build() {
    let imgs = image_dir("examples");
    for ex in ["one-domain", "two-domains", "two-domains-ldc", "two-domains-vnet"] {
        let cfg = configs_dir().join(format!("{ex}.toml"));
        let (code, out, err) = run(bin().arg("check").arg(&cfg).arg("--image-dir").arg(&imgs));
        assert_eq!(code, 0, "{ex}: {err}");
        assert!(out.contains("ok") && out.contains("guest MD") && out.contains("hypervisor MD"), "{out}");

        let dir = imgs.join(format!("out-{ex}"));
        let (code, _, err) = run(bin().arg("build").arg(&cfg).arg("-o").arg(&dir).arg("--image-dir").arg(&imgs));
        assert_eq!(code, 0, "{ex}: {err}");
        for f in ["hv.md", "1up-hv.bin", "1up-md.bin", "openboot.bin", "primary.md"] {
            assert!(dir.join(f).is_file(), "{ex}: {f} missing");
        }
        assert_eq!(std::fs::read(dir.join("hv.md")).unwrap(), std::fs::read(dir.join("1up-hv.bin")).unwrap());
        assert_eq!(std::fs::read(dir.join("primary.md")).unwrap(), std::fs::read(dir.join("1up-md.bin")).unwrap());
        let ob = std::fs::read(dir.join("openboot.bin")).unwrap();
        assert_eq!(&ob[..4096], &fake_image()[..], "{ex}: domain 0's image opens openboot.bin");
        for md in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            if md.extension().is_some_and(|x| x == "md") {
                let (code, out, _) = run(bin().arg("lint").arg("--strict").arg(&md));
                assert_eq!(code, 0, "{}: {out}", md.display());
                let (code, out, _) = run(bin().arg("dump").arg(&md));
                assert_eq!(code, 0);
                assert!(out.starts_with("node root root {"), "{out}");
                let (code, out, _) = run(bin().arg("dump").arg("--dot").arg(&md));
                assert_eq!(code, 0);
                assert!(out.starts_with("digraph md {"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&imgs);
}

#[test]
fn build_writes_nothing_when_a_rule_fails() {
    let imgs = image_dir("nothing");
    let dir = imgs.join("out-nothing");
    let cfg = crate_dir().join("tests/invalid/image-missing.toml");
    let (code, _, err) = run(bin().arg("build").arg(&cfg).arg("-o").arg(&dir).arg("--image-dir").arg(&imgs));
    assert_eq!(code, 1, "{err}");
    assert!(!dir.exists(), "build created {}", dir.display());
    let _ = std::fs::remove_dir_all(&imgs);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&mut bin()).0, 2);
    assert_eq!(run(bin().arg("frobnicate")).0, 2);
    assert_eq!(run(bin().arg("build").arg("x.toml")).0, 2);
    assert_eq!(run(bin().arg("lint").arg("--hv").arg("--guest").arg("x")).0, 2);
    assert_eq!(run(bin().arg("dump").arg("--bogus").arg("x")).0, 2);
}

#[test]
fn lint_rejects_a_corrupted_md_with_exit_1() {
    let imgs = image_dir("lint");
    let dir = imgs.join("out-lint");
    let cfg = configs_dir().join("one-domain.toml");
    assert_eq!(run(bin().arg("build").arg(&cfg).arg("-o").arg(&dir).arg("--image-dir").arg(&imgs)).0, 0);
    let mut md = std::fs::read(dir.join("hv.md")).unwrap();
    md[16] = b'X'; // root's NODE tag
    let bad = dir.join("bad.md");
    std::fs::write(&bad, &md).unwrap();
    let (code, out, _) = run(bin().arg("lint").arg(&bad));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error[unknown-tag]: element 0 (byte 0x10): unknown tag 0x58"), "{out}");
    assert_eq!(run(bin().arg("dump").arg(&bad)).0, 1);
    let _ = std::fs::remove_dir_all(&imgs);
}

/// Golden MDs: tests/golden/<example>/<file>, built with the fixed fake image.
/// `UPDATE_GOLDEN=1 cargo test -p ldom-config` rewrites them.
#[test]
fn golden_mds() {
    let imgs = image_dir("golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    for ex in ["one-domain", "two-domains", "two-domains-ldc", "two-domains-vnet"] {
        let cfg = configs_dir().join(format!("{ex}.toml"));
        let dir = imgs.join(format!("golden-{ex}"));
        let (code, _, err) = run(bin().arg("build").arg(&cfg).arg("-o").arg(&dir).arg("--image-dir").arg(&imgs));
        assert_eq!(code, 0, "{err}");
        let golden = crate_dir().join("tests/golden").join(ex);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".md"))
            .collect();
        names.sort();
        if update {
            std::fs::create_dir_all(&golden).unwrap();
            for n in &names {
                std::fs::copy(dir.join(n), golden.join(n)).unwrap();
            }
            println!("updated {}", golden.display());
            continue;
        }
        let mut want: Vec<String> = std::fs::read_dir(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", golden.display()))
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        want.sort();
        assert_eq!(names, want, "{ex}: set of MD files");
        for n in &names {
            let got = std::fs::read(dir.join(n)).unwrap();
            let exp = std::fs::read(golden.join(n)).unwrap();
            assert!(exp.len() < 10 * 1024, "golden {ex}/{n} is {} bytes", exp.len());
            assert!(got == exp, "{ex}/{n} differs from the golden file (UPDATE_GOLDEN=1 regenerates it)");
        }
    }
    let _ = std::fs::remove_dir_all(&imgs);
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn dump_reads_suns_mds() {
    let dir = std::env::var("SUN_MD_DIR").expect("SUN_MD_DIR names the folder of Sun's sample MDs");
    let p = Path::new(&dir).join("1up-hv.bin");
    assert!(p.is_file(), "{} is missing", p.display());
    let (code, out, _) = run(bin().arg("dump").arg(&p));
    assert_eq!(code, 0);
    assert!(out.contains("node guest guest0 {") && out.contains("\tpdpa = 0x1f12000000;"), "{out}");
    let (code, out, _) = run(bin().arg("lint").arg("--hv").arg("--strict").arg(&p));
    assert_eq!(code, 0, "{out}");
}

/// `check` shows where a domain sees its memory when that is not where it lives.
#[test]
fn check_shows_a_realbase_that_differs() {
    let cfg = crate_dir().join("../tests/configs/two-domains-same-ra.toml");
    let (code, out, err) = run(bin().arg("check").arg(&cfg));
    assert_eq!(code, 0, "{err}");
    let line = |name: &str| out.lines().find(|l| l.contains(&format!("{name:?}"))).unwrap_or_else(|| panic!("{out}"));
    assert!(line("high").contains("memory 0x90000000+256M at RA 0x80000000,"), "{out}");
    assert!(line("low").contains("memory 0x80000000+256M,"), "{out}");
}

/// A network: `check` lists it with its MAC addresses and channel, `dump` shows each
/// domain's network device and port.
#[test]
fn check_and_dump_show_the_networks() {
    let imgs = image_dir("networks");
    let cfg = configs_dir().join("two-domains-vnet.toml");
    let (code, out, err) = run(bin().arg("check").arg(&cfg).arg("--image-dir").arg(&imgs));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("channel: \"primary\" id 1 <-> \"guest1\" id 1 (network \"lan\")"), "{out}");
    assert!(
        out.contains("network \"lan\": \"primary\" 02:00:00:00:01:01, switch-port; \"guest1\" 02:00:00:00:01:02"),
        "{out}"
    );
    let dir = imgs.join("out-networks");
    let (code, _, err) = run(bin().arg("build").arg(&cfg).arg("-o").arg(&dir).arg("--image-dir").arg(&imgs));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(bin().arg("dump").arg(dir.join("guest1.md")));
    assert_eq!(code, 0);
    for want in [
        "node virtual-device virtual_device4 {",
        "\tname = \"network\";",
        "\tlocal-mac-address = 0x20000000102;",
        "node virtual-device-port virtual_device_port0 {",
        "\tname = \"vnet-port\";",
        "\tremote-mac-address = 0x20000000101;",
        "\tswitch-port = 0x0;",
        "\tfwd -> channel_endpoint1;",
    ] {
        assert!(out.contains(want), "dump lacks {want:?}:\n{out}");
    }
    let _ = std::fs::remove_dir_all(&imgs);
}
