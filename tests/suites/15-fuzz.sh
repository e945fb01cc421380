#!/usr/bin/env bash
# A short fuzzing pass over every decoder: scripts/fuzz.sh installs cargo-fuzz under .tools/ on
# first use, builds the targets in fuzz/ with the nightly toolchain, runs each for 5 s on a scratch
# copy of its seed corpus and fails on any crash, timeout, out-of-memory or leak (the input is kept
# in fuzz/artifacts/<target>/). Longer runs: scripts/fuzz.sh 600.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "$0")/../common.sh"
cd "$ROOT"

step "fuzz every decoder for 5 s per target"
scripts/fuzz.sh 5
echo "fuzz suite passed"
