#!/usr/bin/env bash
# Builds the image (unless --image names one already built), creates the ECR repository if it
# is missing, logs docker in to the registry with an ECR token, tags and pushes. Prints the image
# URI to give CreateModel (repositoryUri:tag) as the last line on stdout.
#
# Then reads the pushed manifest back from the registry (its HTTP API, with the same ECR token)
# and fails unless it is a single-platform Docker schema 2 manifest: SageMaker rejects OCI
# manifests and multi-platform indexes (what `docker buildx` with the containerd image store
# pushes by default, with provenance attestations) with "Unsupported manifest media type".
# deploy/build-image.sh builds with --provenance=false and the docker exporter when buildx is there.
#
# Usage: deploy/build-and-push.sh --repository NAME [options]
#
#   --repository NAME   ECR repository                        (env ECR_REPOSITORY, required)
#   --tag TAG           image tag                             (env IMAGE_TAG, default: git
#                       short commit, or "latest" outside a checkout)
#   --image LOCAL       push this local image instead of building one
#   --host-build        build with deploy/build-image.sh --host-build (no base-image pulls)
#   --registry HOST     push to this registry host instead of the repository's ECR host
#                       (env REGISTRY; e.g. a pull-through mirror or a local registry)
#   --region REGION     AWS region                            (default: the CLI's configuration)
#   --verify-only       push nothing: check the manifest already pushed under --tag
#   -h, --help          this text
#
# Idempotent: an existing repository is reused and a push of an unchanged image uploads nothing.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_ECR] and the other aws CLI variables;
# DOCKER, AWS_CLI to use other binaries.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

repository=${ECR_REPOSITORY:-} tag=${IMAGE_TAG:-} image="" host_build=false registry=${REGISTRY:-}
verify_only=false
while [ $# -gt 0 ]; do
  case $1 in
    --repository) need_value "$@"; repository=$2; shift 2 ;;
    --tag) need_value "$@"; tag=$2; shift 2 ;;
    --image) need_value "$@"; image=$2; shift 2 ;;
    --host-build) host_build=true; shift ;;
    --registry) need_value "$@"; registry=$2; shift 2 ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    --verify-only) verify_only=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$repository" ] || die "--repository is required (see --help)"
require "$AWS_BIN" "set AWS_CLI to the aws CLI"
require "$DOCKER_BIN" "set DOCKER to the docker CLI"
if [ -z "$tag" ]; then
  tag=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo latest)
fi

# `verify_manifest HOST REPOSITORY TAG TOKEN`: what the registry holds under TAG must be a Docker
# schema 2 manifest. Asks for every manifest type so that the registry answers with the one it
# stored, and reads it from the Content-Type.
DOCKER_V2=application/vnd.docker.distribution.manifest.v2+json
verify_manifest() {
  local host=$1 repo=$2 ref=$3 token=$4 scheme=https headers type
  case $host in localhost|localhost:*|127.*) scheme=http ;; esac
  require curl
  headers=$(curl -s -o /dev/null -D - -u "AWS:$token" \
    -H "Accept: $DOCKER_V2, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json" \
    "$scheme://$host/v2/$repo/manifests/$ref") || die "cannot read the manifest of $host/$repo:$ref"
  type=$(tr -d '\r' <<<"$headers" | awk -F': *' 'tolower($1) == "content-type" {print $2}' | tail -1)
  case $type in
    "$DOCKER_V2") log "pushed manifest is $type (single-platform Docker schema 2): SageMaker accepts it" ;;
    "") die "no manifest for $host/$repo:$ref: $(head -1 <<<"$headers")" ;;
    *) die "the pushed manifest of $host/$repo:$ref is $type; SageMaker rejects it with \"Unsupported manifest media type\". Push a single-platform Docker schema 2 manifest: build with deploy/build-image.sh (docker buildx: --provenance=false --output type=docker), or turn off Docker's containerd image store, then push again" ;;
  esac
}

if $verify_only; then
  aws_try ecr describe-repositories --repository-names "$repository" \
    --query 'repositories[0].repositoryUri' --output text || die "ecr describe-repositories: $AWS_ERR"
  uri=$AWS_OUT
  host=${registry:-${uri%%/*}}
  verify_manifest "$host" "$repository" "$tag" "$(aws_cli ecr get-login-password)"
  echo "$uri:$tag"
  exit 0
fi

if [ -z "$image" ]; then
  image="isoserve:$tag"
  build=("$REPO_ROOT/deploy/build-image.sh" --tag "$image")
  $host_build && build+=(--host-build)
  "${build[@]}"
fi
"$DOCKER_BIN" image inspect "$image" >/dev/null 2>&1 || die "no local image $image"

if aws_try ecr describe-repositories --repository-names "$repository" \
     --query 'repositories[0].repositoryUri' --output text; then
  uri=$AWS_OUT
  log "ECR repository $repository exists"
elif is_not_found "$AWS_ERR"; then
  log "creating ECR repository $repository"
  uri=$(aws_cli ecr create-repository --repository-name "$repository" \
          --image-scanning-configuration scanOnPush=true \
          --query 'repository.repositoryUri' --output text)
else
  die "ecr describe-repositories: $AWS_ERR"
fi
ecr_host=${uri%%/*}
push_host=${registry:-$ecr_host}

log "docker login $push_host (user AWS, ECR token)"
token=$(aws_cli ecr get-login-password)
"$DOCKER_BIN" login --username AWS --password-stdin "$push_host" <<<"$token" >&2

target="$push_host/$repository:$tag"
"$DOCKER_BIN" tag "$image" "$target"
log "docker push $target"
"$DOCKER_BIN" push "$target" >&2
verify_manifest "$push_host" "$repository" "$tag" "$token"
echo "$uri:$tag"
