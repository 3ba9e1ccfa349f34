#!/usr/bin/env python3
"""Checks what must hold of infra/template.yaml (the SAM template).

Run:  .venv/bin/python infra/test_template.py      (from any directory)
Needs cfn-lint (its YAML decoder understands !Ref/!Sub/!GetAtt) and
aws-sam-translator (SAM's own template-to-CloudFormation translator; also
installed by aws-sam-cli) in the virtualenv:
    .venv/bin/pip install cfn-lint aws-sam-translator
Works offline, without AWS credentials.

Two views of the template are checked:
* the source, as decoded by cfn-lint (what we wrote), and
* the CloudFormation that the SAM translator makes of it (what gets deployed:
  Globals merged into each function, HttpApi events turned into routes).
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import tomllib
import unittest
from pathlib import Path

INFRA = Path(__file__).resolve().parent
REPO = INFRA.parent
TEMPLATE = INFRA / "template.yaml"
SAMCONFIG = INFRA / "samconfig.toml"

PROVIDERS = ["flashy", "egoi", "enkod", "supersend", "sendpulse"]
TABLE_ACTIONS = {
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
SECRET_ENV_VARS = {"WEBHOOK_TOKENS", "SENDPULSE_RESPONSE_BODY"}
# {{resolve:secretsmanager:<id>:SecretString...}}, where <id> may be a ${...} substitution.
DYNAMIC_SECRET = re.compile(r"^\{\{resolve:secretsmanager:(?:[^{}$]|\$\{[A-Za-z0-9:._-]+\})+\}\}$")
NO_VALUE = {"Ref": "AWS::NoValue"}
ALARM_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}


def logical(provider: str) -> str:
    """flashy -> Flashy, the prefix of that provider's logical ids."""
    return provider.capitalize()


def load_source() -> dict:
    from cfnlint.decode import decode

    tpl, matches = decode(str(TEMPLATE))
    if matches:
        raise AssertionError(f"template does not parse: {matches}")
    # cfn-lint's nodes subclass dict/str; make them plain.
    return json.loads(json.dumps(tpl))


