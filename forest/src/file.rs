//! The model file: header, checksummed body, metadata JSON and detector payload. The byte layout is
//! documented in `docs/model-format.md`.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::axis::AxisForest;
use crate::extended::{ExtForest, ExtNode, ExtTree};
use crate::kmeans::KMeansDetector;
use crate::model::{Detector, hex};
use crate::tree::{AxisNode, AxisTree};
use crate::{DetectorKind, Metadata, Model, ModelFileError};

/// First 8 bytes of every model file.
pub const MAGIC: [u8; 8] = *b"\x89ISOF\r\n\x1a";
/// The newest format version this build writes and reads. Version 2 marks a trend-aware model
/// (metadata `trend`), so a reader that only knows version 1 refuses it instead of scoring raw
/// rows; version 3 marks a model that records its expected values (metadata `expected_values`,
/// which explanations compare values with), trend-aware or not.
pub const FORMAT_VERSION: u32 = 3;
/// The version of a trend-aware model without expected values.
pub const TREND_FORMAT_VERSION: u32 = 2;
/// The version of every model without a trend; such files are byte-identical to those written
/// before version 2 existed.
pub const BASE_FORMAT_VERSION: u32 = 1;
/// Magic, version, body length, SHA-256 of the body.
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

const TAG_AXIS: u32 = 1;
const TAG_EXTENDED: u32 = 2;
const TAG_KMEANS: u32 = 3;

fn inconsistent(msg: impl Into<String>) -> ModelFileError {
    ModelFileError::MetadataInconsistent(msg.into())
}

