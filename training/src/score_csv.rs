//! `trainer score`: per-row scores of a CSV file, in our form and in scikit-learn's.
//!
//! Columns: `score` (s in (0, 1], higher = more anomalous), `score_samples` (= −s, as
//! scikit-learn), `decision_function` (= score_samples − offset_, with offset_ = −threshold) and
//! `predict` (−1 where decision_function < 0, else 1, so a score equal to the threshold is an
//! inlier, as in scikit-learn).
//!
//! With `--explain K` (or `all`), five more columns per explained feature, highest attribution
//! first: `topN_feature`, `topN_attribution` (share of the score, the row's shares sum to 1),
//! `topN_direction` (`high` or `low` against the expected value), `topN_value` and `topN_expected`
//! (the model's typical value; empty when the model file does not record it).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::progress::Progress;
use forest::{Explanation, Model};

use crate::score::{explain_table, load_model, read_for_model, score_table};

/// Header of the output CSV.
pub const HEADER: &str = "score,score_samples,decision_function,predict";

/// Arguments of `score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Model file.
    pub model: PathBuf,
    /// Data CSV with a header holding the model's feature columns (other columns are ignored).
    pub data: PathBuf,
    /// Output CSV [default: standard output].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Explain each row: the K features with the highest attribution, or `all`.
    #[arg(long, value_name = "K")]
    pub explain: Option<codec::Explain>,
}

/// One row's figures in scikit-learn's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SklearnRow {
    /// Our score s.
    pub score: f64,
    /// `score_samples`: −s.
    pub score_samples: f64,
    /// `decision_function`: score_samples − offset_.
    pub decision_function: f64,
    /// `predict`: −1 for an anomaly, 1 otherwise.
    pub predict: i8,
}

impl SklearnRow {
    /// The figures for score `s` under a model whose threshold (score space) is `threshold`.
    pub fn new(score: f64, threshold: f64) -> Self {
        let offset = -threshold;
        let score_samples = -score;
        // Same operation, in the same order, as scikit-learn: score_samples - offset_.
        let decision_function = score_samples - offset;
        let predict = if decision_function < 0.0 { -1 } else { 1 };
        SklearnRow {
            score,
            score_samples,
            decision_function,
            predict,
        }
    }
}

/// Scores the file and writes one line per row.
pub fn run(a: ScoreArgs, progress: &Progress) -> anyhow::Result<()> {
    let model = load_model(&a.model)?;
    let table = read_for_model(&model, &a.data, progress)?;
    let (scores, explained) = match a.explain {
        Some(_) => {
            let explained = explain_table(&model, &table, progress)?;
            (explained.iter().map(|e| e.score).collect(), explained)
        }
        None => (score_table(&model, &table, progress)?, Vec::new()),
    };
    let sink: Box<dyn Write> = match &a.out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let k = a.explain.map_or(0, |e| e.count(model.n_features()));
    match write_rows(sink, &model, &scores, &explained, k) {
        // `trainer score model data.csv | head` is a normal way to look at the first rows.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        result => result.context("cannot write the scores")?,
    }
    if let Some(path) = &a.out {
        let flagged = scores.iter().filter(|&&s| model.is_anomaly(s)).count();
        eprintln!(
            "{} rows scored ({flagged} anomalies) into {}",
            scores.len(),
            path.display()
        );
    }
    Ok(())
}

/// Writes the header and one line per row; `explained` holds one explanation per row when `k`
/// features are to be explained.
fn write_rows(
    sink: Box<dyn Write>,
    model: &Model,
    scores: &[f64],
    explained: &[Explanation],
    k: usize,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(sink);
    write!(w, "{HEADER}")?;
    for i in 1..=k {
        write!(
            w,
            ",top{i}_feature,top{i}_attribution,top{i}_direction,top{i}_value,top{i}_expected"
        )?;
    }
    writeln!(w)?;
    for (row, &s) in scores.iter().enumerate() {
        let r = SklearnRow::new(s, model.threshold());
        // `{}` prints the shortest text that parses back to the same f64.
        write!(
            w,
            "{},{},{},{}",
            r.score, r.score_samples, r.decision_function, r.predict
        )?;
        for a in explained.get(row).map_or(&[][..], |e| e.top(k)) {
            // Model feature names may hold commas or quotes.
            let name = codec::csv_field(&model.feature_names()[a.feature]);
            write!(
                w,
                ",{name},{},{},{},",
                a.attribution,
                a.direction.name(),
                a.value
            )?;
            if let Some(e) = a.expected {
                write!(w, "{e}")?;
            }
        }
        writeln!(w)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_columns_follow_offset_equals_minus_threshold() {
        let r = SklearnRow::new(0.7, 0.5);
        assert_eq!(r.score_samples, -0.7);
        assert_eq!(r.decision_function, -0.7 + 0.5);
        assert_eq!(r.predict, -1);
        let inlier = SklearnRow::new(0.3, 0.5);
        assert!(inlier.decision_function > 0.0);
        assert_eq!(inlier.predict, 1);
    }

    #[test]
    fn a_score_on_the_threshold_is_an_inlier_as_in_sklearn() {
        let r = SklearnRow::new(0.491_123, 0.491_123);
        assert_eq!(r.decision_function, 0.0);
        assert_eq!(r.predict, 1);
    }
}
