//! Detection figures for scores against 0/1 labels: the model's own threshold, ranking metrics,
//! and a table of alternative thresholds.

use std::fmt::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use forest::metrics::{self, Confusion};

/// Contamination rates of the threshold table: the top 0.5 %, 1 %, 2 %, 5 % and 10 % of scores.
pub const CONTAMINATIONS: [f64; 5] = [0.005, 0.01, 0.02, 0.05, 0.10];
/// `k` of the `mean + k·σ` thresholds.
pub const SIGMAS: [f64; 3] = [2.0, 3.0, 4.0];

/// Counts of a binary decision against labels, as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConfusionCounts {
    /// Flagged and labelled anomalous.
    pub true_positives: usize,
    /// Flagged but labelled normal.
    pub false_positives: usize,
    /// Not flagged and labelled normal.
    pub true_negatives: usize,
    /// Not flagged but labelled anomalous.
    pub false_negatives: usize,
}

impl From<Confusion> for ConfusionCounts {
    fn from(c: Confusion) -> Self {
        Self {
            true_positives: c.tp,
            false_positives: c.fp,
            true_negatives: c.tn,
            false_negatives: c.fn_,
        }
    }
}

/// The decisions `score > threshold` counted against `labels`.
pub fn confusion_at(scores: &[f64], labels: &[bool], threshold: f64) -> Confusion {
    let predicted: Vec<bool> = scores.iter().map(|&s| s > threshold).collect();
    Confusion::new(&predicted, labels)
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
        let c = confusion_at(scores, labels, threshold);
        Self {
            rule: rule.into(),
            threshold,
            flagged: c.tp + c.fp,
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
    pub confusion: ConfusionCounts,
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
    /// How often the highest attribution names the labelled feature, when the labels have one
    /// column per feature (see [`crate::attribution`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::attribution::AttributionAccuracy>,
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
    let mut thresholds = vec![ThresholdRow::new("model", scores, labels, threshold)];
    for c in CONTAMINATIONS {
        let t = forest::percentile(scores, 100.0 * (1.0 - c));
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
    let confusion = confusion_at(scores, labels, threshold);
    Ok(Evaluation {
        rows: scores.len(),
        positives,
        threshold,
        confusion: confusion.into(),
        precision: confusion.precision(),
        recall: confusion.recall(),
        f1: confusion.f1(),
        roc_auc: metrics::roc_auc(scores, labels),
        pr_auc: metrics::pr_auc(scores, labels),
        thresholds,
        attribution: None,
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
        if let Some(a) = &self.attribution {
            let _ = writeln!(
                s,
                "attribution top-1 accuracy {:.4} ({} of {} flagged rows with one labelled feature)",
                a.accuracy, a.correct, a.judged
            );
        }
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
    fn confusion_counts_scores_strictly_above_the_threshold() {
        let scores = [0.9, 0.8, 0.7, 0.5, 0.3, 0.2];
        let labels = [true, false, true, true, false, false];
        let c = ConfusionCounts::from(confusion_at(&scores, &labels, 0.5));
        let expected = ConfusionCounts {
            true_positives: 2,
            false_positives: 1,
            true_negatives: 2,
            false_negatives: 1,
        };
        assert_eq!(c, expected);
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
