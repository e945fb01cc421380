//! The forwarder core: records in, scores out, routed; shared by the Lambda handler and the
//! standalone shard readers. Records are decoded here ([`Forwarder::process`]), their rows packed
//! into request bodies ([`pack`]) and scored either all keys together (`score.rs`) or key by key
//! with each key's previous rows as context (`series.rs`, over the per-key `history.rs`).
//!
//! Delivery rule: [`Forwarder::process`] reports how many leading records are done (scored and
//! routed, or dead-lettered). The caller checkpoints exactly that prefix, so a failure replays
//! from the first record that is not done and nothing is lost.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

use futures_util::StreamExt;

use crate::endpoint::retry::{Disposition, InvokeError, RetryPolicy, retry};
use crate::endpoint::{Endpoint, Prediction};
use crate::record::{DeadLetter, Origin, Record, ScoredRow};
use crate::sinks::Sinks;
use crate::sinks::metrics::{Emf, Stats};
use crate::sinks::policy::{AlertPolicy, PolicyState};
use crate::sinks::route;
use codec::kpl;
use history::HistoryStore;
use pack::{Budget, Invocation, Packer, RowRef};

/// Key prefix of the trend contexts in a Lambda tumbling window's state.
pub const STATE_CONTEXT_PREFIX: &str = "ctx:";

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The stream's name in alerts and dead letters, when configured; otherwise each record's
    /// [`Record::source`] names it ("kinesis" when neither does).
    pub stream: Option<String>,
    /// The model's feature names, in column order (maps JSON records keyed by name).
    pub feature_names: Vec<String>,
    /// Rows and bytes per InvokeEndpoint call.
    pub budget: Budget,
    /// Retry policy of InvokeEndpoint.
    pub retry: RetryPolicy,
    /// InvokeEndpoint calls in flight at once.
    pub concurrency: usize,
    /// Trend-context mode: rows are scored per partition key, each request starting with up to
    /// this many of the key's previous rows as context (`context=k`). 0 turns the mode off.
    pub trend_context: usize,
    /// Most partition keys whose context is kept (least recently used evicted first).
    pub trend_keys: usize,
    /// When anomalies become alerts.
    pub alert: AlertPolicy,
    /// Multi-model endpoints: where each record's entity comes from; its rows are sent with
    /// `TargetModel=<entity>.tar.gz`, batched per entity. `None`: one model for every record.
    pub target_model: Option<TargetModelFrom>,
}

/// Where a record's entity (its model on a multi-model endpoint) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetModelFrom {
    /// The record's partition key (a KPL user record's own key when it has one).
    PartitionKey,
    /// A top-level field of a JSON-object record.
    Field(String),
}

impl std::str::FromStr for TargetModelFrom {
    type Err = String;

    /// `partition-key` or `field:NAME`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "partition-key" => Ok(TargetModelFrom::PartitionKey),
            t => match t.strip_prefix("field:") {
                Some(name) if !name.trim().is_empty() => {
                    Ok(TargetModelFrom::Field(name.trim().to_owned()))
                }
                _ => Err(format!(
                    "expected partition-key or field:NAME, found {text:?}"
                )),
            },
        }
    }
}

/// The `TargetModel` of an entity: the model file the trainer wrote for it, packaged.
pub fn target_model_of(entity: &str) -> String {
    format!("{entity}.tar.gz")
}

/// Why processing stopped before the end of the batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The endpoint still failed after retries (or a non-retryable service error).
    Endpoint(InvokeError),
    /// Alerts or results could not be written.
    Sink(String),
}

/// The result of [`Forwarder::process`].
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Records `0..done` are finished; the caller may checkpoint the last of them.
    pub done: usize,
    /// Why the rest was not processed (`None` when `done` is the whole batch).
    pub failure: Option<Failure>,
    /// Counters of this call.
    pub stats: Stats,
}

