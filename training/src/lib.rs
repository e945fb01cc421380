//! The trainer: synthetic sensor data, training, evaluation, an HTML report and model inspection.
//!
//! The `trainer` binary is a thin layer over [`cli`]; everything else is reachable from tests.

pub mod attribution;
pub mod capture;
pub mod cli;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod feedback;
pub mod generate;
pub mod group;
pub mod import_sklearn;
pub mod inspect;
pub mod plots;
pub mod progress;
pub mod report;
pub mod score;
pub mod score_csv;
pub mod threshold;
pub mod train;

pub use error::{Error, Result};
