#!/usr/bin/env python3
"""`make deploy-check`: what `make deploy` would do, checked before it does it.

1. `sam deploy --no-execute-changeset` packages the binaries and creates the
   change set without executing it (the stack is not touched; a new stack
   stays in REVIEW_IN_PROGRESS with nothing created).
2. The template as AWS processed it (`get-template --template-stage
   Processed`: after AWS::LanguageExtensions expanded the loops and the SAM
   transform made the functions and routes) must give every provider
   - its own function, with its own code (an S3 object no other function
     has),
   - its own secret reference (WEBHOOK_TOKENS_SECRET_ID is a Ref to its own
     token secret, which its role may read; no secret value anywhere),
   - its routes (POST, GET and HEAD on /webhooks/<provider>, integrated with
     its own function, which API Gateway may invoke).
3. It prints what the change set would add, modify and remove, and which
   modifications replace a resource.

Exit 0 when every check passes (then `make deploy`), 1 otherwise.

    infra/deploy_check.py [--stack NAME] [--region R] [-- extra sam deploy arguments]
    infra/deploy_check.py --check-template FILE   # step 2 only, on a saved processed template
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parent
REPO = INFRA.parent
METHODS = ("post", "get", "head")
CHANGESET_ARN = re.compile(r"Changeset created successfully\.\s*(arn:[^\s]+:changeSet/[^\s]+)")


def providers() -> list[str]:
    """One per sample body, as `make smoke` sees them."""
    return sorted(p.stem for p in (REPO / "events" / "bodies").glob("*.json"))


def logical(provider: str) -> str:
    return provider.capitalize()


def refers_to(node, logical_id: str) -> bool:
    """True when `node` names the resource: Ref, GetAtt or ${...} in a Sub."""
    text = json.dumps(node)
    return (
        json.dumps({"Ref": logical_id}) in text
        or f'"Fn::GetAtt": ["{logical_id}"' in text
        or "${" + logical_id + "}" in text
        or "${" + logical_id + "." in text
    )


def check_processed(template: dict, names: list[str] | None = None) -> list[str]:
    """Every way the processed template fails the checks, one line each."""
    names = names or providers()
    resources = template.get("Resources", {})
    problems = []
    text = json.dumps(template)
    if "{{resolve:" in text:
        problems.append("a dynamic reference ({{resolve:...}}) would put a secret's value into the configuration")

    codes: dict[str, str] = {}
    for p in names:
        fn_id, secret_id, role_id = f"{logical(p)}Function", f"{logical(p)}TokenSecret", f"{logical(p)}Role"
        fn = resources.get(fn_id)
        if not fn or fn.get("Type") != "AWS::Lambda::Function":
            problems.append(f"{p}: no AWS::Lambda::Function {fn_id}")
            continue
        props = fn.get("Properties", {})

        code = props.get("Code", {})
        if not (isinstance(code.get("S3Bucket"), str) and isinstance(code.get("S3Key"), str)):
            problems.append(f"{p}: {fn_id}'s code is not one S3 object: {json.dumps(code)}")
        else:
            location = f"s3://{code['S3Bucket']}/{code['S3Key']}"
            if location in codes:
                problems.append(f"{p}: {fn_id} runs the same code as {codes[location]} ({location})")
            codes[location] = fn_id

        env = props.get("Environment", {}).get("Variables", {})
        if env.get("WEBHOOK_TOKENS_SECRET_ID") != {"Ref": secret_id}:
            problems.append(f"{p}: WEBHOOK_TOKENS_SECRET_ID of {fn_id} is {json.dumps(env.get('WEBHOOK_TOKENS_SECRET_ID'))}, not its own secret {secret_id}")
        for leak in ("WEBHOOK_TOKENS", "SENDPULSE_RESPONSE_BODY"):
            if leak in env:
                problems.append(f"{p}: {fn_id} has {leak} in its configuration")
        if resources.get(secret_id, {}).get("Type") != "AWS::SecretsManager::Secret":
            problems.append(f"{p}: no AWS::SecretsManager::Secret {secret_id}")
        if not refers_to(props.get("Role"), role_id):
            problems.append(f"{p}: {fn_id} does not run as its own role {role_id}")
        else:
            statements = [
                s for pol in resources.get(role_id, {}).get("Properties", {}).get("Policies", [])
                for s in pol.get("PolicyDocument", {}).get("Statement", [])
                if "secretsmanager:GetSecretValue" in json.dumps(s.get("Action"))
            ]
            if [s.get("Resource") for s in statements] != [{"Ref": secret_id}]:
                problems.append(f"{p}: {role_id} may read {json.dumps([s.get('Resource') for s in statements])}, not just {secret_id}")

        problems += check_routes(p, fn_id, resources)
    return problems


def check_routes(p: str, fn_id: str, resources: dict) -> list[str]:
    path = f"/webhooks/{p}"
    apis = [r for r in resources.values() if r.get("Type") == "AWS::ApiGatewayV2::Api"]
    routes = {}
    for api in apis:
        for method, op in api.get("Properties", {}).get("Body", {}).get("paths", {}).get(path, {}).items():
            routes[method.lower()] = op.get("x-amazon-apigateway-integration", {}).get("uri")
    # An HTTP API may also be built of Route resources.
    for r in resources.values():
        if r.get("Type") == "AWS::ApiGatewayV2::Route":
            key = r.get("Properties", {}).get("RouteKey", "")
            method, _, route_path = key.partition(" ")
            if route_path == path:
                routes[method.lower()] = r.get("Properties", {}).get("Target")
    problems = []
    for method in METHODS:
        if method not in routes:
            problems.append(f"{p}: no {method.upper()} {path} route")
        elif not refers_to(routes[method], fn_id):
            problems.append(f"{p}: {method.upper()} {path} is not integrated with {fn_id}: {json.dumps(routes[method])}")
    permitted = any(
        r.get("Type") == "AWS::Lambda::Permission" and refers_to(r.get("Properties", {}).get("FunctionName"), fn_id)
        and r.get("Properties", {}).get("Principal") == "apigateway.amazonaws.com"
        for r in resources.values()
    )
    if not permitted:
        problems.append(f"{p}: API Gateway may not invoke {fn_id} (no AWS::Lambda::Permission)")
    return problems


def summarize(changes: list[dict]) -> str:
    """The change set as lines: what is added, modified (and replaced), removed."""
    groups: dict[str, list[str]] = {"Add": [], "Modify": [], "Remove": [], "Other": []}
    replaced = []
    for change in changes:
        rc = change.get("ResourceChange", {})
        action = rc.get("Action", "Other")
        line = f"{rc.get('LogicalResourceId')} ({rc.get('ResourceType')})"
        if action == "Modify" and rc.get("Replacement") in ("True", "Conditional"):
            replaced.append(f"{line}: replacement {rc['Replacement'].lower()}")
        groups.setdefault(action, []).append(line)
    lines = []
    for action, title in (("Add", "add"), ("Modify", "change"), ("Remove", "remove"), ("Dynamic", "dynamic"),
                          ("Import", "import"), ("Other", "other")):
        items = groups.get(action, [])
        if items:
            lines.append(f"would {title} {len(items)}:")
            lines += [f"  {i}" for i in sorted(items)]
    lines.append(f"would replace {len(replaced)}:" if replaced else "would replace nothing")
    lines += [f"  {r}" for r in sorted(replaced)]
    return "\n".join(lines)


def load_template(body) -> dict:
    if isinstance(body, dict):
        return body
    try:
        return json.loads(body)
    except ValueError:
        import yaml

        return yaml.safe_load(body)


def create_change_set(sam: str, extra: list[str]) -> tuple[str | None, str]:
    """Runs `sam deploy --no-execute-changeset`; returns (change set ARN or None
    when there is nothing to change, stack name from sam's output)."""
    command = [sam, "deploy", "--language-extensions", "--template-file", "infra/template.yaml",
               "--no-execute-changeset", "--no-confirm-changeset", *extra]
    print("+ " + " ".join(command), flush=True)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"deploy-check: FAILED: sam deploy --no-execute-changeset exited {done.returncode}")
    stack = re.search(r"Stack name\s*:\s*(\S+)", output)
    match = CHANGESET_ARN.search(output)
    if match is None and "No changes to deploy" not in output:
        raise SystemExit("deploy-check: FAILED: sam deploy printed no change set")
    return (match.group(1) if match else None), (stack.group(1) if stack else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sam", default=str(REPO / ".venv/bin/sam"))
    parser.add_argument("--region")
    parser.add_argument("--check-template", type=Path, help="check this saved processed template only")
    parser.add_argument("extra", nargs="*", help="more `sam deploy` arguments (after --)")
    args = parser.parse_args()

    if args.check_template:
        problems = check_processed(load_template(args.check_template.read_text()))
    else:
        import boto3

        arn, stack = create_change_set(args.sam, args.extra)
        cfn = boto3.session.Session(region_name=args.region).client("cloudformation")
        if arn is None:
            print(f"no changes: checking the template stack {stack} already runs")
            body = cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
        else:
            changes, token = [], None
            while True:
                page = cfn.describe_change_set(ChangeSetName=arn, **({"NextToken": token} if token else {}))
                changes += page.get("Changes", [])
                token = page.get("NextToken")
                if not token:
                    break
            print(summarize(changes))
            body = cfn.get_template(ChangeSetName=arn, TemplateStage="Processed")["TemplateBody"]
        problems = check_processed(load_template(body))
        if arn:
            print(f"change set (not executed): {arn}")
    if problems:
        for line in problems:
            print(f"deploy-check: FAILED: {line}", file=sys.stderr)
        return 1
    print(f"deploy-check: each of {', '.join(providers())} has its own code, its own secret reference and its routes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
