//! The trend-context store: for each partition key (one series), the last rows the forwarder had
//! scored, so the key's next request can start with them as context.
//!
//! Memory is bounded by a cap on the number of keys; the least recently used key is evicted
//! first. The store lives in process memory; after a restart (or a Lambda cold start) every key
//! starts with no context, unless a Lambda tumbling window hands the shard's contexts back
//! ([`HistoryStore::export_shard`], [`HistoryStore::import`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// Where a row sits in its shard: the order the forwarder keeps within a partition key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Position {
    /// Shard of the Kinesis record.
    pub shard_id: String,
    /// Sequence number of the Kinesis record (a decimal string).
    pub sequence_number: String,
    /// Position inside a KPL-aggregated record, if any.
    pub sub_sequence_number: Option<u64>,
    /// 0-based row inside the user record.
    pub row: usize,
}

impl Position {
    /// Whether `self` comes strictly after `earlier` in the same shard. Rows of different shards
    /// are not comparable (a key moves to a child shard only once its parent is drained), so they
    /// count as later.
    pub(super) fn follows(&self, earlier: &Position) -> bool {
        if self.shard_id != earlier.shard_id {
            return true;
        }
        // Sequence numbers are decimal strings without leading zeros: longer is larger.
        let seq = |p: &Position| (p.sequence_number.len(), p.sequence_number.clone());
        (seq(self), self.sub_sequence_number, self.row)
            > (seq(earlier), earlier.sub_sequence_number, earlier.row)
    }
}

/// One CSV line (newline included), shared between the store and the requests built from it.
pub(super) type Line = Arc<[u8]>;

/// One key's context as it travels in a Lambda tumbling window's state: compact JSON with short
/// field names (the state is capped at 1 MB per shard).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SavedContext {
    /// Shard of the last row.
    #[serde(rename = "h")]
    pub(crate) shard_id: String,
    /// Sequence number of the last row's record.
    #[serde(rename = "s")]
    pub(crate) sequence_number: String,
    /// KPL sub-sequence number of the last row, if any.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub_sequence_number: Option<u64>,
    /// Row of the last row inside its user record.
    #[serde(rename = "r")]
    pub(crate) row: usize,
    /// The context rows as CSV lines (without newlines), oldest first.
    #[serde(rename = "l")]
    pub(crate) lines: Vec<String>,
}

#[derive(Debug)]
struct Entry {
    lines: VecDeque<Line>,
    last: Position,
    tick: u64,
}

/// The last rows scored per partition key, with least-recently-used eviction.
#[derive(Debug, Default)]
pub(super) struct HistoryStore {
    keys: HashMap<String, Entry>,
    /// Use order: tick -> key; the smallest tick is the least recently used key.
    order: BTreeMap<u64, String>,
    tick: u64,
}

impl HistoryStore {
    /// An empty store.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Keys held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The context of `key` for rows starting at `first`: its stored lines, oldest first. A
    /// stored context that does not end before `first` (a replay of rows already scored) is
    /// dropped rather than used: it would put later rows in front of earlier ones.
    pub(super) fn context(&mut self, key: &str, first: &Position) -> Vec<Line> {
        let Some(entry) = self.keys.get(key) else {
            return Vec::new();
        };
        if !first.follows(&entry.last) {
            tracing::debug!(key, "stored context is not before the new rows; dropped");
            self.remove(key);
            return Vec::new();
        }
        let lines = entry.lines.iter().cloned().collect();
        self.touch(key);
        lines
    }

    /// Records that `lines` (oldest first, the last one at `last`) were scored for `key` after its
    /// stored context; keeps the last `window` lines, evicting the least recently used keys
    /// beyond `max_keys`.
    pub(super) fn commit(
        &mut self,
        key: &str,
        lines: impl IntoIterator<Item = Line>,
        last: Position,
        window: usize,
        max_keys: usize,
    ) {
        if window == 0 || max_keys == 0 {
            return;
        }
        let tick = self.next_tick();
        if let Some(entry) = self.keys.get(key) {
            self.order.remove(&entry.tick);
        }
        let entry = self.keys.entry(key.to_string()).or_insert_with(|| Entry {
            lines: VecDeque::new(),
            last: last.clone(),
            tick,
        });
        entry.lines.extend(lines);
        let excess = entry.lines.len().saturating_sub(window);
        entry.lines.drain(..excess);
        entry.last = last;
        entry.tick = tick;
        self.order.insert(tick, key.to_string());
        while self.keys.len() > max_keys {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.keys.remove(&oldest);
        }
    }