def translate(source: dict) -> dict:
    """The CloudFormation that SAM makes of the template (offline)."""
    try:
        from samtranslator.translator.transform import transform
    except ImportError:
        sys.exit("infra/test_template.py needs aws-sam-translator: .venv/bin/pip install aws-sam-translator")

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    tpl = copy.deepcopy(source)
    # The translator wants S3 locations; `sam deploy` uploads the local
    # directories first and puts S3 locations in their place.
    for res in tpl["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://artifacts/code.zip"

    class NoManagedPolicies:
        def load(self) -> dict:
            return {}

    return transform(tpl, {}, NoManagedPolicies())


def walk(node, path=()):
    """Yield (path, key, value) for every mapping entry in a nested structure."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def string_leaves(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from string_leaves(v)
    elif isinstance(node, list):
        for v in node:
            yield from string_leaves(v)


def as_list(v):
    return v if isinstance(v, list) else [v]


def is_dynamic_secret(value) -> bool:
    """A secret env var may only be a Secrets Manager dynamic reference
    (possibly under a condition that leaves it unset)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        text = sub if isinstance(sub, str) else sub[0]
        return bool(DYNAMIC_SECRET.match(text))
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _cond, a, b = value["Fn::If"]
        return all(v == NO_VALUE or is_dynamic_secret(v) for v in (a, b))
    return False


SOURCE = load_source()
CFN = translate(SOURCE)
RES = SOURCE["Resources"]
CFN_RES = CFN["Resources"]


def resources_of_type(resources: dict, type_: str) -> dict:
    return {k: v for k, v in resources.items() if v["Type"] == type_}


def lambda_function(provider: str) -> dict:
    """Properties of the AWS::Lambda::Function that SAM generates."""
    res = CFN_RES[f"{logical(provider)}Function"]
    assert res["Type"] == "AWS::Lambda::Function", res["Type"]
    return res["Properties"]


class Functions(unittest.TestCase):
    def test_exactly_one_function_per_provider(self):
        """GIVEN the template WHEN listing functions THEN there are the five, named after the binaries."""
        functions = resources_of_type(RES, "AWS::Serverless::Function")
        self.assertEqual(set(functions), {f"{logical(p)}Function" for p in PROVIDERS})
        for p in PROVIDERS:
            self.assertEqual(
                RES[f"{logical(p)}Function"]["Properties"]["FunctionName"],
                {"Fn::Sub": f"${{AWS::StackName}}-{p}"},
            )

    def test_code_uri_is_the_cargo_lambda_output_of_that_binary(self):
        """GIVEN `cargo lambda build --release --arm64` writes target/lambda/<bin>/bootstrap
        WHEN SAM resolves CodeUri against the template's directory
        THEN each function ships exactly its own binary's directory, with no SAM build step."""
        for p in PROVIDERS:
            res = RES[f"{logical(p)}Function"]
            code_uri = res["Properties"]["CodeUri"]
            self.assertEqual(code_uri, f"../target/lambda/{p}/")
            self.assertEqual(
                (INFRA / code_uri).resolve(), (REPO / "target" / "lambda" / p).resolve()
            )
            self.assertNotIn("BuildMethod", res.get("Metadata", {}), p)

    def test_each_binary_is_a_workspace_binary(self):
        """GIVEN the workspace WHEN reading crates/<provider>/Cargo.toml THEN it builds a binary of that name."""
        for p in PROVIDERS:
            manifest = tomllib.loads((REPO / "crates" / p / "Cargo.toml").read_text())
            bins = [b.get("name") for b in manifest.get("bin", [])] or [manifest["package"]["name"]]
            self.assertIn(p, bins)

    def test_runtime_architecture_handler_memory_timeout(self):
        """GIVEN Globals WHEN SAM merges them THEN every function is provided.al2023 on arm64 with bootstrap."""
        for p in PROVIDERS:
            fn = lambda_function(p)
            self.assertEqual(fn["Runtime"], "provided.al2023", p)
            self.assertEqual(fn["Architectures"], ["arm64"], p)
            self.assertEqual(fn["Handler"], "bootstrap", p)
            self.assertIn(fn["MemorySize"], range(128, 1025), p)
            # Longer than Flashy's 5 s, shorter than the HTTP API's 30 s integration timeout.
            self.assertGreater(fn["Timeout"], 5, p)
            self.assertLess(fn["Timeout"], 30, p)
            self.assertEqual(
                fn["ReservedConcurrentExecutions"],
                {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, NO_VALUE]},
                p,
            )

    def test_environment(self):
        """GIVEN the config contract of DESIGN.md WHEN SAM merges Globals THEN each function gets it."""
        for p in PROVIDERS:
            env = lambda_function(p)["Environment"]["Variables"]
            self.assertEqual(env["TABLE_NAME"], {"Ref": "EventsTable"}, p)
            self.assertEqual(env["RETENTION_DAYS"], {"Ref": "RetentionDays"}, p)
            self.assertEqual(env["MAX_BODY_BYTES"], {"Ref": "MaxBodyBytes"}, p)
            self.assertEqual(env["SECRETS_REVISION"], {"Ref": "SecretsRevision"}, p)
            self.assertIn("WEBHOOK_TOKENS", env, p)
            self.assertNotIn("ALLOW_UNAUTHENTICATED", env, p)
            self.assertEqual("SENDPULSE_RESPONSE_BODY" in env, p == "sendpulse", p)


