#!/usr/bin/env bash
# The short soak: scripts/soak.sh for one minute (mixed valid and invalid traffic of every format
# at saturation; exact statuses before and after; no socket errors, timeouts or 5xx; memory,
# descriptors and p99 steady). The ten-minute figures are in docs/reliability.md.
set -euo pipefail
# shellcheck source=tests/common.sh
source "$(dirname "$0")/../common.sh"
cd "$ROOT"

scripts/soak.sh 1
