#!/usr/bin/env bash
# Side-by-side: Apache RocketMQ vs Basalt vs a bare echo server, same machine,
# same load tools, one run. Writes docs/PERFORMANCE.md and docs/performance.json.
#
#   bash bench/compare.sh            # full run (~17 minutes on 2 cores)
#   QUICK=1 bash bench/compare.sh    # short steps, for trying the script
#
# Needs: java (17+), mvn, cargo, python3, curl. Jars come from Maven Central
# into bench/.cache (ignored); nothing fetched is committed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="$here/.cache"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$cache/run/$stamp"
mkdir -p "$out"

# ---- settings --------------------------------------------------------------
SIZE="${SIZE:-124}"                  # body bytes
RAMP_START="${RAMP_START:-8}"        # first thread count; doubled each step
RAMP_MAX="${RAMP_MAX:-1024}"         # cap on the thread count; ramps end earlier once TPS stops rising
STEP_SECS="${STEP_SECS:-4}"          # basalt bench producer: seconds per step
# Apache's Producer prints TPS over a 10 s sliding window, and each step is
# a new JVM: its TPS climbs for ~25 s while the client compiles (measured
# against Basalt at 32 threads: 14 K at 18 s, 25-26 K from 27 s on), so
# the last window must start after that.
JAVA_STEP_SECS="${JAVA_STEP_SECS:-35}"
CONSUME_SECS="${CONSUME_SECS:-5}"          # end-to-end latency run
CONSUME_BACKLOG="${CONSUME_BACKLOG:-1000000}" # messages written, then drained and timed
CONSUME_MAX_SECS="${CONSUME_MAX_SECS:-60}"  # cap on the drain
SYNC_PAIRS="${SYNC_PAIRS:-3}"         # back-to-back ASYNC/SYNC pairs for the SYNC/ASYNC ratio (0 = skip)
ECHO_PAIRS="${ECHO_PAIRS:-3}"         # back-to-back echo/Basalt pairs for the Basalt/echo ratio (0 = skip)
WARMUP_SECS="${WARMUP_SECS:-5}"       # discarded load after ready (JIT, page cache)
FLUSH_MODES="${FLUSH_MODES:-ASYNC_FLUSH SYNC_FLUSH}"
APACHE_NS_PORT="${APACHE_NS_PORT:-9876}"
APACHE_BROKER_PORT="${APACHE_BROKER_PORT:-10911}"
# runserver.sh / runbroker.sh defaults (namesrv 4g, broker 8g heap, G1,
# AlwaysPreTouch on the broker), heaps scaled to this 2-core machine.
NS_JVM="${NS_JVM:--server -Xms1g -Xmx1g -Xmn512m -XX:+UseG1GC -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0 -XX:-OmitStackTraceInFastThrow}"
BROKER_JVM="${BROKER_JVM:--server -Xms2g -Xmx2g -XX:+UseG1GC -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0 -XX:-OmitStackTraceInFastThrow -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=4g -XX:-UseLargePages}"
CLIENT_JVM="${CLIENT_JVM:--Xms1g -Xmx1g -XX:+UseG1GC}"
if [ -n "${QUICK:-}" ]; then
  STEP_SECS=2; JAVA_STEP_SECS=13; WARMUP_SECS=2; RAMP_MAX=16; CONSUME_SECS=2; FLUSH_MODES=ASYNC_FLUSH
  CONSUME_BACKLOG=50000
fi
TOPIC=BasaltBench
BACKLOG_TOPIC=BasaltBacklog
export ROCKETMQ_HOME="$cache/home"
mkdir -p "$ROCKETMQ_HOME"

log() { printf '[compare %s] %s\n' "$(date -u +%T)" "$*" >&2; }

# ---- build and fetch ---------------------------------------------------------
log "fetching Apache RocketMQ jars (cached)"
bash "$here/fetch-apache.sh"
log "building basalt (release)"
(cd "$root" && cargo build --release -q -p basalt)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
BIN="$target_dir/release/basalt"
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }

