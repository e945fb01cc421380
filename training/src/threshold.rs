//! Choosing a model's threshold from labelled validation data: the best F1, or a target precision
//! or recall.
//!
//! Candidates are the midpoints between consecutive distinct validation scores (a row is flagged
//! when its score is above the threshold), so each candidate flags exactly the rows ranked above it
//! and leaves a margin on both sides for unseen data.

use std::str::FromStr;

use forest::ThresholdSelection;
use forest::metrics::Confusion;

use crate::error::{Error, Result};
use crate::evaluate::confusion_at;

/// How to pick the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdMethod {
    /// The threshold with the highest F1 (the higher threshold on ties).
    BestF1,
    /// The highest recall whose precision is at least the target.
    Precision(f64),
    /// The highest precision whose recall is at least the target.
    Recall(f64),
}

impl FromStr for ThresholdMethod {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let target = |v: &str| match v.parse::<f64>() {
            Ok(t) if t > 0.0 && t <= 1.0 => Ok(t),
            _ => Err(format!("target must be in (0, 1], found {v:?}")),
        };
        match text.split_once(':') {
            None if text == "best-f1" => Ok(Self::BestF1),
            Some(("precision", v)) => target(v).map(Self::Precision),
            Some(("recall", v)) => target(v).map(Self::Recall),
            _ => Err(format!(
                "expected best-f1, precision:P or recall:R, found {text:?}"
            )),
        }
    }
}

impl ThresholdMethod {
    fn name(&self) -> &'static str {
        match self {
            Self::BestF1 => "best_f1",
            Self::Precision(_) => "target_precision",
            Self::Recall(_) => "target_recall",
        }
    }

    fn target(&self) -> Option<f64> {
        match *self {
            Self::BestF1 => None,
            Self::Precision(t) | Self::Recall(t) => Some(t),
        }
    }
}

/// A chosen threshold with its validation figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The threshold in score space.
    pub threshold: f64,
    /// Decisions on the validation rows at that threshold.
    pub confusion: Confusion,
    /// The record stored in the model's metadata.
    pub selection: ThresholdSelection,
}

/// Every candidate threshold, from the highest (nothing flagged) down.
fn candidates(scores: &[f64]) -> Vec<f64> {
    let mut distinct: Vec<f64> = scores.iter().copied().filter(|s| !s.is_nan()).collect();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    let mut out = Vec::with_capacity(distinct.len() + 1);
    out.push(distinct.first().copied().unwrap_or(0.0));
    out.extend(distinct.windows(2).map(|w| w[0] / 2.0 + w[1] / 2.0));
    if let Some(&lowest) = distinct.last() {
        out.push(lowest.next_down());
    }
    out
}

