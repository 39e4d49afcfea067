#!/usr/bin/env bash
# Go interop suite: Basalt driven by github.com/apache/rocketmq-client-go/v2.
# BASALT_BIN (optional) is passed through; default is ../../target/debug/basalt.
# Extra arguments go to `go test` (e.g. ./run.sh -v -run TestOrdered).
set -euo pipefail
if [[ -n "${BASALT_BIN:-}" && "${BASALT_BIN}" != /* ]]; then
  # Resolve a relative BASALT_BIN against the caller's directory before changing directory.
  BASALT_BIN="$(pwd)/${BASALT_BIN}"
fi
export BASALT_BIN="${BASALT_BIN:-}"
cd "$(dirname "$0")"
go test -count=1 -timeout 300s "$@" ./...
