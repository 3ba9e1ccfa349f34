# Shared settings for the local stack, sourced by dev.sh and with-dynamodb.sh.
# Dummy credentials: the local server accepts any, and they keep the AWS SDK
# from looking for real ones.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/.venv"
# .local/bin: dynoxide, installed there by `make tools` (cargo install).
export PATH="$ROOT/.local/bin:$VENV/bin:$PATH"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export TABLE_NAME="${TABLE_NAME:-webhook-events}"
export DEV_TOKEN="dev-token"
export WEBHOOK_TOKENS="${WEBHOOK_TOKENS:-$DEV_TOKEN}"

# A TCP port nothing listens on.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1 (up to 30 s).
wait_port() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

# Starts dynoxide on 127.0.0.1:$1, logging to $2, and creates the table if
# missing; sets DYNAMODB_PID. With $3, the data lives in that SQLite file
# (kept across restarts); without it, in memory.
start_dynamodb() {
    if ! command -v dynoxide >/dev/null; then
        echo "dynoxide is not installed: run \`make tools\` (installs it into .local/bin)" >&2
        return 1
    fi
    local db=()
    if [ -n "${3:-}" ]; then db=(--db-path "$3"); fi
    dynoxide serve --host 127.0.0.1 --port "$1" "${db[@]}" >"$2" 2>&1 &
    DYNAMODB_PID=$!
    wait_port "$1" || { cat "$2" >&2; return 1; }
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$1"
    python3 "$ROOT/infra/local/create_table.py" "$AWS_ENDPOINT_URL_DYNAMODB" "$TABLE_NAME"
}
