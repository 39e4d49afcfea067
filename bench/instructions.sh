#!/usr/bin/env bash
# Broker user-space instructions per message, repeatable (this VM has no
# hardware counters and its speed drifts ±20%, which hides a 5% change in
# wall-clock A/B runs). Runs `basalt start` under callgrind twice, loads
# it with N1 and then N2 sync sends of 124 B (after 2000 warm-up sends),
# and prints (I(N2) - I(N1)) / (N2 - N1). Kernel work is not counted.
#
#   bash bench/instructions.sh BROKER_BIN [N1] [N2] [THREADS] [CLIENT_BIN]
#   e.g. bash bench/instructions.sh target/release/basalt 5000 25000 32
#   HEADER=json bash bench/instructions.sh ...   # JSON request headers, as
#   Java's clients send by default (the default here is the binary format)
set -euo pipefail
bin=$1 n1=${2:-5000} n2=${3:-25000} threads=${4:-32} client=${5:-$1}
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
run() { # sends -> instructions
  rm -rf "$work/data"
  printf 'autoCreateTopicEnable=true\n' >"$work/broker.conf"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" start --data-dir "$work/data" \
    --namesrv-port 0 --broker-port 0 --bind 127.0.0.1 -c "$work/broker.conf" --log-level warn \
    >"$work/server.log" 2>"$work/vg.err" &
  pid=$!
  for _ in $(seq 600); do [ -f "$work/data/run/ready.json" ] && break; sleep 0.1; done
  local ns
  ns=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['namesrv'])" "$work/data/run/ready.json")
  for n in 2000 "$1"; do
    "$client" bench producer -n "$ns" -t InstrBench -s 124 -w "$threads" --count "$n" \
      --timeout-ms 30000 --header "${HEADER:-rocketmq}" --quiet --json "$work/p.json" >/dev/null 2>&1
    python3 -c "import json,sys;f=json.load(open(sys.argv[1]))['best']['failures'];sys.exit(f>0)" "$work/p.json" \
      || { echo "sends failed" >&2; exit 1; }
  done
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  grep -m1 Collected "$work/vg.err" | awk '{print $4}' | tr -d ,
}
a=$(run "$n1"); b=$(run "$n2")
echo "broker instructions per message: $(( (b - a) / (n2 - n1) ))"
