//! Evaluation metrics on anomaly scores (higher = more anomalous) and 0/1 labels (`true` = anomaly).
//! Undefined ratios (no positives, nothing predicted) follow scikit-learn: AUCs are NaN when one
//! class is missing; precision, recall and F1 are 0 when their denominator is 0.

/// Counts of a binary prediction against labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Anomalies flagged.
    pub tp: usize,
    /// Normal rows flagged.
    pub fp: usize,
    /// Normal rows not flagged.
    pub tn: usize,
    /// Anomalies missed.
    pub fn_: usize,
}

impl Confusion {
    /// Tallies `predicted` against `labels` (pairs beyond the shorter slice are ignored).
    pub fn new(predicted: &[bool], labels: &[bool]) -> Self {
        let mut c = Self::default();
        for (&p, &l) in predicted.iter().zip(labels) {
            match (p, l) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    /// `tp / (tp + fp)`, 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `tp / (tp + fn)`, 0 when there are no anomalies.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Harmonic mean of precision and recall, `2tp / (2tp + fp + fn)`.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// `(tp + tn) / total`.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Confusion matrix of `predicted` against `labels`.
pub fn confusion(predicted: &[bool], labels: &[bool]) -> Confusion {
    Confusion::new(predicted, labels)
}

/// `(precision, recall, f1)` of `predicted` against `labels`.
pub fn precision_recall_f1(predicted: &[bool], labels: &[bool]) -> (f64, f64, f64) {
    let c = Confusion::new(predicted, labels);
    (c.precision(), c.recall(), c.f1())
}

/// Area under the ROC curve: the probability that a random anomaly scores above a random normal
/// row, ties counted half (average ranks, Mann–Whitney U). NaN without both classes.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let order = sorted_desc(scores);
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = scores.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    // Walk groups of tied scores from the top; each normal row in a group is beaten by every
    // anomaly above the group and ties with half of those inside it.
    let mut u = 0.0;
    let mut pos_above = 0.0;
    for group in tie_groups(&order, scores) {
        let p = group.iter().filter(|&&i| labels[i]).count() as f64;
        let n = group.len() as f64 - p;
        u += n * (pos_above + p / 2.0);
        pos_above += p;
    }
    u / (pos * neg)
}

/// Average precision (scikit-learn's `average_precision_score`): `Σ (R_k − R_{k−1}) P_k` over the
/// distinct score thresholds from the top. NaN without anomalies.
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let order = sorted_desc(scores);
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    if pos == 0.0 {
        return f64::NAN;
    }
    let (mut tp, mut seen, mut ap) = (0.0, 0.0, 0.0);
    for group in tie_groups(&order, scores) {
        let p = group.iter().filter(|&&i| labels[i]).count() as f64;
        tp += p;
        seen += group.len() as f64;
        ap += (p / pos) * (tp / seen);
    }
    ap
}

/// ROC curve points `(false positive rate, true positive rate)` from (0, 0) to (1, 1), one per
/// distinct score. Empty without both classes.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = scores.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return Vec::new();
    }
    let order = sorted_desc(scores);
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for group in tie_groups(&order, scores) {
        let p = group.iter().filter(|&&i| labels[i]).count() as f64;
        tp += p;
        fp += group.len() as f64 - p;
        points.push((fp / neg, tp / pos));
    }
    points
}

fn sorted_desc(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

fn tie_groups<'a>(order: &'a [usize], scores: &'a [f64]) -> impl Iterator<Item = &'a [usize]> {
    order.chunk_by(move |&a, &b| scores[a] == scores[b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_hand_computed_with_ties() {
        // Pairs (anomaly, normal): (0.9,0.1) win, (0.9,0.5) win, (0.5,0.1) win, (0.5,0.5) tie: 3.5/4.
        let auc = roc_auc(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]);
        assert!((auc - 0.875).abs() < 1e-15, "{auc}");
        assert_eq!(roc_auc(&[0.1, 0.2], &[false, true]), 1.0);
        assert_eq!(roc_auc(&[0.3, 0.2], &[false, true]), 0.0);
        assert!(roc_auc(&[0.3, 0.2], &[true, true]).is_nan());
    }

    #[test]
    fn pr_auc_hand_computed() {
        // Ranks: 0.9 (anomaly) P=1 R=.5; 0.8 (normal); 0.7 (anomaly) P=2/3 R=1 -> .5*1 + .5*2/3.
        let ap = pr_auc(&[0.9, 0.8, 0.7, 0.1], &[true, false, true, false]);
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-15, "{ap}");
        // A tie between the only anomaly and a normal row: P = 1/2 at R = 1.
        assert_eq!(pr_auc(&[0.5, 0.5], &[true, false]), 0.5);
    }

    #[test]
    fn confusion_and_ratios() {
        let pred = [true, true, false, false, true];
        let lab = [true, false, false, true, true];
        let c = confusion(&pred, &lab);
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 1,
                tn: 1,
                fn_: 1
            }
        );
        let (p, r, f) = precision_recall_f1(&pred, &lab);
        assert_eq!((p, r), (2.0 / 3.0, 2.0 / 3.0));
        assert!((f - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(c.accuracy(), 0.6);
        assert_eq!(precision_recall_f1(&[false], &[true]), (0.0, 0.0, 0.0));
    }

    #[test]
    fn roc_curve_ends_at_corners() {
        let pts = roc_curve(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]);
        assert_eq!(pts, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
    }
}
