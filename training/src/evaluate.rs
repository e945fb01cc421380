//! Detection figures for scores against 0/1 labels: the model's own threshold, ranking metrics,
//! and a table of alternative thresholds.

use std::fmt::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics;

/// Contamination rates of the threshold table: the top 0.5 %, 1 %, 2 %, 5 % and 10 % of scores.
pub const CONTAMINATIONS: [f64; 5] = [0.005, 0.01, 0.02, 0.05, 0.10];
/// `k` of the `mean + k·σ` thresholds.
pub const SIGMAS: [f64; 3] = [2.0, 3.0, 4.0];

/// Counts of a binary decision against labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Flagged and labelled anomalous.
    pub true_positives: usize,
    /// Flagged but labelled normal.
    pub false_positives: usize,
    /// Not flagged and labelled normal.
    pub true_negatives: usize,
    /// Not flagged but labelled anomalous.
    pub false_negatives: usize,
}

impl Confusion {
    /// Counts `score > threshold` against `labels`.
    pub fn at(scores: &[f64], labels: &[bool], threshold: f64) -> Self {
        let mut c = Self::default();
        for (&s, &l) in scores.iter().zip(labels) {
            match (s > threshold, l) {
                (true, true) => c.true_positives += 1,
                (true, false) => c.false_positives += 1,
                (false, false) => c.true_negatives += 1,
                (false, true) => c.false_negatives += 1,
            }
        }
        c
    }

    /// Rows flagged.
    pub fn flagged(&self) -> usize {
        self.true_positives + self.false_positives
    }

    /// TP / (TP + FP), 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.flagged())
    }

    /// TP / (TP + FN), 0 when nothing is labelled anomalous.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub fn f1(&self) -> f64 {
        ratio(
            2 * self.true_positives,
            2 * self.true_positives + self.false_positives + self.false_negatives,
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Figures at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdRow {
    /// How the threshold was chosen, e.g. `model`, `top 1%`, `mean+3sd`.
    pub rule: String,
    /// The threshold in score space (a row is flagged when its score is above it).
    pub threshold: f64,
    /// Rows flagged.
    pub flagged: usize,
    /// Precision at this threshold.
    pub precision: f64,
    /// Recall at this threshold.
    pub recall: f64,
    /// F1 at this threshold.
    pub f1: f64,
}

impl ThresholdRow {
    /// The figures of `score > threshold`.
    pub fn new(rule: impl Into<String>, scores: &[f64], labels: &[bool], threshold: f64) -> Self {
        let c = Confusion::at(scores, labels, threshold);
        Self {
            rule: rule.into(),
            threshold,
            flagged: c.flagged(),
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
        }
    }
}

/// The full evaluation of a model's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Rows scored.
    pub rows: usize,
    /// Rows labelled anomalous.
    pub positives: usize,
    /// The model's threshold.
    pub threshold: f64,
    /// Decisions at the model's threshold.
    pub confusion: Confusion,
    /// Precision at the model's threshold.
    pub precision: f64,
    /// Recall at the model's threshold.
    pub recall: f64,
    /// F1 at the model's threshold.
    pub f1: f64,
    /// Area under the ROC curve (threshold-free).
    pub roc_auc: f64,
    /// Area under the precision–recall curve (average precision, threshold-free).
    pub pr_auc: f64,
    /// The model's threshold, then contamination percentiles, then `mean + k·σ`.
    pub thresholds: Vec<ThresholdRow>,
}

/// numpy's `percentile` with linear interpolation, `q` in [0, 1], on sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Mean and population standard deviation.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (
        mean,
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

