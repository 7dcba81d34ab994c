#!/usr/bin/env bash
# bench/run.sh: measures the broker against the STS emulator with wrk, on
# 127.0.0.1 only, and prints the tables; see bench/RESULTS.md.
#
#   bench/run.sh [-d 10s] [-c 64] [-t 2] [-b 100000] [-r "2000 5000 8000"] [-a 3] [-p] [-q] [-s ABC] [-m LIMIT]
#
# -p pins the servers under test to CPU 1 and the load generators (wrk with
# one thread, stack rate) to CPU 0, so that they do not compete with what they
# measure.
#
# Besides wrk's closed-loop runs (at saturation their latency is only
# connections / throughput), scenario A offers each rate of -r requests a
# second to the broker (cache hits) and to the bare handler with bench/stack
# rate: open loop on -c connections, -d after a 2 s warm-up, each latency
# counted from the time the request was due (corrected for coordinated
# omission).
#
# The bare handler's throughput moves by a third between runs on a shared
# VM, so scenario A also alternates wrk runs of the bare handler and of the
# broker (cache hits, 1000 identities) -a times and reports each round's
# ratio and the median: the two sides of a ratio see the same machine.
#
# -s picks the scenarios: A (floor, cache hits, fixed rates, no cache), B
# (cold misses) and C (memory per cached identity, minutes); default ABC.
# -q (quick) is -s A. -m runs scenario C's broker with GOMEMLIMIT=LIMIT
# (e.g. 300MiB), to see resident memory when the GC is given a limit.
#
# Needs wrk (apt-get install -y wrk), go, curl and python3. Builds broker and
# bench/stack into a temporary directory, runs every scenario, and stops
# everything it started on exit. About 10 minutes on 2 cores (-q: 2).
set -euo pipefail

DUR=10s CONNS=64 THREADS=2 BIG=100000 RATES="2000 5000 8000" ROUNDS=3 SCENARIOS=ABC MEMLIMIT=
SERVER_CPU=() LOAD_CPU=()
while getopts d:c:t:b:r:a:pqs:m: opt; do
  case $opt in
    d) DUR=$OPTARG ;; c) CONNS=$OPTARG ;; t) THREADS=$OPTARG ;; b) BIG=$OPTARG ;; r) RATES=$OPTARG ;; a) ROUNDS=$OPTARG ;;
    p) SERVER_CPU=(taskset -c 1) LOAD_CPU=(taskset -c 0) THREADS=1 ;;
    q) SCENARIOS=A ;; s) SCENARIOS=$OPTARG ;; m) MEMLIMIT=$OPTARG ;;
    *) echo "usage: $0 [-d 10s] [-c 64] [-t 2] [-b 100000] [-r \"2000 5000 8000\"] [-a 3] [-p] [-q] [-s ABC] [-m LIMIT]" >&2; exit 2 ;;
  esac
done
# has X: whether scenario X runs.
has() { [[ $SCENARIOS == *$1* ]]; }

