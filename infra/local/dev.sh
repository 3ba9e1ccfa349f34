#!/usr/bin/env bash
# `make dev`: local DynamoDB (dynoxide) on 127.0.0.1:8000 with the table, and
# every provider's function under `cargo lambda watch` on 127.0.0.1:9000.
# Ctrl-C stops everything this started. The table's data lives in
# target/local/dev.db and survives a restart; FRESH=1 (`make dev FRESH=1`)
# deletes it first, to start empty.
set -euo pipefail
source "$(dirname "$0")/env.sh"
DYNAMODB_PORT=8000
LAMBDA_PORT=9000
DB="$ROOT/target/local/dev.db"
mkdir -p "$ROOT/target/local"

for port in $DYNAMODB_PORT $LAMBDA_PORT; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is already in use (another make dev?); stop it first" >&2
        exit 1
    fi
done

if [ "${FRESH:-}" = 1 ]; then
    # SQLite may keep -wal/-shm files beside the database.
    rm -f "$DB" "$DB-wal" "$DB-shm"
fi

trap 'kill ${FOLLOW_PID:-} ${DYNAMODB_PID:-} 2>/dev/null || true' EXIT
start_dynamodb $DYNAMODB_PORT "$ROOT/target/local/dynoxide-dev.log" "$DB"

# The erasure hash key of `webhooks forget` and the consent functions
# (docs/consent.md, "Erasure"): a development default, in the repository, so
# NOT a secret; set CONSENT_HASH_KEY to use another. It must stay the same
# for the life of the local data (a forgotten person is found by it).
export CONSENT_HASH_KEY="${CONSENT_HASH_KEY:-marketing-webhooks-dev-consent-hash-key-not-secret}"

# The consent view, kept current from the local stream as the consent
# function keeps it on AWS (docs/consent.md); its log: target/local/consent-follow.log.
(cd "$ROOT" && cargo build -q -p cli --bin webhooks)
"$ROOT/target/debug/webhooks" consent follow >"$ROOT/target/local/consent-follow.log" 2>&1 &
FOLLOW_PID=$!

cat <<TXT

  DynamoDB (dynoxide)  $AWS_ENDPOINT_URL_DYNAMODB   table $TABLE_NAME
  Data                 ${DB#"$ROOT/"} (kept across restarts; \`make dev FRESH=1\` starts empty)
  Functions            http://127.0.0.1:$LAMBDA_PORT/lambda-url/<provider>/   ($("$ROOT/infra/local/providers.sh" | xargs))
  Consent lookup       http://127.0.0.1:$LAMBDA_PORT/lambda-url/consent-lookup/?email=<address>   (\`webhooks consent <address>\`)
  Token                $( [ "$WEBHOOK_TOKENS" = "$DEV_TOKEN" ] && echo "$DEV_TOKEN (development default)" || echo "from WEBHOOK_TOKENS" )

  Try:  curl -s "http://127.0.0.1:$LAMBDA_PORT/lambda-url/flashy/?token=$DEV_TOKEN" --data @events/bodies/flashy.json

TXT

# The functions inherit watch's environment. Not `--env-var`: watch splits
# its values at commas, which WEBHOOK_TOKENS ("new,old") and a JSON
# RESPONSE_BODY hold.
for name in TABLE_NAME WEBHOOK_TOKENS AWS_ENDPOINT_URL_DYNAMODB AWS_ACCESS_KEY_ID \
    AWS_SECRET_ACCESS_KEY AWS_REGION ALLOW_UNAUTHENTICATED RESPONSE_BODY \
    RETENTION_DAYS MAX_BODY_BYTES CONSENT_TABLE_NAME CONSENT_HASH_KEY ERASE_LATER_EVENTS; do
    if [ -n "${!name:-}" ]; then export "${name?}"; fi
done
export AWS_LAMBDA_LOG_FORMAT=JSON

cd "$ROOT"
# cargo lambda watch builds and hot-reloads every binary of the workspace.
cargo lambda watch -A 127.0.0.1 -P $LAMBDA_PORT
