//! The writer's layout proof: every MD in Sun's reference set, read with hv_api's reader,
//! rebuilt as a model and written again, must be identical byte for byte.
//! Sun's files may not be shipped: the tests are ignored unless run with
//! `--include-ignored` and `SUN_MD_DIR` naming their folder (`cargo xtask test --sun-md
//! DIR` does both); they are read in place, never copied.

use std::path::{Path, PathBuf};

fn sun_bins() -> Vec<PathBuf> {
    let dir = std::env::var("SUN_MD_DIR").expect("SUN_MD_DIR names the folder of Sun's sample MDs");
    let rd = std::fs::read_dir(Path::new(&dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let mut v: Vec<_> =
        rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "bin")).collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_mds_round_trip_byte_for_byte() {
    let files = sun_bins();
    assert!(!files.is_empty(), "no .bin files in the Sun MD directory");
    for f in &files {
        let orig = std::fs::read(f).unwrap();
        let model = ldom_config::dump::parse(&orig).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let again = model.to_bytes();
        if again != orig {
            let first = again.iter().zip(&orig).position(|(a, b)| a != b).unwrap_or(again.len().min(orig.len()));
            panic!(
                "{}: rebuilt MD differs (lengths {} vs {}), first difference at byte {first:#x}",
                f.display(),
                again.len(),
                orig.len()
            );
        }
        println!("{}: {} bytes identical", f.display(), orig.len());
    }
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_mds_pass_the_checker() {
    let files = sun_bins();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let r = ldom_config::mdlint::lint(&bytes, ldom_config::mdlint::Profile::Auto);
        let errs: Vec<String> = r.errors().map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "{}: {errs:#?}", f.display());
        let name = f.file_name().unwrap().to_str().unwrap();
        let want = if name.ends_with("-hv.bin") { "hv" } else { "guest" };
        assert_eq!(r.kind, Some(want), "{name}");
        if want == "hv" {
            assert!(r.clean(), "{name}: {:#?}", r.findings);
        }
    }
}
