//! Fitting a detector on a table and summarising the result.

use std::time::{Duration, Instant};

use forest::{DetectorParams, Model, TrendSpec};
use serde::Serialize;

use crate::data::Table;
use crate::error::Result;
use crate::progress::Progress;
use crate::threshold::{ThresholdMethod, choose};

/// Labelled validation rows to choose the threshold on.
#[derive(Debug, Clone)]
pub struct Validation<'a> {
    /// Validation rows, in the model's column order.
    pub table: &'a Table,
    /// Row-level labels.
    pub labels: &'a [bool],
    /// How to choose.
    pub method: ThresholdMethod,
}

/// What a fit produced, for the user.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    /// Detector kind, e.g. `isolation_forest`.
    pub detector: String,
    /// Training rows.
    pub rows: usize,
    /// Feature names, in model order.
    pub features: Vec<String>,
    /// Columns of the file that were not used.
    pub skipped_columns: Vec<String>,
    /// The model's threshold in score space.
    pub threshold: f64,
    /// Training rows the model flags (score above the threshold).
    pub flagged_training_rows: usize,
    /// Wall-clock time of the fit.
    #[serde(serialize_with = "as_millis")]
    pub fit_time: Duration,
    /// The parameters used.
    pub params: DetectorParams,
    /// How the threshold was chosen on validation data, if it was.
    pub threshold_selection: Option<forest::ThresholdSelection>,
    /// The trend transform of a trend-aware model.
    pub trend: Option<TrendSpec>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// Fits `params` on every row of `table` (detrended first, in file order, when `trend` is given),
/// optionally replaces the threshold with one chosen on `validation` (scored as one sequence), then
/// scores the training rows for the summary.
pub fn fit(
    table: &Table,
    params: &DetectorParams,
    trend: Option<TrendSpec>,
    validation: Option<&Validation<'_>>,
    progress: &Progress,
) -> Result<(Model, TrainSummary)> {
    let spinner = progress.spinner("fitting");
    let start = Instant::now();
    let model = match trend {
        Some(t) => Model::fit_with_trend(table.view(), table.names.clone(), params, t)?,
        None => Model::fit(table.view(), table.names.clone(), params)?,
    };
    let fit_time = start.elapsed();
    let model = match validation {
        Some(v) => {
            spinner.set_message("choosing the threshold");
            let scores = model.score_batch_parallel(v.table.view())?;
            let choice = choose(&scores, v.labels, v.method)?;
            model.with_threshold(choice.threshold, choice.selection)
        }
        None => model,
    };
    spinner.set_message("scoring the training rows");
    let scores = model.score_batch_parallel(table.view())?;
    spinner.finish_and_clear();
    let summary = TrainSummary {
        detector: model.metadata().kind.to_string(),
        rows: table.n_rows,
        features: table.names.clone(),
        skipped_columns: table.skipped.clone(),
        threshold: model.threshold(),
        flagged_training_rows: scores.iter().filter(|&&s| model.is_anomaly(s)).count(),
        fit_time,
        params: params.clone(),
        threshold_selection: model.metadata().threshold_selection.clone(),
        trend,
    };
    Ok((model, summary))
}

impl TrainSummary {
    /// A human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "detector {} on {} rows x {} features ({})\n",
            self.detector,
            self.rows,
            self.features.len(),
            self.features.join(", ")
        );
        if !self.skipped_columns.is_empty() {
            s += &format!("skipped columns: {}\n", self.skipped_columns.join(", "));
        }
        s += &format!(
            "parameters: {}\n",
            serde_json::to_string(&self.params).unwrap_or_default()
        );
        if let Some(TrendSpec::RollingMedian { window }) = self.trend {
            s += &format!(
                "trend-aware: fitted on residuals from the rolling median of the previous {window} rows\n"
            );
        }
        if let Some(t) = &self.threshold_selection {
            let figure = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
            s += &format!(
                "threshold chosen on validation data by {}{} (was {}): precision {}, recall {}, F1 {}\n",
                t.method,
                t.target.map_or(String::new(), |v| format!(" {v}")),
                figure(t.previous_threshold),
                figure(t.precision),
                figure(t.recall),
                figure(t.f1)
            );
        }
        s += &format!(
            "threshold {:.6}: flags {} of {} training rows ({:.2}%)\nfit in {:.1} ms\n",
            self.threshold,
            self.flagged_training_rows,
            self.rows,
            100.0 * self.flagged_training_rows as f64 / self.rows.max(1) as f64,
            self.fit_time.as_secs_f64() * 1e3
        );
        s
    }
}
