//! The writer's layout proof: every MD in Sun's reference set, read with hv_api's reader,
//! rebuilt as a model and written again, must be identical byte for byte.
//! (Sun's files are read in place from the shared reference directory, never copied.)

use std::path::Path;

const SUN_MD_DIR: &str = "/work/shared/reference/sun-md";

fn sun_bins() -> Option<Vec<std::path::PathBuf>> {
    let dir = std::env::var("SUN_MD_DIR").unwrap_or_else(|_| SUN_MD_DIR.to_string());
    let rd = match std::fs::read_dir(Path::new(&dir)) {
        Ok(rd) => rd,
        Err(e) => {
            println!("note: skipping, {dir} is not readable ({e})");
            return None;
        }
    };
    let mut v: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    v.sort();
    Some(v)
}

#[test]
fn sun_mds_round_trip_byte_for_byte() {
    let Some(files) = sun_bins() else { return };
    assert!(!files.is_empty(), "no .bin files in the Sun MD directory");
    for f in &files {
        let orig = std::fs::read(f).unwrap();
        let model =
            ldom_config::dump::parse(&orig).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let again = model.to_bytes();
        if again != orig {
            let first = again
                .iter()
                .zip(&orig)
                .position(|(a, b)| a != b)
                .unwrap_or(again.len().min(orig.len()));
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
fn sun_mds_pass_the_checker() {
    let Some(files) = sun_bins() else { return };
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let r = ldom_config::mdlint::lint(&bytes, ldom_config::mdlint::Profile::Auto);
        let errs: Vec<String> = r.errors().map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "{}: {errs:#?}", f.display());
        let name = f.file_name().unwrap().to_str().unwrap();
        let want = if name.ends_with("-hv.bin") {
            "hv"
        } else {
            "guest"
        };
        assert_eq!(r.kind, Some(want), "{name}");
        if want == "hv" {
            assert!(r.clean(), "{name}: {:#?}", r.findings);
        }
    }
}
