//! Helpers shared by the trainer's black-box tests.

#![allow(dead_code)]

use assert_cmd::Command;

/// The `trainer` binary with `--quiet` (no notes or progress on stderr).
pub(crate) fn trainer() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainer"));
    cmd.arg("--quiet");
    cmd
}

/// Runs `cmd`, requires success, and parses its standard output as JSON.
pub(crate) fn stdout_json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.assert().success();
    json(&out.get_output().stdout)
}

/// `out` parsed as JSON.
pub(crate) fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("valid JSON on stdout")
}
