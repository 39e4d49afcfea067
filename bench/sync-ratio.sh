#!/usr/bin/env bash
# Basalt's SYNC_FLUSH / ASYNC_FLUSH saturation ratio, measured in pairs:
# each round starts a fresh broker in ASYNC_FLUSH, then one in SYNC_FLUSH,
# and runs the same ramp as compare.sh against each (5 s warm-up at 16
# threads, then `basalt bench producer --ramp`). Pairs run back to back so
# the machine's drift stays out of each ratio; the median is reported.
#
#   bash bench/sync-ratio.sh [ROUNDS] [JSON_OUT]   # default 3 rounds (~5 minutes)
#
# compare.sh runs it after its own runs (SYNC_PAIRS rounds) and reports the
# median next to its single-run ratio. BIN=path skips the build.
set -euo pipefail
rounds=${1:-3}
json_out=${2:-}
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin=${BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release -q -p basalt)
  bin="${CARGO_TARGET_DIR:-$root/target}/release/basalt"
fi
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

ramp() { # mode -> prints best TPS
  rm -rf "$work/data"
  printf 'flushDiskType=%s\nautoCreateTopicEnable=true\n' "$1" >"$work/broker.conf"
  "$bin" start --data-dir "$work/data" --namesrv-port 0 --broker-port 0 --bind 127.0.0.1 \
    -c "$work/broker.conf" --log-level warn >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -f "$work/data/run/ready.json" ] && break; sleep 0.1; done
  local ns
  ns=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['namesrv'])" "$work/data/run/ready.json")
  "$bin" bench producer -n "$ns" -t BasaltBench -s 124 -w 16 -d 5 --quiet >/dev/null 2>&1
  "$bin" bench producer -n "$ns" -t BasaltBench -s 124 -w 8 --max-threads "${RAMP_MAX:-1024}" --ramp -d 4 \
    --quiet --json "$work/p.json" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import json,sys;b=json.load(open(sys.argv[1]))['best'];print(round(b['tps']), b['workers'])" "$work/p.json"
}

pairs=()
for r in $(seq "$rounds"); do
  read -r a aw < <(ramp ASYNC_FLUSH)
  read -r s sw < <(ramp SYNC_FLUSH)
  ratio=$(python3 -c "print(f'{$s/$a:.2f}')")
  pairs+=("$a,$aw,$s,$sw")
  echo "round $r: ASYNC_FLUSH $a msg/s (${aw} threads), SYNC_FLUSH $s msg/s (${sw} threads), ratio $ratio"
done
python3 - "$json_out" "${pairs[@]}" <<'PY'
import json, statistics, sys
out, rows = sys.argv[1], sys.argv[2:]
pairs = []
for row in rows:
    a, aw, s, sw = (int(x) for x in row.split(","))
    pairs.append({"async_tps": a, "async_threads": aw, "sync_tps": s, "sync_threads": sw,
                  "ratio": round(s / a, 3)})
v = [p["ratio"] for p in pairs]
print(f"median SYNC/ASYNC ratio over {len(v)} pairs: {statistics.median(v):.2f} "
      f"(min {min(v):.2f}, max {max(v):.2f})")
if out:
    with open(out, "w") as f:
        json.dump({"pairs": pairs, "median": statistics.median(v)}, f, indent=1)
PY