/// A decoded user record: a whole Kinesis record, or one entry of a KPL-aggregated one.
struct UserRecord {
    record: usize,
    sub_sequence_number: Option<u64>,
    /// The KPL user record's own partition key (`None`: the Kinesis record's).
    partition_key: Option<String>,
    rows: codec::Rows,
    /// The `TargetModel` its rows are sent with, on a multi-model endpoint.
    target: Option<String>,
    /// CSV encoding of each row; `lines[offsets[i]..offsets[i + 1]]` is row `i`.
    lines: Vec<u8>,
    offsets: Vec<usize>,
}

impl UserRecord {
    fn line(&self, row: usize) -> &[u8] {
        &self.lines[self.offsets[row]..self.offsets[row + 1]]
    }

    /// The series the record belongs to in trend mode: its own partition key.
    fn series_key<'a>(&'a self, records: &'a [Record]) -> &'a str {
        self.partition_key
            .as_deref()
            .unwrap_or(&records[self.record].partition_key)
    }
}

/// What scoring a batch produced, before routing.
#[derive(Default)]
struct Scoring {
    scored: BTreeMap<RowRef, Prediction>,
    /// User records dead-lettered because the container rejected them.
    skipped: HashSet<usize>,
    /// Records `0..done` are finished.
    done: usize,
    failure: Option<Failure>,
    /// Trend mode: each key's scored rows, in stream order (what its context advances over).
    history: Vec<(String, Vec<RowRef>)>,
}

/// The forwarder core over an endpoint `E` and sinks `S`.
pub struct Forwarder<E, S> {
    endpoint: E,
    sinks: S,
    settings: Settings,
    metrics: Arc<Emf>,
    /// Trend mode: each partition key's last scored rows, shared by every shard of the process.
    contexts: Mutex<HistoryStore>,
    /// The alert policy's memory of each partition key.
    alerting: Mutex<PolicyState>,
}

impl<E: Endpoint, S: Sinks> Forwarder<E, S> {
    /// A forwarder calling `endpoint` and writing to `sinks`, with metrics on `metrics`.
    pub fn new(endpoint: E, sinks: S, settings: Settings, metrics: Arc<Emf>) -> Self {
        Forwarder {
            endpoint,
            sinks,
            settings,
            metrics,
            contexts: Mutex::new(HistoryStore::new()),
            alerting: Mutex::new(PolicyState::default()),
        }
    }

    /// The sinks (lets tests look at what was written).
    pub fn sinks(&self) -> &S {
        &self.sinks
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }

    /// The settings, for adjustment after construction.
    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Decodes, scores and routes `records` (all from one shard, in stream order).
    pub async fn process(&self, records: &[Record], iterator_age_ms: Option<f64>) -> Outcome {
        self.process_until(records, iterator_age_ms, None).await
    }

    /// [`Forwarder::process`] that stops calling the endpoint at `deadline`: requests still
    /// unanswered then (in flight or backing off) count as failed, so the outcome holds the
    /// prefix finished in time. Lambda passes its invocation deadline less a margin for routing,
    /// so a slow endpoint costs a partial batch instead of a timed-out invocation.
    pub async fn process_until(
        &self,
        records: &[Record],
        iterator_age_ms: Option<f64>,
        deadline: Option<Instant>,
    ) -> Outcome {
        let mut stats = Stats {
            records: records.len(),
            iterator_age_ms,
            ..Stats::default()
        };
        let users = self.decode_all(records, &mut stats).await;
        let scoring = if self.settings.trend_context > 0 {
            self.score_series(records, &users, &mut stats, deadline)
                .await
        } else {
            self.score_batch(records, &users, &mut stats, deadline)
                .await
        };
        let Scoring {
            scored,
            skipped,
            mut done,
            mut failure,
            history,
        } = scoring;
        let rows: Vec<ScoredRow> = scored
            .into_iter()
            .filter(|(at, _)| users[at.record].record < done && !skipped.contains(&at.record))
            .map(|(at, score)| self.scored_row(records, &users[at.record], at.row, score))
            .collect();
        stats.rows = rows.len();
        stats.anomalies = rows.iter().filter(|r| r.anomaly).count();
        let stream = self.stream_label(records.first());
        let decision = self
            .alerting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .plan(&self.settings.alert, &rows);
        stats.alerts = decision.episodes.len();
        stats.grouped = decision.grouped;
        stats.suppressed = decision.suppressed;
        stats.held = decision.held;
        let routed = route::route(&self.sinks, stream, &decision.episodes, &rows).await;
        if routed.is_ok() {
            // Only what was sent is remembered: a replay of this batch alerts again.
            self.alerting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .commit(&self.settings.alert, decision);
        }
        if let Err(e) = routed {
            tracing::error!(error = %e, "routing failed; the batch will be replayed");
            stats.sink_errors += 1;
            done = 0;
            failure = Some(Failure::Sink(e.to_string()));
        }
        if self.settings.trend_context > 0 {
            self.commit_contexts(records, &users, history, done);
        }
        if let Some(f) = &failure {
            let seq = records.get(done).map(|r| r.sequence_number.as_str());
            tracing::warn!(failure = ?f, first_unprocessed = ?seq, "batch not fully processed");
        }
        self.metrics.emit(&stats);
        Outcome {
            done,
            failure,
            stats,
        }
    }

