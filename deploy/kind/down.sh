#!/usr/bin/env bash
# Deletes the kind cluster deploy/kind/up.sh created, and everything in it.
#   deploy/kind/down.sh        KIND_CLUSTER=shopmesh   the cluster's name
set -euo pipefail
CLUSTER="${KIND_CLUSTER:-shopmesh}"
command -v kind >/dev/null || {
  echo "down.sh: kind is required" >&2
  exit 1
}
kind delete cluster --name "$CLUSTER"
