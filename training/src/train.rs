//! Fitting a detector on a table and summarising the result.

use std::time::{Duration, Instant};

use forest::{DetectorParams, Model};
use serde::Serialize;

use crate::data::Table;
use crate::error::Result;
use crate::progress::Progress;

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
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// Fits `params` on every row of `table`, then scores the training rows for the summary.
pub fn fit(
    table: &Table,
    params: &DetectorParams,
    progress: &Progress,
) -> Result<(Model, TrainSummary)> {
    let spinner = progress.spinner("fitting");
    let start = Instant::now();
    let model = Model::fit(table.view(), table.names.clone(), params)?;
    let fit_time = start.elapsed();
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
