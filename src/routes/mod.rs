//! HTTP routes of the SageMaker container contract.

pub mod execution_parameters;
pub mod invocations;
pub mod models;
pub mod ping;

pub use execution_parameters::execution_parameters;
pub use invocations::invocations;
pub use ping::ping;
