//! The retraining loop: operators' verdicts on alerts re-pick a model's threshold, optionally refit
//! it on recent data without its confirmed anomalies (`trainer retune`), and two versions are
//! compared on data before a rollout (`trainer diff`).
//!
//! Every alert and S3 result of the forwarder carries a stable `event_id`. An operator's verdict is
//! one JSON Lines record `{"event_id": "...", "anomaly": true}` (a true anomaly) or `false` (a
//! false alarm). The recent data is the forwarder's S3 results (JSON Lines with `event_id` and
//! `values`) or a CSV file with an `event_id` column and the model's feature columns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use forest::Model;
use forest::metrics::Confusion;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::{Columns, Table, read_grouped_table};
use crate::error::{Error, Result};
use crate::evaluate::confusion_at;
use crate::progress::Progress;
use crate::score::{load_model, score_table};
use crate::threshold::{ThresholdMethod, choose};

/// The column (CSV) or key (JSON Lines) that names a row's event.
pub const EVENT_ID: &str = "event_id";

/// One operator verdict.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    event_id: String,
    /// True: a real anomaly; false: a false alarm.
    anomaly: bool,
}

/// Reads verdicts (JSON Lines); a line that does not parse, or two lines that disagree on one
/// event, is an error naming the line.
pub fn read_feedback(path: &Path) -> Result<HashMap<String, bool>> {
    let mut verdicts = HashMap::new();
    for (line, v) in
        json_lines::<Verdict>(path, "{\"event_id\": \"...\", \"anomaly\": true|false}")?
    {
        if let Some(before) = verdicts.insert(v.event_id.clone(), v.anomaly)
            && before != v.anomaly
        {
            return Err(at_line(
                path,
                line,
                format!(
                    "event {:?} was judged both an anomaly and a false alarm",
                    v.event_id
                ),
            ));
        }
    }
    if verdicts.is_empty() {
        return Err(Error::Invalid(format!("{}: no verdicts", path.display())));
    }
    Ok(verdicts)
}

/// The non-blank lines of a JSON Lines file, each parsed as `T`, with their 1-based line numbers;
/// a line that does not parse is an error naming it and what was `expected`.
pub(crate) fn json_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
    expected: &str,
) -> Result<Vec<(usize, T)>> {
    let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
        path: path.into(),
        cause,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map(|v| (i + 1, v))
                .map_err(|e| at_line(path, i + 1, format!("expected {expected}: {e}")))
        })
        .collect()
}

fn at_line(path: &Path, line: usize, message: String) -> Error {
    Error::Csv {
        path: path.into(),
        message: format!("line {line}: {message}"),
    }
}

/// Recent rows with their event ids, in file order.
#[derive(Debug, Clone)]
pub struct Events {
    /// The rows, in the model's column order.
    pub table: Table,
    /// Each row's event id.
    pub ids: Vec<String>,
}

/// Reads recent data for `model`: the forwarder's results (`.jsonl`/`.json`: `event_id` and
/// `values` in the model's column order, `null` for a missing value) or a CSV file with an
/// `event_id` column and the model's feature columns.
pub fn read_events(model: &Model, path: &Path, progress: &Progress) -> Result<Events> {
    let names = model.feature_names().to_vec();
    let jsonl = path
        .extension()
        .is_some_and(|e| e == "jsonl" || e == "json");
    if !jsonl {
        let table = read_grouped_table(path, &Columns::Named(names), Some(EVENT_ID), progress)?;
        let ids = table.groups.clone().unwrap_or_default();
        return Ok(Events { table, ids });
    }
    #[derive(Deserialize)]
    struct ResultLine {
        event_id: String,
        values: Vec<Option<f64>>,
    }
    let (mut values, mut ids) = (Vec::new(), Vec::new());
    for (line, r) in json_lines::<ResultLine>(path, "a result with event_id and values")? {
        if r.values.len() != names.len() {
            return Err(at_line(
                path,
                line,
                format!(
                    "{} values for the model's {} features",
                    r.values.len(),
                    names.len()
                ),
            ));
        }
        values.extend(r.values.iter().map(|v| v.unwrap_or(f64::NAN)));
        ids.push(r.event_id);
    }
    let table = Table {
        n_rows: ids.len(),
        names,
        values,
        skipped: Vec::new(),
        timestamps: None,
        groups: Some(ids.clone()),
    };
    Ok(Events { table, ids })
}

