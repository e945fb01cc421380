//! The default scoring (trend-context mode off): the rows of every key packed together, in stream
//! order, into requests within the row and byte budget; on a multi-model endpoint, one stream of
//! requests per target model.

use super::*;

impl<E: Endpoint, S: Sinks> Forwarder<E, S> {
    /// Scores the batch with the rows of every key packed together in stream order.
    pub(super) async fn score_batch(
        &self,
        records: &[Record],
        users: &[UserRecord],
        stats: &mut Stats,
        deadline: Option<Instant>,
    ) -> Scoring {
        let (invocations, oversize) = self.pack(users);
        for (user, reason) in oversize {
            self.dead_letter(records, &users[user], reason, stats).await;
        }
        let mut out = Scoring {
            done: records.len(),
            ..Scoring::default()
        };
        // The first record of each request: when one fails, every record from the earliest
        // request not answered is replayed (requests of different targets interleave in the
        // stream, so a later request may hold earlier records).
        let firsts: Vec<usize> = invocations
            .iter()
            .map(|(_, inv)| users[inv.rows[0].record].record)
            .collect();
        let mut results = futures_util::stream::iter(invocations)
            .map(|(target, inv)| self.invoke(users, inv, target, deadline))
            .buffered(self.settings.concurrency.max(1));
        let mut answered = 0;
        while let Some(result) = results.next().await {
            let failed = result.failed;
            self.absorb(records, users, result.invoked, &mut out, stats)
                .await;
            if let Some((at, error)) = failed {
                let unanswered = firsts[answered..].iter().copied().min();
                out.done = unanswered.unwrap_or(0).min(users[at.record].record);
                out.failure = Some(Failure::Endpoint(error));
                break;
            }
            answered += 1;
        }
        out
    }

    /// Packs all rows into requests, one packer per target model, the requests in the order of
    /// their first rows; returns user records whose rows cannot fit any request.
    #[allow(clippy::type_complexity)]
    fn pack(
        &self,
        users: &[UserRecord],
    ) -> (Vec<(Option<String>, Invocation)>, Vec<(usize, String)>) {
        let mut packers: BTreeMap<Option<&str>, Packer> = BTreeMap::new();
        let mut oversize = Vec::new();
        for (u, user) in users.iter().enumerate() {
            if let Some(bytes) = self.oversize_row(user) {
                oversize.push((
                    u,
                    format!("a row encodes to {bytes} bytes, over the request budget"),
                ));
                continue;
            }
            let packer = packers
                .entry(user.target.as_deref())
                .or_insert_with(|| Packer::new(self.settings.budget));
            for row in 0..user.rows.n_rows {
                let line = user.line(row);
                // Cannot fail: the row sizes were checked above.
                let _ = packer.push(RowRef { record: u, row }, |out| out.extend_from_slice(line));
            }
        }
        // Owned targets: a borrowed one in the request stream trips the futures' `Send` bound.
        let mut invocations: Vec<(Option<String>, Invocation)> = packers
            .into_iter()
            .flat_map(|(target, packer)| {
                let target = target.map(str::to_owned);
                packer
                    .finish()
                    .into_iter()
                    .map(move |inv| (target.clone(), inv))
            })
            .collect();
        invocations.sort_by_key(|(_, inv)| inv.rows[0]);
        (invocations, oversize)
    }

    /// Runs one request with retries; a container 4xx splits the request along user records
    /// until the rejected record is isolated (it is then dead-lettered, the others scored).
    async fn invoke(
        &self,
        users: &[UserRecord],
        inv: Invocation,
        target: Option<String>,
        deadline: Option<Instant>,
    ) -> InvocationResult {
        let target = target.as_deref();
        let mut out = InvocationResult::default();
        let mut pending = vec![inv.rows];
        while let Some(rows) = pending.pop() {
            let body: Vec<u8> = rows
                .iter()
                .flat_map(|at| users[at.record].line(at.row).iter().copied())
                .collect();
            match self
                .request(body, rows.len(), None, target, deadline, &mut out.invoked)
                .await
            {
                Ok(scores) => out.invoked.scored.extend(rows.into_iter().zip(scores)),
                Err(ex) if ex.error.disposition() == Disposition::Park => {
                    let mut seen = HashSet::new();
                    for at in &rows {
                        if seen.insert(at.record) {
                            out.invoked.parked.push((at.record, ex.error.clone()));
                        }
                    }
                }
                Err(ex) if ex.error.disposition() == Disposition::Poison => {
                    let first = rows[0].record;
                    match rows.iter().position(|r| r.record != first) {
                        None => out.invoked.poisoned.push((first, ex.error)),
                        Some(_) => {
                            // Split at the user-record boundary nearest the middle.
                            let mid = split_point(&rows);
                            let (a, b) = rows.split_at(mid);
                            pending.push(b.to_vec());
                            pending.push(a.to_vec());
                        }
                    }
                }
                Err(ex) => {
                    out.failed = Some((rows[0], ex.error));
                    return out;
                }
            }
        }
        out
    }
}

#[derive(Default)]
struct InvocationResult {
    invoked: Invoked,
    failed: Option<(RowRef, InvokeError)>,
}
