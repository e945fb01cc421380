//! Detector parameters, their defaults (scikit-learn's) and validation.

use serde::{Deserialize, Serialize};

use crate::Error;

/// How many rows each tree is grown from (ψ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxSamples {
    /// `min(256, n)`, scikit-learn's `"auto"`.
    Auto,
    /// A row count; clamped to `n` as scikit-learn does.
    Count(usize),
    /// A fraction of the rows in (0, 1]: `int(f * n)`.
    Fraction(f64),
}

/// Share of anomalies assumed in the training data; it sets the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contamination {
    /// Threshold 0.5 on the isolation score, as in the original paper and scikit-learn.
    Auto,
    /// A fraction in (0, 0.5]: the threshold is that percentile of the training scores.
    Fraction(f64),
}

impl std::str::FromStr for MaxSamples {
    type Err = String;

    /// `auto` (any case), a row count (an integer, as scikit-learn reads `max_samples=64`), or a
    /// fraction of the rows in (0, 1] (a number with a point or an exponent). The one parser of
    /// the trainer's `--max-samples` and the training job's `max_samples` hyperparameter.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Ok(MaxSamples::Auto);
        }
        if let Ok(n) = text.parse::<usize>() {
            return Ok(MaxSamples::Count(n));
        }
        match text.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => Ok(MaxSamples::Fraction(f)),
            _ => Err(format!(
                "expected auto, a row count, or a fraction in (0, 1], found {text:?}"
            )),
        }
    }
}

impl std::str::FromStr for Contamination {
    type Err = String;

    /// `auto` (any case) or a fraction in (0, 0.5]. The one parser of the trainer's
    /// `--contamination` and the training job's `contamination` hyperparameter.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Contamination::Auto);
        }
        match text.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 0.5 => Ok(Contamination::Fraction(f)),
            _ => Err(format!(
                "expected auto or a fraction in (0, 0.5], found {text:?}"
            )),
        }
    }
}

/// Isolation-forest parameters. `Default` gives scikit-learn's defaults and seed 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees (scikit-learn's `n_estimators`).
    pub n_trees: usize,
    /// Rows per tree (ψ).
    pub max_samples: MaxSamples,
    /// Threshold rule.
    pub contamination: Contamination,
    /// Draw each tree's rows with replacement.
    pub bootstrap: bool,
    /// 0 = axis-parallel splits (scikit-learn); up to d−1 = fully extended hyperplanes.
    pub extension_level: usize,
    /// Master seed; each tree gets its own stream derived from it.
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        Self {
            n_trees: 100,
            max_samples: MaxSamples::Auto,
            contamination: Contamination::Auto,
            bootstrap: false,
            extension_level: 0,
            seed: 0,
        }
    }
}

/// k-means parameters: distance to the nearest of `k` centroids is the anomaly measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Share of training rows above the distance threshold, in (0, 0.5].
    pub contamination: f64,
    /// Seed of the k-means++ initialisation.
    pub seed: u64,
    /// Iteration limit of Lloyd's algorithm.
    pub max_iter: u64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self {
            k: 8,
            contamination: 0.05,
            seed: 0,
            max_iter: 300,
        }
    }
}

/// Parameters of either detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorParams {
    /// An isolation forest.
    IsolationForest(ForestParams),
    /// k-means distance to the nearest centroid.
    KMeans(KMeansParams),
}

impl Default for DetectorParams {
    fn default() -> Self {
        Self::IsolationForest(ForestParams::default())
    }
}

impl DetectorParams {
    /// The detector kind these parameters build.
    pub fn kind(&self) -> DetectorKind {
        match self {
            Self::IsolationForest(_) => DetectorKind::IsolationForest,
            Self::KMeans(_) => DetectorKind::KMeans,
        }
    }

    /// The seed recorded in the metadata.
    pub fn seed(&self) -> u64 {
        match self {
            Self::IsolationForest(p) => p.seed,
            Self::KMeans(p) => p.seed,
        }
    }
}

