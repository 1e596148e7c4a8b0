#!/bin/sh
# The pod's init step, as istio-init (istio-iptables) does it: nat rules in the pod's network
# namespace that send the app's outbound TCP to the sidecar's 15001 and inbound TCP to its 15006.
# Runs once per pod in a short-lived container with NET_ADMIN that shares the pod's namespace.
#
#   PROXY_UID / PROXY_GID   the sidecar's identity, whose own traffic is never redirected (1337)
#   PROXY_PORT              outbound capture port (15001)
#   INBOUND_CAPTURE_PORT    inbound capture port (15006)
#   INBOUND_PORTS_EXCLUDE   inbound ports left alone: the proxy's own 15000-15099 (admin, health,
#                           stats) like Istio's 15020/15021/15090 exclusions, and ssh (22)
#   OUTBOUND_PORTS_EXCLUDE  outbound destination ports left alone (empty)
set -eu

PROXY_UID="${PROXY_UID:-1337}"
PROXY_GID="${PROXY_GID:-1337}"
PROXY_PORT="${PROXY_PORT:-15001}"
INBOUND_CAPTURE_PORT="${INBOUND_CAPTURE_PORT:-15006}"
INBOUND_PORTS_EXCLUDE="${INBOUND_PORTS_EXCLUDE:-15000:15099,22}"
OUTBOUND_PORTS_EXCLUDE="${OUTBOUND_PORTS_EXCLUDE:-}"

ipt() { iptables -w 5 -t nat "$@"; }

# Idempotent like a re-run istio-init: start from empty chains.
if iptables -w 5 -t nat -S ISTIO_OUTPUT >/dev/null 2>&1; then
  ipt -D PREROUTING -p tcp -j ISTIO_INBOUND 2>/dev/null || true
  ipt -D OUTPUT -p tcp -j ISTIO_OUTPUT 2>/dev/null || true
  for c in ISTIO_INBOUND ISTIO_IN_REDIRECT ISTIO_REDIRECT ISTIO_OUTPUT; do
    ipt -F "$c" 2>/dev/null || true
    ipt -X "$c" 2>/dev/null || true
  done
fi

ipt -N ISTIO_INBOUND
ipt -N ISTIO_REDIRECT
ipt -N ISTIO_IN_REDIRECT
ipt -N ISTIO_OUTPUT

# Outbound: everything TCP the app sends goes to the sidecar's virtualOutbound listener.
ipt -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports "$PROXY_PORT"
# Inbound: everything TCP that arrives goes to the sidecar's virtualInbound listener.
ipt -A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports "$INBOUND_CAPTURE_PORT"

ipt -A PREROUTING -p tcp -j ISTIO_INBOUND
for p in $(echo "$INBOUND_PORTS_EXCLUDE" | tr ',' ' '); do
  ipt -A ISTIO_INBOUND -p tcp --dport "$p" -j RETURN
done
ipt -A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT

ipt -A OUTPUT -p tcp -j ISTIO_OUTPUT
for p in $(echo "$OUTBOUND_PORTS_EXCLUDE" | tr ',' ' '); do
  ipt -A ISTIO_OUTPUT -p tcp --dport "$p" -j RETURN
done
# Istio's ISTIO_OUTPUT, in its order. Left out: the rules that send the proxy's own calls to its
# pod IP back through inbound (an app calling itself through its Service); this proxy reaches its
# app at podIP:port without binding 127.0.0.6, so those rules would loop it.
ipt -A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN
ipt -A ISTIO_OUTPUT -o lo -m owner ! --uid-owner "$PROXY_UID" -j RETURN
ipt -A ISTIO_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
ipt -A ISTIO_OUTPUT -o lo -m owner ! --gid-owner "$PROXY_GID" -j RETURN
ipt -A ISTIO_OUTPUT -m owner --gid-owner "$PROXY_GID" -j RETURN
ipt -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
ipt -A ISTIO_OUTPUT -j ISTIO_REDIRECT

echo "istio-iptables: outbound TCP -> $PROXY_PORT, inbound TCP -> $INBOUND_CAPTURE_PORT (except $INBOUND_PORTS_EXCLUDE), uid/gid $PROXY_UID/$PROXY_GID excluded"
iptables -w 5 -t nat -S
