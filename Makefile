# The project's verbs. `make dev` and `make test` are the whole set-up on a
# fresh machine: each installs what it needs into .venv (PyPI) and .local
# (dynoxide, the local DynamoDB, from crates.io) and starts and stops its
# own servers.

SHELL := /bin/bash
VENV := .venv
TOOLS := $(VENV)/.installed
# One binary per provider, named after it: the rows of the template's
# Providers mapping (infra/local/providers.sh); then the consent view's two.
BINARIES := $(shell infra/local/providers.sh) consent consent-lookup
LOCAL := infra/local
# SAM CLI, pinned: `make deploy` and the packaging checks of `make lint-infra`.
SAM := $(VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0

.PHONY: dev test test-report chromium lint lint-infra build deploy deploy-check deploy-guided smoke invoke bench tools dynoxide machete stress fuzz

tools: $(TOOLS) dynoxide
$(TOOLS): $(LOCAL)/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(LOCAL)/requirements.txt
	touch $@

# dynoxide, the local DynamoDB server, built from crates.io into .local/bin
# once (2.5 min or more on 2 cores), then reused. `dynoxide --version` does
# not print the crate's version, so cargo's record of what it installed
# there (.local/.crates.toml) tells whether this version is present.
DYNOXIDE_VERSION := 3.2.0
dynoxide:
	@if ! [ -x .local/bin/dynoxide ] || ! grep -qsF '"dynoxide-rs $(DYNOXIDE_VERSION) ' .local/.crates.toml; then \
		echo "installing dynoxide $(DYNOXIDE_VERSION) into .local/bin (once; 2.5 min or more)"; \
		cargo install --locked dynoxide-rs --version $(DYNOXIDE_VERSION) \
			--no-default-features --features native-sqlite,http-server,cli --root .local; \
	fi

# cargo-machete, `make lint`'s check for dependencies no code uses, built
# from crates.io into .local/bin once (5.7 min measured on a busy
# 2-core machine, 1.7 min of CPU), then reused;
# cargo's record of what it installed there tells whether this version is
# present, as for dynoxide.
MACHETE_VERSION := 0.9.2
machete:
	@if ! [ -x .local/bin/cargo-machete ] || ! grep -qsF '"cargo-machete $(MACHETE_VERSION) ' .local/.crates.toml; then \
		echo "installing cargo-machete $(MACHETE_VERSION) into .local/bin (once; about 6 min)"; \
		cargo install --locked cargo-machete --version $(MACHETE_VERSION) --root .local; \
	fi

## Run everything locally: DynamoDB on :8000, every provider's function on :9000.
## Data is kept in target/local/dev.db; `make dev FRESH=1` starts empty.
dev: tools
	$(LOCAL)/dev.sh

## Every test: format, lint, unit, integration (real local DynamoDB), end to end (cargo lambda watch).
test: tools lint lint-infra test-report
	$(LOCAL)/with-dynamodb.sh cargo test --workspace --locked -- --include-ignored

lint: machete
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	.local/bin/cargo-machete

# The template tests include running SAM CLI's packaging offline (the
# template loops over the providers; see docs/deploy.md, "Packaging").
lint-infra: $(TOOLS) $(SAM)
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(VENV)/bin/python infra/test_template.py

# The report's queries and page: portable SQL, the page's markup, and the page
# as headless Chromium draws it (test_report_page.py).
test-report: $(TOOLS) chromium
	$(VENV)/bin/python analytics/test_report.py
	$(VENV)/bin/python analytics/test_report_page.py

# Debian's Chromium, for the report page's browser test; installed once with
# apt-get (as root, or through sudo) when /usr/bin/chromium is missing.
# CHROMIUM=/path/to/chromium uses another one instead.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$(CHROMIUM)" != /usr/bin/chromium ]; then \
		echo "CHROMIUM=$(CHROMIUM) is not an executable" >&2; exit 1; \
	else \
		echo "installing Debian's chromium (the report page's browser test; once)"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium; \
	fi

## Release arm64 binaries for Lambda: target/lambda/<provider>/bootstrap.
build: $(TOOLS)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda build --release --arm64 $(addprefix --bin ,$(BINARIES))
	@for b in $(BINARIES); do test -x target/lambda/$$b/bootstrap || { echo "missing target/lambda/$$b/bootstrap" >&2; exit 1; }; done
	@ls -l $(foreach b,$(BINARIES),target/lambda/$(b)/bootstrap)

## Deploy the stack in infra/template.yaml (settings in infra/samconfig.toml).
$(SAM): $(TOOLS)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

## Before `make deploy`: create the change set without executing it, check the
## template as AWS processed it (each function its own code, secret and
## routes) and print what would be added, changed and replaced.
deploy-check: build $(SAM)
	$(VENV)/bin/python infra/deploy_check.py -- $(DEPLOY_ARGS)

deploy: build $(SAM)
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --language-extensions --template-file infra/template.yaml $(DEPLOY_ARGS)

deploy-guided: build $(SAM)
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided --language-extensions --template-file infra/template.yaml $(DEPLOY_ARGS)

## After a deploy: GET, HEAD and POST each provider's URL, read the events back
## with the CLI and delete them. STACK=<name> (default: samconfig's), or
## SMOKE_ARGS="--base-url http://127.0.0.1:9000/lambda-url --token dev-token" for `make dev`.
STACK ?= marketing-webhooks
SMOKE_ARGS ?= --stack $(STACK)
smoke: $(TOOLS)
	cargo build --locked -p cli
	$(VENV)/bin/python infra/smoke.py $(SMOKE_ARGS)

## Send a provider's sample body, as an API Gateway event, to a running `make dev`: make invoke P=flashy
## (infra/local/sample_event.py writes the event to target/invoke/<P>.json from events/bodies/<P>.json).
P ?= flashy
invoke: $(TOOLS)
	$(VENV)/bin/python $(LOCAL)/sample_event.py $(P)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port 9000 $(P) --data-file target/invoke/$(P).json

## The named queries (analytics/*.sql) with DuckDB over an export of the
## running `make dev` (target/analytics/export): the campaign funnel first.
## SINCE=7d (or a date) exports only events from then on; the page with charts
## is written to HTML=FILE (default target/analytics/report.html). docs/analytics.md.
HTML ?= target/analytics/report.html
.PHONY: report
report: $(TOOLS)
	source $(LOCAL)/env.sh && export AWS_ENDPOINT_URL_DYNAMODB="$${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:8000}" && \
		cargo run -q --locked -p cli -- export --out target/analytics/export $(if $(SINCE),--since $(SINCE))
	$(VENV)/bin/python analytics/report.py target/analytics/export --html $(HTML)

## Performance figures (see docs/performance.md): prints a table and writes target/bench/summary.json.
bench: tools build
	cargo build --release --locked -p bench -p sendpulse -p cli
	$(LOCAL)/with-dynamodb.sh target/release/bench
	$(LOCAL)/with-dynamodb.sh $(VENV)/bin/python analytics/bench.py target/release/webhooks

## Load and faults through cargo lambda watch (2,100 deliveries at concurrency
## 16, DynamoDB paused and killed mid-load; also part of `make test`), then
## `make fuzz`. Sizes: STRESS_DELIVERIES, STRESS_CONCURRENCY, FUZZ_SECONDS.
stress: tools
	source $(LOCAL)/env.sh && cargo test -p ingest --test stress --locked -- --ignored --nocapture
	$(MAKE) fuzz

## Every fuzz target (each provider's normalizer, the request path) for FUZZ_SECONDS (default 60) each.
fuzz: $(TOOLS)
	crates/ingest/fuzz/run.sh
