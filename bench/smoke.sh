#!/usr/bin/env bash
# CI smoke of the benchmark (tens of seconds): every data plane path, convergence with 1 and 10
# simulated proxies, a small translation run. Checks that the harness works end to end and prints
# the figures; it asserts no timings. Skips the build when the bench jar is already there (CI runs
# it after ./mvnw verify); BENCH_BUILD=1 forces it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${BENCH_BUILD:-}" && -f "$ROOT/bench/target/mesh-bench.jar" && -d "$ROOT/bench/target/lib" ]]; then
  export BENCH_BUILD=0
fi
exec "$ROOT/bench/run.sh" --smoke "$@"
