//! Trend-aware scoring: a causal transform that turns each value into its deviation from the
//! recent past, so a detector fitted on those residuals sees a spike on a trending series the way
//! it sees an outlier on stationary data.
//!
//! [`TrendSpec::RollingMedian`]: for feature `i` of row `j`,
//! `residual = x[j][i] − median(x[j−w..j][i])`, the median of up to `w` *previous* rows only. The
//! transform is causal, so scoring rows one request at a time (with enough leading context rows)
//! gives the same residuals as scoring the whole sequence at once. Rules at the edges:
//!
//! * A row with fewer than `w` previous rows uses the ones it has.
//! * A row with no usable previous value (the first row of a sequence, or only missing values
//!   before it) gets residual 0 for that feature: it is scored as on-trend, never guessed.
//! * NaN (a missing value) stays NaN, so it follows the forest's missing-value rule; NaN and
//!   infinite values in the previous rows are skipped when taking the median.
//! * The median of an even count is the mean of the two middle values.

use serde::{Deserialize, Serialize};

use crate::{Error, Model};

/// How a trend-aware model detrends ordered rows before scoring them. Stored in the model's
/// metadata as `"trend": {"rolling_median": {"window": 10}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendSpec {
    /// Residual from the median of the previous `window` rows, per feature.
    RollingMedian {
        /// Previous rows the median is taken over (1..=[`TrendSpec::MAX_WINDOW`]).
        window: usize,
    },
}

impl TrendSpec {
    /// The window `trainer train --trend rolling_median` uses unless told otherwise. Chosen by
    /// measurement on `trainer generate` data (docs/quality.md): short enough to follow a random
    /// walk, long enough that the median of noisy neighbours is steady and that a spike among them
    /// does not move it.
    pub const DEFAULT_WINDOW: usize = 25;
    /// The largest window accepted; the transform costs `window` operations per value.
    pub const MAX_WINDOW: usize = 10_000;

    /// A rolling median over `window` previous rows.
    pub fn rolling_median(window: usize) -> Result<TrendSpec, Error> {
        let spec = TrendSpec::RollingMedian { window };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), Error> {
        let TrendSpec::RollingMedian { window } = *self;
        if (1..=Self::MAX_WINDOW).contains(&window) {
            Ok(())
        } else {
            Err(Error::InvalidParameter {
                name: "trend window",
                message: format!(
                    "expected 1..={} previous rows, found {window}",
                    Self::MAX_WINDOW
                ),
            })
        }
    }

    /// Leading rows that fully determine the residuals of the rows after them: scoring a
    /// sequence in pieces, each piece preceded by this many rows as context, gives the same
    /// residuals as scoring it whole.
    pub fn context_rows(&self) -> usize {
        let TrendSpec::RollingMedian { window } = *self;
        window
    }

    /// Residuals of `rows` (row-major, `d` values per row, one ordered sequence) for the rows after
    /// the first `context`, which serve only as baseline. `rows.len()` must be a multiple of `d`
    /// and `context` at most the row count.
    pub fn residuals(&self, rows: &[f64], d: usize, context: usize) -> Vec<f64> {
        let TrendSpec::RollingMedian { window } = *self;
        let n = rows.len() / d;
        debug_assert!(rows.len() == n * d && context <= n);
        let mut out = Vec::with_capacity((n - context) * d);
        let mut past = Vec::with_capacity(window);
        for j in context..n {
            for i in 0..d {
                let x = rows[j * d + i];
                if x.is_nan() {
                    out.push(f64::NAN);
                    continue;
                }
                past.clear();
                past.extend(
                    (j.saturating_sub(window)..j)
                        .map(|k| rows[k * d + i])
                        .filter(|v| v.is_finite()),
                );
                out.push(match median(&mut past) {
                    Some(m) => x - m,
                    None => 0.0,
                });
            }
        }
        out
    }
}

/// The median (mean of the two middle values for an even count); `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    let m = values.len();
    if m == 0 {
        return None;
    }
    let (below, &mut upper, _) = values.select_nth_unstable_by(m / 2, f64::total_cmp);
    if m % 2 == 1 {
        return Some(upper);
    }
    let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(lower + (upper - lower) / 2.0)
}