class Routes(unittest.TestCase):
    def test_post_and_get_route_per_provider(self):
        """GIVEN each function's events THEN it is on /webhooks/<provider> of the one HTTP API, POST and GET."""
        for p in PROVIDERS:
            events = RES[f"{logical(p)}Function"]["Properties"]["Events"]
            routes = {
                (e["Properties"]["Path"], e["Properties"]["Method"].upper())
                for e in events.values()
                if e["Type"] == "HttpApi" and e["Properties"].get("ApiId") == {"Ref": "WebhookApi"}
            }
            self.assertEqual(routes, {(f"/webhooks/{p}", "POST"), (f"/webhooks/{p}", "GET")}, p)

    def test_generated_api_has_exactly_the_webhook_routes(self):
        """GIVEN the translated template THEN the API's OpenAPI body routes each path to its own function."""
        apis = resources_of_type(CFN_RES, "AWS::ApiGatewayV2::Api")
        self.assertEqual(set(apis), {"WebhookApi"})
        paths = apis["WebhookApi"]["Properties"]["Body"]["paths"]
        self.assertEqual(set(paths), {f"/webhooks/{p}" for p in PROVIDERS})
        for p in PROVIDERS:
            ops = paths[f"/webhooks/{p}"]
            self.assertEqual(set(ops), {"post", "get"}, p)
            for op in ops.values():
                uri = json.dumps(op["x-amazon-apigateway-integration"]["uri"])
                self.assertIn(f"{logical(p)}Function", uri, p)
                self.assertEqual(op["x-amazon-apigateway-integration"]["payloadFormatVersion"], "2.0")

    def test_default_stage_with_route_throttling(self):
        """GIVEN the HTTP API THEN it deploys to $default, auto-deployed, throttled per route by parameters."""
        self.assertNotIn("StageName", RES["WebhookApi"]["Properties"])
        stages = resources_of_type(CFN_RES, "AWS::ApiGatewayV2::Stage")
        self.assertEqual(len(stages), 1)
        stage = next(iter(stages.values()))["Properties"]
        self.assertEqual(stage["StageName"], "$default")
        self.assertTrue(stage["AutoDeploy"])
        self.assertEqual(
            stage["DefaultRouteSettings"],
            {
                "ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"},
                "ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"},
            },
        )

    def test_access_log_has_no_query_string_or_headers(self):
        """GIVEN tokens travel in the query string or a header THEN the access log format records neither."""
        fmt = RES["WebhookApi"]["Properties"]["AccessLogSettings"]["Format"]
        json.loads(fmt)  # valid JSON lines
        for leak in ("querystring", "path", "header", "authorizer", "$context.identity.user"):
            self.assertNotIn(leak, fmt.lower())


