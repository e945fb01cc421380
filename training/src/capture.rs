//! Shadow-rollout comparison (`trainer shadow-compare`): reads what SageMaker Data Capture recorded
//! for the production variant and for the shadow variant of one endpoint, pairs the two answers to
//! each request, and reports how often the anomaly flags agree and how far the scores drift.
//!
//! Data Capture writes one JSON object per request and line,
//! `{"captureData": {"endpointInput": {..}, "endpointOutput": {..}}, "eventMetadata": {"eventId",
//! "inferenceTime"}, "eventVersion": "0"}`, under `DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/`.
//! A payload is `{"observedContentType", "mode", "data", "encoding"}`, `encoding` being `CSV` or
//! `JSON` (the text as is) or `BASE64`. A request replicated to the shadow variant carries the same
//! event id on both sides; captures without a counterpart of the same id are paired by identical
//! input instead (first come, first paired), so captures written by other tools still compare.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use codec::{Answer, Shape};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::feedback::json_lines;

/// What a capture line must look like, for error messages.
const EXPECTED: &str = "a Data Capture record {\"captureData\": {..}, \"eventMetadata\": {..}}";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaptureLine {
    capture_data: CaptureData,
    event_metadata: EventMetadata,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaptureData {
    endpoint_input: Option<Payload>,
    endpoint_output: Option<Payload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    observed_content_type: String,
    data: String,
    encoding: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventMetadata {
    event_id: String,
}

/// One captured request of one variant, with where it was read.
#[derive(Debug)]
struct Capture {
    at: String,
    event_id: String,
    /// The request's content type and bytes, the key of pairing by input.
    input: Option<(String, Vec<u8>)>,
    output: Option<(String, Vec<u8>)>,
}

impl Payload {
    fn bytes(self, at: &str) -> Result<(String, Vec<u8>)> {
        let bytes = match self.encoding.as_str() {
            "CSV" | "JSON" => self.data.into_bytes(),
            "BASE64" => base64::engine::general_purpose::STANDARD
                .decode(self.data.as_bytes())
                .map_err(|e| {
                    Error::Invalid(format!("{at}: the BASE64 data does not decode: {e}"))
                })?,
            other => {
                return Err(Error::Invalid(format!(
                    "{at}: encoding {other:?} is none of CSV, JSON, BASE64"
                )));
            }
        };
        Ok((self.observed_content_type, bytes))
    }
}

/// Every `.jsonl` file under `path` (or `path` itself when it is a file), sorted by path, which for
/// Data Capture's `yyyy/mm/dd/hh/` layout is time order.
fn capture_files(path: &Path) -> Result<Vec<PathBuf>> {
    let io = |cause| Error::Io {
        path: path.into(),
        cause,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let p = entry.map_err(io)?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no .jsonl capture files under it",
            path.display()
        )));
    }
    Ok(files)
}

fn read_captures(path: &Path) -> Result<Vec<Capture>> {
    let mut captures = Vec::new();
    for file in capture_files(path)? {
        for (line, c) in json_lines::<CaptureLine>(&file, EXPECTED)? {
            let at = format!("{}:{line}", file.display());
            captures.push(Capture {
                event_id: c.event_metadata.event_id,
                input: c
                    .capture_data
                    .endpoint_input
                    .map(|p| p.bytes(&at))
                    .transpose()?,
                output: c
                    .capture_data
                    .endpoint_output
                    .map(|p| p.bytes(&at))
                    .transpose()?,
                at,
            });
        }
    }
    Ok(captures)
}

/// A row whose flag differs between the variants.
#[derive(Debug, Clone, Serialize)]
pub struct FlagChange {
    /// The request's event id.
    pub event_id: String,
    /// 1-based row within the request.
    pub row: usize,
    /// The production variant's score, when its answer carries one.
    pub production_score: Option<f64>,
    /// The shadow variant's score, when its answer carries one.
    pub shadow_score: Option<f64>,
    /// The shadow variant's flag.
    pub shadow_flag: bool,
}

/// Score drift, shadow minus production, over the rows both answers score.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    /// Rows with a score on both sides.
    pub rows: usize,
    /// Mean of shadow minus production.
    pub mean: f64,
    /// Mean absolute difference.
    pub mean_abs: f64,
    /// Median absolute difference.
    pub p50_abs: f64,
    /// 95th percentile of the absolute difference.
    pub p95_abs: f64,
    /// Largest absolute difference.
    pub max_abs: f64,
    /// Pearson correlation of the two scores (NaN when either side is constant).
    pub correlation: f64,
}

