//! Log set-up: `tracing` to stdout (CloudWatch collects stdout), JSON lines when stdout is not a
//! terminal, human-readable otherwise.
//!
//! The level comes from `RUST_LOG` when set (full `EnvFilter` syntax), else from
//! `SAGEMAKER_CONTAINER_LOG_LEVEL` (already mapped onto a `tracing` level by the config).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, from `main`.
pub fn init(level: tracing::Level) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{}", level).to_lowercase()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if std::io::stdout().is_terminal() {
        builder.init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    }
}
