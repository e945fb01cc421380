//! Integration tests of the inference server: the router in-process (`oneshot`) and the real
//! binary over a socket.

mod common;
mod compat;
mod errors;
mod explain;
mod hostile;
mod inputs;
mod limits;
mod multi_model;
mod outputs;
mod runtime;
mod socket;
mod trend;
mod wire;
