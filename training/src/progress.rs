//! Progress bars for work that can take more than a second, drawn on stderr only when it is a
//! terminal and the user did not ask for `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hands out progress bars, or hidden ones when nobody is watching.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
    quiet: bool,
}

impl Progress {
    /// Bars are drawn when `quiet` is false and stderr is a terminal.
    pub fn new(quiet: bool) -> Self {
        Self {
            visible: !quiet && std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// Never draws anything (library callers and tests).
    pub fn hidden() -> Self {
        Self {
            visible: false,
            quiet: true,
        }
    }

    /// Prints an informational line on stderr unless the user asked for `--quiet`.
    pub fn note(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A bar counting `len` units of `what`.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:30}] {human_pos}/{human_len} ({eta})")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar
    }

    /// A bar counting `len` bytes of `what`.
    pub fn bytes_bar(&self, len: u64, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar
    }

    /// A spinner for a step of unknown length.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("the template is valid"),
        );
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }
}
