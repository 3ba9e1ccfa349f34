#!/usr/bin/env python3
"""The named queries run unchanged on DuckDB (here) and Athena (Trino): what
keeps them portable, and the one difference, named.

Run:  .venv/bin/python analytics/test_report.py   (`make test-report`, part of `make test`, runs it)
The counts each query gives over every fixture's events are checked by the
Rust test crates/cli/tests/export.rs (`make test`).
"""

import contextlib
import html.parser
import io
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

# Functions the queries may call: each exists with the same meaning in
# Trino (Athena engine version 3) and DuckDB, except json_extract_scalar,
# which DuckDB calls json_extract_string (report.ATHENA_FUNCTIONS).
PORTABLE = {"count", "sum", "min", "max", "round", "nullif", "split_part", "cast"}
ATHENA_ONLY = {"json_extract_scalar"}
KEYWORDS = {"in", "as", "and", "or", "not", "when", "then", "else", "end", "case", "over", "filter", "from", "where"}


def without_comments(sql):
    return re.sub(r"--[^\n]*", "", sql)


def write_export(root, rows):
    """A tiny export: {partition path: [row, ...]}."""
    for partition, lines in rows.items():
        part = Path(root) / partition
        part.mkdir(parents=True)
        (part / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))


class Portable(unittest.TestCase):
    def test_every_query_calls_only_functions_both_engines_have(self):
        for name, sql in report.queries().items():
            called = {f.lower() for f in re.findall(r"\b([A-Za-z_]+)\s*\(", without_comments(sql))}
            self.assertLessEqual(called - KEYWORDS, PORTABLE | ATHENA_ONLY, name)

    def test_every_query_is_athenas_sql(self):
        """Each file parses as Trino's SQL (sqlglot's Trino grammar), which refuses DuckDB's own
        syntax (`//`, QUALIFY, ...); the functions it calls are checked above."""
        import sqlglot
        from sqlglot.errors import ErrorLevel

        for name, sql in report.queries().items():
            sqlglot.parse_one(sql, read="trino", error_level=ErrorLevel.RAISE)
        for duckdb_only in ["SELECT 7 // 2 FROM events", "SELECT * FROM events QUALIFY count(*) OVER () > 1"]:
            with self.assertRaises(sqlglot.errors.ParseError, msg=duckdb_only):
                sqlglot.parse_one(duckdb_only, read="trino", error_level=ErrorLevel.RAISE)

    def test_the_one_difference_is_json_extract_scalar(self):
        """GIVEN DuckDB without the macro THEN exactly the queries that call
        json_extract_scalar fail, and on that name; with it, every query runs."""
        with tempfile.TemporaryDirectory() as tmp:
            saved = report.ATHENA_FUNCTIONS
            try:
                report.ATHENA_FUNCTIONS = []
                bare = report.connect(tmp)
                for name, sql in report.queries().items():
                    if "json_extract_scalar" in sql:
                        with self.assertRaisesRegex(Exception, "json_extract_scalar"):
                            report.run(bare, sql)
                    else:
                        report.run(bare, sql)
            finally:
                report.ATHENA_FUNCTIONS = saved
            db = report.connect(tmp)
            for name, sql in report.queries().items():
                self.assertEqual(report.run(db, sql)[1], [], name)

    def test_every_division_is_of_doubles(self):
        """Trino divides integers as integers (1 / 2 = 0), DuckDB does not
        (0.5): every quotient casts its dividend to DOUBLE, so both agree."""
        for name, sql in report.queries().items():
            code = without_comments(sql)
            divisions = code.count("/")
            cast = len(re.findall(r"CAST\(\w+ AS DOUBLE\) / nullif\(\w+, 0\)", code))
            self.assertEqual(divisions, cast, name)

    def test_rows_read_as_athena_reads_the_table(self):
        """GIVEN an export with a hard bounce, a delivery and an unknown name
        THEN provider and day come from the directories, attributes is JSON
        text, and the queries count them."""
        with tempfile.TemporaryDirectory() as tmp:
            write_export(tmp, {
                "provider=egoi/day=2024-06-03": [
                    {"event_id": "1", "event_type": "email.sent", "channel": "email", "campaign_id": "7"},
                    {"event_id": "2", "event_type": "email.bounced", "channel": "email", "campaign_id": "7",
                     "attributes": "{\"bounce_type\":\"hard\"}", "expires_at": 1749036067},
                    {"event_id": "3", "event_type": "unknown", "provider_event": "mystery",
                     "received_at": "2024-06-03T10:00:00.000Z"},
                ],
            })
            db = report.connect(tmp)
            names, rows = report.run(db, "SELECT provider, day, expires_at FROM events WHERE event_id = '2'")
            self.assertEqual(rows, [("egoi", "2024-06-03", 1749036067)])
            _, rows = report.run(db, report.queries()["complaints_and_hard_bounces"])
            self.assertEqual(rows, [("2024-06-03", "egoi", 1, 0, 0, 1, None, 1.0)])
            _, rows = report.run(db, report.queries()["campaign_funnel"])
            self.assertEqual(rows, [("egoi", "7", "email", 1, 0, 0, 0, 1, 0, 1.0, None)])

            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                report.main([tmp])
            text = printed.getvalue()
            self.assertTrue(text.startswith("== campaign_funnel"), text)
            self.assertIn("egoi      7            email", text)
            self.assertIn("mystery", text)


