#!/usr/bin/env bash
# A saturation ratio measured in pairs, back to back so this VM's drift
# (a third, run to run) stays out of each ratio; the median is reported.
# Each side is a fresh server with the same ramp as compare.sh (5 s
# warm-up at 16 threads, then `basalt bench producer --ramp`); the pairs
# alternate which side runs first, so a steady drift cancels too.
#
#   bash bench/sync-ratio.sh [ROUNDS] [JSON_OUT]            # SYNC_FLUSH / ASYNC_FLUSH
#   PAIR=echo bash bench/sync-ratio.sh [ROUNDS] [JSON_OUT]  # Basalt (ASYNC_FLUSH) / echo server
#
# Default 3 rounds (~5 minutes). compare.sh runs both after its own runs
# (SYNC_PAIRS and ECHO_PAIRS rounds) and judges those targets on the
# medians. BIN=path skips the build.
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

ramp() { # ASYNC_FLUSH | SYNC_FLUSH | ECHO -> prints best TPS and its thread count
  rm -rf "$work/data"
  mkdir -p "$work/data/run"
  local ready="$work/data/run/ready.json"
  if [ "$1" = ECHO ]; then
    "$bin" bench echo --port 0 --bind 127.0.0.1 --ready-file "$ready" >"$work/server.log" 2>&1 &
  else
    printf 'flushDiskType=%s\nautoCreateTopicEnable=true\n' "$1" >"$work/broker.conf"
    "$bin" start --data-dir "$work/data" --namesrv-port 0 --broker-port 0 --bind 127.0.0.1 \
      -c "$work/broker.conf" --log-level warn >"$work/server.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do [ -f "$ready" ] && break; sleep 0.1; done
  local ns
  ns=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['namesrv'])" "$ready")
  "$bin" bench producer -n "$ns" -t BasaltBench -s 124 -w 16 -d 5 --quiet >/dev/null 2>&1
  "$bin" bench producer -n "$ns" -t BasaltBench -s 124 -w 8 --max-threads "${RAMP_MAX:-1024}" --ramp -d 4 \
    --quiet --json "$work/p.json" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import json,sys;b=json.load(open(sys.argv[1]))['best'];print(round(b['tps']), b['workers'])" "$work/p.json"
}

# base: the denominator's side; side: the numerator's. JSON keys keep the
# names (async_tps / sync_tps, echo_tps / basalt_tps).
case "${PAIR:-sync}" in
  sync) base=ASYNC_FLUSH side=SYNC_FLUSH bname=async sname=sync label="SYNC/ASYNC" ;;
  echo) base=ECHO side=ASYNC_FLUSH bname=echo sname=basalt label="Basalt/echo" ;;
  *) echo "PAIR is sync or echo" >&2; exit 2 ;;
esac

pairs=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    read -r a aw < <(ramp "$base")
    read -r s sw < <(ramp "$side")
  else
    read -r s sw < <(ramp "$side")
    read -r a aw < <(ramp "$base")
  fi
  ratio=$(python3 -c "print(f'{$s/$a:.2f}')")
  pairs+=("$a,$aw,$s,$sw")
  echo "round $r: $base $a msg/s (${aw} threads), $side $s msg/s (${sw} threads), ratio $ratio"
done
python3 - "$json_out" "$bname" "$sname" "$label" "${pairs[@]}" <<'PY'
import json, statistics, sys
out, bname, sname, label, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
pairs = []
for row in rows:
    a, aw, s, sw = (int(x) for x in row.split(","))
    pairs.append({f"{bname}_tps": a, f"{bname}_threads": aw, f"{sname}_tps": s, f"{sname}_threads": sw,
                  "ratio": round(s / a, 3)})
v = [p["ratio"] for p in pairs]
print(f"median {label} ratio over {len(v)} pairs: {statistics.median(v):.2f} "
      f"(min {min(v):.2f}, max {max(v):.2f})")
if out:
    with open(out, "w") as f:
        json.dump({"pairs": pairs, "median": statistics.median(v)}, f, indent=1)
PY
