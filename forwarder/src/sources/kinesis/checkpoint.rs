//! Per-shard checkpoints in one JSON file, replaced atomically (write to a temporary file in the
//! same directory, fsync, rename), so a crash at any point leaves either the old or the new
//! checkpoint, never a torn one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Checkpoint file failures.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    #[error("checkpoint file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file exists but is not a checkpoint.
    #[error("checkpoint file {path} is not valid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

/// The state of one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardState {
    /// The last sequence number whose record is fully processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// The shard is closed and every record of it is processed.
    #[serde(default)]
    pub finished: bool,
}

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// Stream the checkpoints belong to.
    pub stream: String,
    /// State per shard id.
    pub shards: BTreeMap<String, ShardState>,
}

/// A checkpoint file shared by the shard tasks of one process.
#[derive(Debug)]
pub struct CheckpointStore {
    path: PathBuf,
    state: Mutex<Checkpoints>,
}

impl CheckpointStore {
    /// Opens `path` (a missing file means no checkpoints yet). Fails if the file belongs to
    /// another stream, so two streams cannot share a file by mistake.
    pub fn open(path: &Path, stream: &str) -> Result<Self, CheckpointError> {
        let state = match std::fs::read(path) {
            Ok(bytes) => {
                let state: Checkpoints =
                    serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Invalid {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })?;
                if state.stream != stream {
                    return Err(CheckpointError::Invalid {
                        path: path.to_path_buf(),
                        message: format!(
                            "it belongs to stream \"{}\", not \"{stream}\"",
                            state.stream
                        ),
                    });
                }
                state
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Checkpoints {
                stream: stream.to_string(),
                shards: BTreeMap::new(),
            },
            Err(source) => {
                return Err(CheckpointError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(CheckpointStore {
            path: path.to_path_buf(),
            state: Mutex::new(state),
        })
    }

    /// The state of `shard` (default when unknown).
    pub fn get(&self, shard: &str) -> ShardState {
        self.lock().shards.get(shard).cloned().unwrap_or_default()
    }

    /// Records that `shard` is processed up to and including `sequence_number`, durably.
    pub fn commit(&self, shard: &str, sequence_number: &str) -> Result<(), CheckpointError> {
        self.update(shard, |s| {
            s.sequence_number = Some(sequence_number.to_string())
        })
    }

    /// Records that `shard` is closed and fully processed, durably.
    pub fn finish(&self, shard: &str) -> Result<(), CheckpointError> {
        self.update(shard, |s| s.finished = true)
    }

    fn update(&self, shard: &str, f: impl FnOnce(&mut ShardState)) -> Result<(), CheckpointError> {
        let mut state = self.lock();
        f(state.shards.entry(shard.to_string()).or_default());
        write_atomically(&self.path, &state)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Checkpoints> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn write_atomically(path: &Path, state: &Checkpoints) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let body = serde_json::to_vec_pretty(state).map_err(|e| io(e.into()))?;
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(&body).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    // Make the rename itself durable.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn commits_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let store = CheckpointStore::open(&path, "s").unwrap();
        assert_eq!(store.get("shard-0"), ShardState::default());
        store.commit("shard-0", "100").unwrap();
        store.commit("shard-0", "105").unwrap();
        store.commit("shard-1", "7").unwrap();
        store.finish("shard-1").unwrap();
        let again = CheckpointStore::open(&path, "s").unwrap();
        assert_eq!(again.get("shard-0").sequence_number.as_deref(), Some("105"));
        assert_eq!(
            again.get("shard-1"),
            ShardState {
                sequence_number: Some("7".into()),
                finished: true
            }
        );
        assert!(!dir.path().join("cp.json.tmp").exists());
    }

    #[test]
    fn a_torn_temporary_file_from_a_crash_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        CheckpointStore::open(&path, "s")
            .unwrap()
            .commit("a", "1")
            .unwrap();
        // A crash between create and rename leaves a partial temporary file behind.
        std::fs::write(dir.path().join("cp.json.tmp"), b"{\"stream\":\"s\",\"sha").unwrap();
        let store = CheckpointStore::open(&path, "s").unwrap();
        assert_eq!(store.get("a").sequence_number.as_deref(), Some("1"));
        store.commit("a", "2").unwrap();
        assert_eq!(
            CheckpointStore::open(&path, "s")
                .unwrap()
                .get("a")
                .sequence_number
                .as_deref(),
            Some("2")
        );
    }

    #[test]
    fn readers_never_see_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let store = Arc::new(CheckpointStore::open(&path, "s").unwrap());
        store.commit("shard", "0").unwrap();
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 1..300 {
                    // Long shard ids make each write large enough to be torn if not atomic.
                    store
                        .commit(&format!("shard-{:0>200}", i % 7), &i.to_string())
                        .unwrap();
                }
            })
        };
        let mut reads = 0;
        while !writer.is_finished() {
            let bytes = std::fs::read(&path).unwrap();
            let parsed: Checkpoints = serde_json::from_slice(&bytes).expect("a complete file");
            assert_eq!(parsed.stream, "s");
            reads += 1;
        }
        writer.join().unwrap();
        assert!(reads > 0);
    }

    #[test]
    fn a_file_of_another_stream_or_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        CheckpointStore::open(&path, "one")
            .unwrap()
            .commit("a", "1")
            .unwrap();
        let err = CheckpointStore::open(&path, "two").unwrap_err();
        assert!(
            err.to_string().contains("belongs to stream \"one\""),
            "{err}"
        );
        std::fs::write(&path, b"not json").unwrap();
        assert!(matches!(
            CheckpointStore::open(&path, "one"),
            Err(CheckpointError::Invalid { .. })
        ));
    }
}
