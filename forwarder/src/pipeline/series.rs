//! Trend-context mode: the rows of a batch are grouped per partition key (one series each, in
//! stream order), and each key's requests run one after another, each starting with up to
//! `trend_context` of the key's previous rows as context (`context=k`). Keys run concurrently.
//!
//! Only rows the endpoint actually scored become context, and a key's stored context advances
//! only over records the caller checkpoints (`0..done`), so a retried or replayed request never
//! sees rows that were not scored before it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::pipeline::history::{Line, Position};

/// One key's rows of the batch, in stream order.
struct Series<'a> {
    key: &'a str,
    rows: Vec<RowRef>,
}

/// What one key's run produced.
#[derive(Default)]
struct SeriesResult {
    /// The key's scored rows (in stream order), rejected records and request statistics.
    invoked: Invoked,
    /// The key's first row left unscored, with the error that stopped the key (`None` when it
    /// stopped because another key failed).
    unfinished: Option<(RowRef, Option<InvokeError>)>,
}

/// How many context rows (the last `k` of `history`) and new rows (the first `take` of `new`) go
/// in the next request. Context comes first, as much as `window` asks and the budget allows next
/// to one new row; then as many new rows as fit. The first new row must fit the budget alone.
pub(crate) fn fit(
    budget: Budget,
    window: usize,
    history: &[&[u8]],
    new: impl IntoIterator<Item = usize>,
) -> (usize, usize) {
    let mut new = new.into_iter().peekable();
    let first = new.peek().copied().unwrap_or(0);
    let mut k = window
        .min(history.len())
        .min(budget.max_rows.saturating_sub(1));
    let mut bytes: usize = history[history.len() - k..].iter().map(|l| l.len()).sum();
    while k > 0 && bytes + first > budget.max_bytes {
        bytes -= history[history.len() - k].len();
        k -= 1;
    }
    let mut take = 0;
    for len in new {
        if take > 0 && (k + take >= budget.max_rows || bytes + len > budget.max_bytes) {
            break;
        }
        bytes += len;
        take += 1;
    }
    (k, take)
}

impl<E: Endpoint, S: Sinks> Forwarder<E, S> {
    /// Scores the batch key by key with each key's context in front of its rows.
    pub(super) async fn score_series(
        &self,
        records: &[Record],
        users: &[UserRecord],
        stats: &mut Stats,
        deadline: Option<Instant>,
    ) -> Scoring {
        let mut out = Scoring {
            done: records.len(),
            ..Scoring::default()
        };
        for (u, user) in users.iter().enumerate() {
            if let Some(bytes) = self.oversize_row(user) {
                out.skipped.insert(u);
                let reason = format!("a row encodes to {bytes} bytes, over the request budget");
                self.dead_letter(records, user, reason, stats).await;
            }
        }
        let series = group(records, users, &out.skipped);
        let contexts: Vec<Vec<Line>> = {
            let mut store = self.contexts.lock().unwrap_or_else(|e| e.into_inner());
            series
                .iter()
                .map(|s| store.context(s.key, &position(records, users, s.rows[0])))
                .collect()
        };
        let stop = AtomicBool::new(false);
        // The futures are built up front: a closure returning them inside the stream would make
        // the whole future lose `Send` (its borrows would need to hold for every lifetime).
        let runs: Vec<_> = series
            .into_iter()
            .zip(contexts)
            .map(|(s, context)| self.run_series(users, s, context, &stop, deadline))
            .collect();
        let results: Vec<(&str, SeriesResult)> = futures_util::stream::iter(runs)
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;

        let mut first_error: Option<(usize, InvokeError)> = None;
        for (key, result) in results {
            out.history.push((
                key.to_string(),
                result.invoked.scored.iter().map(|(at, _)| *at).collect(),
            ));
            self.absorb(records, users, result.invoked, &mut out, stats)
                .await;
            if let Some((at, error)) = result.unfinished {
                let record = users[at.record].record;
                out.done = out.done.min(record);
                if let Some(error) = error
                    && first_error.as_ref().is_none_or(|(r, _)| record < *r)
                {
                    first_error = Some((record, error));
                }
            }
        }
        out.failure = first_error.map(|(_, e)| Failure::Endpoint(e));
        out
    }