    /// The contexts of the keys whose last row is in `shard_id`, most recently used first.
    pub(super) fn export_shard(&self, shard_id: &str) -> Vec<(String, SavedContext)> {
        self.order
            .iter()
            .rev()
            .filter_map(|(_, key)| {
                let entry = &self.keys[key];
                (entry.last.shard_id == shard_id).then(|| {
                    let lines = entry
                        .lines
                        .iter()
                        .map(|l| {
                            String::from_utf8_lossy(l.strip_suffix(b"\n").unwrap_or(l)).into_owned()
                        })
                        .collect();
                    (
                        key.clone(),
                        SavedContext {
                            shard_id: entry.last.shard_id.clone(),
                            sequence_number: entry.last.sequence_number.clone(),
                            sub_sequence_number: entry.last.sub_sequence_number,
                            row: entry.last.row,
                            lines,
                        },
                    )
                })
            })
            .collect()
    }

    /// Sets `key`'s context to `saved` (what the window's previous invocation returned), in
    /// place of what this process remembers.
    pub(super) fn import(
        &mut self,
        key: &str,
        saved: SavedContext,
        window: usize,
        max_keys: usize,
    ) {
        self.remove(key);
        let last = Position {
            shard_id: saved.shard_id,
            sequence_number: saved.sequence_number,
            sub_sequence_number: saved.sub_sequence_number,
            row: saved.row,
        };
        let lines = saved.lines.into_iter().map(|l| {
            let mut bytes = l.into_bytes();
            bytes.push(b'\n');
            Line::from(bytes)
        });
        self.commit(key, lines, last, window, max_keys);
    }

    fn touch(&mut self, key: &str) {
        let tick = self.next_tick();
        if let Some(entry) = self.keys.get_mut(key) {
            self.order.remove(&entry.tick);
            entry.tick = tick;
            self.order.insert(tick, key.to_string());
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.keys.remove(key) {
            self.order.remove(&entry.tick);
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: u64, row: usize) -> Position {
        Position {
            shard_id: "shardId-0".into(),
            sequence_number: seq.to_string(),
            sub_sequence_number: None,
            row,
        }
    }

    fn lines(values: &[&str]) -> Vec<Line> {
        values.iter().map(|v| Line::from(v.as_bytes())).collect()
    }

    fn text(lines: &[Line]) -> Vec<&str> {
        lines
            .iter()
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(at(10, 0).follows(&at(9, 5)));
        assert!(at(9, 1).follows(&at(9, 0)));
        assert!(!at(9, 0).follows(&at(9, 0)));
        assert!(!at(9, 3).follows(&at(10, 0)));
        let mut sub = at(9, 0);
        sub.sub_sequence_number = Some(1);
        let mut sub0 = at(9, 4);
        sub0.sub_sequence_number = Some(0);
        assert!(sub.follows(&sub0));
        let mut other_shard = at(1, 0);
        other_shard.shard_id = "shardId-1".into();
        assert!(other_shard.follows(&at(500, 0)));
    }

    #[test]
    fn a_key_keeps_its_last_window_rows() {
        let mut store = HistoryStore::new();
        assert!(
            store.context("k", &at(1, 0)).is_empty(),
            "a new key has none"
        );
        store.commit("k", lines(&["1\n", "2\n"]), at(2, 0), 3, 10);
        store.commit("k", lines(&["3\n", "4\n"]), at(4, 0), 3, 10);
        assert_eq!(text(&store.context("k", &at(5, 0))), ["2\n", "3\n", "4\n"]);
        assert!(store.context("other", &at(5, 0)).is_empty());
    }

    #[test]
    fn a_replay_of_scored_rows_drops_the_context() {
        let mut store = HistoryStore::new();
        store.commit("k", lines(&["1\n", "2\n"]), at(20, 0), 5, 10);
        // Rows at or before the stored end: the context would come from the future.
        assert!(store.context("k", &at(20, 0)).is_empty());
        assert!(store.is_empty());
        store.commit("k", lines(&["1\n"]), at(20, 0), 5, 10);
        assert_eq!(text(&store.context("k", &at(21, 0))), ["1\n"]);
    }

    #[test]
    fn the_least_recently_used_key_is_evicted() {
        let mut store = HistoryStore::new();
        store.commit("a", lines(&["a\n"]), at(1, 0), 2, 2);
        store.commit("b", lines(&["b\n"]), at(2, 0), 2, 2);
        // Reading "a" makes "b" the least recently used.
        assert_eq!(store.context("a", &at(3, 0)).len(), 1);
        store.commit("c", lines(&["c\n"]), at(4, 0), 2, 2);
        assert_eq!(store.len(), 2);
        assert!(store.context("b", &at(5, 0)).is_empty(), "b was evicted");
        assert_eq!(text(&store.context("a", &at(5, 0))), ["a\n"]);
        assert_eq!(text(&store.context("c", &at(5, 0))), ["c\n"]);
    }
}
