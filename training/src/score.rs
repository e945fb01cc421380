//! Loading a model and scoring a CSV file's rows with it.

use std::path::Path;

use forest::Model;

use crate::data::{Columns, Table, read_table};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Rows scored per step of the progress bar.
const CHUNK: usize = 65_536;

/// Reads a model file.
pub fn load_model(path: &Path) -> Result<Model> {
    Model::load(path).map_err(|cause| Error::ModelFile {
        path: path.into(),
        cause,
    })
}

/// Reads the model's feature columns (by name) from a CSV file.
pub fn read_for_model(model: &Model, path: &Path, progress: &Progress) -> Result<Table> {
    read_table(
        path,
        &Columns::Named(model.feature_names().to_vec()),
        progress,
    )
}

/// Scores every row of `table`, in parallel, chunk by chunk so the bar moves. A trend-aware model
/// sees the rows as one sequence in file order: each chunk is preceded by the rows its residuals
/// depend on, as context.
pub fn score_table(model: &Model, table: &Table, progress: &Progress) -> Result<Vec<f64>> {
    score_chunked(model, table, CHUNK, progress)
}

/// Scores and explains every row of `table`, as [`score_table`] scores them.
pub fn explain_table(
    model: &Model,
    table: &Table,
    progress: &Progress,
) -> Result<Vec<forest::Explanation>> {
    chunked(
        model,
        table,
        CHUNK,
        progress,
        "explaining",
        |rows, context| model.explain_slice_parallel_with_context(rows, context),
    )
}

fn score_chunked(
    model: &Model,
    table: &Table,
    chunk: usize,
    progress: &Progress,
) -> Result<Vec<f64>> {
    chunked(model, table, chunk, progress, "scoring", |rows, context| {
        model.score_slice_parallel_with_context(rows, context)
    })
}

/// Runs `each` over the table in chunks of `chunk` rows, each preceded by the context rows a
/// trend-aware model needs, and concatenates the results.
fn chunked<T>(
    model: &Model,
    table: &Table,
    chunk: usize,
    progress: &Progress,
    what: &'static str,
    each: impl Fn(&[f64], usize) -> std::result::Result<Vec<T>, forest::Error>,
) -> Result<Vec<T>> {
    let d = table.n_cols();
    let bar = progress.bar(table.n_rows as u64, what);
    let mut out = Vec::with_capacity(table.n_rows);
    for start in (0..table.n_rows).step_by(chunk) {
        let end = (start + chunk).min(table.n_rows);
        let context = model.trend().map_or(0, |t| t.context_rows().min(start));
        let rows = &table.values[(start - context) * d..end * d];
        out.extend(each(rows, context)?);
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use forest::{DetectorParams, TrendSpec};

    #[test]
    fn chunks_of_a_trend_aware_model_score_like_the_whole_sequence() {
        let (n, d) = (500, 2);
        let values: Vec<f64> = (0..n * d)
            .map(|k| (k as f64 * 0.37).sin() * 3.0 + (k / d) as f64 * 0.5)
            .collect();
        let view = forest::ndarray::ArrayView2::from_shape((n, d), &values).unwrap();
        let spec = TrendSpec::rolling_median(6).unwrap();
        let params = DetectorParams::IsolationForest(Default::default());
        let model = Model::fit_with_trend(view, vec![], &params, spec).unwrap();
        let table = Table {
            names: model.feature_names().to_vec(),
            skipped: vec![],
            n_rows: n,
            values: values.clone(),
            timestamps: None,
            groups: None,
        };
        let whole = model.score_slice(&values).unwrap();
        let quiet = Progress::new(true);
        assert_eq!(score_chunked(&model, &table, 7, &quiet).unwrap(), whole);
        assert_eq!(score_chunked(&model, &table, 3, &quiet).unwrap(), whole);
        let explained = chunked(&model, &table, 7, &quiet, "explaining", |rows, context| {
            model.explain_slice_with_context(rows, context)
        })
        .unwrap();
        assert_eq!(
            explained,
            model.explain_slice_with_context(&values, 0).unwrap()
        );
    }
}
