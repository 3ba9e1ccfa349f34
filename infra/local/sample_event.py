"""Writes the API Gateway (HTTP API v2) event of a provider's sample body,
for `cargo lambda invoke`: events/apigw-v2-template.json with `{provider}`
replaced by the provider's name and `body` set to events/bodies/<provider>.json.
Prints the path it wrote, target/invoke/<provider>.json.

test-support's `sample_event` fills the same template the same way.

Usage: sample_event.py <provider>
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(provider: str) -> None:
    body_path = ROOT / "events" / "bodies" / f"{provider}.json"
    if not body_path.is_file():
        known = sorted(p.stem for p in body_path.parent.glob("*.json"))
        sys.exit(f"{body_path.relative_to(ROOT)}: no sample body; providers: {' '.join(known)}")
    template = (ROOT / "events" / "apigw-v2-template.json").read_text()
    event = json.loads(template.replace("{provider}", provider))
    event["body"] = body_path.read_text()
    out = ROOT / "target" / "invoke" / f"{provider}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(event, indent=2) + "\n")
    print(out.relative_to(ROOT))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
