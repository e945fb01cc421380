//! One model per entity: `train --group-by COLUMN` fits a model on each distinct value's rows (a
//! device's own history), in parallel, and writes `<value>.isof` files and a manifest.
//!
//! What is normal for one device is an anomaly for another, so one model over the whole fleet
//! either misses a device's own anomalies or flags its normal. The files are named for the
//! entity so that a multi-model endpoint's `TargetModel=<value>.tar.gz` finds them: a value that
//! cannot be a file name, or an entity with too few rows for a model, is reported and skipped,
//! never renamed or merged with another.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use forest::{DetectorParams, Model, TrendSpec};
use rayon::prelude::*;
use serde::Serialize;

use codec::entity::unusable_name;

use crate::data::Table;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// File name of the manifest written next to the models.
pub const MANIFEST: &str = "manifest.json";

/// One fitted entity.
#[derive(Debug, Clone, Serialize)]
pub struct EntityModel {
    /// The group column's value.
    pub entity: String,
    /// The model file, relative to the output directory.
    pub file: String,
    /// Rows the model was fitted on.
    pub rows: usize,
    /// The model's threshold.
    pub threshold: f64,
    /// Training rows the model flags.
    pub flagged_training_rows: usize,
}

/// An entity left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The group column's value.
    pub entity: String,
    /// Its rows in the file.
    pub rows: usize,
    /// Why no model was fitted.
    pub reason: String,
}

/// What `train --group-by` wrote: the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// The column the rows were grouped by.
    pub group_by: String,
    /// Feature names, the same for every model.
    pub features: Vec<String>,
    /// The fitted entities, by name.
    pub models: Vec<EntityModel>,
    /// The entities left out, by name.
    pub skipped: Vec<Skipped>,
}

/// How the rows are grouped into entities.
#[derive(Debug, Clone, Copy)]
pub struct Grouping<'a> {
    /// The column whose values are the entities.
    pub column: &'a str,
    /// Entities with fewer rows are skipped.
    pub min_rows: usize,
}

/// Fits one model per distinct value of the grouping column on `table` (read with that group
/// column), on every core, writes `<out>/<value>.isof` and `<out>/manifest.json`, and returns the
/// manifest.
///
/// Each entity's rows keep their file order, so a trend-aware model follows each device's own
/// sequence. Entities with too few rows are skipped and listed.
pub fn fit_per_entity(
    table: &Table,
    grouping: Grouping<'_>,
    params: &DetectorParams,
    trend: Option<TrendSpec>,
    answer_shape: Option<forest::AnswerShape>,
    out: &Path,
    progress: &Progress,
) -> Result<Manifest> {
    let Grouping {
        column: group_by,
        min_rows,
    } = grouping;
    let groups = table
        .groups
        .as_ref()
        .ok_or_else(|| Error::Invalid("the table was read without a group column".into()))?;
    let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (row, entity) in groups.iter().enumerate() {
        rows_of.entry(entity.as_str()).or_default().push(row);
    }
    let mut skipped = Vec::new();
    let mut fit = Vec::new();
    for (entity, rows) in rows_of {
        let reason = unusable_name(entity).or_else(|| {
            (rows.len() < min_rows)
                .then(|| format!("{} rows, fewer than --min-rows {min_rows}", rows.len()))
        });
        match reason {
            Some(reason) => skipped.push(Skipped {
                entity: entity.to_owned(),
                rows: rows.len(),
                reason,
            }),
            None => fit.push((entity, rows)),
        }
    }
    if fit.is_empty() {
        return Err(Error::Invalid(format!(
            "no entity of column {group_by:?} can be fitted: {}",
            skipped
                .iter()
                .map(|s| format!("{:?} ({})", s.entity, s.reason))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    std::fs::create_dir_all(out).map_err(|cause| Error::Io {
        path: out.into(),
        cause,
    })?;
    let bar = progress.bar(fit.len() as u64, "fitting entities");
    let d = table.n_cols();
    let models = fit
        .par_iter()
        .map(|(entity, rows)| {
            let values: Vec<f64> = rows.iter().flat_map(|&r| table.row(r)).copied().collect();
            let view = forest::ndarray::ArrayView2::from_shape((rows.len(), d), &values)
                .expect("rows × features values");
            let names = table.names.clone();
            let model = match trend {
                Some(t) => Model::fit_with_trend(view, names, params, t)?,
                None => Model::fit(view, names, params)?,
            }
            .with_answer_shape(answer_shape);
            let scores = model.score_batch(view)?;
            let file = format!("{entity}.isof");
            let path: PathBuf = out.join(&file);
            model.save(&path).map_err(|cause| Error::ModelFile {
                path: path.clone(),
                cause,
            })?;
            bar.inc(1);
            Ok(EntityModel {
                entity: (*entity).to_owned(),
                file,
                rows: rows.len(),
                threshold: model.threshold(),
                flagged_training_rows: scores.iter().filter(|&&s| model.is_anomaly(s)).count(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    bar.finish_and_clear();
    let manifest = Manifest {
        group_by: group_by.to_owned(),
        features: table.names.clone(),
        models,
        skipped,
    };
    let path = out.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).expect("the manifest serialises");
    std::fs::write(&path, text + "\n").map_err(|cause| Error::Io { path, cause })?;
    Ok(manifest)
}

impl Manifest {
    /// A human-readable summary.
    pub fn to_text(&self, out: &Path) -> String {
        let rows: usize = self.models.iter().map(|m| m.rows).sum();
        let mut s = format!(
            "{} models, one per {:?} value, on {rows} rows x {} features ({}), written to {}\n",
            self.models.len(),
            self.group_by,
            self.features.len(),
            self.features.join(", "),
            out.display()
        );
        for skipped in &self.skipped {
            s += &format!(
                "skipped {:?} ({} rows): {}\n",
                skipped.entity, skipped.rows, skipped.reason
            );
        }
        s += &format!("manifest: {}\n", out.join(MANIFEST).display());
        s
    }
}
