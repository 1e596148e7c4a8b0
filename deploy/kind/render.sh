#!/usr/bin/env bash
# Helpers of up.sh, kept apart so that each can be run and checked on its own:
#   render.sh payment-ca DIR           the payment provider's CA (ca.crt, ca.key); the provider
#                                      issues its own server certificate with it at start
#   render.sh corefile FILE            the Corefile with api.payment-provider.com rewritten to the
#                                      provider's Service
#   render.sh gateway-nodeport-patch   JSON patch: Istio's gateway Service as NodePort 30080/30443
#   render.sh all-synced MESH N        reads istiod's syncz (shopmesh) or `istioctl proxy-status`
#                                      (istio) on stdin: true when N proxies are there, all in sync
set -euo pipefail
PROVIDER_HOST=api.payment-provider.com
PROVIDER_SVC=payment-provider.payment-provider.svc.cluster.local

case "${1:-}" in
  payment-ca)
    dir="$2"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/O=payment-provider/CN=payment-provider CA" \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    ;;
  corefile)
    # the rewrite goes first in the server block, before the kubernetes plugin answers
    awk -v host="$PROVIDER_HOST" -v svc="$PROVIDER_SVC" '
      { print }
      /^\.:53 *\{/ && !done { print "    rewrite name " host " " svc; done = 1 }
    ' "$2"
    ;;
  gateway-nodeport-patch)
    cat <<'JSON'
[{"op":"replace","path":"/spec/type","value":"NodePort"},
 {"op":"replace","path":"/spec/ports","value":[
   {"name":"status-port","port":15021,"targetPort":15021,"protocol":"TCP"},
   {"name":"http2","port":80,"targetPort":8080,"nodePort":30080,"protocol":"TCP"},
   {"name":"https","port":443,"targetPort":8443,"nodePort":30443,"protocol":"TCP"}]}]
JSON
    ;;
  all-synced)
    mesh="$2"
    want="$3"
    status="$(cat)"
    if [[ "$mesh" == shopmesh ]]; then
      have="$(grep -o '"proxy" *:' <<<"$status" | wc -l)"
      stale="$(grep -c -E 'STALE|NOT SENT' <<<"$status" || true)"
    else
      have="$(tail -n +2 <<<"$status" | grep -c . || true)"
      stale="$(tail -n +2 <<<"$status" | grep -c 'STALE' || true)"
    fi
    ((have >= want && stale == 0))
    ;;
  *)
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
