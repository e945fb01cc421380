#!/usr/bin/env bash
# ODDS acceptance at reduced size: the five ODDS sets rebuilt from Debian's r-cran-mlbench
# (exact n, d and anomaly share, else failure), 10 seeds, shuttle subsampled to 10000 rows; fails
# when on any set our mean ROC-AUC is below scikit-learn's mean minus one standard deviation.
# The full run (10 seeds, full sets) is `scripts/quality.sh`, which also writes docs/quality.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec scripts/quality.sh --reduced
