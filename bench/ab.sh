#!/usr/bin/env bash
# A/B of two basalt builds in one sitting: each round starts a fresh
# `basalt start` of OLD, then of NEW, loads it with `basalt bench producer`
# and prints TPS, RT and the broker's CPU per message. Alternating rounds
# keep the machine's drift out of the comparison.
#
#   bash bench/ab.sh OLD_BIN NEW_BIN [FLUSH_MODE] [THREADS] [ROUNDS] [SECONDS]
#   e.g. bash bench/ab.sh /tmp/old/basalt target/release/basalt SYNC_FLUSH 256 2 5
set -euo pipefail
old=$1 new=$2 mode=${3:-ASYNC_FLUSH} threads=${4:-128} rounds=${5:-2} secs=${6:-5}
tick=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq "$rounds"); do
  for label in old new; do
    bin=$old; [ "$label" = new ] && bin=$new
    rm -rf "$work/data"; mkdir -p "$work"
    printf 'flushDiskType=%s\nautoCreateTopicEnable=true\n' "$mode" >"$work/broker.conf"
    "$bin" start --data-dir "$work/data" --namesrv-port 0 --broker-port 0 --bind 127.0.0.1 \
      -c "$work/broker.conf" --log-level warn >"$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -f "$work/data/run/ready.json" ] && break; sleep 0.1; done
    ns=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['namesrv'])" "$work/data/run/ready.json")
    cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
    "$new" bench producer -n "$ns" -t AbBench -s 124 -w "$threads" -d "$secs" --quiet \
      --json "$work/p.json" >/dev/null 2>&1
    cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 - "$work/p.json" "$label" "$mode" "$threads" "$((cpu1 - cpu0))" "$tick" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["best"]
label, mode, threads, ticks, hz = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
us = ticks / hz * 1e6 / max(b["messages"], 1)
print(f"{label} {mode} w={threads}: {b['tps']:.0f} msg/s, rt avg {b['rt']['avg_ms']:.2f} "
      f"p99 {b['rt']['p99_ms']:.2f} ms, failures {b['failures']}, broker CPU {us:.1f} us/msg")
PY
  done
done
