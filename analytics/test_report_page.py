#!/usr/bin/env python3
"""The report page as a person sees it: written by report.py, opened in
headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), looked
at element by element and pixel by pixel.

Run:  .venv/bin/python analytics/test_report_page.py   (`make test` runs it,
after installing Debian's chromium if it is missing: `make chromium`)
The page's markup is checked without a browser by test_report.py.
"""

import contextlib
import io
import os
import sys
import tempfile
import unittest
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
import charts  # noqa: E402
import report  # noqa: E402
from test_report import write_export  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
# Without the networking flags Chromium calls Google's hosts at start, which
# a closed network refuses; --no-sandbox because tests may run as root.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Where a person can look at what the test saw.
SCREENSHOT = Path(__file__).resolve().parent.parent / "target" / "analytics" / "report-page.png"

EMAIL = {"channel": "email", "campaign_id": "7"}
# Three providers over three days: 6 egoi, 4 sendpulse and 2 flashy events.
EXPORT = {
    "provider=egoi/day=2024-06-03": [
        {"event_id": "e1", "event_type": "email.sent", **EMAIL},
        {"event_id": "e2", "event_type": "email.sent", **EMAIL},
        {"event_id": "e3", "event_type": "email.delivered", **EMAIL},
        {"event_id": "e4", "event_type": "email.opened", **EMAIL},
    ],
    "provider=egoi/day=2024-06-04": [
        {"event_id": "e5", "event_type": "email.opened", **EMAIL},
        {"event_id": "e6", "event_type": "email.clicked", **EMAIL},
    ],
    "provider=sendpulse/day=2024-06-04": [
        {"event_id": "s1", "event_type": "email.opened", **EMAIL},
        {"event_id": "s2", "event_type": "email.clicked", **EMAIL},
        {"event_id": "s3", "event_type": "email.bounced", **EMAIL, "attributes": "{\"bounce_type\":\"hard\"}"},
        {"event_id": "s4", "event_type": "contact.unsubscribed"},
    ],
    "provider=flashy/day=2024-06-05": [
        {"event_id": "f1", "event_type": "email.complained", **EMAIL},
        {"event_id": "f2", "event_type": "email.opened", **EMAIL},
    ],
}


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


class ReportPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not Path(CHROMIUM).exists():
            raise RuntimeError(f"{CHROMIUM} is missing: `make chromium` installs Debian's")
        cls.tmp = tempfile.TemporaryDirectory()
        write_export(cls.tmp.name, EXPORT)
        cls.html = Path(cls.tmp.name) / "report.html"
        with contextlib.redirect_stdout(io.StringIO()):
            report.main([cls.tmp.name, "--html", str(cls.html)])
        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.page = self.browser.new_page(viewport={"width": 1000, "height": 800})
        self.errors, self.requests = [], []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(self.html.as_uri())

    def tearDown(self):
        self.page.close()

    def bars(self, chart):
        """Each bar of a chart as drawn: its data and its box on the screen, in CSS pixels."""
        return self.page.eval_on_selector_all(
            f'rect[data-chart="{chart}"]',
            """rects => rects.map(r => {
                const b = r.getBoundingClientRect();
                return {provider: r.dataset.provider, stage: r.dataset.stage, day: r.dataset.day,
                        value: Number(r.dataset.value), fill: r.getAttribute('fill'),
                        x: b.x, y: b.y, width: b.width, height: b.height};
            })""",
        )

    def test_the_page_opens_alone_without_an_error(self):
        """The file is the only thing the browser asks for, and nothing is logged as an error."""
        self.assertEqual(self.requests, [self.html.as_uri()])
        self.assertEqual(self.errors, [])
        self.assertEqual(self.page.title(), "marketing-webhooks report")
        headings = self.page.locator("h2").all_inner_texts()
        self.assertEqual(headings[:2], ["Funnel per provider", "Events per day and provider"])
        self.assertEqual(headings[2:], list(report.queries()))

    def test_each_funnel_bar_is_as_long_as_its_count(self):
        """One bar per provider and stage, its drawn length proportional to its
        count (zero is no bar), its number printed beside it."""
        bars = self.bars("funnel")
        self.assertEqual(len(bars), 3 * len(charts.STAGES))
        counts = {(b["provider"], b["stage"]): b["value"] for b in bars}
        self.assertEqual(
            [counts[("egoi", s)] for s in charts.STAGES], [2, 1, 2, 1, 0, 0])
        self.assertEqual(
            [counts[("sendpulse", s)] for s in charts.STAGES], [0, 0, 1, 1, 1, 0])
        self.assertEqual(
            [counts[("flashy", s)] for s in charts.STAGES], [0, 0, 1, 0, 0, 1])
        per_event = max(b["width"] for b in bars) / max(counts.values())
        self.assertGreater(per_event, 100)
        for b in bars:
            self.assertAlmostEqual(b["width"], b["value"] * per_event, delta=0.6, msg=b)
            self.assertGreater(b["height"], 10, b)
        labels = self.page.eval_on_selector_all(
            'rect[data-chart="funnel"] + text', "ts => ts.map(t => Number(t.textContent))")
        self.assertEqual(labels, [b["value"] for b in bars])

    def test_each_day_is_a_column_of_its_providers_stacked(self):
        """One column per day; its providers' blocks stacked on one baseline,
        each as tall as its count."""
        bars = self.bars("daily")
        self.assertEqual(
            {(b["day"], b["provider"]): b["value"] for b in bars},
            {("2024-06-03", "egoi"): 4, ("2024-06-04", "egoi"): 2,
             ("2024-06-04", "sendpulse"): 4, ("2024-06-05", "flashy"): 2})
        per_event = max(b["height"] for b in bars) / 4
        self.assertGreater(per_event, 20)
        baseline = max(b["y"] + b["height"] for b in bars)
        columns = {}
        for b in bars:
            self.assertAlmostEqual(b["height"], b["value"] * per_event, delta=0.6, msg=b)
            columns.setdefault(b["day"], []).append(b)
        self.assertEqual(list(columns), ["2024-06-03", "2024-06-04", "2024-06-05"])
        lefts = [col[0]["x"] for col in columns.values()]
        self.assertEqual(lefts, sorted(set(lefts)), "one column per day, left to right")
        for day, col in columns.items():
            col.sort(key=lambda b: -b["y"])
            self.assertAlmostEqual(col[0]["y"] + col[0]["height"], baseline, delta=0.6, msg=day)
            for lower, upper in zip(col, col[1:]):
                self.assertAlmostEqual(upper["y"] + upper["height"], lower["y"], delta=0.6, msg=day)

    def test_the_bars_are_painted_in_their_providers_colours(self):
        """In a screenshot of the funnel, each provider's colour covers as many
        pixels as its bars' drawn area: the chart is on the screen, not only in the markup."""
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOT), full_page=True)
        funnel = self.page.locator('svg[aria-label="Funnel per provider"]')
        box = funnel.bounding_box()
        shot = Path(self.tmp.name) / "funnel.png"
        funnel.screenshot(path=str(shot))
        pixels = Image.open(shot).convert("RGB")
        for shot_side, drawn_side in zip(pixels.size, (box["width"], box["height"])):
            self.assertAlmostEqual(shot_side, drawn_side, delta=1)
        painted = {rgb: n for n, rgb in pixels.getcolors(pixels.width * pixels.height)}
        for provider in ["egoi", "sendpulse", "flashy"]:
            area = sum(b["width"] * b["height"] for b in self.bars("funnel") if b["provider"] == provider)
            seen = painted.get(hex_rgb(charts.colour(provider)), 0)
            self.assertGreater(area, 1000, provider)
            self.assertAlmostEqual(seen / area, 1, delta=0.1, msg=f"{provider}: {seen} pixels for {area:.0f}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
