#!/usr/bin/env bash
# Runs a command with a fresh local DynamoDB (moto) on a free port, the
# table created, and AWS_ENDPOINT_URL_DYNAMODB pointing at it; stops the
# server afterwards. A running `make dev` on port 8000 is not disturbed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$ROOT/target/local"
port=$(free_port)
export MOTO_PORT=$port
start_moto "$port" "$ROOT/target/local/moto-$port.log"
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
"$@"
