#!/usr/bin/env bash
# Builds the JRE 17 base image for the shop's and the mesh's containers offline, from Debian packages
# only (no container registry): debootstrap a minimal bookworm with the JRE, iptables (for the pod
# init step) and CA certificates, then `docker import` it. Skips the work when the image exists.
#
#   deploy/docker/build-base-image.sh [IMAGE]        default shopmesh/jre17-base:bookworm
#   MIRROR=http://deb.debian.org/debian              Debian mirror used by debootstrap
#   FORCE=1                                          rebuild even if the image exists
set -euo pipefail

IMAGE="${1:-shopmesh/jre17-base:bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SUITE="${SUITE:-bookworm}"

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE exists, skipping (FORCE=1 rebuilds)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }

ROOTFS="$(mktemp -d /tmp/shopmesh-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
start=$(date +%s)

timeout 900 debootstrap --variant=minbase \
  --include=openjdk-17-jre-headless,iptables,iproute2,ca-certificates,curl \
  "$SUITE" "$ROOTFS" "$MIRROR"

# Slim the image: package caches, docs, man pages and locales are not needed at run time.
chroot "$ROOTFS" apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* \
  "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/log/*.log
# The sidecar runs as uid 1337 like istio-proxy, so the iptables rules can exclude its own traffic.
chroot "$ROOTFS" groupadd -g 1337 istio-proxy
chroot "$ROOTFS" useradd -u 1337 -g 1337 -M -d /nonexistent -s /usr/sbin/nologin istio-proxy

# shellcheck disable=SC2012 # one directory name without spaces, from a Debian package
JAVA_HOME_DIR="$(cd "$ROOTFS" && ls -d usr/lib/jvm/java-17-openjdk-* | head -1)"
tar -C "$ROOTFS" -c . | docker import \
  -c "ENV JAVA_HOME=/$JAVA_HOME_DIR" \
  -c "ENV PATH=/$JAVA_HOME_DIR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  -c "ENV LANG=C.UTF-8" \
  -c 'CMD ["/bin/bash"]' \
  - "$IMAGE"
echo "built $IMAGE in $(( $(date +%s) - start ))s"