/// Which detector a model holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// Isolation forest (axis-parallel or extended).
    IsolationForest,
    /// k-means distance.
    KMeans,
}

impl std::fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::IsolationForest => "isolation_forest",
            Self::KMeans => "k_means",
        })
    }
}

fn invalid(name: &'static str, message: String) -> Error {
    Error::InvalidParameter { name, message }
}

impl ForestParams {
    /// Checks every parameter against `n` training rows and `d` features.
    pub fn validate(&self, n: usize, d: usize) -> Result<(), Error> {
        if self.n_trees == 0 {
            return Err(invalid("n_trees", "must be at least 1, got 0".into()));
        }
        match self.max_samples {
            MaxSamples::Count(0) => {
                return Err(invalid(
                    "max_samples",
                    "count must be at least 1, got 0".into(),
                ));
            }
            MaxSamples::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(invalid(
                    "max_samples",
                    format!("fraction must be in (0, 1], got {f}"),
                ));
            }
            MaxSamples::Fraction(f) if (f * n as f64) < 1.0 => {
                return Err(invalid(
                    "max_samples",
                    format!("fraction {f} of {n} rows is less than one row"),
                ));
            }
            _ => {}
        }
        if let Contamination::Fraction(c) = self.contamination {
            check_contamination(c)?;
        }
        if d > 0 && self.extension_level > d - 1 {
            return Err(invalid(
                "extension_level",
                format!(
                    "must be at most d-1 = {} for {d} features, got {}",
                    d - 1,
                    self.extension_level
                ),
            ));
        }
        Ok(())
    }

    /// ψ, the number of rows each tree is grown from, for `n` training rows.
    pub fn sample_size(&self, n: usize) -> usize {
        match self.max_samples {
            MaxSamples::Auto => n.min(256),
            MaxSamples::Count(c) => c.min(n),
            // scikit-learn: int(max_samples * n_samples), truncation toward zero.
            MaxSamples::Fraction(f) => ((f * n as f64) as usize).clamp(1, n),
        }
    }
}

impl KMeansParams {
    /// Checks every parameter against `n` training rows.
    pub fn validate(&self, n: usize) -> Result<(), Error> {
        if self.k == 0 {
            return Err(invalid("k", "must be at least 1, got 0".into()));
        }
        if self.k > n {
            return Err(invalid(
                "k",
                format!("{} clusters need at least as many rows, got {n}", self.k),
            ));
        }
        if self.max_iter == 0 {
            return Err(invalid("max_iter", "must be at least 1, got 0".into()));
        }
        check_contamination(self.contamination)
    }
}

fn check_contamination(c: f64) -> Result<(), Error> {
    if c > 0.0 && c <= 0.5 {
        Ok(())
    } else {
        Err(invalid(
            "contamination",
            format!("must be in (0, 0.5], got {c}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_samples_and_contamination_parse_every_form() {
        assert_eq!("auto".parse(), Ok(MaxSamples::Auto));
        assert_eq!("AUTO".parse(), Ok(MaxSamples::Auto));
        assert_eq!("64".parse(), Ok(MaxSamples::Count(64)));
        assert_eq!("0.25".parse(), Ok(MaxSamples::Fraction(0.25)));
        assert_eq!("1e-1".parse(), Ok(MaxSamples::Fraction(0.1)));
        for bad in ["1.5", "0.0", "-3", "many", "NaN", "inf", ""] {
            let err = bad.parse::<MaxSamples>().unwrap_err();
            assert!(err.contains("a fraction in (0, 1]"), "{bad}: {err}");
        }
        assert_eq!("Auto".parse(), Ok(Contamination::Auto));
        assert_eq!("0.05".parse(), Ok(Contamination::Fraction(0.05)));
        assert_eq!("0.5".parse(), Ok(Contamination::Fraction(0.5)));
        for bad in ["0.6", "0", "-0.1", "NaN", "lots"] {
            let err = bad.parse::<Contamination>().unwrap_err();
            assert!(err.contains("a fraction in (0, 0.5]"), "{bad}: {err}");
        }
    }
}
