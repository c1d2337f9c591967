#!/usr/bin/env bash
# Parley and llama.cpp's llama-server on the same GGUF and thread count, measured in
# one run by bench/messages_bench.py.
#
#   LLAMA_SERVER=/path/to/llama-server bench/compare_llama_server.sh single [options]
#   LLAMA_SERVER=/path/to/llama-server SLOTS=8 bench/compare_llama_server.sh concurrency [options]
#   LLAMA_SERVER=/path/to/llama-server bench/compare_llama_server.sh batch [options]
#
# single: bench/messages_bench.py (one stream); concurrency: bench/concurrency_bench.py.
# batch: bench/batch_bench.py, ROUNDS (default 2) rounds of: Parley on its defaults
# running the requests as one Message Batch, then one by one; llama-server restarted at
# each --parallel P of PARALLEL (default "8 16 32"), kept full by P clients; the order
# reversed every other round, then the summary table (median tok/s, range, ratios).
# The concurrency and batch modes also report each server's resident memory (peak RSS
# during each phase, from /proc, by bench/peak_rss.py).
# SLOTS sequences in parallel on both servers, CTX tokens of context each (DEFAULTS=1:
# neither is given, each server runs on its own defaults); PEER_FLAGS are
# extra llama-server flags and PARLEY_OPTIONS extra Parley model options as JSON members,
# e.g. PEER_FLAGS="-fa off" PARLEY_OPTIONS='"flash_attention": "off"'.
#
# llama-server must be built from the llama.cpp tree that ships inside the
# llama-cpp-python sdist of the pinned version, with the flags the Makefile gives
# Parley's build (native, no AMX), so both run the same engine:
#   pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 && tar xzf llama_cpp_python-0.3.36.tar.gz
#   NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
#   cmake -S llama_cpp_python-0.3.36/vendor/llama.cpp -B build -DCMAKE_BUILD_TYPE=Release \
#         -DGGML_NATIVE=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
#         -DCMAKE_C_FLAGS="$NO_AMX" -DCMAKE_CXX_FLAGS="$NO_AMX"
#   cmake --build build --target llama-server -j"$(nproc)"
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LLAMA_SERVER:?set LLAMA_SERVER to the llama-server binary}"
MODE=${1:-single}; shift || true
case "$MODE" in
  single) BENCH=bench/messages_bench.py ;;
  concurrency) BENCH=bench/concurrency_bench.py ;;
  batch) BENCH=bench/batch_bench.py ;;
  *) echo "usage: $0 single|concurrency|batch [bench options]" >&2; exit 2 ;;
esac
THREADS=${THREADS:-$(nproc)}
SLOTS=${SLOTS:-1}
CTX=${CTX:-8192}
PARLEY_PORT=${PARLEY_PORT:-8090}
PEER_PORT=${PEER_PORT:-8091}
GGUF=$(.venv/bin/python -c 'from parley.backends.common.gguf import resolve_gguf; print(resolve_gguf("bundled:smollm2"))')
DATA=$(mktemp -d)
KEY=sk-parley-api01-benchmark000000000000000000000000000000000000000000
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$DATA"' EXIT

wait_for() {
    for _ in $(seq 240); do curl -sf "$1" >/dev/null && return; sleep 0.5; done
    echo "$1 did not answer" >&2; exit 1
}

if [ "$MODE" = batch ]; then
    # Parley on its defaults: only the GGUF and the thread count are given.
    PARLEY_DATA_DIR=$DATA PARLEY_AUTH__BOOTSTRAP_API_KEY=$KEY \
    PARLEY_MODELS="[{\"id\": \"smollm2-135m-instruct\", \"options\": {\"gguf\": \"$GGUF\", \"n_threads\": $THREADS${PARLEY_OPTIONS:+, $PARLEY_OPTIONS}}}]" \
        .venv/bin/parley serve --port "$PARLEY_PORT" > "$DATA/parley.log" 2>&1 &
    PARLEY=$!
    wait_for "http://127.0.0.1:$PARLEY_PORT/"
    LINES=$DATA/lines.jsonl
    parley_round() {
        .venv/bin/python "$BENCH" --api-key "$KEY" --base-url "http://127.0.0.1:$PARLEY_PORT" \
            --mode batch --label "parley batch" --pid "$PARLEY" --json "$@" | tee -a "$LINES"
    }
    peer_round() {
        for P in ${PARALLEL:-8 16 32}; do
            "$LLAMA_SERVER" -m "$GGUF" --host 127.0.0.1 --port "$PEER_PORT" -t "$THREADS" \
                -tb "$THREADS" --parallel "$P" ${PEER_FLAGS:-} > "$DATA/llama-server-$P.log" 2>&1 &
            PEER=$!
            wait_for "http://127.0.0.1:$PEER_PORT/health"
            .venv/bin/python "$BENCH" --base-url "http://127.0.0.1:$PEER_PORT" --mode clients \
                --clients "$P" --label "llama-server -np $P" --pid "$PEER" --json "$@" | tee -a "$LINES"
            kill "$PEER"; wait "$PEER" 2>/dev/null || true
        done
    }
    for ROUND in $(seq "${ROUNDS:-2}"); do
        if [ $((ROUND % 2)) = 1 ]; then parley_round "$@"; peer_round "$@"
        else peer_round "$@"; parley_round "$@"; fi
        .venv/bin/python "$BENCH" --api-key "$KEY" --base-url "http://127.0.0.1:$PARLEY_PORT" \
            --mode one-by-one --label "parley one by one" --pid "$PARLEY" --json "$@" | tee -a "$LINES"
    done
    echo
    .venv/bin/python "$BENCH" --summarize "$LINES"
    exit 0
fi

# DEFAULTS=1: each server on its own defaults (slots, context, cache, flash attention).
if [ "${DEFAULTS:-0}" = 1 ]; then SHAPE=(); SIZE=""
else SHAPE=(-c $((SLOTS * CTX)) --parallel "$SLOTS" --no-kv-unified)
     SIZE=", \"slots\": $SLOTS, \"ctx_per_slot\": $CTX"; fi
"$LLAMA_SERVER" -m "$GGUF" --host 127.0.0.1 --port "$PEER_PORT" -t "$THREADS" -tb "$THREADS" \
    "${SHAPE[@]}" ${PEER_FLAGS:-} > "$DATA/llama-server.log" 2>&1 &
PEER=$!
PARLEY_DATA_DIR=$DATA PARLEY_AUTH__BOOTSTRAP_API_KEY=$KEY \
PARLEY_MODELS="[{\"id\": \"smollm2-135m-instruct\", \"options\": {\"gguf\": \"$GGUF\", \"n_threads\": $THREADS$SIZE${PARLEY_OPTIONS:+, $PARLEY_OPTIONS}}}]" \
    .venv/bin/parley serve --port "$PARLEY_PORT" > "$DATA/parley.log" 2>&1 &
PARLEY=$!

wait_for "http://127.0.0.1:$PEER_PORT/health"
wait_for "http://127.0.0.1:$PARLEY_PORT/"
PIDS=()
if [ "$MODE" = concurrency ]; then PIDS=(--pid "parley=$PARLEY" --pid "llama-server=$PEER"); fi
.venv/bin/python "$BENCH" --api-key "$KEY" \
    --target "parley=http://127.0.0.1:$PARLEY_PORT" --target "llama-server=http://127.0.0.1:$PEER_PORT" \
    "${PIDS[@]}" "$@"
