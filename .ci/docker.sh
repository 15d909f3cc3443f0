#!/usr/bin/env bash
# What most learners run: Docker Engine with Compose v2 (`docker compose`). Debian packages Docker Engine
# (docker.io) but not Compose v2, which is a Go module built here as a CLI plugin. Docker runs the healthchecks
# itself (no health loop). Sourced by .ci/run; every function is safe to call again.

COMPOSE_V2_VERSION=${COMPOSE_V2_VERSION:-v2.40.3}
WORKSHOP_CACHE=${WORKSHOP_CACHE:-/var/cache/kafka-workshop}
DOCKERD_SOCKET_PATH=${DOCKERD_SOCKET_PATH:-/run/workshop-docker/docker.sock}
DOCKERD_ROOT=${DOCKERD_ROOT:-/var/lib/workshop-docker}
# The Docker CLI finds plugins in $DOCKER_CONFIG/cli-plugins: this folder holds Compose v2 and nothing else.
COMPOSE_V2_CONFIG="$WORKSHOP_CACHE/docker-config-$COMPOSE_V2_VERSION"

install_docker_engine() {
  dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'install ok installed' && return 0
  echo "ci: installing docker.io (Docker Engine)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io
}

# `go install` refuses compose's module (its go.mod has exclude directives); as a dependency of a scratch
# module it builds.
build_compose_v2() {
  local plugin="$COMPOSE_V2_CONFIG/cli-plugins/docker-compose"
  [ -x "$plugin" ] && return 0
  echo "ci: building Compose $COMPOSE_V2_VERSION from its Go module (about 2-4 minutes)"
  local work
  work=$(mktemp -d)
  (
    cd "$work" &&
      go mod init example.com/compose-build >/dev/null 2>&1 &&
      go get "github.com/docker/compose/v2/cmd@$COMPOSE_V2_VERSION" >/dev/null 2>&1 &&
      mkdir -p "$(dirname "$plugin")" &&
      go build -ldflags "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" -o "$plugin.tmp" \
        github.com/docker/compose/v2/cmd &&
      mv "$plugin.tmp" "$plugin"
  ) || { echo "ci: building Compose v2 failed" >&2; rm -rf "$work"; return 1; }
  rm -rf "$work"
}

start_dockerd() {
  export DOCKER_HOST="unix://$DOCKERD_SOCKET_PATH"
  if curl -fsS --unix-socket "$DOCKERD_SOCKET_PATH" http://d/_ping >/dev/null 2>&1; then
    echo "ci: Docker Engine already serving at $DOCKER_HOST"
    return 0
  fi
  mkdir -p "$(dirname "$DOCKERD_SOCKET_PATH")" "$DOCKERD_ROOT"
  # No iptables on these machines' kernels for Docker's bridge: published ports go through docker-proxy.
  dockerd --host "$DOCKER_HOST" --data-root "$DOCKERD_ROOT" --exec-root /run/workshop-docker/exec \
    --pidfile /run/workshop-docker/dockerd.pid --iptables=false --ip-masq=false --bridge=none \
    >/tmp/workshop-dockerd.log 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 300); do
    curl -fsS --unix-socket "$DOCKERD_SOCKET_PATH" http://d/_ping >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "ci: dockerd did not come up; its log:" >&2
  tail -30 /tmp/workshop-dockerd.log >&2
  return 1
}

stop_dockerd() {
  [ -n "${DOCKERD_PID:-}" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  return 0
}

# The stand-in images are built with podman; Docker gets a copy of each it does not have yet.
load_images_into_docker() {
  local image
  for image in "$@"; do
    DOCKER_HOST="unix://$DOCKERD_SOCKET_PATH" docker image inspect "$image" >/dev/null 2>&1 && continue
    echo "ci: copying $image from podman to Docker"
    podman save "$image" | DOCKER_HOST="unix://$DOCKERD_SOCKET_PATH" docker load -q
  done
}

# Any wks-* project a failed test left behind in Docker.
remove_docker_leftovers() {
  local host="unix://$DOCKERD_SOCKET_PATH"
  curl -fsS --unix-socket "$DOCKERD_SOCKET_PATH" http://d/_ping >/dev/null 2>&1 || return 0
  DOCKER_HOST=$host docker ps -aq --filter label=com.docker.compose.project | while read -r id; do
    project=$(DOCKER_HOST=$host docker inspect -f '{{ index .Config.Labels "com.docker.compose.project" }}' "$id")
    case "$project" in wks-*) DOCKER_HOST=$host docker rm -f "$id" >/dev/null ;; esac
  done
  DOCKER_HOST=$host docker network ls -q --filter label=com.docker.compose.project --format '{{.Name}}' | grep '^wks-' |
    xargs -r env DOCKER_HOST=$host docker network rm >/dev/null
  DOCKER_HOST=$host docker volume ls -q --filter label=com.docker.compose.project | grep '^wks-' |
    xargs -r env DOCKER_HOST=$host docker volume rm >/dev/null
  return 0
}