/// Evaluates `scores` against row-level `labels` at the model's `threshold`.
pub fn evaluate(scores: &[f64], labels: &[bool], threshold: f64) -> Result<Evaluation> {
    if scores.len() != labels.len() {
        return Err(Error::Invalid(format!(
            "{} scores but {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.is_empty() {
        return Err(Error::Invalid("nothing to evaluate: no rows".into()));
    }
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || positives == labels.len() {
        return Err(Error::Invalid(format!(
            "the labels need both classes to evaluate; {positives} of {} rows are anomalous",
            labels.len()
        )));
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut thresholds = vec![ThresholdRow::new("model", scores, labels, threshold)];
    for c in CONTAMINATIONS {
        let t = quantile(&sorted, 1.0 - c);
        thresholds.push(ThresholdRow::new(
            format!("top {}%", c * 100.0),
            scores,
            labels,
            t,
        ));
    }
    let (mean, sd) = mean_sd(scores);
    for k in SIGMAS {
        thresholds.push(ThresholdRow::new(
            format!("mean+{k}sd"),
            scores,
            labels,
            mean + k * sd,
        ));
    }
    let confusion = Confusion::at(scores, labels, threshold);
    Ok(Evaluation {
        rows: scores.len(),
        positives,
        threshold,
        confusion,
        precision: confusion.precision(),
        recall: confusion.recall(),
        f1: confusion.f1(),
        roc_auc: metrics::roc_auc(scores, labels),
        pr_auc: metrics::pr_auc(scores, labels),
        thresholds,
    })
}

impl Evaluation {
    /// A human-readable report.
    pub fn to_text(&self) -> String {
        let c = &self.confusion;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "rows {}, labelled anomalous {}",
            self.rows, self.positives
        );
        let _ = writeln!(s, "model threshold {:.6}", self.threshold);
        let _ = writeln!(
            s,
            "precision {:.4}  recall {:.4}  F1 {:.4}  ROC-AUC {:.4}  PR-AUC {:.4}",
            self.precision, self.recall, self.f1, self.roc_auc, self.pr_auc
        );
        let _ = writeln!(s, "\nconfusion matrix   flagged  not flagged");
        let _ = writeln!(
            s,
            "  anomalous     {:>10} {:>12}",
            c.true_positives, c.false_negatives
        );
        let _ = writeln!(
            s,
            "  normal        {:>10} {:>12}",
            c.false_positives, c.true_negatives
        );
        let _ = writeln!(
            s,
            "\n{:<12} {:>10} {:>8} {:>9} {:>7} {:>7}",
            "rule", "threshold", "flagged", "precision", "recall", "F1"
        );
        for r in &self.thresholds {
            let _ = writeln!(
                s,
                "{:<12} {:>10.6} {:>8} {:>9.4} {:>7.4} {:>7.4}",
                r.rule, r.threshold, r.flagged, r.precision, r.recall, r.f1
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_ratios_on_a_hand_case() {
        let scores = [0.9, 0.8, 0.7, 0.4, 0.3, 0.2];
        let labels = [true, false, true, true, false, false];
        let c = Confusion::at(&scores, &labels, 0.5);
        assert_eq!(
            (
                c.true_positives,
                c.false_positives,
                c.true_negatives,
                c.false_negatives
            ),
            (2, 1, 2, 1)
        );
        assert!((c.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.f1() - 2.0 / 3.0).abs() < 1e-12);
        let none = Confusion::at(&scores, &labels, 1.0);
        assert_eq!(
            (none.precision(), none.recall(), none.f1()),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn quantile_matches_numpy_linear_interpolation() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.9) - 7.6).abs() < 1e-12); // numpy.percentile(v, 90) = 7.6
        assert_eq!(quantile(&v, 1.0), 10.0);
    }

    #[test]
    fn threshold_table_has_model_percentile_and_sigma_rows() {
        let scores: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        let labels: Vec<bool> = (0..1000).map(|i| i >= 950).collect();
        let e = evaluate(&scores, &labels, 0.5).unwrap();
        let rules: Vec<&str> = e.thresholds.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "model", "top 0.5%", "top 1%", "top 2%", "top 5%", "top 10%", "mean+2sd",
                "mean+3sd", "mean+4sd"
            ]
        );
        let top5 = &e.thresholds[4];
        assert_eq!((top5.flagged, top5.precision, top5.recall), (50, 1.0, 1.0));
        assert_eq!(e.thresholds[0].flagged, 499);
        assert_eq!(e.roc_auc, 1.0);
        assert!((e.pr_auc - 1.0).abs() < 1e-12);
        assert!(e.to_text().contains("top 5%"));
    }

    #[test]
    fn one_class_labels_and_length_mismatch_are_errors() {
        assert!(evaluate(&[0.1, 0.2], &[false, false], 0.5).is_err());
        assert!(evaluate(&[0.1, 0.2], &[false], 0.5).is_err());
    }
}
