//! How well explanations name the cause: on data whose labels say which feature of a row was made
//! anomalous (`trainer generate` writes one 0/1 column per feature), the share of flagged rows with
//! exactly one labelled feature whose highest attribution is that feature.

use forest::{Explanation, Model};
use serde::Serialize;

use crate::data::Labels;

/// Top-1 attribution accuracy on per-feature labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttributionAccuracy {
    /// Rows judged: flagged by the model, with exactly one labelled feature.
    pub judged: usize,
    /// Of those, the rows whose highest attribution is the labelled feature.
    pub correct: usize,
    /// `correct / judged` (NaN when nothing was judged).
    pub accuracy: f64,
}

/// The accuracy of `explained` (one per row) against the labels' per-feature columns; `None` when
/// the labels file lacks a column for one of the model's features.
pub fn top1_accuracy(
    model: &Model,
    explained: &[Explanation],
    labels: &Labels,
) -> Option<AttributionAccuracy> {
    let columns: Vec<&[bool]> = model
        .feature_names()
        .iter()
        .map(|name| labels.column(name))
        .collect::<Option<_>>()?;
    let (mut judged, mut correct) = (0, 0);
    for (row, e) in explained.iter().enumerate() {
        let mut spiked = columns.iter().enumerate().filter(|(_, c)| c[row]);
        let (Some((feature, _)), None) = (spiked.next(), spiked.next()) else {
            continue;
        };
        if model.is_anomaly(e.score) {
            judged += 1;
            correct += usize::from(e.features.first().map(|a| a.feature) == Some(feature));
        }
    }
    Some(AttributionAccuracy {
        judged,
        correct,
        accuracy: correct as f64 / judged as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use forest::{DetectorParams, ForestParams};

    #[test]
    fn counts_flagged_single_feature_rows_and_needs_every_feature_column() {
        // Two unrelated columns spread evenly over [0, 10).
        let data: Vec<f64> = (0..200)
            .flat_map(|r| {
                [
                    ((r * 37) % 101) as f64 / 10.0,
                    ((r * 53) % 103) as f64 / 10.0,
                ]
            })
            .collect();
        let view = forest::ndarray::ArrayView2::from_shape((200, 2), &data).unwrap();
        let params = DetectorParams::IsolationForest(ForestParams::default());
        let model = Model::fit(view, vec![], &params).unwrap();
        // Row 0: spiked on feature_2 and explained right; row 1: both features labelled (not
        // judged); row 2: the typical row labelled on feature_1 but not flagged (not judged).
        let m = model.expected_values().unwrap().to_vec();
        let rows = [m[0], 500.0, 400.0, 400.0, m[0], m[1]];
        assert!(!model.is_anomaly(model.score_row(&m).unwrap()));
        let explained = model.explain_slice_with_context(&rows, 0).unwrap();
        let labels = Labels {
            rows: vec![true, true, true],
            columns: vec![
                ("feature_1".into(), vec![false, true, true]),
                ("feature_2".into(), vec![true, true, false]),
            ],
        };
        let a = top1_accuracy(&model, &explained, &labels).unwrap();
        assert_eq!((a.judged, a.correct, a.accuracy), (1, 1, 1.0));
        let row_only = Labels {
            rows: vec![true, true, true],
            columns: vec![("anomaly".into(), vec![true, true, true])],
        };
        assert_eq!(top1_accuracy(&model, &explained, &row_only), None);
    }
}
