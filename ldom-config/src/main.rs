//! `ldom-config`: build, check, dump and lint logical-domain configurations and MDs.
#![forbid(unsafe_code)]

use ldom_config::mdlint::{self, Profile};
use ldom_config::{config, FileResolver};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  ldom-config build CONFIG -o DIR [--image-dir DIR]
      validate CONFIG and write DIR/{hv.md,1up-hv.bin,<domain>.md…,1up-md.bin,openboot.bin}
      (nothing is written if a rule fails)
  ldom-config check CONFIG [--image-dir DIR]
      validate CONFIG (and its images if --image-dir is given or all images are paths);
      print a summary, or every error as FILE:LINE:COL: error[RULE]: message
  ldom-config dump FILE [--dot]
      print an MD (ours or Sun's) as text, or as a Graphviz graph
  ldom-config lint FILE [--hv|--guest] [--strict]
      check an MD binary; --strict makes warnings fail
exit status: 0 ok, 1 rule or lint failure, 2 usage or I/O error";

fn usage(msg: &str) -> ExitCode {
    eprintln!("ldom-config: {msg}\n{USAGE}");
    ExitCode::from(2)
}

struct Args {
    pos: Vec<String>,
    out: Option<PathBuf>,
    image_dir: Option<PathBuf>,
    flags: Vec<String>,
}

fn parse_args(argv: &[String], flags: &[&str], with_out: bool, with_images: bool) -> Result<Args, String> {
    let mut a = Args { pos: Vec::new(), out: None, image_dir: None, flags: Vec::new() };
    let mut it = argv.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "-o" | "--out" if with_out => {
                a.out = Some(it.next().ok_or("-o needs a directory")?.into());
            }
            "--image-dir" if with_images => {
                a.image_dir = Some(it.next().ok_or("--image-dir needs a directory")?.into());
            }
            f if flags.contains(&f) => a.flags.push(f.to_string()),
            f if f.starts_with('-') && f.len() > 1 => return Err(format!("unknown option {f}")),
            p => a.pos.push(p.to_string()),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        return usage("no command");
    };
    let rest = &argv[1..];
    match cmd.as_str() {
        "build" => match parse_args(rest, &[], true, true) {
            Ok(a) if a.pos.len() == 1 && a.out.is_some() => {
                cmd_build(Path::new(&a.pos[0]), &a.out.unwrap(), a.image_dir)
            }
            Ok(_) => usage("build needs CONFIG and -o DIR"),
            Err(e) => usage(&e),
        },
        "check" => match parse_args(rest, &[], false, true) {
            Ok(a) if a.pos.len() == 1 => cmd_check(Path::new(&a.pos[0]), a.image_dir),
            Ok(_) => usage("check needs one CONFIG"),
            Err(e) => usage(&e),
        },
        "dump" => match parse_args(rest, &["--dot"], false, false) {
            Ok(a) if a.pos.len() == 1 => cmd_dump(Path::new(&a.pos[0]), !a.flags.is_empty()),
            Ok(_) => usage("dump needs one FILE"),
            Err(e) => usage(&e),
        },
        "lint" => match parse_args(rest, &["--hv", "--guest", "--strict"], false, false) {
            Ok(a) if a.pos.len() == 1 => {
                let hv = a.flags.iter().any(|f| f == "--hv");
                let guest = a.flags.iter().any(|f| f == "--guest");
                let profile = match (hv, guest) {
                    (true, true) => return usage("--hv and --guest exclude each other"),
                    (true, false) => Profile::Hv,
                    (false, true) => Profile::Guest,
                    _ => Profile::Auto,
                };
                cmd_lint(Path::new(&a.pos[0]), profile, a.flags.iter().any(|f| f == "--strict"))
            }
            Ok(_) => usage("lint needs one FILE"),
            Err(e) => usage(&e),
        },
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        c => usage(&format!("unknown command {c:?}")),
    }
}

fn resolver(cfg: &Path, image_dir: Option<PathBuf>) -> FileResolver {
    FileResolver { config_dir: cfg.parent().map(Path::to_path_buf).unwrap_or_default(), image_dir }
}

fn fail(errs: &ldom_config::Errors) -> ExitCode {
    for e in errs.iter() {
        eprintln!("{e}");
    }
    eprintln!("{} error{}", errs.len(), if errs.len() == 1 { "" } else { "s" });
    ExitCode::from(1)
}

