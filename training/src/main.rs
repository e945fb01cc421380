//! Trainer CLI entry point.

fn main() {}
