#!/usr/bin/env bash
# The shop on a kind cluster, under this mesh (default) or under real Istio (--istio), with the same
# manifests/ either way:
#   1. creates the kind cluster (kind-config.yaml) unless it exists
#   2. builds the images (deploy/docker/build-images.sh) and loads them into the cluster
#   3. installs the mesh: Istio's CRDs and mesh.yaml (istiod on the Kubernetes API, its webhooks,
#      the ingress gateway), or `istioctl install --set profile=demo` with --istio
#   4. the payment provider outside the mesh, reachable as api.payment-provider.com
#   5. labels the default namespace istio-injection=enabled and applies manifests/
#   6. waits for every pod Ready and every proxy in sync, and prints the walkthrough's first curl
#
#   deploy/kind/up.sh [--istio] [--skip-build]
#   KIND_CLUSTER=shopmesh   the cluster's name
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/deploy/kind"
CLUSTER="${KIND_CLUSTER:-shopmesh}"
MESH=shopmesh
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --istio) MESH=istio ;;
    --skip-build) BUILD=0 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "up.sh: unknown argument $arg (--istio, --skip-build)" >&2
      exit 2
      ;;
  esac
done

need() {
  command -v "$1" >/dev/null || {
    echo "up.sh: $1 is required ($2)" >&2
    exit 1
  }
}
need docker "the images and kind's node"
need kind "https://kind.sigs.k8s.io"
need kubectl "the Kubernetes client"
need openssl "the payment provider's certificates"
if [[ "$MESH" == istio ]]; then
  need istioctl "real Istio, --istio"
fi
log() { echo "[up.sh] $*"; }
KUBECTL=(kubectl --context "kind-$CLUSTER")

# 1. the cluster
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "cluster $CLUSTER exists"
else
  log "creating cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --config "$HERE/kind-config.yaml" --wait 120s
fi

# 2. images: the shop's always; the mesh's own only when it is the mesh
IMAGES=(example/product-service:v1 example/product-service:v2 example/frontend:latest
  example/order-service:latest example/payment-provider:latest)
if [[ "$MESH" == shopmesh ]]; then
  IMAGES+=(shopmesh/pilot:latest shopmesh/proxyv2:latest)
fi
if ((BUILD)); then
  "$ROOT/deploy/docker/build-images.sh"
fi
for image in "${IMAGES[@]}"; do
  log "loading $image"
  kind load docker-image --name "$CLUSTER" "$image"
done

# 3. the mesh
if [[ "$MESH" == shopmesh ]]; then
  log "installing the shop mesh: Istio's CRDs, istiod, webhooks, ingress gateway"
  "${KUBECTL[@]}" apply --server-side -f "$HERE/istio-crds.yaml"
  "${KUBECTL[@]}" wait --for condition=established --timeout=60s \
    crd/virtualservices.networking.istio.io crd/destinationrules.networking.istio.io \
    crd/gateways.networking.istio.io crd/serviceentries.networking.istio.io
  "${KUBECTL[@]}" apply -f "$HERE/mesh.yaml"
  "${KUBECTL[@]}" -n istio-system rollout status deployment/istiod --timeout=300s
else
  log "installing Istio: istioctl install --set profile=demo"
  istioctl --context "kind-$CLUSTER" install --set profile=demo -y
  # the demo profile's gateway Service is a LoadBalancer; publish its HTTP port on the NodePort
  # kind-config.yaml maps to the host's 8080
  "${KUBECTL[@]}" -n istio-system patch service istio-ingressgateway --type json -p \
    "$("$HERE/render.sh" gateway-nodeport-patch)"
fi
"${KUBECTL[@]}" -n istio-system rollout status deployment/istio-ingressgateway --timeout=300s

# 4. the payment provider, outside the mesh, with a CA its clients trust (its key stays in the
#    provider's namespace; the shop's namespace gets ca.crt only)
CERTS="$(mktemp -d)"
trap 'rm -rf "$CERTS"' EXIT
"${KUBECTL[@]}" create namespace payment-provider --dry-run=client -o yaml | "${KUBECTL[@]}" apply -f -
if ! "${KUBECTL[@]}" -n payment-provider get secret payment-provider-ca >/dev/null 2>&1; then
  # a re-run keeps the CA, so clients that trust it keep working
  "$HERE/render.sh" payment-ca "$CERTS"
  "${KUBECTL[@]}" -n payment-provider create secret generic payment-provider-ca \
    --from-file="$CERTS/ca.crt" --from-file="$CERTS/ca.key"
  "${KUBECTL[@]}" -n default create secret generic payment-provider-ca --from-file="$CERTS/ca.crt" \
    --dry-run=client -o yaml | "${KUBECTL[@]}" apply -f -
fi
# cluster DNS answers the provider's public name with its Service
"${KUBECTL[@]}" -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}' >"$CERTS/Corefile"
if ! grep -q 'api.payment-provider.com' "$CERTS/Corefile"; then
  "$HERE/render.sh" corefile "$CERTS/Corefile" >"$CERTS/Corefile.new"
  "${KUBECTL[@]}" -n kube-system create configmap coredns --from-file=Corefile="$CERTS/Corefile.new" \
    --dry-run=client -o yaml | "${KUBECTL[@]}" apply -f -
  "${KUBECTL[@]}" -n kube-system rollout restart deployment/coredns
  "${KUBECTL[@]}" -n kube-system rollout status deployment/coredns --timeout=120s
fi
"${KUBECTL[@]}" apply -f "$HERE/payment-provider.yaml"
"${KUBECTL[@]}" -n payment-provider rollout status deployment/payment-provider --timeout=300s

# 5. the shop, injected by the mesh's webhook
"${KUBECTL[@]}" label namespace default istio-injection=enabled --overwrite
"${KUBECTL[@]}" apply -n default -f "$ROOT/manifests/"

# 6. ready and in sync
"${KUBECTL[@]}" -n default wait --for=condition=Available deployment --all --timeout=600s
"${KUBECTL[@]}" -n default wait --for=condition=Ready pod --all --timeout=300s
# every pod of the shop has a sidecar, plus the ingress gateway
want=$(( $("${KUBECTL[@]}" -n default get pods --no-headers | wc -l) + 1 ))
log "waiting for all $want proxies to be in sync"
for _ in $(seq 1 120); do
  if [[ "$MESH" == shopmesh ]]; then
    status="$("${KUBECTL[@]}" get --raw \
      /api/v1/namespaces/istio-system/services/istiod:15014/proxy/debug/syncz 2>/dev/null || true)"
  else
    status="$(istioctl --context "kind-$CLUSTER" proxy-status 2>/dev/null || true)"
  fi
  if "$HERE/render.sh" all-synced "$MESH" "$want" <<<"$status"; then
    log "every proxy is in sync"
    break
  fi
  sleep 2
done
cat <<MSG
[up.sh] the shop runs on kind cluster $CLUSTER under $MESH. Try:
  curl -H 'Host: shop.example.com' http://localhost:8080/products
MSG
