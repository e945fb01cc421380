//! Synthetic trending sensor data with injected spikes, as in the Python guide this product replaces.
//!
//! Per feature `i` (0-based) over `n` rows:
//! - `linear`: `linspace(0, 100 + 20 i, n) + N(0, 5)`
//! - `random_walk`: cumulative sum of `N(0.1, 1)`
//! - `exponential`: `exp(linspace(0, 5 + i, n)) + N(0, 100)`
//!
//! Then, per feature, `anomalies` distinct random rows get `± U(50, 200)` added (random sign).
//! Every random draw comes from one ChaCha20 stream seeded by the user, in a fixed order, so the
//! same parameters give the same bytes on every platform.

use std::path::Path;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::error::{Error, Result};
use crate::progress::Progress;

/// Name of the optional time column, also a column `train` skips by default.
pub use codec::table::TIMESTAMP_COLUMN;
/// Name of the row-level label column (1 when any feature of the row is anomalous).
pub const ANOMALY_COLUMN: &str = "anomaly";
/// Start of the time column when none is given.
pub const DEFAULT_START: &str = "2024-01-01T00:00:00Z";

/// The trend underlying every feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// `linspace(0, 100 + 20 i, n) + N(0, 5)`.
    Linear,
    /// Cumulative sum of `N(0.1, 1)`.
    #[value(name = "random_walk")]
    RandomWalk,
    /// `exp(linspace(0, 5 + i, n)) + N(0, 100)`.
    Exponential,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateParams {
    /// Number of rows.
    pub rows: usize,
    /// Number of features (columns `feature_1..feature_d`).
    pub features: usize,
    /// Number of anomalous rows injected per feature.
    pub anomalies: usize,
    /// Underlying trend.
    pub trend: Trend,
    /// Seed of the random stream.
    pub seed: u64,
    /// Start of the one-minute timestamp column, when one is wanted.
    pub start: Option<DateTime<Utc>>,
}

/// Generated data, column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Feature names, `feature_1..feature_d`.
    pub names: Vec<String>,
    /// One vector of `rows` values per feature.
    pub columns: Vec<Vec<f64>>,
    /// One vector of `rows` flags per feature: true where a spike was injected.
    pub labels: Vec<Vec<bool>>,
    /// Start of the timestamp column, if any.
    pub start: Option<DateTime<Utc>>,
}

impl Generated {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Row-level label: true when any feature of row `row` is anomalous.
    pub fn row_anomaly(&self, row: usize) -> bool {
        self.labels.iter().any(|l| l[row])
    }
}

/// Parses an ISO-8601 / RFC 3339 start time such as `2024-01-01T00:00:00Z`.
pub fn parse_start(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::Invalid(format!(
                "start time {text:?} is not RFC 3339 ({e}), e.g. {DEFAULT_START}"
            ))
        })
}