impl Model {
    /// The model file bytes. Deterministic: the same model always gives the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = Writer::default();
        let meta = serde_json::to_vec(&self.metadata)
            .expect("metadata serializes: plain data, string keys");
        match &self.detector {
            Detector::Axis(_) => body.u32(TAG_AXIS),
            Detector::Extended(_) => body.u32(TAG_EXTENDED),
            Detector::KMeans(_) => body.u32(TAG_KMEANS),
        }
        body.u64(meta.len() as u64);
        body.0.extend_from_slice(&meta);
        match &self.detector {
            Detector::Axis(f) => write_axis(&mut body, f),
            Detector::Extended(f) => write_ext(&mut body, f),
            Detector::KMeans(k) => {
                body.u64(k.n_features as u64);
                body.f64(k.distance_threshold);
                body.u64(k.centroids.len() as u64);
                k.centroids.iter().for_each(|&c| body.f64(c));
            }
        }
        let body = body.0;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&MAGIC);
        let version = match (&self.metadata.expected_values, &self.metadata.trend) {
            (Some(_), _) => FORMAT_VERSION,
            (None, Some(_)) => TREND_FORMAT_VERSION,
            (None, None) => BASE_FORMAT_VERSION,
        };
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        out
    }

    /// Reads model file bytes, checking magic, version, length, checksum and consistency.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelFileError> {
        let prefix = bytes.len().min(MAGIC.len());
        if bytes[..prefix] != MAGIC[..prefix] {
            return Err(ModelFileError::NotAModelFile);
        }
        if bytes.len() < HEADER_LEN {
            return Err(ModelFileError::Truncated {
                expected: HEADER_LEN,
                found: bytes.len(),
            });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if !(BASE_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(ModelFileError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let body_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let expected = usize::try_from(body_len)
            .ok()
            .and_then(|b| b.checked_add(HEADER_LEN))
            .unwrap_or(usize::MAX);
        if bytes.len() < expected {
            return Err(ModelFileError::Truncated {
                expected,
                found: bytes.len(),
            });
        }
        if bytes.len() > expected {
            return Err(inconsistent(format!(
                "{} bytes follow the {expected}-byte model",
                bytes.len() - expected
            )));
        }
        let body = &bytes[HEADER_LEN..];
        let digest = Sha256::digest(body);
        if digest[..] != bytes[20..52] {
            return Err(ModelFileError::ChecksumMismatch {
                expected: hex(&bytes[20..52]),
                found: hex(&digest),
            });
        }
        let mut r = Reader(body);
        let tag = r.u32()?;
        if !matches!(tag, TAG_AXIS | TAG_EXTENDED | TAG_KMEANS) {
            return Err(ModelFileError::UnknownDetectorKind(tag));
        }
        let meta_len = r.len()?;
        let metadata: Metadata = serde_json::from_slice(r.take(meta_len)?)
            .map_err(|e| inconsistent(format!("metadata JSON: {e}")))?;
        let detector = match tag {
            TAG_AXIS => Detector::Axis(read_axis(&mut r, &metadata)?),
            TAG_EXTENDED => Detector::Extended(read_ext(&mut r, &metadata)?),
            _ => Detector::KMeans(read_kmeans(&mut r, &metadata)?),
        };
        if !r.0.is_empty() {
            return Err(inconsistent(format!(
                "{} unread bytes after the payload",
                r.0.len()
            )));
        }
        check_consistent(&metadata, &detector)?;
        check_version(&metadata, version)?;
        Ok(Model { metadata, detector })
    }

    /// Writes the model file.
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        std::fs::write(path, self.to_bytes()).map_err(|source| ModelFileError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Model, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Model::from_bytes(&bytes)
    }
}

fn check_consistent(m: &Metadata, det: &Detector) -> Result<(), ModelFileError> {
    let (kind, d) = match det {
        Detector::Axis(f) => (DetectorKind::IsolationForest, f.n_features),
        Detector::Extended(f) => (DetectorKind::IsolationForest, f.n_features),
        Detector::KMeans(k) => (DetectorKind::KMeans, k.n_features),
    };
    if m.kind != kind || m.params.kind() != kind {
        return Err(inconsistent(format!(
            "metadata says {} (params {}), payload holds {kind}",
            m.kind,
            m.params.kind()
        )));
    }
    check_features(d, m)?;
    if m.threshold.is_nan() {
        return Err(inconsistent("threshold is NaN"));
    }
    Ok(())
}

/// What each version holds: version 1 neither a trend nor expected values, version 2 a trend
/// and no expected values, version 3 expected values (one finite value per feature) with or
/// without a trend. A trend's parameters must be valid.
fn check_version(m: &Metadata, version: u32) -> Result<(), ModelFileError> {
    let trend = m.trend.is_some();
    match (version, trend, &m.expected_values) {
        (BASE_FORMAT_VERSION, true, _) => Err(inconsistent(format!(
            "a trend in a version {version} file (trend-aware models are version {TREND_FORMAT_VERSION} or {FORMAT_VERSION})"
        ))),
        (TREND_FORMAT_VERSION, false, _) => Err(inconsistent(format!(
            "a version {version} file without a trend"
        ))),
        (BASE_FORMAT_VERSION | TREND_FORMAT_VERSION, _, Some(_)) => Err(inconsistent(format!(
            "expected values in a version {version} file (they are version {FORMAT_VERSION})"
        ))),
        (_, _, None) if version == FORMAT_VERSION => Err(inconsistent(format!(
            "a version {version} file without expected values"
        ))),
        (_, _, Some(e)) if e.len() != m.n_features || e.iter().any(|v| !v.is_finite()) => {
            Err(inconsistent(format!(
                "expected values: {} values for {} features, all finite required",
                e.len(),
                m.n_features
            )))
        }
        _ => match &m.trend {
            Some(t) => t
                .validate()
                .map_err(|e| inconsistent(format!("trend: {e}"))),
            None => Ok(()),
        },
    }
}

fn write_axis(w: &mut Writer, f: &AxisForest) {
    w.u64(f.n_features as u64);
    w.u64(f.sample_size as u64);
    w.u64(f.trees.len() as u64);
    for t in &f.trees {
        w.u64(t.nodes.len() as u64);
        for n in &t.nodes {
            w.u32(n.feature);
            w.0.extend_from_slice(&n.threshold.to_le_bytes());
            w.u32(n.left);
            w.u32(n.right);
            w.0.push(u8::from(n.nan_left));
            w.f64(n.value);
        }
    }
}

fn read_axis(r: &mut Reader<'_>, metadata: &Metadata) -> Result<AxisForest, ModelFileError> {
    let (d, psi, n_trees) = (r.len()?, r.len()?, r.len()?);
    check_features(d, metadata)?;
    let mut trees = Vec::with_capacity(n_trees.min(1 << 16));
    for t in 0..n_trees {
        let n = r.len()?;
        let mut nodes = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            nodes.push(AxisNode {
                feature: r.u32()?,
                threshold: f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes")),
                left: r.u32()?,
                right: r.u32()?,
                nan_left: r.bool()?,
                value: r.f64()?,
            });
        }
        let tree = AxisTree { nodes };
        tree.validate(d)
            .map_err(|e| inconsistent(format!("tree {t}: {e}")))?;
        trees.push(tree);
    }
    Ok(AxisForest::new(d, psi, trees))
}

