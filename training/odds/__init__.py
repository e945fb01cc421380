"""Detection-quality tooling: ODDS benchmark rebuilds, the ODDS protocol, the trend baseline
and the scikit-learn parity check. Driven by scripts/quality.sh and tests/suites/."""