fn cmd_build(path: &Path, out: &Path, image_dir: Option<PathBuf>) -> ExitCode {
    let b = match ldom_config::build(path, &mut resolver(path, image_dir)) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let mut files: Vec<(String, &[u8])> = vec![
        ("hv.md".into(), &b.hv_md),
        ("1up-hv.bin".into(), &b.hv_md),
        ("1up-md.bin".into(), &b.md_rom),
        ("openboot.bin".into(), &b.prom_guest_area),
    ];
    for d in &b.domains {
        files.push((format!("{}.md", d.name), &d.guest_md));
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("ldom-config: cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    for (name, bytes) in files {
        let p = out.join(&name);
        if let Err(e) = std::fs::write(&p, bytes) {
            eprintln!("ldom-config: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    println!("wrote {} ({} domains, qemu -m {}M)", out.display(), b.domains.len(), b.ram_size >> 20);
    ExitCode::SUCCESS
}

fn cmd_check(path: &Path, image_dir: Option<PathBuf>) -> ExitCode {
    let cfg = match config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let all_paths = cfg.domains.iter().all(|d| matches!(d.image, config::ImageRef::Path(_)));
    let built = if image_dir.is_some() || all_paths {
        match ldom_config::build_config(&cfg, &mut resolver(path, image_dir)) {
            Ok(b) => Some(b),
            Err(e) => return fail(&e),
        }
    } else {
        None
    };
    let p = &cfg.platform;
    println!(
        "{}: ok\nplatform: {} strand{}, RAM {:#x}+{} (qemu -m {}M)",
        path.display(),
        p.strands,
        if p.strands == 1 { "" } else { "s" },
        p.ram_base,
        config::human(p.ram_size),
        p.ram_size >> 20
    );
    for (i, d) in cfg.domains.iter().enumerate() {
        let img = match &d.image {
            config::ImageRef::Path(p) => p.display().to_string(),
            config::ImageRef::Named(n) => format!("named image {n:?}"),
        };
        // Where the guest sees its memory, when that is not where it lives (RA != PA).
        let real = if d.realbase == d.membase { String::new() } else { format!(" at RA {:#x}", d.realbase) };
        println!(
            "domain {i} {:?}: strands {:?}, memory {:#x}+{}{real}, image {img}, entry +{:#x}, failure-policy {}",
            d.name,
            d.vcpus,
            d.membase,
            config::human(d.memsize),
            d.entry_offset,
            d.failure_policy.name()
        );
        match &built {
            Some(b) => {
                let bd = &b.domains[i];
                println!(
                    "  guest MD {} bytes at {:#x}; image {:#x}+{:#x}",
                    bd.guest_md.len(),
                    bd.pdpa,
                    bd.rombase,
                    bd.romsize
                );
            }
            None => println!("  guest MD {} bytes", ldom_config::build::guest_md(&cfg, i).to_bytes().len()),
        }
    }
    for (ci, c) in cfg.channels.iter().enumerate() {
        let [a, b] = &c.ends;
        let of = cfg
            .networks
            .iter()
            .find(|n| n.links.iter().any(|l| l.channel == ci))
            .map_or(String::new(), |n| format!(" (network {:?})", n.name));
        println!(
            "channel: {:?} id {} <-> {:?} id {}{of}",
            cfg.domains[a.domain].name, a.id, cfg.domains[b.domain].name, b.id
        );
    }
    for n in &cfg.networks {
        let members: Vec<String> = n
            .members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let sw = if n.switch_port == Some(k) { ", switch-port" } else { "" };
                format!("{:?} {}{sw}", cfg.domains[m.domain].name, config::mac_text(m.mac))
            })
            .collect();
        println!("network {:?}: {}", n.name, members.join("; "));
    }
    match &built {
        Some(b) => println!(
            "hypervisor MD {} bytes; PROM guest area {:#x} of {:#x} bytes",
            b.hv_md.len(),
            b.prom_guest_area.len(),
            ldom_config::build::PROM_GUEST_SIZE
        ),
        None => println!("(images not checked: give --image-dir to resolve named images)"),
    }
    ExitCode::SUCCESS
}

fn read(path: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!("ldom-config: cannot read {}: {e}", path.display());
        ExitCode::from(2)
    })
}

fn cmd_dump(path: &Path, dot: bool) -> ExitCode {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(c) => return c,
    };
    match ldom_config::dump::parse(&bytes) {
        Ok(md) => {
            print!("{}", if dot { ldom_config::dump::dot(&md) } else { ldom_config::dump::text(&md) });
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: not a valid MD: {e} (run `ldom-config lint` for details)", path.display());
            ExitCode::from(1)
        }
    }
}

fn cmd_lint(path: &Path, profile: Profile, strict: bool) -> ExitCode {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(c) => return c,
    };
    let r = mdlint::lint(&bytes, profile);
    for f in &r.findings {
        println!("{}: {f}", path.display());
    }
    let (e, w) = (r.errors().count(), r.warnings().count());
    println!(
        "{}: {} MD, {} bytes, {} nodes: {e} error{}, {w} warning{}",
        path.display(),
        r.kind.unwrap_or("unknown"),
        r.size,
        r.nodes,
        if e == 1 { "" } else { "s" },
        if w == 1 { "" } else { "s" }
    );
    if e > 0 || (strict && w > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