class Page(html.parser.HTMLParser):
    """The bars of the page's charts, what it would fetch, and whether every tag closes."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "line"}

    def __init__(self):
        super().__init__()
        self.bars, self.fetches, self.open, self.scripts = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "rect" and "data-chart" in attrs:
            self.bars.append(attrs)
        self.scripts += tag == "script"
        self.fetches += [v for k, v in attrs.items() if k in {"src", "href"} or "url(" in (v or "")]
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


class Html(unittest.TestCase):
    def test_the_page_draws_the_funnel_and_the_daily_counts_and_stands_alone(self):
        """GIVEN two providers' events on two days THEN the page has one funnel bar per provider
        and stage with its count and one daily bar per day and provider, every tag closes,
        and it has no script and fetches nothing."""
        with tempfile.TemporaryDirectory() as tmp:
            email = {"channel": "email", "campaign_id": "7"}
            write_export(tmp, {
                "provider=egoi/day=2024-06-03": [
                    {"event_id": "1", "event_type": "email.sent", **email},
                    {"event_id": "2", "event_type": "email.opened", **email},
                    {"event_id": "3", "event_type": "email.opened", **email},
                ],
                "provider=sendpulse/day=2024-06-04": [
                    {"event_id": "4", "event_type": "email.clicked", **email},
                    {"event_id": "5", "event_type": "contact.unsubscribed"},
                ],
            })
            out = Path(tmp) / "report.html"
            with contextlib.redirect_stdout(io.StringIO()):
                report.main([tmp, "--html", str(out)])
            text = out.read_text()
        page = Page()
        page.feed(text)
        page.close()
        self.assertEqual(page.open, [])
        self.assertEqual((page.scripts, page.fetches), (0, []))
        funnel = {(b["data-provider"], b["data-stage"]): int(b["data-value"]) for b in page.bars
                  if b["data-chart"] == "funnel"}
        self.assertEqual(len(funnel), 2 * 6)
        self.assertEqual((funnel[("egoi", "sent")], funnel[("egoi", "opened")], funnel[("egoi", "clicked")]), (1, 2, 0))
        self.assertEqual(funnel[("sendpulse", "clicked")], 1)
        daily = {(b["data-day"], b["data-provider"]): int(b["data-value"]) for b in page.bars
                 if b["data-chart"] == "daily"}
        self.assertEqual(daily, {("2024-06-03", "egoi"): 3, ("2024-06-04", "sendpulse"): 2})
        heights = {b["data-provider"]: float(b["height"]) for b in page.bars if b["data-chart"] == "daily"}
        self.assertAlmostEqual(heights["egoi"] / heights["sendpulse"], 3 / 2, places=2)
        self.assertIn("<h2>unmapped_events</h2>", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