# ---- process bookkeeping -----------------------------------------------------
started=()
cleanup() {
  for p in "${started[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
# Sum of a /proc/PID/status field (kB) over pids.
status_kb() { local f="$1"; shift; local s=0 v; for p in "$@"; do
  v=$(awk -v f="$f:" '$1==f {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); s=$((s + ${v:-0})); done; echo "$s"; }
# utime+stime ticks over pids.
cpu_ticks() { local s=0 v; for p in "$@"; do
  v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); s=$((s + ${v:-0})); done; echo "$s"; }
CLK_TCK=$(getconf CLK_TCK)

stop_pids() {
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

# Waits until file $1 contains $2 (or exists, with $2 empty) while pid $3
# lives; up to 120 s.
wait_for() {
  for _ in $(seq 12000); do
    kill -0 "$3" 2>/dev/null || { echo "process $3 exited; see $(dirname "$1")" >&2; return 1; }
    if [ -z "$2" ]; then [ -s "$1" ] && return 0
    else grep -q "$2" "$1" 2>/dev/null && return 0; fi
    sleep 0.01
  done
  echo "timed out waiting for $1 ($2)" >&2; return 1
}

# ---- servers: each sets NS, PIDS, READY_MS -------------------------------------
start_echo() {
  local dir="$out/echo"; mkdir -p "$dir"
  local t0; t0=$(now_ms)
  "$BIN" bench echo --port 0 --ready-file "$dir/ready.json" >"$dir/server.log" 2>&1 &
  local pid=$!; started+=("$pid")
  wait_for "$dir/ready.json" "" "$pid"
  READY_MS=$(( $(now_ms) - t0 ))
  NS=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['namesrv'])" "$dir/ready.json")
  PIDS=("$pid")
}

start_basalt() { # flush mode
  local dir="$out/basalt-$1"; mkdir -p "$dir"
  printf 'flushDiskType=%s\nautoCreateTopicEnable=true\n' "$1" >"$dir/broker.conf"
  local t0; t0=$(now_ms)
  "$BIN" start --data-dir "$dir/data" --namesrv-port 0 --broker-port 0 --bind 127.0.0.1 \
    -c "$dir/broker.conf" --log-level warn >"$dir/server.log" 2>&1 &
  local pid=$!; started+=("$pid")
  wait_for "$dir/data/run/ready.json" "" "$pid"
  READY_MS=$(( $(now_ms) - t0 ))
  NS=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['namesrv'])" "$dir/data/run/ready.json")
  PIDS=("$pid")
}

start_apache() { # flush mode
  local dir="$out/apache-$1"; mkdir -p "$dir/store"
  cat >"$dir/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
listenPort=$APACHE_BROKER_PORT
namesrvAddr=127.0.0.1:$APACHE_NS_PORT
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
flushDiskType=$1
autoCreateTopicEnable=true
diskMaxUsedSpaceRatio=95
EOF
  printf 'listenPort=%s\n' "$APACHE_NS_PORT" >"$dir/namesrv.properties"
  local t0; t0=$(now_ms)
  # shellcheck disable=SC2086
  (cd "$dir" && exec java $NS_JVM -Duser.home="$dir" -cp "$cache/namesrv/lib/*" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c namesrv.properties) >"$dir/namesrv.out" 2>&1 &
  local ns_pid=$!; started+=("$ns_pid")
  wait_for "$dir/namesrv.out" "boot success" "$ns_pid"
  local ns_ms=$(( $(now_ms) - t0 ))
  t0=$(now_ms)
  # shellcheck disable=SC2086
  (cd "$dir" && exec java $BROKER_JVM -Duser.home="$dir" -cp "$cache/broker/lib/*" \
    org.apache.rocketmq.broker.BrokerStartup -c broker.conf) >"$dir/broker.out" 2>&1 &
  local b_pid=$!; started+=("$b_pid")
  wait_for "$dir/broker.out" "boot success" "$b_pid"
  local b_ms=$(( $(now_ms) - t0 ))
  READY_MS=$(( ns_ms + b_ms ))
  APACHE_READY_DETAIL="namesrv ${ns_ms} ms + broker ${b_ms} ms"
  NS="127.0.0.1:$APACHE_NS_PORT"
  PIDS=("$b_pid" "$ns_pid")
}

# ---- load --------------------------------------------------------------------
# Apache's benchmark.Producer, threads doubled until TPS stops rising by >5%
# (two steps in a row).
# It prints TPS and average RT over a 10 s sliding window and the max RT
# since start; the last line of each step is taken.
java_ramp() { # label
  local dir="$out/$1/java"; mkdir -p "$dir"
  local w=$RAMP_START best=0 flat=0 steps=()
  while [ "$w" -le "$RAMP_MAX" ]; do
    # shellcheck disable=SC2086
    (exec java $CLIENT_JVM -Duser.home="$dir" -cp "$cache/example/lib/*" \
      org.apache.rocketmq.example.benchmark.Producer -n "$NS" -t "$TOPIC" -s "$SIZE" -w "$w" -ri 1000) \
      >"$dir/w$w.log" 2>&1 &
    local jp=$!; started+=("$jp")
    # CPU of server and client over the last 10 s, the Producer's window:
    # the two share the machine, so each one's cost per message bounds
    # the TPS the pair can reach.
    sleep $(( JAVA_STEP_SECS > 10 ? JAVA_STEP_SECS - 10 : 0 ))
    local s0 j0 s1 j1
    s0=$(cpu_ticks "${PIDS[@]}"); j0=$(cpu_ticks "$jp")
    sleep 10
    s1=$(cpu_ticks "${PIDS[@]}"); j1=$(cpu_ticks "$jp")
    stop_pids "$jp"
    local line tps avg max sf rf
    line=$(grep 'Send TPS' "$dir/w$w.log" | tail -1 || true)
    tps=$(sed -n 's/.*Send TPS: *\([0-9]*\).*/\1/p' <<<"$line"); tps=${tps:-0}
    max=$(sed -n 's/.*Max RT(ms): *\([0-9]*\).*/\1/p' <<<"$line"); max=${max:-0}
    avg=$(sed -n 's/.*Average RT(ms): *\([0-9.]*\).*/\1/p' <<<"$line"); avg=${avg:-0}
    sf=$(sed -n 's/.*Send Failed: *\([0-9]*\).*/\1/p' <<<"$line"); sf=${sf:-0}
    rf=$(sed -n 's/.*Response Failed: *\([0-9]*\).*/\1/p' <<<"$line"); rf=${rf:-0}
    log "  apache Producer -w $w: $tps msg/s, avg $avg ms, max $max ms, failed $sf/$rf"
    steps+=("{\"workers\":$w,\"tps\":$tps,\"avg_ms\":$avg,\"max_ms\":$max,\"send_failed\":$sf,\"response_failed\":$rf,\"server_ticks\":$((s1 - s0)),\"client_ticks\":$((j1 - j0)),\"clk_tck\":$CLK_TCK}")
    # Like `basalt bench --ramp`: two steps in a row without a 5% rise
    # over the best so far end the ramp (one noisy step does not).
    if [ "$tps" -le $(( best + best / 20 )) ]; then flat=$(( flat + 1 )); else flat=0; fi
    [ "$tps" -gt "$best" ] && best=$tps
    [ "$flat" -ge 2 ] && break
    w=$(( w * 2 ))
  done
  (IFS=,; echo "[${steps[*]}]") >"$out/$1/java.json"
}

basalt_ramp() { # label
  "$BIN" bench producer -n "$NS" -t "$TOPIC" -s "$SIZE" -w "$RAMP_START" --max-threads "$RAMP_MAX" \
    --ramp -d "$STEP_SECS" --quiet --json "$out/$1/producer.json" >"$out/$1/producer.log" 2>&1
  grep -E 'summary|ramp' "$out/$1/producer.log" | sed 's/^/  /' >&2
}

consume() { # label
  # A fixed backlog on a topic of its own, the same for every target: written
  # first (not timed), then drained whole from offset 0; the rate is the
  # backlog over the drain time. (Draining what the ramps left measured a
  # backlog that differed per target and run.)
  "$BIN" bench producer -n "$NS" -t "$BACKLOG_TOPIC" -s "$SIZE" -w 64 --count "$CONSUME_BACKLOG" \
    --quiet --json "$out/$1/backlog-producer.json" >"$out/$1/backlog-producer.log" 2>&1
  "$BIN" bench consumer -n "$NS" -t "$BACKLOG_TOPIC" --from earliest --drain -d "$CONSUME_MAX_SECS" \
    --quiet --json "$out/$1/consumer.json" >"$out/$1/consumer.log" 2>&1
  # Then end-to-end latency under a fixed 16-thread load.
  "$BIN" bench consumer -n "$NS" -t "$TOPIC" --from latest -d $(( CONSUME_SECS + 1 )) --quiet \
    --json "$out/$1/e2e.json" >"$out/$1/e2e.log" 2>&1 &
  local cp=$!
  "$BIN" bench producer -n "$NS" -t "$TOPIC" -s "$SIZE" -w 16 -d "$CONSUME_SECS" --quiet \
    --json "$out/$1/e2e-producer.json" >"$out/$1/e2e-producer.log" 2>&1
  wait "$cp"
  grep summary "$out/$1/backlog-producer.log" "$out/$1/consumer.log" "$out/$1/e2e.log" | sed 's/^/  /' >&2
}

run_target() { # label start-fn [flush]
  local label="$1"; shift
  mkdir -p "$out/$label"
  APACHE_READY_DETAIL=""
  log "$label: starting"
  "$@"
  sleep 1
  local idle; idle=$(status_kb VmRSS "${PIDS[@]}")
  log "$label: ready in $READY_MS ms ${APACHE_READY_DETAIL}, idle RSS $((idle / 1024)) MiB"
  "$BIN" bench producer -n "$NS" -t "$TOPIC" -s "$SIZE" -w 16 -d "$WARMUP_SECS" --quiet \
    >"$out/$label/warmup.log" 2>&1 || log "$label: warmup failed (see warmup.log)"
  java_ramp "$label"
  local c0; c0=$(cpu_ticks "${PIDS[@]}")
  basalt_ramp "$label"
  local c1; c1=$(cpu_ticks "${PIDS[@]}")
  if [[ "$label" == *-ASYNC_FLUSH ]]; then
    consume "$label"
  fi
  local rss; rss=$(status_kb VmRSS "${PIDS[@]}")
  local hwm; hwm=$(status_kb VmHWM "${PIDS[@]}")
  local anon; anon=$(status_kb RssAnon "${PIDS[@]}")
  local file; file=$(status_kb RssFile "${PIDS[@]}")
  cat >"$out/$label/server.json" <<EOF
{"ready_ms":$READY_MS,"ready_detail":"$APACHE_READY_DETAIL","idle_rss_kb":$idle,"end_rss_kb":$rss,"peak_rss_kb":$hwm,"end_rss_anon_kb":$anon,"end_rss_file_kb":$file,"cpu_ticks_basalt_ramp":$((c1 - c0)),"clk_tck":$CLK_TCK}
EOF
  stop_pids "${PIDS[@]}"
  [ -n "${KEEP_DATA:-}" ] || rm -rf "$out/$label/data" "$out/$label/store"
  log "$label: peak RSS $((hwm / 1024)) MiB; stopped"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(now_ms)
run_target echo start_echo
for mode in $FLUSH_MODES; do
  run_target "basalt-$mode" start_basalt "$mode"
  run_target "apache-$mode" start_apache "$mode"
done
# SYNC_FLUSH/ASYNC_FLUSH from back-to-back pairs: the runs above put the two
# modes minutes apart, and this VM's speed drifts more than the margin.
if [ -z "${QUICK:-}" ] && [ "${SYNC_PAIRS:-3}" -gt 0 ] && [[ "$FLUSH_MODES" == *ASYNC_FLUSH* ]] \
  && [[ "$FLUSH_MODES" == *" SYNC_FLUSH"* || "$FLUSH_MODES" == SYNC_FLUSH* ]]; then
  log "SYNC_FLUSH/ASYNC_FLUSH pairs (${SYNC_PAIRS:-3})"
  BIN="$BIN" RAMP_MAX="$RAMP_MAX" bash "$here/sync-ratio.sh" "${SYNC_PAIRS:-3}" "$out/sync_ratio.json" \
    | while read -r line; do log "  $line"; done
fi
# Basalt/echo the same way: the echo server ran first, Basalt minutes later.
if [ -z "${QUICK:-}" ] && [ "${ECHO_PAIRS:-3}" -gt 0 ] && [[ "$FLUSH_MODES" == *ASYNC_FLUSH* ]]; then
  log "Basalt/echo pairs (${ECHO_PAIRS:-3})"
  PAIR=echo BIN="$BIN" RAMP_MAX="$RAMP_MAX" bash "$here/sync-ratio.sh" "${ECHO_PAIRS:-3}" "$out/echo_ratio.json" \
    | while read -r line; do log "  $line"; done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

commit=$(git -C "$root" rev-parse HEAD)
dirty=$(git -C "$root" status --porcelain --untracked-files=no | wc -l)
python3 "$here/report.py" "$out" "$root/docs" \
  --commit "$commit" --dirty "$dirty" --load-before "$load_before" --load-after "$load_after" \
  --seconds $(( ($(now_ms) - t_start) / 1000 )) \
  --settings "WARMUP_SECS=$WARMUP_SECS SIZE=$SIZE RAMP_START=$RAMP_START RAMP_MAX=$RAMP_MAX STEP_SECS=$STEP_SECS JAVA_STEP_SECS=$JAVA_STEP_SECS CONSUME_SECS=$CONSUME_SECS CONSUME_BACKLOG=$CONSUME_BACKLOG FLUSH_MODES='$FLUSH_MODES' SYNC_PAIRS=$SYNC_PAIRS ECHO_PAIRS=$ECHO_PAIRS" \
  --ns-jvm "$NS_JVM" --broker-jvm "$BROKER_JVM" --client-jvm "$CLIENT_JVM" --bin "$BIN"
log "wrote docs/PERFORMANCE.md and docs/performance.json (raw logs in $out)"
