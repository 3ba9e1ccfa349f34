#!/usr/bin/env bash
# Prints the providers' names, one per line, in the order of the template's
# Providers mapping (crates/normalize/tests/registry.rs checks that it is
# the registry's, crates/normalize/src/provider.rs). The Makefile, dev.sh
# and the fuzz run read the providers from here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
awk '/^  Providers:$/ { on = 1; next }
     on && /^    [A-Za-z0-9]+: \{/ { if (match($0, /Name: [a-z0-9]+/)) print substr($0, RSTART + 6, RLENGTH - 6); next }
     on { exit }' "$ROOT/infra/template.yaml"
