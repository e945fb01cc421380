# Docker engine for the end-to-end suites, sourced after tests/common.sh. Never run directly.
#
# When no engine answers, Debian's docker.io/containerd/runc packages are unpacked under .tools/
# (apt-get download + dpkg -x: nothing is installed system-wide, so no init script starts a default
# daemon with a bridge and iptables rules) and dockerd is started on a private socket with no
# bridge, no iptables and no userland proxy. Containers then use --network host. Image pulls go to a
# dead loopback proxy so they fail at once instead of hanging on the blocked network.
#
# Debian's 20.10 CLI is used for everything because it has a BuildKit client built in (the stock
# 28.x CLI needs the buildx plugin for BuildKit, and the legacy builder cannot skip unused stages).
#
#   engine_start      sets DOCKER_HOST, DOCKER_CONFIG and DOCKER (the CLI to use); idempotent
#   engine_stop       stops the dockerd this shell started and unmounts what it left behind

ENGINE_PKGS=(docker.io containerd runc tini docker-registry)
ENGINE_ROOT="$TOOLS/debroot"          # unpacked packages
ENGINE_DIR="$TOOLS/docker"            # data root (image cache survives between runs)
ENGINE_PID=""

# Unpack the Debian packages once; the stamp names the package set so a new set re-unpacks.
engine_install() {
  local stamp="$ENGINE_ROOT/.stamp-${ENGINE_PKGS[*]// /-}"
  [ -f "$stamp" ] && return 0
  local debs="$TOOLS/debs"
  mkdir -p "$debs/partial" "$ENGINE_ROOT"
  if [ ! -f "$TOOLS/.apt-updated" ]; then apt-get update -qq && touch "$TOOLS/.apt-updated"; fi
  apt-get install -y -qq --download-only --no-install-recommends \
    -o Dir::Cache::archives="$debs" "${ENGINE_PKGS[@]}" >/dev/null
  local pkg deb
  for pkg in "${ENGINE_PKGS[@]}"; do
    deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -1)
    [ -n "$deb" ] || { echo "engine_install: no .deb for $pkg" >&2; return 1; }
    dpkg -x "$deb" "$ENGINE_ROOT"
  done
  touch "$stamp"
}

engine_running() { "$DOCKER" version >/dev/null 2>&1; }

engine_start() {
  engine_install
  DOCKER="$ENGINE_ROOT/usr/bin/docker"
  export DOCKER_BUILDKIT=1
  export DOCKER_CONFIG="${DOCKER_CONFIG:-$TOOLS/docker-config}"
  mkdir -p "$DOCKER_CONFIG"
  if [ -n "${DOCKER_HOST:-}" ] && engine_running; then
    echo "using the running Docker engine at $DOCKER_HOST"
    return 0
  fi
  if [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock engine_running; then
    export DOCKER_HOST=unix:///var/run/docker.sock
    echo "using the running Docker engine at $DOCKER_HOST"
    return 0
  fi
  mkdir -p "$ENGINE_DIR"
  # A short socket path: unix sockets are limited to 108 bytes.
  local run
  run=$(mktemp -d /tmp/isoserve-docker.XXXXXX)
  ENGINE_RUN=$run
  export DOCKER_HOST="unix://$run/docker.sock"
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$ENGINE_DIR" > "$run/daemon.json"
  PATH="$ENGINE_ROOT/usr/bin:$ENGINE_ROOT/usr/sbin:$PATH" \
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
    "$ENGINE_ROOT/usr/sbin/dockerd" --config-file "$run/daemon.json" \
    --data-root "$ENGINE_DIR/data" --exec-root "$run/exec" --pidfile "$run/docker.pid" \
    -H "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false --userland-proxy=false >"$run/dockerd.log" 2>&1 &
  ENGINE_PID=$!
  for _ in $(seq 1 150); do
    engine_running && { echo "dockerd $ENGINE_PID up on $DOCKER_HOST"; return 0; }
    kill -0 "$ENGINE_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "dockerd did not come up; its log:" >&2
  tail -30 "$run/dockerd.log" >&2
  return 1
}

engine_stop() {
  [ -n "$ENGINE_PID" ] || return 0
  kill -TERM "$ENGINE_PID" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$ENGINE_PID" 2>/dev/null || true
  # dockerd bind-mounts its data root onto itself and leaves an nsfs mount under the exec root.
  local m
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done < <(
    awk -v a="$ENGINE_DIR/" -v b="$ENGINE_RUN/" 'index($2, a) == 1 || index($2, b) == 1 || $2 == substr(a, 1, length(a) - 1) { print $2 }' /proc/mounts | sort -r)
  rm -rf "$ENGINE_RUN"
  ENGINE_PID=""
}
