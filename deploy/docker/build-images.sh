#!/usr/bin/env bash
# Builds every container image of the shop and the mesh into the local Docker daemon with Jib:
#   example/product-service:v1, example/product-service:v2, example/frontend:latest,
#   example/order-service:latest, example/payment-provider:latest (Quarkus, quarkus-container-image-jib)
#   shopmesh/pilot:latest (istiod), shopmesh/proxyv2:latest (sidecar, gateway, istio-init)
#
#   deploy/docker/build-images.sh                 on the offline base image (built first if missing)
#   BASE_IMAGE=eclipse-temurin:17-jre deploy/docker/build-images.sh    on a public JRE image instead
#   MVN_ARGS="-o"                                 extra Maven arguments
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

OFFLINE_BASE="shopmesh/jre17-base:bookworm"
BASE_IMAGE="${BASE_IMAGE:-docker://$OFFLINE_BASE}"
if [[ "$BASE_IMAGE" == "docker://$OFFLINE_BASE" ]]; then
  "$ROOT/deploy/docker/build-base-image.sh" "$OFFLINE_BASE"
fi

start=$(date +%s)
# One reactor: the Quarkus apps build their images in their package phase when
# quarkus.container-image.build=true; the mesh runtime's come from meshctl's container-images profile.
# shellcheck disable=SC2086
timeout 1200 ./mvnw -B -q -ntp package -DskipTests ${MVN_ARGS:-} \
  -pl product-v1,product-v2,frontend,order-service,payment-provider,mesh-runtime/meshctl -am \
  -Pcontainer-images \
  -Dshopmesh.base-image="$BASE_IMAGE" \
  -Dquarkus.container-image.build=true \
  -Dquarkus.jib.base-jvm-image="$BASE_IMAGE"
echo "images built in $(( $(date +%s) - start ))s:"
docker images --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' \
  | grep -E 'example/|shopmesh/(pilot|proxyv2)' || true
