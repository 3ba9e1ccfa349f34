#!/usr/bin/env bash
# `make fuzz`: every provider's normalizer (crates/normalize/fuzz, target
# `normalize` with FUZZ_PROVIDER set, once per provider of
# infra/local/providers.sh) and the whole request path without I/O
# (crates/ingest/fuzz, target `request`), FUZZ_SECONDS (default 60) each.
#
# Each run's corpus lives in target/fuzz-corpus/<provider or request> (kept
# between runs) and is seeded from crates/normalize/tests/fixtures and the
# regression inputs. A crash is saved in crates/<crate>/fuzz/artifacts/ and
# fails the run; copy a normalizer crash into
# crates/normalize/fuzz/regressions/<provider>/ (tests/fuzz_regressions.rs
# replays those in `make test`) and fix it.
#
# cargo fuzz needs nightly compiler features; the stable toolchain allows
# them with RUSTC_BOOTSTRAP=1. The fuzz crates are excluded from the
# workspace, so normal builds never need this.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$ROOT/target/fuzz"
# In the registry's order: a `request` input's first byte is an index into
# Provider::ALL.
mapfile -t PROVIDERS < <("$ROOT/infra/local/providers.sh")

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

seed() { # seed RUN CORPUS_DIR
    local run=$1 corpus=$2 i
    if [ "$run" = request ]; then
        # Two head bytes: provider index, then 0x01 = POST with ?token=.
        for i in "${!PROVIDERS[@]}"; do
            for f in "$ROOT/crates/normalize/tests/fixtures/${PROVIDERS[$i]}"/*.json; do
                { printf "\\x$(printf %02x "$i")\\x01"; cat "$f"; } > "$corpus/seed-${PROVIDERS[$i]}-$(basename "$f")"
            done
        done
        find "$ROOT/crates/ingest/fuzz/regressions/request" -type f ! -name '.*' -exec cp {} "$corpus/" \;
    else
        cp "$ROOT/crates/normalize/tests/fixtures/$run"/*.json "$corpus/"
        if [ -d "$ROOT/crates/normalize/fuzz/regressions/$run" ]; then
            find "$ROOT/crates/normalize/fuzz/regressions/$run" -type f ! -name '.*' -exec cp {} "$corpus/" \;
        fi
    fi
}

summary=()
failed=0
for run in "${PROVIDERS[@]}" request; do
    if [ "$run" = request ]; then crate=ingest target=request; else crate=normalize target=normalize; fi
    corpus="$ROOT/target/fuzz-corpus/$run"
    artifacts="$ROOT/crates/$crate/fuzz/artifacts/$run"
    log="$ROOT/target/fuzz-$run.log"
    mkdir -p "$corpus" "$artifacts"
    seed "$run" "$corpus"
    echo "== fuzz $crate/$target ($run) for ${SECONDS_EACH}s (log: $log)"
    if (cd "$ROOT/crates/$crate" && FUZZ_PROVIDER=$run cargo fuzz run "$target" "$corpus" -- \
        -max_total_time="$SECONDS_EACH" -artifact_prefix="$artifacts/" \
        -print_final_stats=1 -close_fd_mask=1) >"$log" 2>&1; then
        status=ok
    else
        status="CRASH (see $log and $artifacts)"
        failed=1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    summary+=("$(printf '%-10s %12s executions in %ss, corpus %5s inputs: %s' \
        "$run" "$runs" "$SECONDS_EACH" "$(ls "$corpus" | wc -l)" "$status")")
done
printf '%s\n' "== fuzz summary" "${summary[@]}"
exit $failed