/// How a shadow variant's answers compare with production's on the same requests.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowComparison {
    /// Captures read for the production variant.
    pub production_captures: usize,
    /// Captures read for the shadow variant.
    pub shadow_captures: usize,
    /// Requests paired by event id.
    pub paired_by_event_id: usize,
    /// Requests paired by identical input (no counterpart with the same id).
    pub paired_by_input: usize,
    /// Production captures without a shadow counterpart (not sampled, or not captured).
    pub production_unpaired: usize,
    /// Shadow captures without a production counterpart.
    pub shadow_unpaired: usize,
    /// Pairs whose answers could not be read (first few: where and why).
    pub unreadable: Vec<String>,
    /// Pairs whose two answers hold different numbers of rows.
    pub row_count_mismatches: usize,
    /// Rows compared.
    pub rows: usize,
    /// Rows with a flag on both sides.
    pub flagged_rows: usize,
    /// Rows both variants flag.
    pub both_anomalous: usize,
    /// Rows production flags and the shadow does not (alerts a promotion removes).
    pub production_only: usize,
    /// Rows the shadow flags and production does not (alerts a promotion adds).
    pub shadow_only: usize,
    /// Share of flagged rows on which the variants agree (NaN without flags).
    pub agreement: f64,
    /// Score drift (absent when either side's answers carry no score).
    pub drift: Option<Drift>,
    /// The rows whose flag differs, largest score change first (at most 20).
    pub changes: Vec<FlagChange>,
}

/// At most this many unreadable pairs are listed (all are counted in the error case).
const LISTED: usize = 5;

/// Pairs the production and shadow captures under the two paths and compares their answers, read
/// in `shape` (the endpoint's `ISOSERVE_OUTPUT_FORMAT`: native answers carry both a score and a
/// flag, rcf a score, sklearn a flag).
pub fn compare(production: &Path, shadow: &Path, shape: Shape) -> Result<ShadowComparison> {
    let prod = read_captures(production)?;
    let shad = read_captures(shadow)?;
    let (pairs, by_id, prod_left, shad_left) = pair(&prod, &shad);
    let mut report = ShadowComparison {
        production_captures: prod.len(),
        shadow_captures: shad.len(),
        paired_by_event_id: by_id,
        paired_by_input: pairs.len() - by_id,
        production_unpaired: prod_left,
        shadow_unpaired: shad_left,
        unreadable: Vec::new(),
        row_count_mismatches: 0,
        rows: 0,
        flagged_rows: 0,
        both_anomalous: 0,
        production_only: 0,
        shadow_only: 0,
        agreement: f64::NAN,
        drift: None,
        changes: Vec::new(),
    };
    let mut unreadable = 0;
    let mut scores: Vec<(f64, f64)> = Vec::new();
    for (p, s) in pairs {
        let (pa, sa) = match (answers(p, shape), answers(s, shape)) {
            (Ok(pa), Ok(sa)) => (pa, sa),
            (Err(e), _) | (_, Err(e)) => {
                unreadable += 1;
                if report.unreadable.len() < LISTED {
                    report.unreadable.push(e);
                }
                continue;
            }
        };
        if pa.len() != sa.len() {
            report.row_count_mismatches += 1;
            continue;
        }
        report.rows += pa.len();
        for (row, (a, b)) in pa.iter().zip(&sa).enumerate() {
            if let (Some(x), Some(y)) = (a.score, b.score) {
                scores.push((x, y));
            }
            let (Some(fa), Some(fb)) = (a.anomaly, b.anomaly) else {
                continue;
            };
            report.flagged_rows += 1;
            match (fa, fb) {
                (true, true) => report.both_anomalous += 1,
                (true, false) => report.production_only += 1,
                (false, true) => report.shadow_only += 1,
                (false, false) => {}
            }
            if fa != fb {
                report.changes.push(FlagChange {
                    event_id: p.event_id.clone(),
                    row: row + 1,
                    production_score: a.score,
                    shadow_score: b.score,
                    shadow_flag: fb,
                });
            }
        }
    }
    if unreadable > 0 && report.rows == 0 {
        return Err(Error::Invalid(format!(
            "none of the {unreadable} paired answers could be read as {} answers: {}",
            shape.name(),
            report.unreadable.join("; ")
        )));
    }
    if report.flagged_rows > 0 {
        let disagree = report.production_only + report.shadow_only;
        report.agreement = 1.0 - disagree as f64 / report.flagged_rows as f64;
    }
    let change = |c: &FlagChange| match (c.production_score, c.shadow_score) {
        (Some(x), Some(y)) => (y - x).abs(),
        _ => 0.0,
    };
    report
        .changes
        .sort_by(|a, b| change(b).total_cmp(&change(a)));
    report.changes.truncate(20);
    report.drift = drift(&scores);
    Ok(report)
}

type Pairs<'a> = Vec<(&'a Capture, &'a Capture)>;

