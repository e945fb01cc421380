//! [`Model`]: fitting, thresholds and scoring for every detector kind.

use std::borrow::Cow;

use ndarray::ArrayView2;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::axis::AxisForest;
use crate::extended::{ExtForest, grow_ext_tree};
use crate::fit::{depth_limit, grow_axis_tree, sample_rows, tree_rng};
use crate::kmeans::KMeansDetector;
use crate::{
    AnswerShape, Contamination, DetectorParams, Error, ForestParams, Metadata, ThresholdSelection,
    percentile,
};

/// Rows per rayon task in [`Model::score_batch_parallel`]: large enough to amortise the task, small
/// enough to balance two to a few dozen cores.
const PARALLEL_CHUNK: usize = 2048;

/// The fitted detector inside a model.
#[derive(Debug, Clone)]
pub(crate) enum Detector {
    Axis(AxisForest),
    Extended(ExtForest),
    KMeans(KMeansDetector),
}

/// A fitted anomaly detector with its metadata. Cheap to share across threads (`Sync`).
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) metadata: Metadata,
    pub(crate) detector: Detector,
}

impl Model {
    /// Fits a detector on `data` (n rows × d features). `feature_names` must be empty (names
    /// `feature_1..feature_d` are generated) or hold d distinct names.
    pub fn fit(
        data: ArrayView2<'_, f64>,
        feature_names: Vec<String>,
        params: &DetectorParams,
    ) -> Result<Model, Error> {
        let (n, d) = data.dim();
        if n == 0 || d == 0 {
            return Err(Error::EmptyData {
                rows: n,
                columns: d,
            });
        }
        let feature_names = check_names(feature_names, d)?;
        for ((r, c), &v) in data.indexed_iter() {
            if !v.is_finite() {
                return Err(Error::NonFiniteTrainingValue {
                    row: r + 1,
                    column: c + 1,
                    value: v,
                });
            }
        }
        let (detector, sample_size) = match params {
            DetectorParams::IsolationForest(p) => {
                p.validate(n, d)?;
                let psi = p.sample_size(n);
                (fit_forest(data, p, psi), Some(psi))
            }
            DetectorParams::KMeans(p) => {
                p.validate(n)?;
                (Detector::KMeans(KMeansDetector::fit(data, p)?), None)
            }
        };
        let metadata = Metadata {
            kind: params.kind(),
            params: params.clone(),
            feature_names,
            n_features: d,
            threshold: 0.5,
            seed: params.seed(),
            training_rows: n,
            training_data_hash: data_hash(data),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            sample_size,
            source: None,
            threshold_selection: None,
            trend: None,
            answer_shape: None,
            expected_values: Some(medians(&flat_rows(data), d)),
            extra: Default::default(),
        };
        let mut model = Model { metadata, detector };
        if let DetectorParams::IsolationForest(ForestParams {
            contamination: Contamination::Fraction(c),
            ..
        }) = params
        {
            // scikit-learn: offset_ = percentile(score_samples(X), 100c) with score_samples = -s.
            let scores = model.score_batch_parallel(data)?;
            let neg: Vec<f64> = scores.iter().map(|s| -s).collect();
            model.metadata.threshold = -percentile(&neg, 100.0 * c);
        }
        Ok(model)
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Bytes of memory the model holds on the heap: its trees, their fast layout, and the
    /// explanation tables once a first explanation has built them (so the figure can grow by
    /// that much after the first `explain_*` call). What a multi-model server charges a model
    /// against its memory budget.
    pub fn heap_bytes(&self) -> usize {
        let detector = match &self.detector {
            Detector::Axis(f) => f.heap_bytes(),
            Detector::Extended(f) => f.heap_bytes(),
            Detector::KMeans(k) => crate::vec_bytes(&k.centroids),
        };
        let names: usize = self
            .metadata
            .feature_names
            .iter()
            .map(String::capacity)
            .sum();
        detector + names + 8 * self.metadata.n_features + std::mem::size_of::<Model>()
    }

    /// Number of features a row must have.
    pub fn n_features(&self) -> usize {
        self.metadata.n_features
    }

    /// The walk that scores this model's rows (those without NaN): `None` for detectors other
    /// than axis-parallel forests, and for forests too deep for the fast layout.
    pub fn kernel(&self) -> Option<crate::Kernel> {
        match &self.detector {
            Detector::Axis(f) => f.kernel(),
            _ => None,
        }
    }

    /// Scores this model with `kernel` from now on (or with the scalar walk, when the CPU lacks
    /// it or the forest does not fit its layout), and returns the kernel that will run, as
    /// [`Model::kernel`]. Every kernel gives the same scores bit for bit; this exists to compare
    /// them (`forest/benches/scoring.rs` does).
    pub fn use_kernel(&mut self, kernel: crate::Kernel) -> Option<crate::Kernel> {
        match &mut self.detector {
            Detector::Axis(f) => f.use_kernel(kernel),
            _ => None,
        }
    }

    /// Feature names in scoring order.
    pub fn feature_names(&self) -> &[String] {
        &self.metadata.feature_names
    }

    /// Score threshold: a score above it is an anomaly.
    pub fn threshold(&self) -> f64 {
        self.metadata.threshold
    }

    /// `score > threshold`.
    pub fn is_anomaly(&self, score: f64) -> bool {
        score > self.metadata.threshold
    }

    /// Replaces the threshold with one chosen elsewhere (e.g. on validation data) and records how.
    pub fn with_threshold(mut self, threshold: f64, mut selection: ThresholdSelection) -> Model {
        selection.previous_threshold = Some(self.metadata.threshold);
        self.metadata.threshold = threshold;
        self.metadata.threshold_selection = Some(selection);
        self
    }

    /// Records the answer shape the model's clients expect (`None`: the server's default).
    pub fn with_answer_shape(mut self, shape: Option<AnswerShape>) -> Model {
        self.metadata.answer_shape = shape;
        self
    }

    /// Adds (or replaces) a keyed metadata record, e.g. a preprocessing spec.
    pub fn with_extra(mut self, key: impl Into<String>, value: serde_json::Value) -> Model {
        self.metadata.extra.insert(key.into(), value);
        self
    }

    /// Scores one row; a row of the wrong width is an error. On a trend-aware model the row has no
    /// context, so it is scored as on-trend (every residual 0, NaN stays NaN): use
    /// [`Model::score_slice_with_context`] to judge a row against the rows before it.
    pub fn score_row(&self, row: &[f64]) -> Result<f64, Error> {
        self.check_width(row.len(), 1)?;
        Ok(match self.metadata.trend {
            Some(t) => self.score_row_unchecked(&t.residuals(row, row.len(), 0)),
            None => self.score_row_unchecked(row),
        })
    }

    fn score_row_unchecked(&self, row: &[f64]) -> f64 {
        match &self.detector {
            Detector::Axis(f) => f.score_row(row),
            Detector::Extended(f) => f.score_row(row),
            Detector::KMeans(k) => k.score_row(row),
        }
    }

    fn check_width(&self, found: usize, row: usize) -> Result<(), Error> {
        let expected = self.n_features();
        if found == expected {
            Ok(())
        } else {
            Err(Error::WidthMismatch {
                row,
                expected,
                found,
            })
        }
    }

    /// Checks a flat row-major slice and its context row count.
    pub(crate) fn check_flat(&self, rows: &[f64], context: usize) -> Result<(), Error> {
        let d = self.n_features();
        if !rows.len().is_multiple_of(d) {
            return Err(Error::WidthMismatch {
                row: rows.len() / d + 1,
                expected: d,
                found: rows.len() % d,
            });
        }
        let n = rows.len() / d;
        if context > n {
            return Err(Error::InvalidParameter {
                name: "context",
                message: format!("{context} context rows requested, the input holds {n} rows"),
            });
        }
        Ok(())
    }

    /// The rows after the first `context`, detrended over the whole slice on a trend-aware model.
    pub(crate) fn detrended<'a>(&self, rows: &'a [f64], context: usize) -> Cow<'a, [f64]> {
        let d = self.n_features();
        match self.metadata.trend {
            Some(t) => Cow::Owned(t.residuals(rows, d, context)),
            None => Cow::Borrowed(&rows[context * d..]),
        }
    }

    /// Scores every row on the calling thread. On a trend-aware model the rows are one ordered
    /// sequence, detrended before scoring.
    pub fn score_batch(&self, rows: ArrayView2<'_, f64>) -> Result<Vec<f64>, Error> {
        self.check_width(rows.ncols(), 1)?;
        self.score_slice(&flat_rows(rows))
    }

    /// Scores rows given as a flat row-major slice (`rows.len()` must be a multiple of the feature
    /// count); the natural input for decoded request bodies. On a trend-aware model the rows are
    /// one ordered sequence, detrended before scoring.
    pub fn score_slice(&self, rows: &[f64]) -> Result<Vec<f64>, Error> {
        self.score_slice_with_context(rows, 0)
    }

    /// Scores the rows after the first `context` of a flat row-major slice; the leading rows are
    /// baseline only (a trend-aware model detrends against them; any other model ignores them).
    /// Returns one score per row after the context; `context` above the row count is an error.
    pub fn score_slice_with_context(
        &self,
        rows: &[f64],
        context: usize,
    ) -> Result<Vec<f64>, Error> {
        self.score_flat_with_context(rows, context, false)
    }

    /// [`Model::score_slice_with_context`] with the scoring (not the sequential detrending) split
    /// across rayon's thread pool; the same scores, bit for bit.
    pub fn score_slice_parallel_with_context(
        &self,
        rows: &[f64],
        context: usize,
    ) -> Result<Vec<f64>, Error> {
        self.score_flat_with_context(rows, context, true)
    }

    /// Checks, detrends (sequentially: each residual needs the rows before it) and scores the
    /// rows after `context`, on rayon's pool when `parallel`.
    fn score_flat_with_context(
        &self,
        rows: &[f64],
        context: usize,
        parallel: bool,
    ) -> Result<Vec<f64>, Error> {
        self.check_flat(rows, context)?;
        let x = self.detrended(rows, context);
        let d = self.n_features();
        let mut out = vec![0.0; x.len() / d];
        if parallel {
            out.par_chunks_mut(PARALLEL_CHUNK)
                .zip(x.par_chunks(PARALLEL_CHUNK * d))
                .for_each(|(o, x)| self.score_flat(x, o));
        } else {
            self.score_flat(&x, &mut out);
        }
        Ok(out)
    }

    pub(crate) fn score_flat(&self, flat: &[f64], out: &mut [f64]) {
        match &self.detector {
            Detector::Axis(f) => f.score_rows(flat, out),
            _ => {
                for (row, o) in flat.chunks_exact(self.n_features()).zip(out.iter_mut()) {
                    *o = self.score_row_unchecked(row);
                }
            }
        }
    }

    /// Scores every row, splitting the rows across rayon's thread pool. Same scores as
    /// [`Model::score_batch`], bit for bit (a trend-aware model detrends the sequence first).
    pub fn score_batch_parallel(&self, rows: ArrayView2<'_, f64>) -> Result<Vec<f64>, Error> {
        self.check_width(rows.ncols(), 1)?;
        self.score_slice_parallel_with_context(&flat_rows(rows), 0)
    }
}

