//! Standalone mode: one task per shard, shard discovery with ListShards, and resharding (a child
//! starts only once its parents are closed and drained). One process reads every shard; scaling
//! out is Lambda mode's job.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub mod checkpoint;
pub mod shard;

use crate::config::StandaloneConfig;
use crate::endpoint::Endpoint;
use crate::pipeline::Forwarder;
use crate::sinks::Sinks;
use checkpoint::{CheckpointError, CheckpointStore};
use shard::{ReaderOptions, ShardEnd, ShardReader};

/// A shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// Shard id.
    pub id: String,
    /// Parents (one after a split, two after a merge).
    pub parents: Vec<String>,
}

/// Which of `shards` may start now: not finished, not running, and every parent finished or
/// gone from the stream (expired past the retention period).
pub fn ready_shards<'a>(
    shards: &'a [ShardInfo],
    finished: &HashSet<String>,
    running: &HashSet<String>,
) -> Vec<&'a ShardInfo> {
    let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
    shards
        .iter()
        .filter(|s| !finished.contains(&s.id) && !running.contains(&s.id))
        .filter(|s| {
            s.parents
                .iter()
                .all(|p| finished.contains(p) || !listed.contains(p.as_str()))
        })
        .collect()
}

/// Lists every shard of `stream` (following pagination).
pub async fn list_shards(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<Vec<ShardInfo>, String> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = match &token {
            Some(t) => kinesis.list_shards().next_token(t),
            None => kinesis.list_shards().stream_name(stream),
        };
        let out = req
            .send()
            .await
            .map_err(|e| aws_sdk_kinesis::error::DisplayErrorContext(e).to_string())?;
        for s in out.shards() {
            shards.push(ShardInfo {
                id: s.shard_id().to_string(),
                parents: [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect(),
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(shards),
        }
    }
}

/// The standalone forwarder as its binary runs it: builds the AWS clients and the forwarder from
/// `config`, opens the checkpoint file and reads every shard until `shutdown` turns `true`.
pub async fn start(
    config: StandaloneConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), CheckpointError> {
    let sdk = config.core.aws.sdk_config().await;
    let kinesis = config.core.aws.kinesis(&sdk);
    let forwarder = Arc::new(config.core.build().await);
    let stream = config.stream.clone();
    let store = Arc::new(CheckpointStore::open(&config.checkpoint_file, &stream)?);
    tracing::info!(%stream, checkpoint = %config.checkpoint_file.display(), "forwarder started");
    run(
        kinesis,
        stream,
        forwarder,
        store,
        config.reader,
        config.discovery_interval,
        shutdown,
    )
    .await?;
    tracing::info!("forwarder stopped; checkpoints written");
    Ok(())
}

/// Runs shard readers for `stream` until `shutdown` turns `true`, then waits for every reader to
/// finish its batch and checkpoint.
pub async fn run<E, S>(
    kinesis: aws_sdk_kinesis::Client,
    stream: String,
    forwarder: Arc<Forwarder<E, S>>,
    store: Arc<CheckpointStore>,
    options: ReaderOptions,
    discovery_interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), CheckpointError>
where
    E: Endpoint + 'static,
    S: Sinks + 'static,
{
    let mut tasks: JoinSet<(String, Result<ShardEnd, CheckpointError>)> = JoinSet::new();
    let mut running: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut first_error = None;
    // Readers get their own stop signal so an error here can stop them too.
    let (stop_tx, stop_rx) = watch::channel(false);
    loop {
        if *shutdown.borrow() {
            break;
        }
        match list_shards(&kinesis, &stream).await {
            Ok(shards) => {
                for s in &shards {
                    if store.get(&s.id).finished {
                        finished.insert(s.id.clone());
                    }
                }
                let parents: HashMap<&str, bool> = shards
                    .iter()
                    .map(|s| (s.id.as_str(), !s.parents.is_empty()))
                    .collect();
                for s in ready_shards(&shards, &finished, &running) {
                    tracing::info!(shard = %s.id, parents = ?s.parents, "starting shard reader");
                    running.insert(s.id.clone());
                    let reader = ShardReader {
                        kinesis: kinesis.clone(),
                        stream: stream.clone(),
                        shard_id: s.id.clone(),
                        has_parent: parents.get(s.id.as_str()).copied().unwrap_or(false),
                        forwarder: forwarder.clone(),
                        store: store.clone(),
                        options: options.clone(),
                        shutdown: stop_rx.clone(),
                    };
                    let id = s.id.clone();
                    tasks.spawn(async move { (id, reader.run().await) });
                }
            }
            Err(e) => tracing::warn!(error = %e, "ListShards failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(discovery_interval) => {}
            _ = shutdown.changed() => {}
            Some(joined) = tasks.join_next() => {
                if let Ok((id, end)) = joined {
                    running.remove(&id);
                    match end {
                        Ok(ShardEnd::Finished) => { finished.insert(id); }
                        Ok(ShardEnd::Shutdown) => {}
                        // A checkpoint that cannot be written is fatal: going on would replay
                        // without bound after the next restart.
                        Err(e) => { first_error.get_or_insert(e); break; }
                    }
                }
            }
        }
    }
    // Every reader sees the shutdown (or the error) and stops after its current batch.
    let _ = stop_tx.send(true);
    while let Some(joined) = tasks.join_next().await {
        if let Ok((id, Err(e))) = joined {
            tracing::error!(shard = %id, error = %e, "checkpoint failed");
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parents: &[&str]) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn ids(v: Vec<&ShardInfo>) -> Vec<&str> {
        v.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn children_wait_for_their_parents() {
        // shard 0 split into 2 and 3; 1 and 3 merged into 4.
        let shards = vec![
            shard("0", &[]),
            shard("1", &[]),
            shard("2", &["0"]),
            shard("3", &["0"]),
            shard("4", &["1", "3"]),
        ];
        let none = HashSet::new();
        assert_eq!(ids(ready_shards(&shards, &none, &none)), ["0", "1"]);
        let running: HashSet<String> = ["0".into(), "1".into()].into();
        assert!(ready_shards(&shards, &none, &running).is_empty());
        let finished: HashSet<String> = ["0".into()].into();
        let running: HashSet<String> = ["1".into()].into();
        assert_eq!(ids(ready_shards(&shards, &finished, &running)), ["2", "3"]);
        let finished: HashSet<String> = ["0".into(), "1".into(), "3".into()].into();
        let running: HashSet<String> = ["2".into()].into();
        assert_eq!(ids(ready_shards(&shards, &finished, &running)), ["4"]);
    }

    #[test]
    fn parents_past_retention_do_not_block() {
        let shards = vec![shard("2", &["0"]), shard("3", &["0"])];
        let none = HashSet::new();
        assert_eq!(ids(ready_shards(&shards, &none, &none)), ["2", "3"]);
    }
}