/// Pairs by event id, then what is left by identical input, each side in file order. Returns the
/// pairs (the ones by id first), how many were paired by id, and the unpaired counts on each side.
fn pair<'a>(prod: &'a [Capture], shad: &'a [Capture]) -> (Pairs<'a>, usize, usize, usize) {
    let mut taken = vec![false; shad.len()];
    let mut by_id: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, s) in shad.iter().enumerate() {
        by_id.entry(s.event_id.as_str()).or_default().push_back(i);
    }
    let mut pairs = Vec::new();
    let mut left = Vec::new();
    for p in prod {
        match by_id
            .get_mut(p.event_id.as_str())
            .and_then(VecDeque::pop_front)
        {
            Some(i) => {
                taken[i] = true;
                pairs.push((p, &shad[i]));
            }
            None => left.push(p),
        }
    }
    let paired_by_id = pairs.len();
    let mut by_input: HashMap<&(String, Vec<u8>), VecDeque<usize>> = HashMap::new();
    for (i, s) in shad.iter().enumerate() {
        if let (false, Some(input)) = (taken[i], &s.input) {
            by_input.entry(input).or_default().push_back(i);
        }
    }
    let mut prod_left = 0;
    for p in left {
        let found = p
            .input
            .as_ref()
            .and_then(|i| by_input.get_mut(i)?.pop_front());
        match found {
            Some(i) => pairs.push((p, &shad[i])),
            None => prod_left += 1,
        }
    }
    let shad_left = shad.len() - pairs.len();
    (pairs, paired_by_id, prod_left, shad_left)
}

fn answers(c: &Capture, shape: Shape) -> std::result::Result<Vec<Answer>, String> {
    let (content_type, body) = c
        .output
        .as_ref()
        .ok_or_else(|| format!("{}: no endpointOutput captured", c.at))?;
    codec::decode_answers(body, content_type, shape).map_err(|e| format!("{}: {e}", c.at))
}

fn drift(scores: &[(f64, f64)]) -> Option<Drift> {
    if scores.is_empty() {
        return None;
    }
    let n = scores.len() as f64;
    let mut abs: Vec<f64> = scores.iter().map(|(x, y)| (y - x).abs()).collect();
    abs.sort_by(f64::total_cmp);
    let quantile = |q: f64| abs[((abs.len() - 1) as f64 * q).round() as usize];
    let (mx, my) = (
        scores.iter().map(|s| s.0).sum::<f64>() / n,
        scores.iter().map(|s| s.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in scores {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    Some(Drift {
        rows: scores.len(),
        mean: my - mx,
        mean_abs: abs.iter().sum::<f64>() / n,
        p50_abs: quantile(0.5),
        p95_abs: quantile(0.95),
        max_abs: abs[abs.len() - 1],
        correlation: sxy / (sxx * syy).sqrt(),
    })
}

impl ShadowComparison {
    /// Fails when the flags agree on less than `min` of the rows, or cannot be compared at all.
    pub fn check_agreement(&self, min: f64) -> Result<()> {
        if self.flagged_rows == 0 {
            return Err(Error::Invalid(format!(
                "--min-agreement {min}: no row carries a flag on both sides to compare"
            )));
        }
        if self.agreement < min {
            return Err(Error::Invalid(format!(
                "the variants agree on {:.4} of {} rows, below --min-agreement {min}",
                self.agreement, self.flagged_rows
            )));
        }
        Ok(())
    }

    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "captures: {} production, {} shadow; paired {} by event id, {} by identical input; \
             unpaired {} production, {} shadow\n",
            self.production_captures,
            self.shadow_captures,
            self.paired_by_event_id,
            self.paired_by_input,
            self.production_unpaired,
            self.shadow_unpaired
        );
        if !self.unreadable.is_empty() {
            s += &format!(
                "unreadable answers (first): {}\n",
                self.unreadable.join("; ")
            );
        }
        if self.row_count_mismatches > 0 {
            s += &format!(
                "{} pairs answered with different numbers of rows (not compared)\n",
                self.row_count_mismatches
            );
        }
        if self.flagged_rows > 0 {
            s += &format!(
                "flags on {} rows: agreement {:.4}; both anomalous {}, production only {} \
                 (alerts a promotion removes), shadow only {} (alerts it adds)\n",
                self.flagged_rows,
                self.agreement,
                self.both_anomalous,
                self.production_only,
                self.shadow_only
            );
        } else {
            s += &format!(
                "{} rows compared; the answers carry no anomaly flag on both sides\n",
                self.rows
            );
        }
        if let Some(d) = &self.drift {
            s += &format!(
                "score drift (shadow - production) on {} rows: mean {:+.4}, mean |d| {:.4}, \
                 median |d| {:.4}, p95 |d| {:.4}, max |d| {:.4}, correlation {:.4}\n",
                d.rows, d.mean, d.mean_abs, d.p50_abs, d.p95_abs, d.max_abs, d.correlation
            );
        }
        for c in &self.changes {
            let score = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
            s += &format!(
                "  event {} row {}: {} -> {} ({})\n",
                c.event_id,
                c.row,
                score(c.production_score),
                score(c.shadow_score),
                if c.shadow_flag {
                    "shadow flags it"
                } else {
                    "shadow clears it"
                }
            );
        }
        s
    }
}
