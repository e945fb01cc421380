//! Argument definitions (clap derive) and their conversion into library parameters.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use forest::{Contamination, DetectorParams, ForestParams, KMeansParams, MaxSamples, TrendSpec};

use crate::generate::Trend;
use crate::threshold::ThresholdMethod;

/// Train, evaluate and inspect anomaly-detection models.
#[derive(Debug, Parser)]
#[command(name = "trainer", version, about, long_about = None)]
pub struct Cli {
    /// Never draw progress bars (they are drawn only on a terminal anyway).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate synthetic trending sensor data with injected anomalies, and its labels.
    Generate(GenerateArgs),
    /// Fit a detector on a CSV file and write the model file.
    Train(TrainArgs),
    /// Score labelled data with a model: precision, recall, F1, ROC-AUC, PR-AUC, thresholds.
    Evaluate(EvaluateArgs),
    /// Write a self-contained HTML page with the evaluation and its charts.
    Report(ReportArgs),
    /// Print a model file's metadata.
    Inspect(InspectArgs),
    /// Score a CSV file: per-row score and scikit-learn's score_samples, decision_function, predict.
    Score(crate::score_csv::ScoreArgs),
    /// Convert a scikit-learn IsolationForest export (training/sklearn_export.py) into a model file.
    ImportSklearn(crate::import_sklearn::ImportSklearnArgs),
    /// Re-pick a model's threshold from operators' verdicts on its alerts (and with --retrain,
    /// refit it on recent data without the confirmed anomalies first): a new model version.
    Retune(RetuneArgs),
    /// Compare the flags of two model versions on the same data, before a rollout.
    Diff(DiffArgs),
    /// Compare a shadow variant's answers with production's from the endpoint's Data Capture
    /// files: agreement of the anomaly flags and score drift (deploy/shadow-report.sh runs it).
    ShadowCompare(ShadowCompareArgs),
}

/// Arguments of `shadow-compare`.
#[derive(Debug, Args)]
pub struct ShadowCompareArgs {
    /// The production variant's captures: a .jsonl file or a directory searched for them
    /// (Data Capture's DESTINATION/ENDPOINT/VARIANT/ prefix, downloaded).
    #[arg(long)]
    pub production: PathBuf,
    /// The shadow variant's captures, likewise.
    #[arg(long)]
    pub shadow: PathBuf,
    /// The answers' shape, the endpoint's ISOSERVE_OUTPUT_FORMAT: native (score and flag), rcf
    /// (score only) or sklearn (flag only).
    #[arg(long, default_value = "native")]
    pub shape: codec::Shape,
    /// Fail (exit status 1) when the flags agree on less than this share of the rows: a gate for
    /// promote.sh in a pipeline.
    #[arg(long, value_parser = parse_share)]
    pub min_agreement: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share between 0 and 1")),
    }
}

/// Arguments of `retune`.
#[derive(Debug, Args)]
pub struct RetuneArgs {
    /// The model in service (the parent of the new version).
    #[arg(long, short)]
    pub model: PathBuf,
    /// Verdicts, JSON Lines: {"event_id": "...", "anomaly": true} (a true anomaly) or false (a
    /// false alarm), one per judged alert.
    #[arg(long, short)]
    pub feedback: PathBuf,
    /// Recent data: the forwarder's S3 results (.jsonl) or a CSV with an event_id column and the
    /// model's feature columns.
    #[arg(long, short)]
    pub data: PathBuf,
    /// How to pick the threshold from the verdicts: best-f1, precision:P or recall:R.
    #[arg(long, default_value = "best-f1")]
    pub threshold_method: ThresholdMethod,
    /// Refit on the data less its confirmed anomalies (same parameters) before picking.
    #[arg(long)]
    pub retrain: bool,
    /// Rows the model did not flag and nobody judged: `normal` (no alert, no complaint; the
    /// default) or `ignore` (pick on the verdicts alone, a sample biased towards alerts).
    #[arg(long, value_enum, default_value_t = Unjudged::Normal)]
    pub unjudged: Unjudged,
    /// The new version's file.
    #[arg(long, short, default_value = "retuned.isof")]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `retune` makes of the rows nobody judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Unjudged {
    /// Unflagged rows without a verdict count as normal.
    Normal,
    /// Only the verdicts count.
    Ignore,
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The version in service.
    pub old: PathBuf,
    /// The candidate.
    pub new: PathBuf,
    /// Data CSV with the models' feature columns.
    pub data: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of rows.
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Number of features (columns feature_1..feature_N).
    #[arg(long, default_value_t = 5)]
    pub features: usize,
    /// Anomalous rows injected per feature (distinct rows, ± U(50, 200) added).
    #[arg(long, default_value_t = 500)]
    pub anomalies: usize,
    /// Underlying trend of every feature.
    #[arg(long, value_enum, default_value_t = Trend::Linear)]
    pub trend: Trend,
    /// Seed of the random stream; the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data CSV to write.
    #[arg(long, default_value = "data.csv")]
    pub out: PathBuf,
    /// Labels CSV to write (one 0/1 column per feature and the row-level `anomaly`).
    #[arg(long, default_value = "labels.csv")]
    pub labels: PathBuf,
    /// Add a first column `timestamp` at one-minute steps (ISO 8601, UTC).
    #[arg(long)]
    pub timestamp: bool,
    /// Time of the first row, RFC 3339 (implies --timestamp).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
}