class Table(unittest.TestCase):
    def setUp(self):
        self.table = RES["EventsTable"]
        self.props = self.table["Properties"]

    def test_keys_and_billing(self):
        self.assertEqual(self.props["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(self.props["KeySchema"], [{"AttributeName": "event_id", "KeyType": "HASH"}])
        self.assertEqual(
            {a["AttributeName"]: a["AttributeType"] for a in self.props["AttributeDefinitions"]},
            {"event_id": "S", "contact_key": "S", "day_key": "S", "occurred_at": "S"},
        )

    def test_gsis_sort_on_occurred_at_and_project_small_attributes(self):
        """GIVEN items of 1-3 KB (raw JSON) THEN the GSIs project only small attributes, never raw/attributes."""
        gsis = {g["IndexName"]: g for g in self.props["GlobalSecondaryIndexes"]}
        self.assertEqual(set(gsis), {"by_contact", "by_day"})
        for name, hash_key in (("by_contact", "contact_key"), ("by_day", "day_key")):
            g = gsis[name]
            self.assertEqual(
                g["KeySchema"],
                [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": "occurred_at", "KeyType": "RANGE"},
                ],
            )
            proj = g["Projection"]
            self.assertEqual(proj["ProjectionType"], "INCLUDE", name)
            included = set(proj["NonKeyAttributes"])
            self.assertTrue({"event_type", "provider", "provider_event"} <= included, name)
            self.assertFalse({"raw", "attributes", "received_at", "expires_at"} & included, name)
        total = sum(len(g["Projection"].get("NonKeyAttributes", [])) for g in gsis.values())
        self.assertLessEqual(total, 100)  # DynamoDB's limit across all indexes

    def test_ttl_pitr_deletion_protection_encryption(self):
        self.assertEqual(self.props["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertIs(self.props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], True)
        self.assertIs(self.props["DeletionProtectionEnabled"], True)
        self.assertIs(self.props["SSESpecification"]["SSEEnabled"], True)
        self.assertEqual(self.table["DeletionPolicy"], "Retain")
        self.assertEqual(self.table["UpdateReplacePolicy"], "Retain")

    def test_one_table(self):
        self.assertEqual(set(resources_of_type(CFN_RES, "AWS::DynamoDB::Table")), {"EventsTable"})


class LeastPrivilege(unittest.TestCase):
    def test_functions_use_their_own_role_and_nothing_is_added(self):
        """GIVEN explicit roles THEN SAM attaches no managed or generated policy to any function."""
        for p in PROVIDERS:
            props = RES[f"{logical(p)}Function"]["Properties"]
            self.assertEqual(props["Role"], {"Fn::GetAtt": [f"{logical(p)}Role", "Arn"]}, p)
            self.assertNotIn("Policies", props, p)
        self.assertNotIn("Policies", SOURCE.get("Globals", {}).get("Function", {}))
        iam = {k: v["Type"] for k, v in CFN_RES.items() if v["Type"].startswith("AWS::IAM::")}
        self.assertEqual(iam, {f"{logical(p)}Role": "AWS::IAM::Role" for p in PROVIDERS})

    def test_role_may_only_touch_items_of_the_table_and_its_own_logs(self):
        for p in PROVIDERS:
            role = RES[f"{logical(p)}Role"]["Properties"]
            trust = role["AssumeRolePolicyDocument"]["Statement"]
            self.assertEqual(
                trust,
                [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                p,
            )
            for forbidden in ("ManagedPolicyArns", "PermissionsBoundary"):
                self.assertNotIn(forbidden, role, p)
            self.assertEqual(len(role["Policies"]), 1, p)
            statements = role["Policies"][0]["PolicyDocument"]["Statement"]
            self.assertEqual(len(statements), 2, p)
            by_sid = {s["Sid"]: s for s in statements}
            table = by_sid["EventsTableItems"]
            self.assertEqual(table["Effect"], "Allow")
            self.assertEqual(set(as_list(table["Action"])), TABLE_ACTIONS, p)
            # The table itself: not "<arn>/index/*", not "*".
            self.assertEqual(table["Resource"], {"Fn::GetAtt": ["EventsTable", "Arn"]}, p)
            logs = by_sid["OwnLogGroup"]
            self.assertEqual(logs["Effect"], "Allow")
            self.assertEqual(set(as_list(logs["Action"])), LOG_ACTIONS, p)
            self.assertEqual(logs["Resource"], {"Fn::GetAtt": [f"{logical(p)}LogGroup", "Arn"]}, p)

    def test_no_wildcards_and_no_secret_access(self):
        for p in PROVIDERS:
            policy = RES[f"{logical(p)}Role"]["Properties"]["Policies"]
            for s in string_leaves(policy):
                self.assertNotIn("*", s, p)
                self.assertFalse(s.startswith(("secretsmanager:", "kms:", "ssm:")), p)


class Secrets(unittest.TestCase):
    def test_tokens_come_from_one_generated_secret_per_provider(self):
        """GIVEN a provider THEN WEBHOOK_TOKENS is a dynamic reference to that provider's own secret,
        whose value Secrets Manager generates (URL-safe, no comma)."""
        for p in PROVIDERS:
            env = RES[f"{logical(p)}Function"]["Properties"]["Environment"]["Variables"]
            self.assertEqual(
                env["WEBHOOK_TOKENS"],
                {"Fn::Sub": f"{{{{resolve:secretsmanager:${{{logical(p)}TokenSecret}}:SecretString}}}}"},
                p,
            )
            secret = RES[f"{logical(p)}TokenSecret"]
            self.assertEqual(secret["Type"], "AWS::SecretsManager::Secret")
            props = secret["Properties"]
            self.assertEqual(props["Name"], {"Fn::Sub": f"${{AWS::StackName}}/webhook-tokens/{p}"})
            self.assertNotIn("SecretString", props, p)
            gen = props["GenerateSecretString"]
            self.assertIs(gen["ExcludePunctuation"], True, p)
            self.assertGreaterEqual(gen["PasswordLength"], 32, p)

    def test_sendpulse_response_body_is_an_optional_dynamic_reference(self):
        env = RES["SendpulseFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(
            env["SENDPULSE_RESPONSE_BODY"],
            {
                "Fn::If": [
                    "HasSendPulseResponse",
                    {"Fn::Sub": "{{resolve:secretsmanager:${SendPulseResponseSecretId}:SecretString}}"},
                    NO_VALUE,
                ]
            },
        )
        self.assertEqual(SOURCE["Parameters"]["SendPulseResponseSecretId"]["Default"], "")

    def test_no_plaintext_secret_anywhere(self):
        """GIVEN the whole template THEN every secret env var is only a dynamic reference,
        no secret has a literal SecretString, and ALLOW_UNAUTHENTICATED is never set."""
        seen = set()
        for path, key, value in walk(SOURCE):
            if key in SECRET_ENV_VARS:
                seen.add(key)
                self.assertTrue(is_dynamic_secret(value), f"{'/'.join(map(str, path))}/{key} = {value!r}")
            self.assertNotEqual(key, "ALLOW_UNAUTHENTICATED", path)
            self.assertNotEqual(key, "SecretString", path)
        self.assertEqual(seen, SECRET_ENV_VARS)
        # Nothing that looks like a token or key is written out anywhere.
        for s in string_leaves(SOURCE):
            self.assertIsNone(re.search(r"[A-Za-z0-9+/_-]{32,}", s.replace("{{resolve:", "")), s)

    def test_secrets_are_not_template_parameters(self):
        """Parameter values show in the console and in samconfig; no token may be one."""
        for name, param in SOURCE["Parameters"].items():
            self.assertNotRegex(name.lower(), r"token|password|key$", name)
            self.assertNotIn("NoEcho", param, name)

    def test_samconfig_holds_no_secret(self):
        config = tomllib.loads(SAMCONFIG.read_text())
        text = json.dumps(config)
        for needle in ("WEBHOOK_TOKENS", "SENDPULSE_RESPONSE_BODY", "SecretString", "token="):
            self.assertNotIn(needle, text)
        deploy = config["default"]["deploy"]["parameters"]
        overrides = deploy.get("parameter_overrides", "")
        for pair in overrides.split() if isinstance(overrides, str) else overrides:
            self.assertIn(pair.split("=", 1)[0], SOURCE["Parameters"], pair)
        self.assertIn("CAPABILITY_IAM", as_list(deploy["capabilities"]))
        self.assertTrue(config["default"]["global"]["parameters"]["stack_name"])


class Observability(unittest.TestCase):
    def test_json_logs_in_own_log_group_with_retention(self):
        for p in PROVIDERS:
            cfg = lambda_function(p)["LoggingConfig"]
            self.assertEqual(cfg["LogFormat"], "JSON", p)
            self.assertEqual(cfg["LogGroup"], {"Ref": f"{logical(p)}LogGroup"}, p)
            group = RES[f"{logical(p)}LogGroup"]["Properties"]
            self.assertEqual(group["LogGroupName"], {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{p}"})
            self.assertEqual(group["RetentionInDays"], {"Ref": "LogRetentionInDays"})
        api_group = RES["ApiAccessLogGroup"]["Properties"]
        self.assertEqual(api_group["RetentionInDays"], {"Ref": "LogRetentionInDays"})

    def _alarms(self) -> dict:
        return resources_of_type(RES, "AWS::CloudWatch::Alarm")

    def test_errors_and_throttles_alarm_per_function(self):
        alarms = self._alarms()
        for p in PROVIDERS:
            for metric in ("Errors", "Throttles"):
                matching = [
                    a["Properties"]
                    for a in alarms.values()
                    if a["Properties"].get("Namespace") == "AWS/Lambda"
                    and a["Properties"].get("MetricName") == metric
                    and a["Properties"].get("Dimensions")
                    == [{"Name": "FunctionName", "Value": {"Ref": f"{logical(p)}Function"}}]
                ]
                self.assertEqual(len(matching), 1, (p, metric))
                self.assertEqual(matching[0]["Statistic"], "Sum")

    def _metrics_of(self, alarm: dict) -> list:
        return [m["MetricStat"]["Metric"] for m in alarm["Properties"].get("Metrics", []) if "MetricStat" in m]

    def test_api_5xx_rate_alarm(self):
        alarm = RES["Api5xxRateAlarm"]
        metrics = {(m["Namespace"], m["MetricName"]): m["Dimensions"] for m in self._metrics_of(alarm)}
        api = [{"Name": "ApiId", "Value": {"Ref": "WebhookApi"}}]
        self.assertEqual(metrics, {("AWS/ApiGateway", "5xx"): api, ("AWS/ApiGateway", "Count"): api})
        returned = [m for m in alarm["Properties"]["Metrics"] if m.get("ReturnData")]
        self.assertEqual(len(returned), 1)
        self.assertIn("errors", returned[0]["Expression"])
        self.assertIn("requests", returned[0]["Expression"])

    def test_table_write_throttles_alarm(self):
        alarm = RES["TableWriteThrottlesAlarm"]
        metrics = self._metrics_of(alarm)
        self.assertTrue(metrics)
        for m in metrics:
            self.assertEqual((m["Namespace"], m["MetricName"]), ("AWS/DynamoDB", "WriteThrottleEvents"))
            self.assertIn({"Name": "TableName", "Value": {"Ref": "EventsTable"}}, m["Dimensions"])
        indexes = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "GlobalSecondaryIndexName"}
        self.assertEqual(indexes, {"by_contact", "by_day"})

    def test_every_alarm_notifies_the_optional_topic(self):
        alarms = self._alarms()
        self.assertEqual(len(alarms), 2 * len(PROVIDERS) + 2)
        self.assertEqual(
            SOURCE["Conditions"]["HasAlarmTopic"], {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
        )
        self.assertEqual(SOURCE["Parameters"]["AlarmTopicArn"]["Default"], "")
        for name, alarm in alarms.items():
            self.assertEqual(alarm["Properties"]["AlarmActions"], ALARM_ACTIONS, name)
            self.assertEqual(alarm["Properties"]["OKActions"], ALARM_ACTIONS, name)
            self.assertEqual(alarm["Properties"]["TreatMissingData"], "notBreaching", name)


class Outputs(unittest.TestCase):
    def test_five_webhook_urls_without_token_and_the_table_name(self):
        outputs = SOURCE["Outputs"]
        for p in PROVIDERS:
            value = outputs[f"{logical(p)}WebhookUrl"]["Value"]
            self.assertEqual(
                value,
                {"Fn::Sub": f"https://${{WebhookApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/webhooks/{p}"},
            )
            self.assertNotIn("token", json.dumps(value).lower())
        self.assertEqual(outputs["EventsTableName"]["Value"], {"Ref": "EventsTable"})


class Lint(unittest.TestCase):
    def test_cfn_lint_reports_nothing(self):
        """Same as `cfn-lint infra/template.yaml`: no error, no warning."""
        from cfnlint.api import ManualArgs, lint_file

        matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1"]))
        self.assertEqual([str(m) for m in matches], [])


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