/// What identifies a file a model version was made from.
#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    /// The file's name as given.
    pub file: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

fn file_ref(path: &Path) -> Result<FileRef> {
    let bytes = std::fs::read(path).map_err(|cause| Error::Io {
        path: path.into(),
        cause,
    })?;
    Ok(FileRef {
        file: path.display().to_string(),
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    })
}

/// Precision, recall and F1 on the judged events at one threshold.
#[derive(Debug, Clone, Serialize)]
pub struct OnVerdicts {
    /// The threshold.
    pub threshold: f64,
    /// Judged events flagged.
    pub flagged: usize,
    /// Precision on the judged events.
    pub precision: f64,
    /// Recall on the judged events.
    pub recall: f64,
    /// F1 on the judged events.
    pub f1: f64,
}

impl OnVerdicts {
    fn at(scores: &[f64], labels: &[bool], threshold: f64) -> Self {
        let c: Confusion = confusion_at(scores, labels, threshold);
        OnVerdicts {
            threshold,
            flagged: c.tp + c.fp,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
        }
    }
}

/// What `retune` did.
#[derive(Debug, Clone, Serialize)]
pub struct Retuned {
    /// The parent model.
    pub parent: FileRef,
    /// The verdicts used.
    pub feedback: FileRef,
    /// Verdicts whose event is in the data (the others are reported, not used).
    pub matched: usize,
    /// Verdicts whose event is not in the data.
    pub unmatched: usize,
    /// Matched verdicts that confirm an anomaly.
    pub true_anomalies: usize,
    /// Matched verdicts that call an alert a false alarm.
    pub false_alarms: usize,
    /// Rows the parent did not flag and nobody judged, counted as normal (`--unjudged normal`).
    pub silent_normal: usize,
    /// Rows refitted on (with `--retrain`): the data less its confirmed anomalies.
    pub refit_rows: Option<usize>,
    /// The parent on the judged events.
    pub before: OnVerdicts,
    /// The new version on the judged events.
    pub after: OnVerdicts,
    /// Rows of the data each version flags.
    pub flagged_before: usize,
    /// Rows of the data the new version flags.
    pub flagged_after: usize,
    /// Where the new version was written.
    pub out: PathBuf,
}

/// What to retune and how.
#[derive(Debug, Clone)]
pub struct RetuneInput<'a> {
    /// The parent model file.
    pub model: &'a Path,
    /// The verdicts (JSON Lines).
    pub feedback: &'a Path,
    /// Recent data with event ids.
    pub data: &'a Path,
    /// How to pick the threshold from the verdicts.
    pub method: ThresholdMethod,
    /// Refit on the data less its confirmed anomalies first.
    pub retrain: bool,
    /// Count the rows the parent did not flag and nobody judged as normal (an alert nobody raised
    /// and nobody missed). Without it the threshold is picked on the judged events alone, which
    /// are mostly alerts: a biased sample that tends to pull the threshold down.
    pub silent_normal: bool,
    /// The new version's file.
    pub out: &'a Path,
}

