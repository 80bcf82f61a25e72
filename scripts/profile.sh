#!/usr/bin/env bash
# Where a request's CPU goes: builds the bench member in release mode with line tables (in its
# own target directory, so the benchmark's build is left alone), then runs `bench profile`,
# which serves the service and the one-round-trip reference, drives each with wrk while
# `perf record` samples the process, and writes bench/flame/*.svg and bench/profile.md.
#   scripts/profile.sh        5 s per target
#   scripts/profile.sh 10     10 s per target
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk redis-server perf; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed (Debian: sudo apt-get install -y wrk redis-server linux-perf)" >&2
    exit 1
  fi
done
export CARGO_TARGET_DIR=target/profiling CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
cargo build --release -p bench
exec target/profiling/release/bench profile "${1:-5}"
