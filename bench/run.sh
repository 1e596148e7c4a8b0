#!/usr/bin/env bash
# The benchmark in one command (see docs/performance.md):
#   bench/run.sh                 full run, results into docs/performance.md (about 15 minutes)
#   bench/run.sh --smoke         short run for CI, results into bench/target/bench-smoke.md
#   bench/run.sh --only dataplane,controlplane,translation,startup   (any subset; --help for all flags)
# Builds the bench module and the mesh runtime first (and, for the start-up row, the shop's jars).
# Needs: JDK 17, and for the peer rows Debian's nginx, haproxy and wrk (apt-get install -y nginx
# haproxy wrk); without them those rows are skipped and a Java closed loop replaces wrk.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

smoke=0; startup=1; out_given=0
prev=""
for a in "$@"; do
  case "$a" in
    --smoke) smoke=1; startup=0 ;;
    --out|--out=*) out_given=1 ;;
  esac
  if [[ "$prev" == "--only" && "$a" != *startup* ]]; then startup=0; fi
  if [[ "$prev" == "--skip" && "$a" == *startup* ]]; then startup=0; fi
  case "$a" in --only=*) [[ "$a" == *startup* ]] || startup=0 ;; --skip=*) [[ "$a" != *startup* ]] || startup=0 ;; esac
  prev="$a"
done

if [[ "${BENCH_BUILD:-1}" == 1 ]]; then
  modules="bench"
  if [[ $startup == 1 ]]; then
    modules="bench,mesh-runtime/meshctl,frontend,product-v1,product-v2,order-service,payment-provider"
  fi
  echo "[bench] building $modules" >&2
  ./mvnw -q -B -ntp -pl "$modules" -am package -DskipTests >&2
fi

extra=()
if [[ $smoke == 0 && $out_given == 0 ]]; then extra+=(--out "$ROOT/docs/performance.md"); fi

exec java -Xms256m -Xmx1g -XX:+UseParallelGC \
  -Dbench.repo="$ROOT" -Dbench.command="bench/run.sh $*" \
  -cp "$ROOT/bench/target/mesh-bench.jar:$ROOT/bench/target/lib/*" \
  io.shopmesh.bench.BenchMain "$@" ${extra[@]+"${extra[@]}"}