/// Re-picks the threshold of a model from operators' verdicts (after refitting it on recent data
/// without its confirmed anomalies, with `retrain`), and writes the new version with metadata
/// naming its parent and the feedback it used (`lineage`).
pub fn retune(input: &RetuneInput<'_>, progress: &Progress) -> Result<Retuned> {
    let parent = load_model(input.model)?;
    let verdicts = read_feedback(input.feedback)?;
    let events = read_events(&parent, input.data, progress)?;
    let verdict_rows: Vec<(usize, bool)> = events
        .ids
        .iter()
        .enumerate()
        .filter_map(|(row, id)| verdicts.get(id).map(|&v| (row, v)))
        .collect();
    let matched = verdict_rows.len();
    let true_anomalies = verdict_rows.iter().filter(|(_, v)| *v).count();
    if true_anomalies == 0 || true_anomalies == matched {
        return Err(Error::Invalid(format!(
            "the verdicts that match the data ({matched} of {}) must hold both true anomalies and \
             false alarms to move the threshold ({true_anomalies} true anomalies)",
            verdicts.len()
        )));
    }
    let (model, refit_rows) = if input.retrain {
        // Confirmed anomalies are left out: a detector fitted on them learns them as normal.
        let confirmed: std::collections::HashSet<usize> = verdict_rows
            .iter()
            .filter(|(_, v)| *v)
            .map(|(r, _)| *r)
            .collect();
        let d = events.table.n_cols();
        let keep: Vec<usize> = (0..events.table.n_rows)
            .filter(|r| !confirmed.contains(r))
            .collect();
        let values: Vec<f64> = keep
            .iter()
            .flat_map(|&r| events.table.row(r))
            .copied()
            .collect();
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "{}: event {:?} has a missing or infinite value; a refit needs finite values",
                input.data.display(),
                events.ids[keep[k / d]]
            )));
        }
        let view = forest::ndarray::ArrayView2::from_shape((keep.len(), d), &values)
            .expect("rows × features values");
        let meta = parent.metadata();
        let names = parent.feature_names().to_vec();
        let fitted = match meta.trend {
            Some(t) => Model::fit_with_trend(view, names, &meta.params, t)?,
            None => Model::fit(view, names, &meta.params)?,
        }
        .with_answer_shape(meta.answer_shape);
        (fitted, Some(keep.len()))
    } else {
        (parent.clone(), None)
    };
    let scores = score_table(&model, &events.table, progress)?;
    let parent_scores = if input.retrain {
        score_table(&parent, &events.table, progress)?
    } else {
        scores.clone()
    };
    let mut judged = verdict_rows.clone();
    let mut silent = 0;
    if input.silent_normal {
        let has_verdict: std::collections::HashSet<usize> =
            verdict_rows.iter().map(|(r, _)| *r).collect();
        for (r, &s) in parent_scores.iter().enumerate() {
            if !has_verdict.contains(&r) && !parent.is_anomaly(s) {
                judged.push((r, false));
                silent += 1;
            }
        }
    }
    let judged_scores: Vec<f64> = judged.iter().map(|(r, _)| scores[*r]).collect();
    let parent_judged: Vec<f64> = judged.iter().map(|(r, _)| parent_scores[*r]).collect();
    let labels: Vec<bool> = judged.iter().map(|(_, v)| *v).collect();
    let choice = choose(&judged_scores, &labels, input.method)?;
    let parent_ref = file_ref(input.model)?;
    let feedback_ref = file_ref(input.feedback)?;
    let retuned = Retuned {
        matched,
        unmatched: verdicts.len() - matched,
        true_anomalies,
        false_alarms: matched - true_anomalies,
        silent_normal: silent,
        refit_rows,
        before: OnVerdicts::at(&parent_judged, &labels, parent.threshold()),
        after: OnVerdicts::at(&judged_scores, &labels, choice.threshold),
        flagged_before: parent_scores
            .iter()
            .filter(|&&s| parent.is_anomaly(s))
            .count(),
        flagged_after: scores.iter().filter(|&&s| s > choice.threshold).count(),
        out: input.out.to_owned(),
        parent: parent_ref,
        feedback: feedback_ref,
    };
    let lineage = serde_json::json!({
        "parent": retuned.parent,
        "feedback": retuned.feedback,
        "verdicts": {"matched": matched, "true_anomalies": true_anomalies,
                     "false_alarms": retuned.false_alarms, "unmatched": retuned.unmatched,
                     "silent_normal": silent},
        "retrained_on_rows": refit_rows,
        "data": file_ref(input.data)?,
    });
    model
        .with_threshold(choice.threshold, choice.selection)
        .with_extra("lineage", lineage)
        .save(input.out)
        .map_err(|cause| Error::ModelFile {
            path: input.out.into(),
            cause,
        })?;
    Ok(retuned)
}