    /// De-aggregates and decodes every record; failures are dead-lettered and skipped.
    async fn decode_all(&self, records: &[Record], stats: &mut Stats) -> Vec<UserRecord> {
        let mut users = Vec::with_capacity(records.len());
        for (i, rec) in records.iter().enumerate() {
            let parts = match kpl::deaggregate(&rec.data) {
                Ok(parts) => parts,
                Err(e) => {
                    stats.decode_errors += 1;
                    self.send_dead_letter(rec, None, e.to_string(), &rec.data, stats)
                        .await;
                    continue;
                }
            };
            for part in parts {
                let decoded = self
                    .target_of(rec, &part)
                    .map_err(|reason| format!("no target model: {reason}"))
                    .and_then(|target| {
                        codec::decode_record(&part.data, &self.settings.feature_names)
                            .map(|rows| (target, rows))
                            .map_err(|e| format!("undecodable record: {e}"))
                    });
                match decoded {
                    Ok((target, rows)) => {
                        let mut lines = Vec::new();
                        let mut offsets = vec![0];
                        for row in rows.iter() {
                            pack::encode_csv_row(row, &mut lines);
                            offsets.push(lines.len());
                        }
                        users.push(UserRecord {
                            record: i,
                            sub_sequence_number: part.sub_sequence_number,
                            partition_key: part.partition_key,
                            rows,
                            target,
                            lines,
                            offsets,
                        });
                    }
                    Err(reason) => {
                        stats.decode_errors += 1;
                        self.send_dead_letter(
                            rec,
                            part.sub_sequence_number,
                            reason,
                            &part.data,
                            stats,
                        )
                        .await;
                    }
                }
            }
        }
        users
    }

    /// The `TargetModel` of a (user) record, by the configured rule; why there is none when the
    /// rule finds no usable entity in it.
    fn target_of(&self, rec: &Record, part: &kpl::UserRecord) -> Result<Option<String>, String> {
        let entity = match &self.settings.target_model {
            None => return Ok(None),
            Some(TargetModelFrom::PartitionKey) => part
                .partition_key
                .clone()
                .unwrap_or_else(|| rec.partition_key.clone()),
            Some(TargetModelFrom::Field(name)) => codec::record_field(&part.data, name)?,
        };
        match codec::entity::unusable_name(&entity) {
            Some(why) => Err(format!("entity {entity:?}: {why}")),
            None => Ok(Some(target_model_of(&entity))),
        }
    }

    /// The encoded size of the first row of `user` that cannot fit any request, if any.
    fn oversize_row(&self, user: &UserRecord) -> Option<usize> {
        (0..user.rows.n_rows)
            .map(|row| user.line(row).len())
            .find(|len| *len > self.settings.budget.max_bytes)
    }

