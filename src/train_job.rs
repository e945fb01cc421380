//! SageMaker training-job mode: `isoserve train`.
//!
//! SageMaker runs a training image as `docker run <image> train` with string hyperparameters in
//! `/opt/ml/input/config/hyperparameters.json`, the `training` channel's files under
//! `/opt/ml/input/data/training/`, and uploads whatever the job leaves in `/opt/ml/model/` as
//! `model.tar.gz`. A failed job explains itself in `/opt/ml/output/failure` (SageMaker shows it as
//! the job's `FailureReason`) and exits non-zero. Every path can be moved with a flag or its
//! environment variable (the `SM_*` names of the SageMaker training toolkit), so the mode runs and
//! is tested outside a container too.

mod csv_input;
mod hyperparameters;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

pub use csv_input::{Table, read_channel};
pub use hyperparameters::{Hyperparameters, parse_hyperparameters};

/// File name the model is written under in the model directory (the server looks for it first).
pub const MODEL_FILE: &str = crate::model_source::PREFERRED_NAME;

/// Training-job paths; each falls back to its environment variable, then to the SageMaker layout
/// under `--ml-root`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Root of the SageMaker layout.
    #[arg(long, env = "ISOSERVE_ML_ROOT", default_value = "/opt/ml")]
    pub ml_root: PathBuf,
    /// Directory holding hyperparameters.json [default: ML_ROOT/input/config].
    #[arg(long, env = "SM_INPUT_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// The training channel's directory [default: ML_ROOT/input/data/training].
    #[arg(long, env = "SM_CHANNEL_TRAINING")]
    pub training_dir: Option<PathBuf>,
    /// Where the model is written [default: ML_ROOT/model].
    #[arg(long, env = "SM_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,
    /// Where the failure reason is written [default: ML_ROOT/output].
    #[arg(long, env = "SM_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,
}

/// The resolved training-job layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `hyperparameters.json` (may be absent: every parameter has a default).
    pub hyperparameters: PathBuf,
    /// The training channel.
    pub training_dir: PathBuf,
    /// Model output directory.
    pub model_dir: PathBuf,
    /// Failure-reason directory.
    pub output_dir: PathBuf,
}

impl TrainArgs {
    /// Resolves every path against the root.
    pub fn layout(&self) -> Layout {
        let root = &self.ml_root;
        let or =
            |p: &Option<PathBuf>, default: &str| p.clone().unwrap_or_else(|| root.join(default));
        Layout {
            hyperparameters: or(&self.config_dir, "input/config").join("hyperparameters.json"),
            training_dir: or(&self.training_dir, "input/data/training"),
            model_dir: or(&self.model_dir, "model"),
            output_dir: or(&self.output_dir, "output"),
        }
    }
}

/// Why a training job failed; the message is what lands in the failure file.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// hyperparameters.json is not a JSON object of strings.
    #[error("{path}: {message}")]
    HyperparametersFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A hyperparameter is unknown or has a bad value.
    #[error("hyperparameter {name}: {message}")]
    Hyperparameter {
        /// Its key.
        name: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The channel's CSV data is unusable.
    #[error("{path}: {message}")]
    Data {
        /// The file (or channel directory).
        path: PathBuf,
        /// What is wrong, with row and column where there is one.
        message: String,
    },
    /// Fitting rejected the data or parameters.
    #[error("fit: {0}")]
    Fit(#[from] forest::Error),
    /// The model could not be written.
    #[error("{path}: {source}")]
    Save {
        /// The model file.
        path: PathBuf,
        /// The model-file error.
        source: forest::ModelFileError,
    },
}

/// A finished job's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// Where the model was written.
    pub model_path: PathBuf,
    /// Training rows.
    pub rows: usize,
    /// Feature names, in model column order.
    pub features: Vec<String>,
    /// The model's anomaly threshold.
    pub threshold: f64,
}

/// Runs the job: reads hyperparameters and the channel, fits, writes `model.isof`.
pub fn train(layout: &Layout) -> Result<Trained, TrainError> {
    let hp = parse_hyperparameters(&read_hyperparameters(&layout.hyperparameters)?)?;
    let table = read_channel(&layout.training_dir, hp.columns.as_deref())?;
    let data =
        forest::ndarray::ArrayView2::from_shape((table.n_rows, table.names.len()), &table.values)
            .map_err(|e| TrainError::Data {
            path: layout.training_dir.clone(),
            message: format!("internal shape error: {e}"),
        })?;
    let model = forest::Model::fit(data, table.names.clone(), &hp.params)?
        .with_extra("training_files", serde_json::json!(table.files));
    std::fs::create_dir_all(&layout.model_dir).map_err(|source| TrainError::Io {
        path: layout.model_dir.clone(),
        source,
    })?;
    let model_path = layout.model_dir.join(MODEL_FILE);
    model.save(&model_path).map_err(|source| TrainError::Save {
        path: model_path.clone(),
        source,
    })?;
    Ok(Trained {
        model_path,
        rows: table.n_rows,
        features: table.names,
        threshold: model.threshold(),
    })
}

/// A missing file means "all defaults", as SageMaker omits it when no hyperparameters are set.
fn read_hyperparameters(
    path: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, TrainError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(source) => {
            return Err(TrainError::Io {
                path: path.into(),
                source,
            });
        }
    };
    let file_error = |message: String| TrainError::HyperparametersFile {
        path: path.into(),
        message,
    };
    match serde_json::from_slice(&bytes).map_err(|e| file_error(format!("not JSON: {e}")))? {
        serde_json::Value::Object(map) => Ok(map),
        other => Err(file_error(format!(
            "expected a JSON object of strings, found {other}"
        ))),
    }
}

/// The `train` command: runs the job, reports on stdout (CloudWatch), and on failure writes the
/// reason to `<output>/failure` and exits 1.
pub fn run_cli(args: TrainArgs) -> ExitCode {
    let layout = args.layout();
    let started = Instant::now();
    match train(&layout) {
        Ok(done) => {
            println!(
                "isoserve train: wrote {} ({} rows, {} features [{}], threshold {}) in {} ms",
                done.model_path.display(),
                done.rows,
                done.features.len(),
                done.features.join(", "),
                done.threshold,
                started.elapsed().as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            let reason = err.to_string();
            eprintln!("isoserve train: {reason}");
            let failure = layout.output_dir.join("failure");
            let written = std::fs::create_dir_all(&layout.output_dir)
                .and_then(|()| std::fs::write(&failure, format!("{reason}\n")));
            if let Err(io) = written {
                eprintln!("isoserve train: cannot write {}: {io}", failure.display());
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests;