for tool in wrk go curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (wrk: apt-get install -y wrk)" >&2; exit 1; }
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The broker's logs (about 1 KB a request) go to files in $WORK: on tmpfs
# when there is one, so that the disk's writeback does not stall the run.
SHM=/dev/shm; [ -d "$SHM" ] && [ -w "$SHM" ] || SHM=/tmp
WORK=$(mktemp -d "$SHM/broker-bench.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# field FILE KEY prints one field of a JSON object.
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# rss PID prints the resident memory of PID in KiB.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# live BROKER_URL prints the broker's live heap at its last GC in KiB
# (go_gc_heap_live_bytes): resident memory minus the GC's headroom.
live() { curl -fsS "$1/metrics" | awk '/^go_gc_heap_live_bytes / {printf "%d", $2 / 1024}'; }

# sts_calls STATS_URL prints AssumeRoleWithWebIdentity + AssumeRole calls so far.
sts_calls() { curl -fsS "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(d.values()))'; }

# start_stack NAME ARGS... starts bench/stack serve in $WORK/NAME and waits for its endpoints.
start_stack() {
  local name=$1; shift
  mkdir -p "$WORK/$name"
  "${SERVER_CPU[@]}" "$WORK/stack" serve -dir "$WORK/$name" "$@" >"$WORK/$name/ep.json" 2>"$WORK/$name/stack.log" &
  PIDS+=($!)
  local pid=$!
  until [ -s "$WORK/$name/ep.json" ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name/stack.log" >&2; exit 1; }
    sleep 0.2
  done
}

# start_broker NAME [ENV...] starts a fresh broker on the stack's config,
# with ENV (NAME=VALUE) added to its environment; sets BROKER_PID.
start_broker() {
  local ep=$WORK/$1/ep.json
  env "${@:2}" "${SERVER_CPU[@]}" "$WORK/broker" serve --config "$(field "$ep" broker_config)" 2>"$WORK/$1/broker.log" &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  for _ in $(seq 100); do
    curl -fsS "$(field "$ep" broker_url)/readyz" >/dev/null 2>&1 && return
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$WORK/$1/broker.log" >&2
  exit 1
}

stop_broker() {
  kill "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
  : >"$WORK/$1/broker.log" # access logs are large
}

ROWS=()
# row SCENARIO RESULT_JSON STS_CALLS RSS_KIB adds one line to the report.
row() {
  ROWS+=("$(python3 - "$@" <<'EOF'
import json, sys
name, res, calls, rss = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
errs = sum(v for k, v in res.items() if k.startswith("err_") or k in ("non_200", "errors"))
if errs:
    print(f"bench: {name}: {errs} errors (non-2xx or socket)", file=sys.stderr)
per_k = 1000 * calls / res["requests"] if res["requests"] else 0
print(f"| {name} | {res['requests']} | {res['rps']:.0f} | {res['p50_ms']:.2f} | {res['p99_ms']:.2f} | {per_k:.1f} | {rss} | {errs} |")
EOF
)")
}

# rate_row TARGET RESULT_JSON prints one line of the fixed-rate report.
rate_row() {
  python3 - "$@" <<'EOF'
import json, sys
name, res = sys.argv[1], json.loads(sys.argv[2])
errs, unsent = res["non_200"] + res["errors"], res["unsent"]
if errs or unsent:
    print(f"bench: {name} at {res['rate_target']:.0f}/s: {errs} errors (non-200 or socket), {unsent} requests unsent", file=sys.stderr)
cell = f"{errs} (+{unsent} unsent)" if unsent else f"{errs}"
print(f"| {name} | {res['rate_target']:.0f} | {res['rps']:.0f} | {res['p50_ms']:.2f} | {res['p90_ms']:.2f} | "
      f"{res['p99_ms']:.2f} | {res['p999_ms']:.2f} | {res['max_ms']:.2f} | {cell} |")
EOF
}

# bench_rate URL TOKENS RATE prints stack rate's json: RATE req/s, open loop.
bench_rate() {
  "${LOAD_CPU[@]}" "$WORK/stack" rate -url "$1" -tokens "$2" -rate "$3" -d "$DUR" -c "$CONNS" -warmup 2s
}

# bench_wrk URL TOKENS prints wrk's RESULT json.
bench_wrk() {
  "${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency -s "$ROOT/bench/auth.lua" "$1" -- "$2" >"$WORK/wrk.out"
  grep '^RESULT ' "$WORK/wrk.out" | cut -d' ' -f2-
}

# warm URL TOKENS [load flags] sends one request per token, without wrk.
warm() { "${LOAD_CPU[@]}" "$WORK/stack" load -url "$1" -tokens "$2" -c 32 "${@:3}"; }

# report prints the tables of the scenarios that ran.
report() {
  echo
  echo "wrk -t$THREADS -c$CONNS -d$DUR --latency -s bench/auth.lua; $(nproc) cores; $(go version | cut -d' ' -f3); scenarios $SCENARIOS"
  echo "load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ ${#ROWS[@]} -gt 0 ]; then
    echo
    echo "| scenario | requests | req/s | p50 ms | p99 ms | STS calls / 1000 req | broker VmRSS KiB | errors |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${ROWS[@]}"
  fi
  if has A; then
    report_rounds
    report_rates
  fi
  if has B; then
    echo
    echo "cold pass: broker_credentials_served_total{cache=\"miss\"} = $MISSES"
  fi
  if has C; then
    echo
    [ -n "$MEMLIMIT" ] && echo "memory scenario's broker ran with GOMEMLIMIT=$MEMLIMIT" && echo
    printf '%s\n' "${MEM[@]}"
    echo
    echo "broker_cache_entries after $BIG identities: $ENTRIES (final + hop-1 entries)"
  fi
}

report_rounds() {
  echo
  echo "Alternating wrk runs (-d$DUR each): bare handler, then broker (cache hits, 1000 identities)"
  echo
  echo "| round | bare handler req/s | broker req/s | broker / bare handler |"
  echo "| --- | --- | --- | --- |"
  printf '%s\n' "${ROUND_ROWS[@]}"
  echo "| median | | | $(printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}') % |"
}

report_rates() {
  echo
  echo "Latency at fixed offered load (open loop, $CONNS connections, CO-corrected): stack rate -c$CONNS -d$DUR -warmup 2s,"
  echo "broker and floor alternating at each rate; each latency runs from the time its request was due to the end"
  echo "of its body (200s only); achieved = answers received during the -d window / -d."
  echo
  echo "| target | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${RATE_ROWS[@]}"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "building into $WORK"
(cd "$ROOT" && go build -o "$WORK/broker" ./cmd/broker && go build -o "$WORK/stack" ./bench/stack)

if has A; then
# --- A: 1000 RS256 identities (GitHub signs RS256): floor, hits, no cache ---
log "A: minting 1000 RS256 tokens"
start_stack a -identities 1000
EP=$WORK/a/ep.json
TOK=$(field "$EP" tokens)
head -1 "$TOK" >"$WORK/a/one.txt"
STATS=$(field "$EP" stats_url)

log "floor: bare Go handler"
"${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d2s -s "$ROOT/bench/auth.lua" "$(field "$EP" floor_url)" -- "$TOK" >/dev/null
row "floor: bare Go handler" "$(bench_wrk "$(field "$EP" floor_url)" "$TOK")" 0 "-"

log "cache hits, one identity"
start_broker a
URL=$(field "$EP" broker_url)/v1/credentials/prod-deploy
warm "$URL" "$WORK/a/one.txt" >/dev/null
"${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d2s -s "$ROOT/bench/auth.lua" "$URL" -- "$WORK/a/one.txt" >/dev/null
before=$(sts_calls "$STATS")
res=$(bench_wrk "$URL" "$WORK/a/one.txt")
row "broker, cache hits, 1 identity" "$res" $(($(sts_calls "$STATS") - before)) "$(rss "$BROKER_PID")"

log "cache hits, 1000 identities round-robin"
warm "$URL" "$TOK" >/dev/null
before=$(sts_calls "$STATS")
res=$(bench_wrk "$URL" "$TOK")
row "broker, cache hits, 1000 identities" "$res" $(($(sts_calls "$STATS") - before)) "$(rss "$BROKER_PID")"

# Alternating rounds: the ratio of two runs a few seconds apart.
ROUND_ROWS=() RATIOS=()
for i in $(seq "$ROUNDS"); do
  log "round $i of $ROUNDS: bare handler, then broker"
  f=$(bench_wrk "$(field "$EP" floor_url)" "$TOK" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rps"]))')
  b=$(bench_wrk "$URL" "$TOK" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rps"]))')
  RATIOS+=("$((100 * b / f))")
  ROUND_ROWS+=("| $i | $f | $b | $((100 * b / f)) % |")
done

# Open loop at fixed offered rates, the broker's cache warm. Broker and floor
# alternate at each rate so that both see the same state of the machine; the
# floor's rows are printed after the broker's.
RATE_ROWS=() FLOOR_ROWS=()
for r in $RATES; do
  log "open loop at $r req/s: broker (cache hits, 1000 identities), then floor"
  res=$(bench_rate "$URL" "$TOK" "$r")
  RATE_ROWS+=("$(rate_row "broker, cache hits, 1000 identities" "$res")")
  res=$(bench_rate "$(field "$EP" floor_url)" "$TOK" "$r")
  FLOOR_ROWS+=("$(rate_row "floor: bare Go handler" "$res")")
done
RATE_ROWS+=("${FLOOR_ROWS[@]}")
stop_broker a

log "no cache: verify + full chain per request"
NC=$(field "$EP" nocache_url)
"${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d2s -s "$ROOT/bench/auth.lua" "$NC" -- "$TOK" >/dev/null
before=$(sts_calls "$STATS")
res=$(bench_wrk "$NC" "$TOK")
row "no cache (per-job action)" "$res" $(($(sts_calls "$STATS") - before)) "-"
fi

if has B; then
# --- B: cold misses, 5 ms per STS call, 10 000 identities, one pass ---
log "B: minting 10000 RS256 tokens; STS latency 5ms"
start_stack b -identities 10000 -sts-latency 5ms
EP=$WORK/b/ep.json
start_broker b
URL=$(field "$EP" broker_url)/v1/credentials/prod-deploy
before=$(sts_calls "$(field "$EP" stats_url)")
res=$("$WORK/stack" load -url "$URL" -tokens "$(field "$EP" tokens)" -c "$CONNS")
row "broker, cold misses, 5 ms STS (one pass, Go client)" "$res" $(($(sts_calls "$(field "$EP" stats_url)") - before)) "$(rss "$BROKER_PID")"
MISSES=$(curl -fsS "$(field "$EP" broker_url)/metrics" | awk '/^broker_credentials_served_total\{.*cache="miss"/ {print $2}')
stop_broker b
fi

if has C; then
# --- C: memory per cached identity (ES256 tokens: fast to mint) ---
log "C: minting $BIG ES256 tokens"
start_stack c -identities "$BIG" -alg ES256
EP=$WORK/c/ep.json
TOK=$(field "$EP" tokens)
if [ -n "$MEMLIMIT" ]; then start_broker c "GOMEMLIMIT=$MEMLIMIT"; else start_broker c; fi
URL=$(field "$EP" broker_url)/v1/credentials/prod-deploy
warm "$URL" "$TOK" -n 1 >/dev/null
BURL=$(field "$EP" broker_url)
RSS0=$(rss "$BROKER_PID")
LIVE0=$(live "$BURL")
MEM=("| identities cached | broker VmRSS (KiB) | RSS bytes per identity | live heap (KiB) | live bytes per identity | load pass (s) |")
MEM+=("| --- | --- | --- | --- | --- | --- |")
MEM+=("| 1 | $RSS0 | - | $LIVE0 | - | - |")
done_n=1
for n in 10000 "$BIG"; do
  { [ "$n" -le "$done_n" ] || [ "$n" -gt "$BIG" ]; } && continue
  log "caching $n identities"
  res=$(warm "$URL" "$TOK" -from "$done_n" -n $((n - done_n)))
  done_n=$n
  r=$(rss "$BROKER_PID")
  l=$(live "$BURL")
  MEM+=("| $n | $r | $(((r - RSS0) * 1024 / (n - 1))) | $l | $(((l - LIVE0) * 1024 / (n - 1))) | $(field <(echo "$res") seconds) |")
done
ENTRIES=$(curl -fsS "$(field "$EP" broker_url)/metrics" | awk '/^broker_cache_entries / {print $2}')
stop_broker c
fi

report