fn write_ext(w: &mut Writer, f: &ExtForest) {
    w.u64(f.n_features as u64);
    w.u64(f.sample_size as u64);
    w.u64(f.k as u64);
    w.u64(f.trees.len() as u64);
    for t in &f.trees {
        w.u64(t.nodes.len() as u64);
        for n in &t.nodes {
            w.u32(n.left);
            w.u32(n.right);
            w.u32(n.coef);
            w.0.push(u8::from(n.nan_left));
            w.f64(n.value);
        }
        w.u64(t.coefs.len() as u64);
        for (&f, &c) in t.coef_features.iter().zip(&t.coefs) {
            w.u32(f);
            w.f64(c);
        }
    }
}

fn read_ext(r: &mut Reader<'_>, metadata: &Metadata) -> Result<ExtForest, ModelFileError> {
    let (d, psi, k, n_trees) = (r.len()?, r.len()?, r.len()?, r.len()?);
    check_features(d, metadata)?;
    if k == 0 || k > d {
        return Err(inconsistent(format!(
            "{k} coefficients per split for {d} features"
        )));
    }
    let mut trees = Vec::with_capacity(n_trees.min(1 << 16));
    for t in 0..n_trees {
        let n = r.len()?;
        let mut tree = ExtTree::default();
        for _ in 0..n {
            tree.nodes.push(ExtNode {
                left: r.u32()?,
                right: r.u32()?,
                coef: r.u32()?,
                nan_left: r.bool()?,
                value: r.f64()?,
            });
        }
        for _ in 0..r.len()? {
            tree.coef_features.push(r.u32()?);
            tree.coefs.push(r.f64()?);
        }
        tree.validate(d, k)
            .map_err(|e| inconsistent(format!("tree {t}: {e}")))?;
        trees.push(tree);
    }
    Ok(ExtForest::new(d, psi, k, trees))
}

fn read_kmeans(r: &mut Reader<'_>, metadata: &Metadata) -> Result<KMeansDetector, ModelFileError> {
    let d = r.len()?;
    check_features(d, metadata)?;
    let distance_threshold = r.f64()?;
    let len = r.len()?;
    if len == 0 || !len.is_multiple_of(d) {
        return Err(inconsistent(format!(
            "{len} centroid values for {d} features"
        )));
    }
    let centroids = (0..len).map(|_| r.f64()).collect::<Result<Vec<_>, _>>()?;
    Ok(KMeansDetector {
        n_features: d,
        centroids,
        distance_threshold,
    })
}

/// The payload's feature count, checked against the metadata before anything is sized by it:
/// a damaged or hostile file may claim any count.
fn check_features(d: usize, metadata: &Metadata) -> Result<(), ModelFileError> {
    if d == 0 {
        Err(inconsistent("payload has 0 features"))
    } else if d != metadata.n_features || d != metadata.feature_names.len() {
        Err(inconsistent(format!(
            "payload has {d} features, metadata n_features {} with {} names",
            metadata.n_features,
            metadata.feature_names.len()
        )))
    } else {
        Ok(())
    }
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

/// Bounds-checked little-endian reads over the (already checksummed) body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelFileError> {
        if self.0.len() < n {
            return Err(inconsistent(format!(
                "payload ends early: need {n} more bytes, {} left",
                self.0.len()
            )));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, ModelFileError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f64(&mut self) -> Result<f64, ModelFileError> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn len(&mut self) -> Result<usize, ModelFileError> {
        let v = u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"));
        usize::try_from(v).map_err(|_| inconsistent(format!("length {v} too large")))
    }
    fn bool(&mut self) -> Result<bool, ModelFileError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(inconsistent(format!("flag byte {b} is neither 0 nor 1"))),
        }
    }
}