    fn scored_row(
        &self,
        records: &[Record],
        user: &UserRecord,
        row: usize,
        score: Prediction,
    ) -> ScoredRow {
        let rec = &records[user.record];
        // Trend mode reports the series a row was scored in: the user record's own key.
        let partition_key = if self.settings.trend_context > 0 {
            user.series_key(records)
        } else {
            &rec.partition_key
        };
        ScoredRow {
            origin: Origin {
                shard_id: rec.shard_id.clone(),
                sequence_number: rec.sequence_number.clone(),
                sub_sequence_number: user.sub_sequence_number,
                partition_key: partition_key.to_string(),
                row,
            },
            score: score.score,
            anomaly: score.anomaly,
            values: user
                .rows
                .row(row)
                .iter()
                .map(|v| v.is_finite().then_some(*v))
                .collect(),
            explanation: score.explanation,
            arrival: rec.arrival.map(|t| t.to_rfc3339()),
        }
    }

    async fn dead_letter(
        &self,
        records: &[Record],
        user: &UserRecord,
        reason: String,
        stats: &mut Stats,
    ) {
        let rec = &records[user.record];
        self.send_dead_letter(rec, user.sub_sequence_number, reason, &rec.data, stats)
            .await;
    }

    /// Loads the trend contexts that a Lambda tumbling window's previous invocation returned
    /// (entries under [`STATE_CONTEXT_PREFIX`]); they replace what this process remembers of those
    /// keys. An entry that does not parse is logged and skipped: that key starts without context.
    pub fn load_window_state<'a>(&self, state: impl IntoIterator<Item = (&'a String, &'a str)>) {
        if self.settings.trend_context == 0 {
            return;
        }
        let mut store = self.contexts.lock().unwrap_or_else(|e| e.into_inner());
        for (name, value) in state {
            let Some(key) = name.strip_prefix(STATE_CONTEXT_PREFIX) else {
                continue;
            };
            match serde_json::from_str::<history::SavedContext>(value) {
                Ok(saved) => store.import(
                    key,
                    saved,
                    self.settings.trend_context,
                    self.settings.trend_keys,
                ),
                Err(e) => {
                    tracing::warn!(key, error = %e, "unreadable trend context in the window state; the key starts without one");
                }
            }
        }
    }

    /// The trend contexts of `shard_id`'s keys for the window's next invocation, most recently
    /// used keys first, as many as fit in `max_bytes` of JSON; the least recently used keys that
    /// do not fit are left out (they start the next invocation without context).
    pub fn window_state(&self, shard_id: &str, max_bytes: usize) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if self.settings.trend_context == 0 {
            return out;
        }
        let saved = self
            .contexts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .export_shard(shard_id);
        let (mut size, mut left_out) = (2, 0);
        for (key, context) in saved {
            let name = format!("{STATE_CONTEXT_PREFIX}{key}");
            let value = serde_json::to_string(&context).unwrap_or_default();
            let len = |s: &String| serde_json::to_string(s).map_or(usize::MAX / 4, |j| j.len());
            let add = len(&name) + len(&value) + 2;
            if size + add > max_bytes {
                left_out += 1;
                continue;
            }
            size += add;
            out.insert(name, value);
        }
        if left_out > 0 {
            tracing::warn!(
                left_out,
                kept = out.len(),
                "window state full: least recently used keys left out"
            );
        }
        out
    }

    /// What alerts and dead letters call the stream `rec` came from: the configured name, else
    /// the one its event gave.
    fn stream_label<'a>(&'a self, rec: Option<&'a Record>) -> &'a str {
        self.settings
            .stream
            .as_deref()
            .or_else(|| rec.and_then(|r| r.source.as_deref()))
            .unwrap_or("kinesis")
    }

    async fn send_dead_letter(
        &self,
        rec: &Record,
        sub_sequence_number: Option<u64>,
        reason: String,
        data: &[u8],
        stats: &mut Stats,
    ) {
        tracing::error!(
            shard_id = %rec.shard_id,
            sequence_number = %rec.sequence_number,
            sub_sequence_number = ?sub_sequence_number,
            %reason,
            "skipping record"
        );
        let letter = DeadLetter {
            stream: self.stream_label(Some(rec)).to_string(),
            shard_id: rec.shard_id.clone(),
            sequence_number: rec.sequence_number.clone(),
            sub_sequence_number,
            partition_key: rec.partition_key.clone(),
            reason,
            data_base64: aws_smithy_types::base64::encode(data),
        };
        let body = serde_json::to_string(&letter).unwrap_or_default();
        // A dead-letter queue that is down must not block the shard either: log and go on.
        if let Err(e) = self.sinks.dead_letter(body).await {
            stats.sink_errors += 1;
            tracing::error!(error = %e, sequence_number = %rec.sequence_number, "dead-letter queue failed");
        }
    }
}

