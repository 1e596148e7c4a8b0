#!/usr/bin/env bash
# CI, docker compose leg: the end-to-end suite against the shop and the mesh in containers.
#   1. Docker and Compose from Debian's packages if missing; dockerd started if not running
#   2. the offline JRE base image and every image (deploy/docker/build-images.sh, Jib)
#   3. the e2e suite with -De2e.target=compose: ComposeMeshTarget brings docker-compose.yml up
#      (own project, a copy of manifests/, free ports), waits for health and sync, runs the tests
#      and takes it down; the trap below takes it down too, whatever happened.
# Bounded: every step has a timeout. Needs root (or sudo) for apt-get and dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
log() { echo "[compose-e2e +$(( $(date +%s) - T0 ))s] $*"; }
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
PROJECT="${COMPOSE_E2E_PROJECT:-shopmesh-e2e}"

# 1. Docker, Compose, debootstrap, iptables
need=()
command -v docker >/dev/null || need+=(docker.io)
if ! { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; }; then
  need+=(docker-compose)
fi
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v iptables >/dev/null || need+=(iptables)
if ((${#need[@]})); then
  log "installing ${need[*]} (Debian packages)"
  timeout 300 $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! timeout 20 docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /tmp/dockerd.log)"
  $SUDO sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 1; done
  timeout 20 docker info >/dev/null 2>&1 || { tail -50 /tmp/dockerd.log; exit 1; }
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
log "docker $(docker version --format '{{.Server.Version}}'), $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -1)"

teardown() {
  local rc=$?
  log "tearing down project $PROJECT"
  timeout 180 "${COMPOSE[@]}" -f docker-compose.yml -p "$PROJECT" down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
  log "done (exit $rc)"
  exit $rc
}
trap teardown EXIT
# a stack left over by an interrupted run would hold the compose network's subnet
timeout 180 "${COMPOSE[@]}" -f docker-compose.yml -p "$PROJECT" down -v --remove-orphans -t 5 >/dev/null 2>&1 || true

# 2. images
log "building the base image (if missing) and the images"
timeout 1800 deploy/docker/build-images.sh
log "images ready"

# 3. the suite against compose (the apps and meshctl are already packaged; unit tests ran in .ci/run)
log "running the e2e suite against docker compose"
timeout 1800 ./mvnw -B -ntp verify -pl e2e -am \
  -De2e.target=compose -De2e.compose.project="$PROJECT" \
  -Dtest='io.shopmesh.e2e.**' -Dsurefire.failIfNoSpecifiedTests=false -DskipITs=true \
  -Dquarkus.container-image.build=false
log "e2e suite green against docker compose"