impl Model {
    /// Fits a trend-aware model: `data` is one ordered sequence, detrended by `trend` and the
    /// detector fitted on the residuals (see [`Model::fit`] for the other arguments). The
    /// metadata's training hash is of `data` as given. Every batch scoring method of the result
    /// detrends its rows first.
    pub fn fit_with_trend(
        data: ndarray::ArrayView2<'_, f64>,
        feature_names: Vec<String>,
        params: &crate::DetectorParams,
        trend: TrendSpec,
    ) -> Result<Model, Error> {
        trend.validate()?;
        let (n, d) = data.dim();
        if n == 0 || d == 0 {
            return Err(Error::EmptyData {
                rows: n,
                columns: d,
            });
        }
        let flat: Vec<f64> = data.iter().copied().collect();
        // Non-finite training values are refused by `fit` on the residuals, at the same place.
        let residuals = trend.residuals(&flat, d, 0);
        let view = ndarray::ArrayView2::from_shape((n, d), &residuals)
            .expect("the residuals have the data's shape");
        let mut model = Model::fit(view, feature_names, params)?;
        model.metadata.trend = Some(trend);
        model.metadata.training_data_hash = crate::model::data_hash(data);
        Ok(model)
    }

    /// How this model detrends its input, if it is trend-aware.
    pub fn trend(&self) -> Option<TrendSpec> {
        self.metadata.trend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(window: usize) -> TrendSpec {
        TrendSpec::rolling_median(window).unwrap()
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 100.0]), Some(3.5));
    }

    #[test]
    fn residuals_use_previous_rows_only() {
        // One feature: 10, 12, 11, 50, 13 with window 3.
        let r = spec(3).residuals(&[10.0, 12.0, 11.0, 50.0, 13.0], 1, 0);
        // Row 0 has no baseline; row 1: 12 − 10; row 2: 11 − median(10, 12) = 0; row 3: 50 − 11;
        // row 4: 13 − median(12, 11, 50) = 1, the spike does not move the median.
        assert_eq!(r, vec![0.0, 2.0, 0.0, 39.0, 1.0]);
    }

    #[test]
    fn features_are_detrended_independently() {
        let rows = [1.0, 100.0, 2.0, 200.0, 3.0, 300.0];
        let r = spec(2).residuals(&rows, 2, 0);
        assert_eq!(r, vec![0.0, 0.0, 1.0, 100.0, 1.5, 150.0]);
    }

    #[test]
    fn context_rows_are_baseline_only_and_pieces_agree_with_the_whole() {
        let rows: Vec<f64> = (0..40)
            .map(|j| (j as f64 * 0.7).sin() * 10.0 + j as f64)
            .collect();
        let s = spec(5);
        let whole = s.residuals(&rows, 2, 0);
        let tail = s.residuals(&rows[10 * 2..], 2, s.context_rows());
        assert_eq!(tail, whole[15 * 2..]);
        assert_eq!(s.residuals(&rows, 2, 20).len(), 0);
    }

    #[test]
    fn nan_stays_nan_and_is_skipped_as_context() {
        let nan = f64::NAN;
        let r = spec(2).residuals(&[nan, 5.0, nan, 8.0, 9.0], 1, 0);
        assert!(r[0].is_nan() && r[2].is_nan());
        // Row 1's only previous value is NaN: no baseline. Row 3: median of (5) after skipping
        // NaN. Row 4: median(NaN, 8) = 8.
        assert_eq!((r[1], r[3], r[4]), (0.0, 3.0, 1.0));
    }

    #[test]
    fn window_must_be_in_range_and_serializes_snake_case() {
        assert!(TrendSpec::rolling_median(0).is_err());
        assert!(TrendSpec::rolling_median(TrendSpec::MAX_WINDOW + 1).is_err());
        let json = serde_json::to_string(&spec(7)).unwrap();
        assert_eq!(json, r#"{"rolling_median":{"window":7}}"#);
        assert_eq!(serde_json::from_str::<TrendSpec>(&json).unwrap(), spec(7));
    }
}
