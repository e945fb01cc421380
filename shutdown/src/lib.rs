//! The shutdown signal shared by the workspace's long-running binaries: SIGTERM (SageMaker
//! scale-in and updates, ECS and Kubernetes stops) or SIGINT (Ctrl-C locally).
//!
//! The server passes [`signal`] to `run(listener, shutdown)`; the standalone forwarder takes a
//! [`watch`] receiver that its shard readers poll between batches.

use std::io;

use tokio::signal::unix::{SignalKind, signal as unix_signal};

/// Resolves on the first SIGTERM or SIGINT, logs which one arrived, and returns its name. The
/// handlers are installed when the future is first polled; a binary that must not die by a signal
/// that arrives while it starts up uses [`watch`] instead.
pub async fn signal() -> &'static str {
    match Signals::install() {
        Ok(mut signals) => signals.next().await,
        Err(err) => {
            tracing::error!(%err, "cannot listen for SIGTERM; only SIGINT stops the process");
            let _ = tokio::signal::ctrl_c().await;
            log("SIGINT")
        }
    }
}

/// Installs the handlers now and returns a receiver that turns `true` on the first SIGTERM or
/// SIGINT. Must be called inside a tokio runtime.
pub fn watch() -> io::Result<tokio::sync::watch::Receiver<bool>> {
    let mut signals = Signals::install()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signals.next().await;
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// Installed SIGTERM and SIGINT handlers.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> io::Result<Self> {
        Ok(Signals {
            term: unix_signal(SignalKind::terminate())?,
            int: unix_signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        let name = tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        };
        log(name)
    }
}

fn log(name: &'static str) -> &'static str {
    tracing::info!(signal = name, "shutdown requested");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sigterm_after_watch_flips_the_receiver_instead_of_killing_the_process() {
        let mut rx = watch().unwrap();
        assert!(!*rx.borrow());
        // std has no raise(); kill(1) sends the signal to this test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(std::time::Duration::from_secs(5), rx.changed())
            .await
            .expect("the signal reached the receiver")
            .unwrap();
        assert!(*rx.borrow());
    }
}
