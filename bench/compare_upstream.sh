#!/usr/bin/env bash
# Parley and LiteLLM's proxy, each in front of the same llama-server, against llama-server
# called directly, measured in one run by bench/upstream_bench.py.
#
#   LLAMA_SERVER=/path/to/llama-server LITELLM=/path/to/venv/bin/litellm \
#       bench/compare_upstream.sh [bench options]
#
# Parley serves the model with its OpenAI-compatible upstream backend (tokenizer
# "llama-server"); LiteLLM with its openai provider and a master key, no database. Both
# run as one process. THREADS (default 1) is llama-server's thread count, SLOTS (4) its
# parallel sequences. LiteLLM is installed apart from the project, e.g.
#   python -m venv /opt/litellm && /opt/litellm/bin/pip install 'litellm[proxy]'
# and llama-server built as bench/compare_llama_server.sh describes.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LLAMA_SERVER:?set LLAMA_SERVER to the llama-server binary}"
: "${LITELLM:?set LITELLM to the litellm executable}"
THREADS=${THREADS:-1}
SLOTS=${SLOTS:-4}
PEER_PORT=${PEER_PORT:-8091}
PARLEY_PORT=${PARLEY_PORT:-8090}
LITELLM_PORT=${LITELLM_PORT:-8092}
GGUF=$(.venv/bin/python -c 'from parley.backends.common.gguf import resolve_gguf; print(resolve_gguf("bundled:smollm2"))')
DATA=$(mktemp -d)
KEY=sk-parley-api01-benchmark000000000000000000000000000000000000000000
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$DATA"' EXIT

"$LLAMA_SERVER" -m "$GGUF" --host 127.0.0.1 --port "$PEER_PORT" -t "$THREADS" -tb "$THREADS" \
    -c $((SLOTS * 4096)) --parallel "$SLOTS" > "$DATA/llama-server.log" 2>&1 &
PARLEY_DATA_DIR=$DATA PARLEY_AUTH__BOOTSTRAP_API_KEY=$KEY \
PARLEY_MODELS="[{\"id\": \"smollm2-135m-instruct\", \"backend\": \"openai\", \"options\": {\"urls\": [\"http://127.0.0.1:$PEER_PORT\"], \"model\": \"smollm2\", \"tokenizer\": \"llama-server\", \"context_window\": 4096}}]" \
    .venv/bin/parley serve --port "$PARLEY_PORT" > "$DATA/parley.log" 2>&1 &
cat > "$DATA/litellm.yaml" <<YAML
model_list:
  - model_name: smollm2-135m-instruct
    litellm_params:
      model: openai/smollm2
      api_base: http://127.0.0.1:$PEER_PORT/v1
      api_key: none
general_settings:
  master_key: $KEY
YAML
"$LITELLM" --config "$DATA/litellm.yaml" --host 127.0.0.1 --port "$LITELLM_PORT" --num_workers 1 \
    > "$DATA/litellm.log" 2>&1 &

for url in "http://127.0.0.1:$PEER_PORT/health" "http://127.0.0.1:$PARLEY_PORT/" \
           "http://127.0.0.1:$LITELLM_PORT/health/liveliness"; do
    for _ in $(seq 240); do curl -sf "$url" >/dev/null && break; sleep 0.5; done
done
.venv/bin/python bench/upstream_bench.py --api-key "$KEY" \
    --target "llama-server=openai+http://127.0.0.1:$PEER_PORT" \
    --target "parley=anthropic+http://127.0.0.1:$PARLEY_PORT" \
    --target "litellm=anthropic+http://127.0.0.1:$LITELLM_PORT" "$@"
