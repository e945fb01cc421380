#!/usr/bin/env bash
# Builds the isoserve container image from the repository's Dockerfile.
#
# Usage: deploy/build-image.sh [options]
#
#   --tag NAME        image name:tag to build            (env IMAGE, default isoserve:latest)
#   --host-build      build the static binary on this host with cargo and build only the
#                     Dockerfile's runtime stage from it: no base image is pulled, so this works
#                     with no registry access at all
#   --binary PATH     use this static binary instead of building one (implies --host-build)
#   --model PATH      the default model to bake in      (default models/default.isof)
#   -h, --help        this text
#
# Without --host-build this is `docker build -t NAME .` (the multi-stage build compiles the binary
# in a rust image; needs BuildKit, the default builder since Docker 23, and network access).
# --host-build needs BuildKit too (DOCKER_BUILDKIT=1 is set for the call): the legacy builder would
# pull the unused rust stage. The runtime stage is the same in both modes.
#
# Environment: DOCKER (docker CLI to use, default docker).
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

tag=${IMAGE:-isoserve:latest} host_build=false binary="" model="$REPO_ROOT/models/default.isof"
while [ $# -gt 0 ]; do
  case $1 in
    --tag) need_value "$@"; tag=$2; shift 2 ;;
    --host-build) host_build=true; shift ;;
    --binary) need_value "$@"; binary=$2; host_build=true; shift 2 ;;
    --model) need_value "$@"; model=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
require "$DOCKER_BIN" "set DOCKER to the docker CLI"
[ -f "$model" ] || die "model $model not found"

# SageMaker takes only single-platform Docker schema 2 manifests. With buildx, build for this
# platform with the docker exporter and without provenance or SBOM attestations (which would make
# the pushed image an index); the builder of older Docker CLIs produces that anyway.
build=(build)
if "$DOCKER_BIN" buildx version >/dev/null 2>&1; then
  build=(buildx build --provenance=false --sbom=false --output type=docker)
fi

if ! $host_build; then
  [ "$model" -ef "$REPO_ROOT/models/default.isof" ] || die "--model needs --host-build (the Docker build bakes models/default.isof)"
  log "docker ${build[*]} -t $tag $REPO_ROOT"
  DOCKER_BUILDKIT=1 "$DOCKER_BIN" "${build[@]}" -t "$tag" "$REPO_ROOT"
  exit 0
fi

if [ -z "$binary" ]; then
  require cargo
  target=x86_64-unknown-linux-gnu
  log "cargo build (static, $target)"
  # The same flags as the Dockerfile's build stage.
  (cd "$REPO_ROOT" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_STRIP=symbols \
    ISOSERVE_BAKED_MODEL=/usr/share/isoserve/default.isof \
    cargo build --release --locked -p isoserve --target "$target")
  binary="$REPO_ROOT/target/$target/release/isoserve"
fi
[ -x "$binary" ] || die "binary $binary not found or not executable"
if command -v file >/dev/null 2>&1 && ! file -L "$binary" | grep -qE 'static(-pie)? linked|statically linked'; then
  die "$binary is not statically linked; a FROM scratch image cannot run it"
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/isoserve"
cp "$model" "$context/default.isof"
log "docker ${build[*]} --target runtime (binary from the host) -t $tag"
DOCKER_BUILDKIT=1 "$DOCKER_BIN" "${build[@]}" --build-arg BINARY_FROM=context --target runtime \
  -f "$REPO_ROOT/Dockerfile" -t "$tag" "$context"
