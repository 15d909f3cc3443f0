#!/usr/bin/env bash
# A Docker-compatible engine without a Docker daemon: Debian's podman serving the Docker API on a socket.
# Sourced by .ci/run; every function is safe to call again on a machine that already has what it makes.

PODMAN_SOCKET_PATH=${PODMAN_SOCKET_PATH:-/run/podman/podman.sock}
PODMAN_CONF=/etc/containers/containers.conf

install_packages() {
  # netavark + aardvark-dns give user networks with service-name DNS; without them named here, a fresh machine
  # gets the CNI plugins (apt's first provider of container-network-stack) and no DNS between containers.
  # chromium: tests/browser.rs reads the built book in it, headless.
  # libssl-dev and pkg-config: librdkafka is built with TLS and SASL (lesson 11) on the system's OpenSSL.
  local wanted=(podman runc netavark aardvark-dns iptables uidmap docker-compose debootstrap kcat maven curl chromium libssl-dev pkg-config)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "ci: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # npm installs Azurite for its stand-in image; a machine with Node.js from elsewhere has it already.
  if ! command -v npm >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
  fi
}

# crun fails on these hosts' hybrid cgroups, and podman's default ulimits exceed the hard limits here.
configure_podman() {
  mkdir -p /etc/containers
  if ! grep -q '^# workshop settings v2' "$PODMAN_CONF" 2>/dev/null; then
    cat >"$PODMAN_CONF" <<'CONF'
# workshop settings v2 (see shared/STACK.md): runc instead of crun, ulimits within this host's hard limits, netavark
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
  fi
}

start_podman_service() {
  export DOCKER_HOST="unix://$PODMAN_SOCKET_PATH"
  if curl -fsS --unix-socket "$PODMAN_SOCKET_PATH" http://d/_ping >/dev/null 2>&1; then
    echo "ci: podman API already serving at $DOCKER_HOST"
    return 0
  fi
  mkdir -p "$(dirname "$PODMAN_SOCKET_PATH")"
  podman system service --time=0 "$DOCKER_HOST" >/tmp/podman-service.log 2>&1 &
  PODMAN_SERVICE_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS --unix-socket "$PODMAN_SOCKET_PATH" http://d/_ping >/dev/null 2>&1 && return 0
    kill -0 "$PODMAN_SERVICE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "ci: podman API did not come up; its log:" >&2
  cat /tmp/podman-service.log >&2
  return 1
}

stop_podman_service() {
  [ -n "${PODMAN_SERVICE_PID:-}" ] && kill "$PODMAN_SERVICE_PID" 2>/dev/null && wait "$PODMAN_SERVICE_PID" 2>/dev/null
  return 0
}

# Podman schedules healthchecks with systemd timers; there is no systemd here, so run them as Docker would:
# starting or unhealthy containers every second, healthy ones every 10 s.
start_health_loop() {
  (
    tick=0
    while true; do
      for id in $(podman ps -q 2>/dev/null); do
        status=$(podman inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null) || continue
        case "$status" in
          "" | "<no value>") continue ;;
          healthy) [ $((tick % 10)) -eq 0 ] || continue ;;
        esac
        timeout 30 podman healthcheck run "$id" >/dev/null 2>&1 || true
      done
      tick=$((tick + 1))
      sleep 1
    done
  ) &
  HEALTH_LOOP_PID=$!
}

stop_health_loop() {
  [ -n "${HEALTH_LOOP_PID:-}" ] && kill "$HEALTH_LOOP_PID" 2>/dev/null
  return 0
}
