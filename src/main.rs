//! Thin entry point of the inference server.

fn main() {}
