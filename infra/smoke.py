#!/usr/bin/env python3
"""`make smoke`: is every provider's endpoint answering and storing?

For each provider (one per sample body in events/bodies/): GET and HEAD its
URL, POST its sample body with its token, read the stored items back with
the `webhooks` CLI (`show`, by event id), delete them (`webhooks delete`),
and check they are gone. Exits 1 naming the first thing that failed.

Against the deployed stack (URLs and table from the stack's outputs, tokens
from its Secrets Manager secrets; needs AWS credentials):
    infra/smoke.py --stack marketing-webhooks [--region eu-central-1]
Against `make dev` (or any base URL under which <provider>/ is a function):
    infra/smoke.py --base-url http://127.0.0.1:9000/lambda-url --token dev-token
The CLI then reads the table through AWS_ENDPOINT_URL_DYNAMODB and TABLE_NAME
from the environment, as `webhooks` always does.

Tokens: --token (every provider), else SMOKE_TOKEN_<PROVIDER>, else (with
--stack) the provider's secret <stack>/webhook-tokens/<provider>, else the
first of WEBHOOK_TOKENS.

The sample events are real writes: with EventFanOut enabled they are
published to the event bus once, like any new event.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BODIES = REPO / "events" / "bodies"
TIMEOUT = 30
# GetItem is eventually consistent: a just-written item may take a moment.
READ_ATTEMPTS = 10


class Failed(Exception):
    """The first thing that did not work, as one line."""


def providers() -> list[str]:
    return sorted(p.stem for p in BODIES.glob("*.json"))


def request(method: str, url: str, body: bytes | None = None, token: str | None = None):
    headers = {"content-type": "application/json", "user-agent": "marketing-webhooks-smoke"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        raise Failed(f"{method} {url}: no answer ({e})") from None


class Cli:
    """The `webhooks` binary, with the table it reads."""

    def __init__(self, program: str, table_args: list[str]):
        self.program = program
        self.table_args = table_args

    def run(self, *args: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([self.program, *self.table_args, *args], capture_output=True, text=True,
                                  timeout=120)
        except FileNotFoundError:
            raise Failed(f"the webhooks CLI is not at {self.program} (cargo build -p cli, or --cli)") from None

    def json(self, *args: str):
        done = self.run(*args, "--json")
        if done.returncode != 0:
            raise Failed(f"webhooks {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout)


def check(provider: str, url: str, token: str, cli: Cli, log) -> None:
    for method in ("GET", "HEAD"):
        status, text = request(method, url)
        if status != 200:
            raise Failed(f"{provider}: {method} {url} answered {status}: {text[:300]}")
        if method == "GET" and json.loads(text).get("provider") != provider:
            raise Failed(f"{provider}: GET {url} answered {text[:300]}")
    log(f"{provider}: GET and HEAD answer 200")

    body_path = BODIES / f"{provider}.json"
    status, text = request("POST", url, body_path.read_bytes(), token)
    if status != 200:
        raise Failed(f"{provider}: POST {body_path.relative_to(REPO)} to {url} answered {status}: {text[:300]}")
    answer = json.loads(text)
    if answer.get("quarantined"):
        raise Failed(f"{provider}: POST {body_path.relative_to(REPO)}: {answer['quarantined']} member(s) quarantined: {text}")
    log(f"{provider}: POST answered 200 {text}")

    ids = cli.json("delete", provider, str(body_path), "--dry-run")["event_ids"]
    if not ids:
        raise Failed(f"{provider}: the sample body makes no item")
    for event_id in ids:
        for attempt in range(READ_ATTEMPTS):
            done = cli.run("show", event_id, "--json")
            if done.returncode == 0:
                break
            time.sleep(0.5 * (attempt + 1))
        else:
            raise Failed(f"{provider}: event {event_id} is not in the table: {done.stderr.strip()}")
        item = json.loads(done.stdout)["item"]
        if item.get("provider") != provider or item.get("event_type") in ("invalid", None):
            raise Failed(f"{provider}: event {event_id} is stored as {item.get('provider')}/{item.get('event_type')}")
    log(f"{provider}: {len(ids)} event(s) read back by id")

    deleted = cli.json("delete", provider, str(body_path))["deleted"]
    if sorted(deleted) != sorted(ids):
        raise Failed(f"{provider}: deleted {deleted}, expected {ids}")
    for event_id in ids:
        if cli.run("show", event_id).returncode == 0:
            raise Failed(f"{provider}: event {event_id} is still in the table after delete")
    log(f"{provider}: {len(deleted)} event(s) deleted")


def stack_settings(stack: str, region: str | None):
    import boto3

    session = boto3.session.Session(region_name=region)
    outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    values = {o["OutputKey"]: o["OutputValue"] for o in outputs}
    secrets = session.client("secretsmanager")

    def url(provider: str) -> str:
        key = f"{provider.capitalize()}WebhookUrl"
        if key not in values:
            raise Failed(f"{provider}: the stack {stack} has no output {key}")
        return values[key]

    def stack_token(provider: str) -> str:
        secret_id = f"{values.get('WebhookTokenSecretPrefix', stack + '/webhook-tokens/')}{provider}"
        value = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
        return value.split(",")[0].strip()

    return url, stack_token, values.get("EventsTableName"), session.region_name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack's name")
    where.add_argument("--base-url", help="URL under which <provider>/ is each function (make dev: http://127.0.0.1:9000/lambda-url)")
    parser.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    parser.add_argument("--token", help="the token for every provider")
    parser.add_argument("--cli", default=os.environ.get("WEBHOOKS_CLI", str(REPO / "target/debug/webhooks")),
                        help="the webhooks binary (default: $WEBHOOKS_CLI, else target/debug/webhooks)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    log = (lambda _line: None) if args.quiet else (lambda line: print(line, flush=True))

    try:
        if args.stack:
            url, stack_token, table, region = stack_settings(args.stack, args.region)
            table_args = ["--table", table] + (["--region", region] if region else [])
        else:
            base = args.base_url.rstrip("/")
            url, stack_token, table_args = (lambda p: f"{base}/{p}/"), None, []

        def token(provider: str) -> str:
            env = os.environ.get(f"SMOKE_TOKEN_{provider.upper()}")
            if args.token or env:
                return args.token or env
            if stack_token:
                return stack_token(provider)
            first = os.environ.get("WEBHOOK_TOKENS", "").split(",")[0].strip()
            if not first:
                raise Failed(f"{provider}: no token: pass --token, or set SMOKE_TOKEN_{provider.upper()} or WEBHOOK_TOKENS")
            return first

        cli = Cli(args.cli, table_args)
        for provider in providers():
            check(provider, url(provider), token(provider), cli, log)
    except Failed as failure:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
        return 1
    except Exception as e:  # boto3 and the like: still one line naming it
        print(f"smoke: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    log(f"smoke: every provider ({', '.join(providers())}) answered, stored, read back and deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