    /// Runs one key's requests in order. Each request starts with the key's last scored rows;
    /// a container 4xx splits the request's new rows along user records (the context stays in
    /// front of each half) until the rejected record is isolated.
    async fn run_series<'a>(
        &self,
        users: &[UserRecord],
        series: Series<'a>,
        context: Vec<Line>,
        stop: &AtomicBool,
        deadline: Option<Instant>,
    ) -> (&'a str, SeriesResult) {
        let window = self.settings.trend_context;
        let budget = self.settings.budget;
        let mut out = SeriesResult::default();
        // The key's rows as the endpoint has seen them, oldest first.
        let mut history: Vec<&[u8]> = context.iter().map(|l| &l[..]).collect();
        let mut pending = VecDeque::from([series.rows]);
        while let Some(mut rows) = pending.pop_front() {
            if stop.load(Ordering::SeqCst) {
                out.unfinished = Some((rows[0], None));
                break;
            }
            let line = |at: &RowRef| users[at.record].line(at.row);
            let (k, take) = fit(
                budget,
                window,
                &history,
                rows.iter().map(|at| line(at).len()),
            );
            if k < window.min(history.len()) {
                tracing::debug!(rows = k, "context cut to fit the request budget");
            }
            if take < rows.len() {
                pending.push_front(rows.split_off(take));
            }
            let mut body = Vec::new();
            for l in &history[history.len() - k..] {
                body.extend_from_slice(l);
            }
            for at in &rows {
                body.extend_from_slice(line(at));
            }
            match self
                .request(
                    body,
                    rows.len(),
                    Some(k),
                    users[rows[0].record].target.as_deref(),
                    deadline,
                    &mut out.invoked,
                )
                .await
            {
                Err(ex) if ex.error.disposition() == Disposition::Park => {
                    // The key's model is missing: none of its rows can be scored.
                    let mut seen = HashSet::new();
                    for at in rows.iter().chain(pending.iter().flatten()) {
                        if seen.insert(at.record) {
                            out.invoked.parked.push((at.record, ex.error.clone()));
                        }
                    }
                    pending.clear();
                }
                Ok(scores) => {
                    history.extend(rows.iter().map(line));
                    out.invoked.scored.extend(rows.into_iter().zip(scores));
                }
                Err(ex) if ex.error.disposition() == Disposition::Poison => {
                    let first = rows[0].record;
                    if rows.iter().all(|r| r.record == first) {
                        out.invoked.poisoned.push((first, ex.error));
                    } else {
                        let second = rows.split_off(split_point(&rows));
                        pending.push_front(second);
                        pending.push_front(rows);
                    }
                }
                Err(ex) => {
                    // Other keys finish the request in flight and stop: the batch is replayed
                    // from the first unscored record anyway.
                    stop.store(true, Ordering::SeqCst);
                    out.unfinished = Some((rows[0], Some(ex.error)));
                    break;
                }
            }
        }
        (series.key, out)
    }

    /// Advances each key's stored context over its rows scored in records `0..done`.
    pub(super) fn commit_contexts(
        &self,
        records: &[Record],
        users: &[UserRecord],
        history: Vec<(String, Vec<RowRef>)>,
        done: usize,
    ) {
        let window = self.settings.trend_context;
        let mut store = self.contexts.lock().unwrap_or_else(|e| e.into_inner());
        for (key, rows) in history {
            // A key's rows are in stream order: those of unfinished records are a suffix.
            let kept = rows.partition_point(|at| users[at.record].record < done);
            let Some(last) = kept.checked_sub(1).map(|i| rows[i]) else {
                continue;
            };
            let lines = rows[kept.saturating_sub(window)..kept]
                .iter()
                .map(|at| Line::from(users[at.record].line(at.row)));
            store.commit(
                &key,
                lines,
                position(records, users, last),
                window,
                self.settings.trend_keys,
            );
        }
    }
}

/// The batch's rows per partition key, keys in order of first appearance, rows in stream order;
/// user records in `skip` are left out.
fn group<'a>(
    records: &'a [Record],
    users: &'a [UserRecord],
    skip: &HashSet<usize>,
) -> Vec<Series<'a>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut series: Vec<Series<'a>> = Vec::new();
    for (u, user) in users.iter().enumerate() {
        if skip.contains(&u) || user.rows.n_rows == 0 {
            continue;
        }
        let key = user.series_key(records);
        let i = *index.entry(key).or_insert_with(|| {
            series.push(Series {
                key,
                rows: Vec::new(),
            });
            series.len() - 1
        });
        series[i]
            .rows
            .extend((0..user.rows.n_rows).map(|row| RowRef { record: u, row }));
    }
    series
}

fn position(records: &[Record], users: &[UserRecord], at: RowRef) -> Position {
    let user = &users[at.record];
    let rec = &records[user.record];
    Position {
        shard_id: rec.shard_id.clone(),
        sequence_number: rec.sequence_number.clone(),
        sub_sequence_number: user.sub_sequence_number,
        row: at.row,
    }
}

#[cfg(test)]
mod tests;
