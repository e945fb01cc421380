# Offline AWS bench for tests/suites/60-deploy.sh, sourced after tests/common.sh and
# tests/container/engine.sh. Never run directly.
#
#   bench_start_moto       moto_server on a free loopback port; exports the standard aws variables
#                          (AWS_ENDPOINT_URL, dummy credentials, region) and puts the venv's aws
#                          CLI and cfn-lint first in PATH
#   bench_start_registry   Debian's docker-registry on a free loopback port as the ECR data plane:
#                          htpasswd user AWS whose password is moto's ECR token; sets REGISTRY_HOST
#   bench_stop             stops both

BENCH_PIDS=()
BENCH_DIR=""
DEPLOY_PIP=('moto[server]==5.2.5' 'awscli==1.46.3' 'cfn-lint==1.58.0' 'bcrypt==5.0.0')

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# `wait_http URL CODE SECONDS`: polls until URL answers with CODE.
wait_http() {
  local deadline=$((SECONDS + $3))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "$1 did not answer $2 within $3 s" >&2; return 1; }
    sleep 0.1
  done
}

bench_start_moto() {
  local bin port
  bin=$(ensure_venv deploy "${DEPLOY_PIP[@]}")
  BENCH_DIR=$(mktemp -d /tmp/isoserve-bench.XXXXXX)
  port=$(free_port)
  # moto_server with the SageMaker calls of shadow rollouts moto lacks (see the file).
  "$bin/python" "$ROOT/tests/deploy/moto_server.py" -H 127.0.0.1 -p "$port" >"$BENCH_DIR/moto.log" 2>&1 &
  BENCH_PIDS+=($!)
  export PATH="$bin:$PATH"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
  # Nothing from the user's own AWS configuration may leak in.
  export AWS_CONFIG_FILE="$BENCH_DIR/aws-config" AWS_SHARED_CREDENTIALS_FILE="$BENCH_DIR/aws-credentials"
  unset AWS_PROFILE
  wait_http "$AWS_ENDPOINT_URL/moto-api/" 200 30
  echo "moto on $AWS_ENDPOINT_URL"
}

bench_start_registry() {
  local port token python
  port=$(free_port)
  token=$(aws ecr get-login-password)
  mkdir -p "$BENCH_DIR/registry"
  python=$(dirname "$(command -v aws)")/python
  "$python" -c 'import bcrypt, sys; print("AWS:" + bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10)).decode())' \
    "$token" >"$BENCH_DIR/registry/htpasswd"
  cat >"$BENCH_DIR/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $BENCH_DIR/registry/data
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: ecr-offline
    path: $BENCH_DIR/registry/htpasswd
YAML
  "$ENGINE_ROOT/usr/bin/docker-registry" serve "$BENCH_DIR/registry/config.yml" >"$BENCH_DIR/registry.log" 2>&1 &
  BENCH_PIDS+=($!)
  REGISTRY_HOST="127.0.0.1:$port"
  wait_http "http://$REGISTRY_HOST/v2/" 401 20
  echo "registry on $REGISTRY_HOST (htpasswd user AWS, moto's ECR token)"
}

bench_stop() {
  local pid
  for pid in ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
  BENCH_PIDS=()
  [ -z "$BENCH_DIR" ] || rm -rf "$BENCH_DIR"
}
