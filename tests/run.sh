#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: formatting, lints, every Rust test (release
# profile, so the binaries the end-to-end suites drive are built once), then each end-to-end suite in
# tests/suites/ in name order. Each suite installs and starts what it needs by itself.
#
#   tests/run.sh            everything
#   tests/run.sh quick      fmt, clippy and the Rust tests only
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh

mode=${1:-all}

step "cargo fmt --check"
cargo fmt --all --check

step "shellcheck every shell script"
ensure_apt shellcheck
git ls-files -z '*.sh' | xargs -0 shellcheck -x -s bash

step "toolchain: $(rustc --version) (rust-toolchain.toml: stable)"

step "no circular imports between source files, no #[path]"
python3 scripts/import-cycles.py

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc --no-deps, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo deny check licenses bans sources"
ensure_cargo_tool cargo-deny 0.20.2
cargo deny --locked --log-level error check licenses bans sources

step "cargo test (release)"
cargo test --workspace --release --locked

# The vector walks are chosen at run time: say which of them this CPU could test. A kernel it
# cannot run is printed as NOT TESTED, never passed silently. (Same build as above, filtered.)
step "forest walk kernels on this CPU"
kernels=$(cargo test --workspace --release --locked --lib -q -- layout::tests::kernel layout::ranks::tests --nocapture --test-threads=1 2>&1)
grep -o "kernel [a-z0-9]*: .*" <<<"$kernels" || { echo "$kernels"; echo "no kernel test reported" >&2; exit 1; }
grep -o "rank coder [a-z0-9]*: .*" <<<"$kernels" || { echo "$kernels"; echo "no rank coder test reported" >&2; exit 1; }

[ "$mode" = quick ] && exit 0

step "every binary, for the suites"
build_bins

passed=0 failed=0 failures=()
for suite in tests/suites/*.sh; do
  [ -e "$suite" ] || continue
  step "suite $(basename "$suite")"
  start=$SECONDS
  if bash "$suite"; then
    passed=$((passed + 1))
    echo "suite $(basename "$suite") passed in $((SECONDS - start)) s"
  else
    failed=$((failed + 1))
    failures+=("$(basename "$suite")")
    echo "suite $(basename "$suite") FAILED after $((SECONDS - start)) s"
  fi
done
[ ${#failures[@]} -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