impl Retuned {
    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let line = |name: &str, v: &OnVerdicts| {
            format!(
                "{name}: threshold {:.6}, flags {} of the judged rows: precision {:.3}, recall {:.3}, F1 {:.3}\n",
                v.threshold, v.flagged, v.precision, v.recall, v.f1
            )
        };
        let mut s = format!(
            "{} verdicts match the data ({} true anomalies, {} false alarms); {} do not\n",
            self.matched, self.true_anomalies, self.false_alarms, self.unmatched
        );
        if self.silent_normal > 0 {
            s += &format!(
                "{} rows the model did not flag and nobody judged count as normal\n",
                self.silent_normal
            );
        }
        if let Some(rows) = self.refit_rows {
            s += &format!("refitted on {rows} rows (the data less its confirmed anomalies)\n");
        }
        s += &line("before", &self.before);
        s += &line("after ", &self.after);
        s += &format!(
            "on the whole data: {} rows flagged before, {} after\nnew version written to {} (parent {})\n",
            self.flagged_before,
            self.flagged_after,
            self.out.display(),
            &self.parent.sha256[..12]
        );
        s
    }
}

/// How the flags of two model versions differ on the same rows.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Rows compared.
    pub rows: usize,
    /// Rows the old version flags.
    pub flagged_old: usize,
    /// Rows the new version flags.
    pub flagged_new: usize,
    /// Flagged by both.
    pub both: usize,
    /// Flagged by the old version only (alerts the rollout removes).
    pub old_only: usize,
    /// Flagged by the new version only (alerts the rollout adds).
    pub new_only: usize,
    /// Mean of new score minus old score.
    pub mean_score_change: f64,
    /// The rows whose flag changes, largest score change first (at most 20): 1-based row, old
    /// and new score.
    pub changed: Vec<(usize, f64, f64)>,
}

/// Scores `data` with both versions (which must take the same features) and compares their flags.
pub fn diff(old: &Path, new: &Path, data: &Path, progress: &Progress) -> Result<Diff> {
    let (a, b) = (load_model(old)?, load_model(new)?);
    if a.feature_names() != b.feature_names() {
        return Err(Error::Invalid(format!(
            "the versions take different features: {} vs {}",
            a.feature_names().join(","),
            b.feature_names().join(",")
        )));
    }
    let table = crate::score::read_for_model(&a, data, progress)?;
    let (sa, sb) = (
        score_table(&a, &table, progress)?,
        score_table(&b, &table, progress)?,
    );
    let (fa, fb): (Vec<bool>, Vec<bool>) = sa
        .iter()
        .zip(&sb)
        .map(|(&x, &y)| (a.is_anomaly(x), b.is_anomaly(y)))
        .unzip();
    let count = |f: &dyn Fn(usize) -> bool| (0..table.n_rows).filter(|&r| f(r)).count();
    let mut changed: Vec<(usize, f64, f64)> = (0..table.n_rows)
        .filter(|&r| fa[r] != fb[r])
        .map(|r| (r + 1, sa[r], sb[r]))
        .collect();
    changed.sort_by(|x, y| (y.2 - y.1).abs().total_cmp(&(x.2 - x.1).abs()));
    changed.truncate(20);
    Ok(Diff {
        rows: table.n_rows,
        flagged_old: count(&|r| fa[r]),
        flagged_new: count(&|r| fb[r]),
        both: count(&|r| fa[r] && fb[r]),
        old_only: count(&|r| fa[r] && !fb[r]),
        new_only: count(&|r| !fa[r] && fb[r]),
        mean_score_change: sa.iter().zip(&sb).map(|(x, y)| y - x).sum::<f64>()
            / table.n_rows.max(1) as f64,
        changed,
    })
}

impl Diff {
    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} rows: the old version flags {}, the new {}; both {}, old only {} (alerts that go), \
             new only {} (alerts that come); mean score change {:+.4}\n",
            self.rows,
            self.flagged_old,
            self.flagged_new,
            self.both,
            self.old_only,
            self.new_only,
            self.mean_score_change
        );
        for (row, old, new) in &self.changed {
            s += &format!("  row {row}: {old:.4} -> {new:.4}\n");
        }
        s
    }
}
