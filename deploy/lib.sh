# Shared by the deploy scripts; sourced, never run.
#
# The scripts talk to AWS only through the aws CLI and to images only through the docker CLI, so
# the usual environment applies unchanged: AWS_PROFILE, AWS_REGION / AWS_DEFAULT_REGION,
# AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (aws CLI >= 1.31 / 2.13), DOCKER_HOST.
# AWS_CLI and DOCKER name other binaries for the two CLIs.

# shellcheck disable=SC2034  # globals for the scripts that source this file
set -euo pipefail

PROG=$(basename "$0")
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AWS_BIN=${AWS_CLI:-aws}
DOCKER_BIN=${DOCKER:-docker}
AWS_ARGS=()

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The usage text is the comment block at the top of the script (after the shebang).
usage() { sed -n '2,/^[^#]/{/^#/!d;s/^# \{0,1\}//;p}' "$0"; }

# `need_value FLAG "$@"`: a flag's value must be present.
need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }

aws_cli() { "$AWS_BIN" "${AWS_ARGS[@]}" "$@"; }

# `set_region R` makes every aws call use region R.
set_region() { AWS_ARGS+=(--region "$1"); }

# True when an aws call failed only because the resource does not exist.
is_not_found() { grep -qiE 'not found|does not exist|could not find|NoSuch|RepositoryNotFound' <<<"$1"; }

require() { command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH${2:+ ($2)}"; }

# `aws_try ARGS...`: runs an aws call without dying; its stdout lands in AWS_OUT, its stderr in
# AWS_ERR, and the status is the CLI's.
AWS_OUT="" AWS_ERR=""
aws_try() {
  local errfile rc=0
  errfile=$(mktemp)
  AWS_OUT=$(aws_cli "$@" 2>"$errfile") || rc=$?
  AWS_ERR=$(cat "$errfile")
  rm -f "$errfile"
  return "$rc"
}

# `json_str S`: S as a JSON string literal.
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
