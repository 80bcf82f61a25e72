#!/usr/bin/env bash
# The benchmark: builds in release mode, then runs the bench member (bench/src/main.rs), which starts a private
# redis-server, serves the service (and a naive baseline and a bare-axum ceiling) on free ports,
# drives each with wrk, and prints the table it also writes to bench/results.md.
#   scripts/bench.sh            5 s per run, 3 interleaved runs per scenario (about 5 minutes, with the latency, scale, index and cluster experiments)
#   scripts/bench.sh 10         10 s per run
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk redis-server; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed (Debian/Ubuntu: sudo apt-get install -y $tool)" >&2
    exit 1
  fi
done
cargo build --release -p bench
exec target/release/bench "${1:-5}"
