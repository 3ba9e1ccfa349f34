#!/usr/bin/env python3
"""Runs the named queries (analytics/*.sql) with DuckDB over an export of the
events table (`webhooks export --out DIR`) and prints them, the campaign
funnel first. `--json` prints every query's rows as one JSON object instead.

The .sql files are the ones the template creates as Athena named queries,
unchanged. They read a table `events`: here a view over the export's JSON
Lines files, with the columns of the Glue table (COLUMNS below; a test holds
both equal to the stored item of docs/design.md) and `provider` and `day`
from the hive-style directory names, as Athena reads them from S3.

The one difference between the engines is made up for here, not in the SQL:
Athena (Trino) calls json_extract_scalar what DuckDB calls
json_extract_string, so the connection defines the first as a macro.
"""

import argparse
import json
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent

# The columns of an exported row, as in the Glue table (infra/template.yaml,
# AnalyticsEventsTable); `provider` and `day` are the partition columns.
COLUMNS = {
    "event_id": "VARCHAR",
    "event_type": "VARCHAR",
    "provider_event": "VARCHAR",
    "occurred_at": "VARCHAR",
    "occurred_at_source": "VARCHAR",
    "received_at": "VARCHAR",
    "channel": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "contact_id": "VARCHAR",
    "account_id": "VARCHAR",
    "campaign_id": "VARCHAR",
    "message_id": "VARCHAR",
    "automation_id": "VARCHAR",
    "list_id": "VARCHAR",
    "attributes": "VARCHAR",
    "contact_key": "VARCHAR",
    "day_key": "VARCHAR",
    "expires_at": "BIGINT",
    "normalizer": "VARCHAR",
    "schema_version": "BIGINT",
}
PARTITIONS = {"provider": "VARCHAR", "day": "VARCHAR"}

# What Athena has and DuckDB names otherwise.
ATHENA_FUNCTIONS = [
    "CREATE MACRO json_extract_scalar(json, path) AS json_extract_string(json, path)",
]

# The order the text report prints them in; any other .sql follows.
FIRST = ["campaign_funnel", "complaints_and_hard_bounces", "daily_counts", "unmapped_events"]


def queries():
    """Every named query: {name: SQL text}, in report order."""
    found = {p.stem: p.read_text() for p in sorted(HERE.glob("*.sql"))}
    order = [n for n in FIRST if n in found] + [n for n in found if n not in FIRST]
    return {name: found[name] for name in order}


def connect(export_dir):
    """A DuckDB connection whose table `events` is the export in export_dir."""
    db = duckdb.connect()
    for statement in ATHENA_FUNCTIONS:
        db.execute(statement)
    files = Path(export_dir) / "provider=*" / "day=*" / "*.jsonl"
    if any(Path(export_dir).glob("provider=*/day=*/*.jsonl")):
        columns = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items())
        hive = ", ".join(f"'{name}': '{kind}'" for name, kind in PARTITIONS.items())
        source = (
            f"read_json('{sql_text(str(files))}', format = 'newline_delimited', "
            f"columns = {{{columns}}}, hive_partitioning = true, hive_types = {{{hive}}})"
        )
        db.execute(f"CREATE VIEW events AS SELECT * FROM {source}")
    else:
        # An empty export still answers every query, with no rows.
        empty = ", ".join(
            f"CAST(NULL AS {kind}) AS {name}" for name, kind in {**COLUMNS, **PARTITIONS}.items()
        )
        db.execute(f"CREATE VIEW events AS SELECT {empty} WHERE false")
    return db


def sql_text(text):
    return text.replace("'", "''")


def run(db, sql):
    """(column names, rows) of one query."""
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    return names, cursor.fetchall()


def title(sql, name):
    """The query's first comment line, else its name."""
    first = sql.lstrip().splitlines()[0] if sql.strip() else ""
    return first[2:].strip() if first.startswith("--") else name


def render(names, rows):
    """An aligned text table; numbers to the right, NULL as '-'."""

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4f}"
        return str(v)

    table = [names] + [[cell(v) for v in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
        for i in range(len(names))
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(names))]
    lines = []
    for r in table:
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir", help="a directory written by `webhooks export --out DIR`")
    parser.add_argument("--json", action="store_true", help="every query's rows as JSON")
    parser.add_argument("--query", action="append", help="only this query (file name without .sql)")
    parser.add_argument("--html", metavar="FILE", help="also write the report as a page with charts")
    args = parser.parse_args(argv)
    if not Path(args.export_dir).is_dir():
        parser.error(f"{args.export_dir} is not a directory: run `webhooks export --out {args.export_dir}` first")
    named = queries()
    if args.query:
        unknown = [q for q in args.query if q not in named]
        if unknown:
            parser.error(f"no query {', '.join(unknown)}; there are {', '.join(named)}")
        named = {q: named[q] for q in args.query}
    db = connect(args.export_dir)
    if args.json:
        answer = {}
        for name, sql in named.items():
            names, rows = run(db, sql)
            answer[name] = [dict(zip(names, row)) for row in rows]
        json.dump(answer, sys.stdout, indent=1, default=str)
        print()
        return
    manifest = Path(args.export_dir) / "export.json"
    subtitle = ""
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        subtitle = f"{m.get('events', '?')} events exported from {m.get('table', '?')} at {m.get('exported_at', '?')}"
        print(subtitle + "\n")
    results = {}
    for name, sql in named.items():
        names, rows = results[name] = run(db, sql)
        print(f"== {name}: {title(sql, name)}")
        print(render(names, rows) if rows else "(no rows)")
        print()
    if args.html:
        import charts

        titles = {name: title(sql, name) for name, sql in named.items()}
        Path(args.html).write_text(charts.page(results, titles, subtitle))
        print(f"wrote {args.html}")


if __name__ == "__main__":
    main()
