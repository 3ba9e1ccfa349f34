#!/usr/bin/env python3
"""`make bench`'s analytics figures: how long `webhooks export` takes for
ANALYTICS_BENCH_EVENTS events (100,000 by default) and how long the named
queries then take with DuckDB over that export.

usage: bench.py WEBHOOKS_BINARY   (under infra/local/with-dynamodb.sh)

The table is filled with synthetic items shaped like the stored item (five
providers, thirty days, a dozen types, an e-mail, a campaign, attributes and
a 600-byte raw), written with BatchWriteItem. Prints one line per figure and
writes target/bench/analytics.json.
"""

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "analytics"))
import report  # noqa: E402

sys.path.insert(0, str(ROOT / "infra" / "local"))
import create_table  # noqa: E402

# The template's Providers rows, as the Makefile reads them.
PROVIDERS = subprocess.run([ROOT / "infra/local/providers.sh"], capture_output=True, text=True,
                           check=True).stdout.split()
TYPES = ["email.sent", "email.delivered", "email.opened", "email.opened", "email.clicked", "email.bounced",
         "email.complained", "contact.subscribed", "contact.unsubscribed", "commerce.order_placed", "unknown",
         "sms.sent"]


def item(n, rng):
    provider = rng.choice(PROVIDERS)
    event_type = rng.choice(TYPES)
    day = f"2024-06-{1 + n % 30:02d}"
    at = f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000Z"
    email = f"person{rng.randrange(20_000)}@example.com"
    channel = event_type.split(".")[0]
    attributes = {"url": {"S": f"https://example.com/p/{n % 97}"}}
    if event_type == "email.bounced":
        attributes["bounce_type"] = {"S": rng.choice(["hard", "soft"])}
    row = {
        "event_id": {"S": f"{n:064x}"},
        "provider": {"S": provider},
        "event_type": {"S": event_type},
        "provider_event": {"S": "mystery_event" if event_type == "unknown" else event_type.replace(".", "_")},
        "occurred_at": {"S": at},
        "occurred_at_source": {"S": "provider"},
        "received_at": {"S": at},
        "email": {"S": email},
        "campaign_id": {"S": str(4_100_000 + n % 40)},
        "contact_key": {"S": f"email#{email}"},
        "day_key": {"S": f"{provider}#{day}"},
        "attributes": {"M": attributes},
        "raw": {"S": json.dumps({"event": event_type, "email": email, "pad": "x" * 520})},
        "normalizer": {"S": "0.1.0"},
        "schema_version": {"N": "1"},
    }
    if channel in {"email", "sms"}:
        row["channel"] = {"S": channel}
    return row


def seed(client, table, count):
    rng = random.Random(7)
    pending = [{"PutRequest": {"Item": item(n, rng)}} for n in range(count)]
    while pending:
        batch, pending = pending[:25], pending[25:]
        while batch:
            unprocessed = client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {})
            batch = unprocessed.get(table, [])


def main():
    binary = Path(sys.argv[1])
    count = int(os.environ.get("ANALYTICS_BENCH_EVENTS", "100000"))
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    # The events table's keys and indexes without its stream: dynoxide
    # slows with every stream record it keeps (seeding a table with the
    # stream fell from 1,300 to 360 items/s within 12,000 items; 100,000
    # took 53 minutes), and the export reads no stream.
    table = "analytics-bench"
    props = create_table.table_properties()
    props.pop("StreamSpecification", None)
    create_table.create(endpoint, table, props)
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    started = time.monotonic()
    seed(client, table, count)
    seeded = time.monotonic() - started

    out = ROOT / "target" / "bench" / "analytics-export"
    started = time.monotonic()
    subprocess.run([str(binary), "--table", table, "export", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    exported = time.monotonic() - started
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["events"] == count, manifest

    started = time.monotonic()
    db = report.connect(out)
    rows = {name: len(report.run(db, sql)[1]) for name, sql in report.queries().items()}
    queried = time.monotonic() - started
    total = sum(rows.values())

    figures = {
        "events": count,
        "export_seconds": round(exported, 2),
        "export_events_per_second": round(count / exported),
        "export_bytes": sum(p.stat().st_size for p in out.glob("provider=*/day=*/*.jsonl")),
        "queries_seconds": round(queried, 2),
        "query_rows": rows,
        "seed_seconds": round(seeded, 1),
    }
    print(f"  analytics.seed               {count:,} items written in {seeded:.1f} s (BatchWriteItem, no stream)")
    print(f"  analytics.export             {count:,} events in {exported:.2f} s ({figures['export_events_per_second']:,}/s, "
          f"{figures['export_bytes']:,} bytes of JSON Lines)  reference")
    print(f"  analytics.queries            all {len(rows)} named queries with DuckDB in {queried:.2f} s "
          f"({total:,} rows)  reference")
    (ROOT / "target" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "target" / "bench" / "analytics.json").write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
