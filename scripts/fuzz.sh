#!/usr/bin/env bash
# Fuzzes every decoder with cargo-fuzz (libFuzzer + AddressSanitizer): the targets in fuzz/ cover
# the codec's wire formats (csv, json, jsonlines, npy, headers), the model file (model_file), the
# scikit-learn import (sklearn_import), Kinesis/KPL records (record) and training tables (table).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#
# 1. install: cargo-fuzz at a pinned version from its prebuilt wheel (tests/common.sh,
#    ensure_cargo_tool, under .tools/); the nightly toolchain cargo-fuzz needs is installed with
#    rustup if missing.
# 2. build: every target once with `cargo +nightly fuzz build` (release, debug assertions on), into
#    fuzz/target whatever CARGO_TARGET_DIR says.
# 3. run: each target for SECONDS_PER_TARGET with -timeout=1 -rss_limit_mb=2048 -detect_leaks=1, on
#    a scratch copy of its committed seed corpus (fuzz/corpus/<target>, see fuzz/make_corpus.py), so
#    runs never grow the committed corpus. One summary line per target: executions, corpus size
#    afterwards, seconds.
#
# Exits non-zero if any target crashes, times out, runs out of memory or leaks; it names the target,
# the input libFuzzer wrote (fuzz/artifacts/<target>/, git-ignored) and keeps the run's log next to
# it. Reproduce with `cargo +nightly fuzz run <target> <artifact>`, minimize with
# `cargo +nightly fuzz tmin <target> <artifact>` (with .tools/cargo-bin on PATH).
set -euo pipefail

# shellcheck source=tests/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/common.sh"
cd "$ROOT"

SECONDS_PER_TARGET=${1:-60}
if ! [[ $SECONDS_PER_TARGET =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (a positive whole number; default 60)" >&2
  exit 2
fi

CARGO_FUZZ_VERSION=0.13.2
FUZZ_DIR="$ROOT/fuzz"
FUZZ_TARGET_DIR="$FUZZ_DIR/target"

phase_start=$(date +%s)

# --- install ---------------------------------------------------------------------------------------
printf '==> install\n'
if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
ensure_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION"
echo "using $(cargo fuzz --version)"
install_secs=$(($(date +%s) - phase_start))

# --- build -----------------------------------------------------------------------------------------
printf '\n==> build (cargo +nightly fuzz build)\n'
phase_start=$(date +%s)
cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" --target-dir "$FUZZ_TARGET_DIR"
build_secs=$(($(date +%s) - phase_start))

host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="$FUZZ_TARGET_DIR/$host/release"
targets=()
for src in "$FUZZ_DIR"/fuzz_targets/*.rs; do
  targets+=("$(basename "$src" .rs)")
done

# --- run -------------------------------------------------------------------------------------------
printf '\n==> run: %d targets, %s s each\n' "${#targets[@]}" "$SECONDS_PER_TARGET"
phase_start=$(date +%s)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failures=()
for target in "${targets[@]}"; do
  corpus="$scratch/corpus/$target"
  artifacts="$FUZZ_DIR/artifacts/$target"
  log="$scratch/$target.log"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$FUZZ_DIR/corpus/$target" ]; then
    cp -R "$FUZZ_DIR/corpus/$target/." "$corpus/"
  fi
  start=$(date +%s)
  status=0
  "$bin_dir/$target" "$corpus" -max_total_time="$SECONDS_PER_TARGET" -timeout=1 \
    -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$log" 2>&1 || status=$?
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(find "$corpus" -type f -exec cat {} + | wc -c)
  printf '%-15s %10s execs  corpus %5d files %9d bytes  %4d s' \
    "$target" "${execs:-?}" "$files" "$bytes" "$secs"
  if [ "$status" -eq 0 ]; then
    printf '  ok\n'
    continue
  fi
  kind="crash"
  if grep -q 'ERROR: libFuzzer: timeout' "$log"; then
    kind="timeout"
  elif grep -qE 'ERROR: libFuzzer: out-of-memory|ERROR: libFuzzer: malloc' "$log"; then
    kind="out-of-memory"
  elif grep -q 'ERROR: LeakSanitizer' "$log"; then
    kind="leak"
  fi
  printf '  FAILED (%s, exit %d)\n' "$kind" "$status"
  kept="$artifacts/fuzz-$(date +%Y%m%d-%H%M%S).log"
  cp "$log" "$kept"
  echo "---- $target: last lines of the log (whole log: ${kept#"$ROOT"/})" >&2
  tail -n 40 "$log" >&2
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  echo "---- $target: $kind; input: ${artifact:-none written}" >&2
  failures+=("$target ($kind): ${artifact:-no artifact, see $kept}")
done
run_secs=$(($(date +%s) - phase_start))

printf '\nphases: install %d s, build %d s, run %d s\n' "$install_secs" "$build_secs" "$run_secs"
if [ ${#failures[@]} -gt 0 ]; then
  echo "fuzzing FAILED in ${#failures[@]} of ${#targets[@]} targets:" >&2
  printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "fuzzing passed: ${#targets[@]} targets, ${SECONDS_PER_TARGET} s each"