/// Chooses the threshold on validation `scores` and row-level `labels`.
pub fn choose(scores: &[f64], labels: &[bool], method: ThresholdMethod) -> Result<Choice> {
    if scores.len() != labels.len() || !labels.contains(&true) {
        return Err(Error::Invalid(format!(
            "threshold selection needs one label per score and at least one anomaly ({} scores, {} labels, {} anomalies)",
            scores.len(),
            labels.len(),
            labels.iter().filter(|&&l| l).count()
        )));
    }
    // Each candidate's confusion, highest threshold first. O(n log n + n · candidates) would be too
    // slow on big files, so the counts are accumulated in one pass over the sorted scores.
    let thresholds = candidates(scores);
    let mut sorted: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = labels.iter().filter(|&&l| l).count();
    let mut best: Option<(f64, Confusion)> = None;
    let (mut k, mut tp, mut fp) = (0, 0, 0);
    for &t in &thresholds {
        while k < sorted.len() && sorted[k].0 > t {
            if sorted[k].1 {
                tp += 1
            } else {
                fp += 1
            }
            k += 1;
        }
        let c = Confusion {
            tp,
            fp,
            fn_: positives - tp,
            tn: labels.len() - positives - fp,
        };
        let better = match (method, &best) {
            (ThresholdMethod::BestF1, None) => true,
            (ThresholdMethod::BestF1, Some((_, b))) => c.f1() > b.f1(),
            (ThresholdMethod::Precision(p), _) => c.tp > 0 && c.precision() >= p,
            (ThresholdMethod::Recall(r), None) => c.recall() >= r,
            (ThresholdMethod::Recall(_), Some(_)) => false,
        };
        if better {
            best = Some((t, c));
        }
    }
    let (threshold, _) = best.ok_or_else(|| {
        Error::Invalid(format!(
            "no threshold reaches {} {} on the validation data",
            method.name(),
            method.target().unwrap_or(0.0)
        ))
    })?;
    // Recount directly: the same rule evaluation uses, so the recorded figures match `evaluate`.
    let confusion = confusion_at(scores, labels, threshold);
    let selection = ThresholdSelection {
        method: method.name().into(),
        target: method.target(),
        precision: Some(confusion.precision()),
        recall: Some(confusion.recall()),
        f1: Some(confusion.f1()),
        previous_threshold: None,
    };
    Ok(Choice {
        threshold,
        confusion,
        selection,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Scores from high to low with labels: a a n a n n n n.
    const SCORES: [f64; 8] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
    const LABELS: [bool; 8] = [true, true, false, true, false, false, false, false];

    #[test]
    fn methods_parse_and_reject_bad_targets() {
        assert_eq!("best-f1".parse(), Ok(ThresholdMethod::BestF1));
        assert_eq!(
            "precision:0.95".parse(),
            Ok(ThresholdMethod::Precision(0.95))
        );
        assert_eq!("recall:0.9".parse(), Ok(ThresholdMethod::Recall(0.9)));
        assert!("recall:1.5".parse::<ThresholdMethod>().is_err());
        assert!("accuracy:0.9".parse::<ThresholdMethod>().is_err());
    }

    #[test]
    fn best_f1_flags_the_top_four() {
        // Top 2: F1 0.8; top 4: P 3/4, R 1, F1 6/7 (the best); top 3: F1 2/3... checked by hand.
        let c = choose(&SCORES, &LABELS, ThresholdMethod::BestF1).unwrap();
        assert!((c.threshold - 0.55).abs() < 1e-12, "{}", c.threshold);
        assert_eq!((c.confusion.tp, c.confusion.fp), (3, 1));
        assert!((c.selection.f1.unwrap() - 6.0 / 7.0).abs() < 1e-12);
        assert_eq!(c.selection.method, "best_f1");
    }

    #[test]
    fn target_precision_takes_the_most_recall_that_keeps_it() {
        let c = choose(&SCORES, &LABELS, ThresholdMethod::Precision(1.0)).unwrap();
        assert!((c.threshold - 0.75).abs() < 1e-12);
        assert_eq!((c.confusion.tp, c.confusion.fp), (2, 0));
        let c = choose(&SCORES, &LABELS, ThresholdMethod::Precision(0.7)).unwrap();
        assert_eq!((c.confusion.tp, c.confusion.fp), (3, 1));
    }

    #[test]
    fn target_recall_takes_the_highest_threshold_that_reaches_it() {
        let c = choose(&SCORES, &LABELS, ThresholdMethod::Recall(0.6)).unwrap();
        assert!((c.threshold - 0.75).abs() < 1e-12);
        assert_eq!((c.confusion.tp, c.confusion.fp), (2, 0));
        let c = choose(&SCORES, &LABELS, ThresholdMethod::Recall(1.0)).unwrap();
        assert!((c.threshold - 0.55).abs() < 1e-12, "{}", c.threshold);
        assert_eq!(c.selection.target, Some(1.0));
    }

    #[test]
    fn unreachable_targets_and_missing_anomalies_are_errors() {
        let e = choose(&[0.9, 0.1], &[false, true], ThresholdMethod::Precision(1.0)).unwrap_err();
        assert!(
            e.to_string()
                .contains("no threshold reaches target_precision 1"),
            "{e}"
        );
        assert!(choose(&[0.9], &[false], ThresholdMethod::BestF1).is_err());
    }
}