/// Which detector `train` fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Detector {
    /// Isolation forest (axis-parallel or extended splits).
    Iforest,
    /// Distance to the nearest k-means centroid.
    Kmeans,
}

/// How `train --trend` detrends the rows before fitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrendMethod {
    /// Residual from the median of the previous `--trend-window` rows, per feature.
    #[value(name = "rolling_median")]
    RollingMedian,
}

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data: CSV with a header.
    pub data: PathBuf,
    /// Model file to write; with --group-by, the directory of the models and their manifest
    /// [default: model.isof; with --group-by, entity-models].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Fit one model per distinct value of this column (a device id), writing `<value>.isof`
    /// files and `manifest.json` into --out; the column is never a feature.
    #[arg(long, value_name = "COLUMN", conflicts_with = "threshold_from")]
    pub group_by: Option<String>,
    /// --group-by: entities with fewer rows are skipped (and listed in the manifest).
    #[arg(
        long,
        value_name = "ROWS",
        default_value_t = 100,
        requires = "group_by"
    )]
    pub min_rows: usize,
    /// Columns to train on, comma-separated [default: every numeric column except `timestamp`].
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Detector to fit.
    #[arg(long, value_enum, default_value_t = Detector::Iforest)]
    pub detector: Detector,
    /// Number of trees.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Rows per tree: `auto` (min(256, n)), a count, or a fraction in (0, 1] such as 0.5.
    #[arg(long, default_value = "auto")]
    pub max_samples: MaxSamples,
    /// Share of anomalies assumed: `auto` (threshold 0.5; k-means: 0.05) or a fraction in (0, 0.5].
    #[arg(long, default_value = "auto")]
    pub contamination: Contamination,
    /// Draw each tree's rows with replacement.
    #[arg(long)]
    pub bootstrap: bool,
    /// 0 = axis-parallel splits (scikit-learn); up to features−1 = fully extended hyperplanes.
    #[arg(long, default_value_t = 0)]
    pub extension_level: usize,
    /// Seed of the fit; the same seed and data give a byte-identical model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// k-means: number of clusters.
    #[arg(long, default_value_t = 8)]
    pub k: usize,
    /// k-means: iteration limit.
    #[arg(long, default_value_t = 300)]
    pub max_iter: u64,
    /// Trend-aware model: fit on each value's deviation from the recent past, taken over the rows
    /// in file order. Scoring then treats rows as one ordered sequence (docs/trainer.md).
    #[arg(long, value_enum)]
    pub trend: Option<TrendMethod>,
    /// --trend rolling_median: previous rows the median is taken over [default: 25].
    #[arg(long, value_name = "ROWS", requires = "trend")]
    pub trend_window: Option<usize>,
    /// Choose the threshold on this labelled validation CSV instead of by contamination.
    #[arg(long, value_name = "VALIDATION_CSV", requires = "labels")]
    pub threshold_from: Option<PathBuf>,
    /// Labels of the validation CSV (its row-level `anomaly` column).
    #[arg(long, value_name = "LABELS_CSV", requires = "threshold_from")]
    pub labels: Option<PathBuf>,
    /// How to choose it: best-f1, precision:P (most recall at precision ≥ P) or recall:R (most
    /// precision at recall ≥ R).
    #[arg(long, default_value = "best-f1", requires = "threshold_from")]
    pub threshold_method: ThresholdMethod,
    /// The answer shape the server gives this model's clients when it is told no other: `native`
    /// (the default), `rcf` or `sklearn`.
    #[arg(long)]
    pub answer_shape: Option<forest::AnswerShape>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Model file.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Data CSV with the model's feature columns.
    #[arg(long, short)]
    pub data: PathBuf,
    /// Labels CSV: the row-level `anomaly` column (or its only column), 0/1.
    #[arg(long, short)]
    pub labels: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Model file.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Data CSV with the model's feature columns.
    #[arg(long, short)]
    pub data: PathBuf,
    /// Labels CSV (per-feature columns are used for the feature charts when present).
    #[arg(long, short)]
    pub labels: PathBuf,
    /// HTML file to write.
    #[arg(long, short, default_value = "report.html")]
    pub out: PathBuf,
    /// Page title.
    #[arg(long, default_value = "Anomaly detection report")]
    pub title: String,
}

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Model file.
    pub model: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    /// The trend transform these flags describe, if any; an out-of-range window is an error.
    pub fn trend_spec(&self) -> Result<Option<TrendSpec>, forest::Error> {
        match self.trend {
            None => Ok(None),
            Some(TrendMethod::RollingMedian) => {
                TrendSpec::rolling_median(self.trend_window.unwrap_or(TrendSpec::DEFAULT_WINDOW))
                    .map(Some)
            }
        }
    }

    /// The detector parameters these flags describe.
    pub fn params(&self) -> DetectorParams {
        match self.detector {
            Detector::Iforest => DetectorParams::IsolationForest(ForestParams {
                n_trees: self.trees,
                max_samples: self.max_samples,
                contamination: self.contamination,
                bootstrap: self.bootstrap,
                extension_level: self.extension_level,
                seed: self.seed,
            }),
            Detector::Kmeans => DetectorParams::KMeans(KMeansParams {
                k: self.k,
                contamination: match self.contamination {
                    Contamination::Auto => KMeansParams::default().contamination,
                    Contamination::Fraction(f) => f,
                },
                seed: self.seed,
                max_iter: self.max_iter,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