/// Generates the data set described by `params`.
pub fn generate(params: &GenerateParams) -> Result<Generated> {
    if params.rows == 0 || params.features == 0 {
        return Err(Error::Invalid(
            "--rows and --features must be at least 1".into(),
        ));
    }
    if params.anomalies > params.rows {
        return Err(Error::Invalid(format!(
            "--anomalies {} exceeds --rows {}: anomalies are distinct rows per feature",
            params.anomalies, params.rows
        )));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(params.seed);
    let spike = Uniform::new(50.0, 200.0).expect("constant bounds are valid");
    let mut columns = Vec::with_capacity(params.features);
    let mut labels = Vec::with_capacity(params.features);
    for i in 0..params.features {
        let mut values = trend_column(params.trend, i, params.rows, &mut rng);
        let mut flags = vec![false; params.rows];
        for row in rand::seq::index::sample(&mut rng, params.rows, params.anomalies) {
            let magnitude: f64 = spike.sample(&mut rng);
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            values[row] += sign * magnitude;
            flags[row] = true;
        }
        columns.push(values);
        labels.push(flags);
    }
    let names = (1..=params.features)
        .map(|i| format!("feature_{i}"))
        .collect();
    Ok(Generated {
        names,
        columns,
        labels,
        start: params.start,
    })
}

/// numpy's `linspace(0, stop, n)[j]`.
fn linspace(stop: f64, n: usize, j: usize) -> f64 {
    if n <= 1 {
        0.0
    } else {
        j as f64 * (stop / (n - 1) as f64)
    }
}

fn trend_column(trend: Trend, i: usize, n: usize, rng: &mut ChaCha20Rng) -> Vec<f64> {
    let normal = |mean: f64, sd: f64| Normal::new(mean, sd).expect("constant parameters are valid");
    match trend {
        Trend::Linear => {
            let noise = normal(0.0, 5.0);
            let stop = 100.0 + 20.0 * i as f64;
            (0..n)
                .map(|j| linspace(stop, n, j) + noise.sample(rng))
                .collect()
        }
        Trend::RandomWalk => {
            let step = normal(0.1, 1.0);
            let mut total = 0.0;
            (0..n)
                .map(|_| {
                    total += step.sample(rng);
                    total
                })
                .collect()
        }
        Trend::Exponential => {
            let noise = normal(0.0, 100.0);
            let stop = 5.0 + i as f64;
            (0..n)
                .map(|j| linspace(stop, n, j).exp() + noise.sample(rng))
                .collect()
        }
    }
}

fn timestamp(start: DateTime<Utc>, row: usize) -> String {
    let minutes = i64::try_from(row).unwrap_or(i64::MAX);
    (start + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn create(path: &Path) -> Result<csv::Writer<std::io::BufWriter<std::fs::File>>> {
    let file = std::fs::File::create(path).map_err(|cause| Error::Io {
        path: path.into(),
        cause,
    })?;
    Ok(csv::Writer::from_writer(std::io::BufWriter::new(file)))
}

fn finish(mut writer: csv::Writer<std::io::BufWriter<std::fs::File>>, path: &Path) -> Result<()> {
    writer.flush().map_err(|cause| Error::Io {
        path: path.into(),
        cause,
    })
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| Error::Write {
        path: path.into(),
        message: e.to_string(),
    }
}

/// Writes the feature CSV: an optional `timestamp` column, then `feature_1..feature_d`.
///
/// Values use Rust's shortest round-trip formatting, so reading them back gives the same floats.
pub fn write_data(data: &Generated, path: &Path, progress: &Progress) -> Result<()> {
    let mut w = create(path)?;
    let err = csv_err(path);
    let mut header: Vec<&str> = Vec::with_capacity(data.names.len() + 1);
    if data.start.is_some() {
        header.push(TIMESTAMP_COLUMN);
    }
    header.extend(data.names.iter().map(String::as_str));
    w.write_record(&header).map_err(&err)?;
    let bar = progress.bar(data.n_rows() as u64, "writing data");
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for row in 0..data.n_rows() {
        record.clear();
        if let Some(start) = data.start {
            record.push(timestamp(start, row));
        }
        record.extend(data.columns.iter().map(|c| c[row].to_string()));
        w.write_record(&record).map_err(&err)?;
        if row.is_multiple_of(4096) {
            bar.set_position(row as u64);
        }
    }
    bar.finish_and_clear();
    finish(w, path)
}

/// Writes the labels CSV: one 0/1 column per feature (same names) and the row-level `anomaly`.
pub fn write_labels(data: &Generated, path: &Path) -> Result<()> {
    let mut w = create(path)?;
    let err = csv_err(path);
    let mut header: Vec<&str> = data.names.iter().map(String::as_str).collect();
    header.push(ANOMALY_COLUMN);
    w.write_record(&header).map_err(&err)?;
    let flag = |b: bool| if b { "1" } else { "0" };
    for row in 0..data.n_rows() {
        let mut record: Vec<&str> = data.labels.iter().map(|l| flag(l[row])).collect();
        record.push(flag(data.row_anomaly(row)));
        w.write_record(&record).map_err(&err)?;
    }
    finish(w, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(trend: Trend) -> GenerateParams {
        GenerateParams {
            rows: 1000,
            features: 3,
            anomalies: 40,
            trend,
            seed: 1,
            start: None,
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(&params(Trend::Linear)).unwrap();
        assert_eq!(a, generate(&params(Trend::Linear)).unwrap());
        let b = generate(&GenerateParams {
            seed: 2,
            ..params(Trend::Linear)
        })
        .unwrap();
        assert_ne!(a.columns, b.columns);
    }

    #[test]
    fn each_feature_gets_exactly_the_requested_distinct_anomalies() {
        for trend in [Trend::Linear, Trend::RandomWalk, Trend::Exponential] {
            let g = generate(&params(trend)).unwrap();
            for flags in &g.labels {
                assert_eq!(flags.iter().filter(|&&f| f).count(), 40);
            }
        }
    }

    #[test]
    fn linear_trend_follows_linspace_and_spikes_are_50_to_200() {
        let g = generate(&GenerateParams {
            anomalies: 0,
            ..params(Trend::Linear)
        })
        .unwrap();
        let spiked = generate(&params(Trend::Linear)).unwrap();
        // Feature 2 (i = 1) ends near 120; noise sd 5 keeps every residual well inside 30.
        for (j, v) in g.columns[1].iter().enumerate() {
            assert!((v - linspace(120.0, 1000, j)).abs() < 30.0, "row {j}: {v}");
        }
        assert!((linspace(120.0, 1000, 999) - 120.0).abs() < 1e-12);
        // Same seed: the noise before the spikes is drawn identically for the first feature.
        for (j, (a, b)) in g.columns[0].iter().zip(&spiked.columns[0]).enumerate() {
            let d = (b - a).abs();
            if spiked.labels[0][j] {
                assert!((50.0..200.0).contains(&d), "row {j}: spike {d}");
            } else {
                assert_eq!(d, 0.0, "row {j}");
            }
        }
    }

    #[test]
    fn exponential_grows_to_exp_of_5_plus_i() {
        let g = generate(&GenerateParams {
            anomalies: 0,
            ..params(Trend::Exponential)
        })
        .unwrap();
        let last = g.columns[2][999];
        assert!((last - 7f64.exp()).abs() < 600.0, "{last}");
    }

    #[test]
    fn too_many_anomalies_is_an_error() {
        let e = generate(&GenerateParams {
            anomalies: 1001,
            ..params(Trend::Linear)
        })
        .unwrap_err();
        assert!(e.to_string().contains("exceeds --rows"), "{e}");
    }

    #[test]
    fn timestamps_step_one_minute_in_iso_8601() {
        let start = parse_start("2024-02-28T23:59:00Z").unwrap();
        assert_eq!(timestamp(start, 0), "2024-02-28T23:59:00Z");
        assert_eq!(timestamp(start, 2), "2024-02-29T00:01:00Z");
        assert!(parse_start("yesterday").is_err());
    }
}
