#!/usr/bin/env bash
# Runs a command with a fresh local DynamoDB (dynoxide, in memory) on a free
# port, the table created, and AWS_ENDPOINT_URL_DYNAMODB pointing at it;
# stops the server afterwards. A running `make dev` on port 8000 is not
# disturbed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$ROOT/target/local"
port=$(free_port)
trap 'kill ${DYNAMODB_PID:-} 2>/dev/null || true' EXIT
start_dynamodb "$port" "$ROOT/target/local/dynoxide-$port.log"
"$@"
