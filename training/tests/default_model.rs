//! The committed default model is exactly what `models/build-default.sh` produces.
//!
//! The trainer command lines are read out of the script itself, so the script and this test cannot
//! drift apart.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("training/ has a parent")
        .to_path_buf()
}

/// The arguments after `--` of every `cargo run ... -p trainer -- ...` line, with `$DATA` and
/// `$OUT` replaced by `dir`.
fn script_commands(script: &str, dir: &Path) -> Vec<Vec<String>> {
    script
        .lines()
        .filter(|l| l.starts_with("cargo run ") && l.contains("-p trainer -- "))
        .map(|l| {
            let args = l.split_once(" -- ").expect("checked above").1;
            args.split_whitespace()
                .map(|a| {
                    let a = a.trim_matches('"');
                    a.replace("$DATA", dir.to_str().unwrap())
                        .replace("$OUT", dir.to_str().unwrap())
                })
                .collect()
        })
        .collect()
}

#[test]
fn rerunning_build_default_gives_a_byte_identical_model() {
    let script = std::fs::read_to_string(repo().join("models/build-default.sh")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let commands = script_commands(&script, dir.path());
    let names: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        names,
        ["generate", "train"],
        "build-default.sh should generate, then train"
    );
    for args in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(args)
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "trainer {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rebuilt = std::fs::read(dir.path().join("default.isof")).unwrap();
    let committed = std::fs::read(repo().join("models/default.isof")).unwrap();
    assert!(
        rebuilt == committed,
        "models/default.isof differs from a rebuild; run models/build-default.sh"
    );
}

#[test]
fn the_default_model_loads_and_describes_its_training() {
    let model = forest::Model::load(&repo().join("models/default.isof")).unwrap();
    let m = model.metadata();
    assert_eq!(
        m.feature_names,
        [
            "feature_1",
            "feature_2",
            "feature_3",
            "feature_4",
            "feature_5"
        ]
    );
    assert_eq!((m.training_rows, m.seed), (10_000, 7));
}
