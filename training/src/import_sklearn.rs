//! `trainer import-sklearn`: turns a scikit-learn `IsolationForest`, exported to the interchange
//! JSON by `training/sklearn_export.py`, into a model file the server loads.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Arguments of `import-sklearn`.
#[derive(Debug, Args)]
pub struct ImportSklearnArgs {
    /// Interchange JSON written by `training/sklearn_export.py`.
    pub json: PathBuf,
    /// Model file to write.
    #[arg(long, short, default_value = "model.isof")]
    pub out: PathBuf,
    /// The answer shape the server gives this model's clients when it is told no other
    /// (`native`, `rcf` or `sklearn`): by default the Python container's own, so its clients
    /// work unchanged.
    #[arg(long, default_value = "sklearn")]
    pub answer_shape: forest::AnswerShape,
}

/// Reads the export, rebuilds the forest and saves it.
pub fn run(a: ImportSklearnArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.json)
        .with_context(|| format!("cannot read {}", a.json.display()))?;
    let model = forest::sklearn::import_json(&text)
        .with_context(|| {
            format!(
                "{}: not a usable scikit-learn IsolationForest export",
                a.json.display()
            )
        })?
        .with_answer_shape(Some(a.answer_shape));
    model
        .save(&a.out)
        .with_context(|| format!("cannot write the model to {}", a.out.display()))?;
    eprintln!(
        "model written to {}: {} features ({}), threshold {} (scikit-learn offset_ {}), answers {}",
        a.out.display(),
        model.n_features(),
        model.feature_names().join(", "),
        model.threshold(),
        -model.threshold(),
        a.answer_shape
    );
    Ok(())
}
