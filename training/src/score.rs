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
    Model::load(path).map_err(|source| Error::ModelFile {
        path: path.into(),
        source,
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

/// Scores every row of `table`, in parallel, chunk by chunk so the bar moves.
pub fn score_table(model: &Model, table: &Table, progress: &Progress) -> Result<Vec<f64>> {
    let d = table.n_cols();
    let bar = progress.bar(table.n_rows as u64, "scoring");
    let mut scores = Vec::with_capacity(table.n_rows);
    for start in (0..table.n_rows).step_by(CHUNK) {
        let end = (start + CHUNK).min(table.n_rows);
        let rows = forest::ndarray::ArrayView2::from_shape(
            (end - start, d),
            &table.values[start * d..end * d],
        )
        .expect("the chunk holds whole rows");
        scores.extend(model.score_batch_parallel(rows)?);
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();
    Ok(scores)
}