/// The matrix as a row-major slice, copied only when it is not laid out that way.
fn flat_rows<'a>(rows: ArrayView2<'a, f64>) -> Cow<'a, [f64]> {
    match rows.to_slice() {
        Some(flat) => Cow::Borrowed(flat),
        None => Cow::Owned(rows.iter().copied().collect()),
    }
}

fn fit_forest(data: ArrayView2<'_, f64>, p: &ForestParams, psi: usize) -> Detector {
    let (n, d) = data.dim();
    let max_depth = depth_limit(psi);
    if p.extension_level == 0 {
        // Column-major f32: scikit-learn fits on float32, and each node scans one column.
        let mut cols = vec![0f32; n * d];
        for ((r, c), &v) in data.indexed_iter() {
            cols[c * n + r] = v as f32;
        }
        let trees = (0..p.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = tree_rng(p.seed, t);
                let rows = sample_rows(&mut rng, n, psi, p.bootstrap);
                grow_axis_tree(&cols, n, d, &rows, max_depth, &mut rng)
            })
            .collect();
        Detector::Axis(AxisForest::new(d, psi, trees))
    } else {
        let flat: Vec<f64> = data.iter().copied().collect();
        let k = p.extension_level + 1;
        let trees = (0..p.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = tree_rng(p.seed, t);
                let rows = sample_rows(&mut rng, n, psi, p.bootstrap);
                grow_ext_tree(&flat, d, &rows, k, max_depth, &mut rng)
            })
            .collect();
        Detector::Extended(ExtForest::new(d, psi, k, trees))
    }
}

fn check_names(names: Vec<String>, d: usize) -> Result<Vec<String>, Error> {
    if names.is_empty() {
        return Ok((1..=d).map(|i| format!("feature_{i}")).collect());
    }
    if names.len() != d {
        return Err(Error::FeatureNames(format!(
            "{} names given for {d} columns",
            names.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for n in &names {
        if !seen.insert(n.as_str()) {
            return Err(Error::FeatureNames(format!("duplicate name {n:?}")));
        }
    }
    Ok(names)
}

/// SHA-256 (hex) of the matrix as little-endian f64, row-major.
pub(crate) fn data_hash(data: ArrayView2<'_, f64>) -> String {
    let mut h = Sha256::new();
    for row in data.rows() {
        for v in row {
            h.update(v.to_le_bytes());
        }
    }
    hex(&h.finalize())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Per-feature medians of training rows (row-major, `d` wide), stored in the model as its expected
/// values.
pub(crate) fn medians(rows: &[f64], d: usize) -> Vec<f64> {
    (0..d)
        .map(|f| {
            let column: Vec<f64> = rows.iter().skip(f).step_by(d).copied().collect();
            crate::percentile(&column, 50.0)
        })
        .collect()
}