/// The index of the first row of the user record closest to the middle of `rows` (never 0 when
/// `rows` spans at least two user records).
fn split_point(rows: &[RowRef]) -> usize {
    let mid = rows.len() / 2;
    let boundaries = (1..rows.len()).filter(|&i| rows[i].record != rows[i - 1].record);
    boundaries
        .min_by_key(|&i| i.abs_diff(mid))
        .unwrap_or(rows.len())
}

/// What one mode's requests produced, before it is folded into the batch's [`Scoring`].
#[derive(Default)]
struct Invoked {
    scored: Vec<(RowRef, Prediction)>,
    /// User records the container rejected, with its answer.
    poisoned: Vec<(usize, InvokeError)>,
    /// User records whose model the endpoint does not have.
    parked: Vec<(usize, InvokeError)>,
    failed_attempts: usize,
    latencies_ms: Vec<f64>,
}

impl<E: Endpoint, S: Sinks> Forwarder<E, S> {
    /// One request with retries, counted in `out`: its failed attempts, and its latency when it
    /// succeeds.
    async fn request(
        &self,
        body: Vec<u8>,
        n: usize,
        context: Option<usize>,
        target: Option<&str>,
        deadline: Option<Instant>,
        out: &mut Invoked,
    ) -> Result<Vec<Prediction>, crate::endpoint::retry::Exhausted> {
        let started = Instant::now();
        let mut failed_attempts = 0;
        let attempts = retry(
            &self.settings.retry,
            || self.endpoint.invoke(body.clone(), n, context, target),
            |e, attempt| {
                failed_attempts += 1;
                tracing::warn!(error = %e, attempt, rows = n, ?context, ?target, "InvokeEndpoint failed");
            },
        );
        let result = match deadline {
            None => attempts.await,
            Some(at) => match tokio::time::timeout_at(at, attempts).await {
                Ok(result) => result,
                Err(_) => {
                    failed_attempts += 1;
                    Err(crate::endpoint::retry::Exhausted {
                        error: InvokeError::Timeout(
                            "no answer before the invocation's deadline".to_string(),
                        ),
                        attempts: failed_attempts as u32,
                    })
                }
            },
        };
        out.failed_attempts += failed_attempts;
        if result.is_ok() {
            out.latencies_ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
        result
    }

    /// Folds `invoked` into the batch's scores and stats, dead-lettering each rejected user
    /// record once.
    async fn absorb(
        &self,
        records: &[Record],
        users: &[UserRecord],
        invoked: Invoked,
        out: &mut Scoring,
        stats: &mut Stats,
    ) {
        stats.endpoint_errors += invoked.failed_attempts;
        stats.latencies_ms.extend(invoked.latencies_ms);
        out.scored.extend(invoked.scored);
        for (user, error) in invoked.poisoned {
            if out.skipped.insert(user) {
                stats.poison_records += 1;
                self.dead_letter(records, &users[user], error.to_string(), stats)
                    .await;
            }
        }
        for (user, error) in invoked.parked {
            if out.skipped.insert(user) {
                stats.unknown_model_records += 1;
                self.dead_letter(records, &users[user], error.to_string(), stats)
                    .await;
            }
        }
    }
}

mod history;
pub mod pack;
mod score;
mod series;

#[cfg(test)]
mod tests;
