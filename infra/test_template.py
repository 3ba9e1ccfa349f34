#!/usr/bin/env python3
"""Checks what must hold of infra/template.yaml (the SAM template).

Run:  .venv/bin/python infra/test_template.py      (from any directory)
Needs cfn-lint (its YAML decoder understands !Ref/!Sub/!GetAtt) and
aws-sam-translator (SAM's own template-to-CloudFormation translator; also
installed by aws-sam-cli) in the virtualenv:
    .venv/bin/pip install cfn-lint aws-sam-translator
Works offline, without AWS credentials.

Three views of the template are checked:
* the source, as decoded by cfn-lint (what we wrote, with its Fn::ForEach
  loops over the providers),
* the source with the loops expanded the way CloudFormation's
  AWS::LanguageExtensions transform does (cfn-lint's model of that transform,
  cross-checked against SAM CLI's own expansion when SAM CLI is installed),
  which is what almost every check below reads, and
* the CloudFormation that the SAM translator makes of the expanded template
  (what gets deployed: Globals merged into each function, HttpApi events
  turned into routes).
With SAM CLI installed (`make lint-infra` installs it), the Packaging checks
also run `sam package` itself, offline, with S3 replaced by a recorder.
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

# The template's Fn::ForEach loops, each over every provider.
LOOPS = [
    ("Resources", "Fn::ForEach::Providers"),
    ("Resources", "Fn::ForEach::Functions"),
    ("Resources", "Fn::ForEach::ComplaintRateAlarms"),
    ("Outputs", "Fn::ForEach::WebhookUrls"),
]
TABLE_ACTIONS = {
    "dynamodb:BatchWriteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# What a function would hold a secret's value in (set only locally, never here).
SECRET_VALUE_VARS = {"WEBHOOK_TOKENS", "RESPONSE_BODY"}
# What it holds instead: the secret's ARN or name.
SECRET_ID_VARS = {"WEBHOOK_TOKENS_SECRET_ID", "RESPONSE_BODY_SECRET_ID"}
NO_VALUE = {"Ref": "AWS::NoValue"}
ALARM_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}
# The consent view's resources (Consent tests below); the webhook checks leave them out.
CONSENT_FUNCTIONS = {"ConsentFunction", "ConsentLookupFunction"}
CONSENT_ROLES = {"ConsentRole", "ConsentLookupRole"}
CONSENT_ALARMS = {"ConsentErrorsAlarm", "ConsentThrottlesAlarm", "ConsentLookupErrorsAlarm",
                  "ConsentLookupThrottlesAlarm", "ConsentDeadLetterAlarm", "ConsentIteratorAgeAlarm"}
CONSENT_BINARIES = {"ConsentFunction": "consent", "ConsentLookupFunction": "consent-lookup"}


def logical(provider: str) -> str:
    """flashy -> Flashy, the prefix of that provider's logical ids."""
    return provider.capitalize()


def plain(node):
    """cfn-lint's nodes subclass dict/str; make them plain."""
    return json.loads(json.dumps(node))


def load_source(path: Path = TEMPLATE) -> dict:
    from cfnlint.decode import decode

    tpl, matches = decode(str(path))
    if matches:
        raise AssertionError(f"template does not parse: {matches}")
    return plain(tpl)


def inline_sub(node):
    """Fold each Fn::Sub [text, {var: value}] whose values are literals or a
    Ref/GetAtt into Fn::Sub text, which means the same to CloudFormation:
    {"Fn::Sub": ["x-${name}", {"name": "flashy"}]} is {"Fn::Sub": "x-flashy"},
    and a variable {"Ref": "R"} is ${R}; with nothing left to substitute it
    is the plain string. The loops build names that way."""
    if isinstance(node, list):
        return [inline_sub(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: inline_sub(v) for k, v in node.items()}
    sub = node.get("Fn::Sub")
    if set(node) == {"Fn::Sub"} and isinstance(sub, list) and len(sub) == 2:
        text, variables = sub
        for name, value in variables.items():
            if isinstance(value, str) and "${" not in value:
                text = text.replace("${" + name + "}", value)
            elif isinstance(value, dict) and set(value) == {"Ref"}:
                text = text.replace("${" + name + "}", "${" + value["Ref"] + "}")
            elif isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
                text = text.replace("${" + name + "}", "${" + ".".join(value["Fn::GetAtt"]) + "}")
            else:
                return node
        return {"Fn::Sub": text} if "${" in text else text
    return node


def expand(path: Path = TEMPLATE) -> dict:
    """The template after AWS::LanguageExtensions: every Fn::ForEach expanded,
    Fn::FindInMap on the Providers mapping and Ref/GetAtt of an Fn::Sub
    resolved. This is cfn-lint's implementation of the transform (the same
    one `cfn-lint infra/template.yaml` lints), then inline_sub."""
    from cfnlint.decode import decode
    from cfnlint.template import Template
    from cfnlint.template.transforms._language_extensions import language_extension

    tpl, matches = decode(str(path))
    if matches:
        raise AssertionError(f"template does not parse: {matches}")
    errors, expanded = language_extension(Template(str(path), tpl, ["us-east-1"]))
    if errors:
        raise AssertionError(f"Fn::ForEach does not expand: {errors}")
    return inline_sub(plain(expanded))


def sam_cli_expand(source: dict) -> dict | None:
    """SAM CLI's own AWS::LanguageExtensions expansion (what `sam deploy
    --language-extensions` packages from), or None without SAM CLI."""
    try:
        from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
    except ImportError:
        return None
    result = expand_language_extensions(copy.deepcopy(source), {}, enabled=True)
    assert result.had_language_extensions
    return inline_sub(plain(result.expanded_template))


def translate(source: dict, code_uris_as_written: bool = False) -> dict:
    """The CloudFormation that SAM makes of the expanded template (offline)."""
    try:
        from samtranslator.translator.transform import transform
    except ImportError:
        sys.exit("infra/test_template.py needs aws-sam-translator: .venv/bin/pip install aws-sam-translator")

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    tpl = copy.deepcopy(source)
    # AWS::LanguageExtensions has run already (expand); SAM's transform is next.
    assert tpl["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"], tpl["Transform"]
    tpl["Transform"] = "AWS::Serverless-2016-10-31"
    # The translator wants S3 locations; `sam deploy` uploads the local
    # directories first and puts S3 locations in their place.
    for res in tpl["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function" and not code_uris_as_written:
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


RAW = load_source()  # as written, with the loops
# The providers: the Providers mapping's rows, in order (the registry's order:
# crates/normalize/tests/registry.rs checks that they agree).
PROVIDERS = [row["Name"] for row in RAW["Mappings"]["Providers"].values()]
# The deliverability guard: two complaint-rate alarms per provider.
COMPLAINT_RATE_ALARMS = {f"{p.capitalize()}{a}" for p in PROVIDERS for a in ("ComplaintRateWarnAlarm", "ComplaintRateAlarm")}
CONSENT = CONSENT_FUNCTIONS | CONSENT_ROLES | CONSENT_ALARMS | COMPLAINT_RATE_ALARMS | {
    "ConsentTable", "ConsentDeadLetterQueue", "ConsentLogGroup", "ConsentLookupLogGroup", "ConsentHashKeySecret"}
SOURCE = expand()  # as CloudFormation sees it after AWS::LanguageExtensions
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
        """GIVEN the template WHEN listing functions THEN there is one per provider, named after its binary."""
        functions = resources_of_type(RES, "AWS::Serverless::Function")
        self.assertEqual(set(functions) - CONSENT_FUNCTIONS, {f"{logical(p)}Function" for p in PROVIDERS})
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
        """GIVEN the config contract of docs/design.md WHEN SAM merges Globals THEN each function gets it."""
        for p in PROVIDERS:
            env = lambda_function(p)["Environment"]["Variables"]
            self.assertEqual(env["TABLE_NAME"], {"Ref": "EventsTable"}, p)
            self.assertEqual(env["RETENTION_DAYS"], {"Ref": "RetentionDays"}, p)
            self.assertEqual(env["MAX_BODY_BYTES"], {"Ref": "MaxBodyBytes"}, p)
            self.assertEqual(env["WEBHOOK_TOKENS_SECRET_ID"], {"Ref": f"{logical(p)}TokenSecret"}, p)
            self.assertNotIn("ALLOW_UNAUTHENTICATED", env, p)
            self.assertFalse(SECRET_VALUE_VARS & set(env), p)
            self.assertIn("RESPONSE_BODY_SECRET_ID", env, p)


class Routes(unittest.TestCase):
    def test_post_get_and_head_route_per_provider(self):
        """GIVEN each function's events THEN it is on /webhooks/<provider> of the one HTTP API,
        POST for webhooks, GET and HEAD for reachability checks (HEAD is not implied by GET)."""
        for p in PROVIDERS:
            events = RES[f"{logical(p)}Function"]["Properties"]["Events"]
            routes = {
                (e["Properties"]["Path"], e["Properties"]["Method"].upper())
                for e in events.values()
                if e["Type"] == "HttpApi" and e["Properties"].get("ApiId") == {"Ref": "WebhookApi"}
            }
            self.assertEqual(
                routes, {(f"/webhooks/{p}", "POST"), (f"/webhooks/{p}", "GET"), (f"/webhooks/{p}", "HEAD")}, p
            )

    def test_generated_api_has_exactly_the_webhook_routes(self):
        """GIVEN the translated template THEN the API's OpenAPI body routes each path to its own function."""
        apis = resources_of_type(CFN_RES, "AWS::ApiGatewayV2::Api")
        self.assertEqual(set(apis), {"WebhookApi"})
        paths = apis["WebhookApi"]["Properties"]["Body"]["paths"]
        self.assertEqual(set(paths) - {"/consent"}, {f"/webhooks/{p}" for p in PROVIDERS})
        for p in PROVIDERS:
            ops = paths[f"/webhooks/{p}"]
            self.assertEqual(set(ops), {"post", "get", "head"}, p)
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
        # The defaults SECURITY.md states.
        self.assertEqual(RAW["Parameters"]["ThrottleRateLimit"]["Default"], 100)
        self.assertEqual(RAW["Parameters"]["ThrottleBurstLimit"]["Default"], 200)

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
        self.assertEqual(set(resources_of_type(CFN_RES, "AWS::DynamoDB::Table")), {"EventsTable", "ConsentTable"})


class LeastPrivilege(unittest.TestCase):
    def test_functions_use_their_own_role_and_nothing_is_added(self):
        """GIVEN explicit roles THEN SAM attaches no managed or generated policy to any function."""
        for p in PROVIDERS:
            props = RES[f"{logical(p)}Function"]["Properties"]
            self.assertEqual(props["Role"], {"Fn::GetAtt": [f"{logical(p)}Role", "Arn"]}, p)
            self.assertNotIn("Policies", props, p)
        self.assertNotIn("Policies", SOURCE.get("Globals", {}).get("Function", {}))
        iam = {k: v["Type"] for k, v in CFN_RES.items() if v["Type"].startswith("AWS::IAM::")}
        expected = {f"{logical(p)}Role": "AWS::IAM::Role" for p in PROVIDERS}
        # Plus reading SendPulse's optional answer body (Secrets, below).
        expected |= {"SendpulseResponseSecretPolicy": "AWS::IAM::RolePolicy"}
        # Plus the two roles of the optional fan-out (FanOut tests below).
        expected |= {"FanOutPipeRole": "AWS::IAM::Role", "FanOutEnrichmentRole": "AWS::IAM::Role"}
        # And the three of the optional analytics (Analytics tests below).
        expected |= {f"Analytics{r}Role": "AWS::IAM::Role" for r in ("Delivery", "Rows", "Pipe")}
        expected |= {role: "AWS::IAM::Role" for role in CONSENT_ROLES}
        self.assertEqual(iam, expected)

    def test_role_may_only_touch_items_of_the_table_its_own_logs_and_its_own_secret(self):
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
            self.assertEqual(len(statements), 3, p)
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
            secret = by_sid["OwnTokenSecret"]
            self.assertEqual(secret["Effect"], "Allow")
            self.assertEqual(as_list(secret["Action"]), ["secretsmanager:GetSecretValue"], p)
            self.assertEqual(secret["Resource"], {"Ref": f"{logical(p)}TokenSecret"}, p)

    def test_no_wildcards_and_no_other_secret(self):
        """Each role reads its own token secret only: no other provider's, no kms: or ssm:."""
        for p in PROVIDERS:
            policy = RES[f"{logical(p)}Role"]["Properties"]["Policies"]
            for s in string_leaves(policy):
                self.assertNotIn("*", s, p)
                self.assertFalse(s.startswith(("kms:", "ssm:")), p)
            secrets = {json.dumps(r) for _, k, r in walk(policy) if k == "Resource" and "TokenSecret" in json.dumps(r)}
            self.assertEqual(secrets, {json.dumps({"Ref": f"{logical(p)}TokenSecret"})}, p)


class Secrets(unittest.TestCase):
    def test_each_function_gets_its_own_secrets_arn_not_its_value(self):
        """GIVEN a provider THEN its function's environment holds its own secret's ARN
        (WEBHOOK_TOKENS_SECRET_ID; the function reads the value at run time), and the
        secret's value is generated by Secrets Manager (URL-safe, no comma)."""
        for p in PROVIDERS:
            env = RES[f"{logical(p)}Function"]["Properties"]["Environment"]["Variables"]
            self.assertEqual(env["WEBHOOK_TOKENS_SECRET_ID"], {"Ref": f"{logical(p)}TokenSecret"}, p)
            secret = RES[f"{logical(p)}TokenSecret"]
            self.assertEqual(secret["Type"], "AWS::SecretsManager::Secret")
            props = secret["Properties"]
            self.assertEqual(props["Name"], {"Fn::Sub": f"${{AWS::StackName}}/webhook-tokens/{p}"})
            self.assertNotIn("SecretString", props, p)
            gen = props["GenerateSecretString"]
            self.assertIs(gen["ExcludePunctuation"], True, p)
            self.assertGreaterEqual(gen["PasswordLength"], 32, p)

    def test_the_answer_body_is_an_optional_secret_only_its_function_reads(self):
        """GIVEN a provider whose row says AnswerBody: 1 (SendPulse) THEN its RESPONSE_BODY_SECRET_ID
        names the SendPulseResponseSecretId secret when that is set; every other function's is empty
        or unset; and only SendPulse's role may read that secret."""
        rows = {row["Name"]: row for row in RAW["Mappings"]["Providers"].values()}
        secret = {"Ref": "SendPulseResponseSecretId"}
        for p in PROVIDERS:
            env = RES[f"{logical(p)}Function"]["Properties"]["Environment"]["Variables"]
            self.assertIn(rows[p]["AnswerBody"], (0, 1), p)
            self.assertEqual(
                env["RESPONSE_BODY_SECRET_ID"],
                {"Fn::If": ["HasSendPulseResponse", {"Fn::Select": [rows[p]["AnswerBody"], ["", secret]]}, NO_VALUE]},
                p,
            )
        # The role policy below is SendPulse's: a second row with AnswerBody: 1 needs its own.
        self.assertEqual([p for p in PROVIDERS if rows[p]["AnswerBody"] == 1], ["sendpulse"])
        param = SOURCE["Parameters"]["SendPulseResponseSecretId"]
        self.assertEqual(param["Default"], "")
        self.assertTrue(re.fullmatch(param["AllowedPattern"], "marketing-webhooks/sendpulse-response-body"))
        self.assertIsNone(re.fullmatch(param["AllowedPattern"], "arn:aws:secretsmanager:x"))
        policy = RES["SendpulseResponseSecretPolicy"]
        self.assertEqual(policy["Condition"], "HasSendPulseResponse")
        self.assertEqual(policy["Properties"]["RoleName"], {"Ref": "SendpulseRole"})
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual(statement["Action"], "secretsmanager:GetSecretValue")
        self.assertEqual(
            statement["Resource"],
            {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SendPulseResponseSecretId}-??????"},
        )

    def test_no_secret_value_anywhere(self):
        """GIVEN the whole template THEN no function holds a secret's value (no WEBHOOK_TOKENS,
        no dynamic reference that CloudFormation would resolve into the configuration), no
        secret has a literal SecretString, and ALLOW_UNAUTHENTICATED is never set."""
        seen = set()
        for path, key, value in walk(SOURCE):
            self.assertNotIn(key, SECRET_VALUE_VARS, path)
            if key in SECRET_ID_VARS:
                seen.add(key)
            self.assertNotEqual(key, "ALLOW_UNAUTHENTICATED", path)
            self.assertNotEqual(key, "SecretString", path)
        self.assertEqual(seen, SECRET_ID_VARS)
        for s in string_leaves(SOURCE):
            self.assertNotIn("{{resolve:", s)
        # Nothing that looks like a token or key is written out anywhere.
        # (An AWS metric name of that length is allowed by name.)
        for s in string_leaves(SOURCE):
            s = s.replace("ApproximateNumberOfMessagesVisible", "")
            self.assertIsNone(re.search(r"[A-Za-z0-9+/_-]{32,}", s), s)

    def test_secrets_are_not_template_parameters(self):
        """Parameter values show in the console and in samconfig; no token may be one."""
        for name, param in SOURCE["Parameters"].items():
            self.assertNotRegex(name.lower(), r"token|password|key$", name)
            self.assertNotIn("NoEcho", param, name)

    def test_samconfig_holds_no_secret(self):
        config = tomllib.loads(SAMCONFIG.read_text())
        text = json.dumps(config)
        for needle in ("WEBHOOK_TOKENS", "RESPONSE_BODY", "SecretString", "token="):
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

    def test_log_level_lets_the_metrics_lines_through(self):
        """GIVEN the EMF lines have no "level" (Lambda reads them as INFO) THEN no function
        filters INFO out, or the metrics, dashboard and alarms would go blind."""
        for p in PROVIDERS:
            level = lambda_function(p)["LoggingConfig"]["ApplicationLogLevel"]
            self.assertIn(level, {"TRACE", "DEBUG", "INFO"}, p)

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
        metrics = [m for m in self._metrics_of(alarm) if m["MetricName"] == "WriteThrottleEvents"]
        self.assertTrue(metrics)
        for m in self._metrics_of(alarm):
            self.assertEqual(m["Namespace"], "AWS/DynamoDB")
            self.assertIn({"Name": "TableName", "Value": {"Ref": "EventsTable"}}, m["Dimensions"])
        indexes = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "GlobalSecondaryIndexName"}
        self.assertEqual(indexes, {"by_contact", "by_day"})

    def test_table_write_throttles_alarm_returns_to_ok_without_throttle_data(self):
        """GIVEN DynamoDB writes no WriteThrottleEvents point while nothing is throttled, and an
        alarm on AWS/DynamoDB ignores TreatMissingData (keeps its state on missing data)
        WHEN a period has writes but no throttle data THEN the expression still has a value, 0,
        so the alarm goes back to OK after an episode; a period with throttles breaches.
        (The expression is evaluated here by a model of metric math: FILL fills a series'
        gaps on the periods the query has data for, arithmetic keeps the periods of both.)"""
        props = RES["TableWriteThrottlesAlarm"]["Properties"]
        returned = [q for q in props["Metrics"] if q.get("ReturnData")]
        self.assertEqual(len(returned), 1)
        expression = returned[0]["Expression"]
        by_id = {q["Id"]: q for q in props["Metrics"] if "MetricStat" in q}
        self.assertEqual(by_id["writes"]["MetricStat"]["Metric"]["MetricName"], "ConsumedWriteCapacityUnits")

        def evaluate(series: dict) -> dict:
            periods = sorted({t for points in series.values() for t in points})
            total = None
            for term in (t.strip() for t in expression.split("+")):
                m = re.fullmatch(r"(0 \* )?FILL\((\w+), 0\)", term)
                self.assertTrue(m, f"term not modelled: {term}")
                factor = 0 if m.group(1) else 1
                part = {t: factor * series[m.group(2)].get(t, 0) for t in periods}
                total = part if total is None else {t: total[t] + part[t] for t in total if t in part}
            return total

        quiet = {"table": {}, "bycontact": {}, "byday": {}, "writes": {1: 40, 2: 35}}
        self.assertEqual(evaluate(quiet), {1: 0, 2: 0})
        episode = {"table": {1: 3}, "bycontact": {}, "byday": {1: 2}, "writes": {1: 40, 2: 35}}
        values = evaluate(episode)
        self.assertGreaterEqual(values[1], props["Threshold"])
        self.assertLess(values[2], props["Threshold"])
        # Every write throttled in a period: no consumed units, the throttles still count.
        blocked = {"table": {3: 7}, "bycontact": {}, "byday": {}, "writes": {1: 40}}
        self.assertGreaterEqual(evaluate(blocked)[3], props["Threshold"])
        self.assertEqual(props["ComparisonOperator"], "GreaterThanOrEqualToThreshold")

    def test_every_alarm_notifies_the_optional_topic(self):
        """Per provider: errors, throttles, silent, unmapped, duration; shared: API 5xx, table
        throttles, truncated, fan-out and analytics dead letters. Only a silent provider treats no
        data as breaching (no data is what silence looks like)."""
        alarms = self._alarms()
        self.assertEqual(len(alarms), 5 * len(PROVIDERS) + 5 + len(CONSENT_ALARMS) + len(COMPLAINT_RATE_ALARMS))
        self.assertEqual(
            RAW["Conditions"]["HasAlarmTopic"], {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
        )
        self.assertEqual(SOURCE["Parameters"]["AlarmTopicArn"]["Default"], "")
        for name, alarm in alarms.items():
            self.assertEqual(alarm["Properties"]["AlarmActions"], ALARM_ACTIONS, name)
            self.assertEqual(alarm["Properties"]["OKActions"], ALARM_ACTIONS, name)
            missing = "breaching" if name.endswith("SilentAlarm") else "notBreaching"
            self.assertEqual(alarm["Properties"]["TreatMissingData"], missing, name)
            self.assertTrue(alarm["Properties"].get("AlarmDescription"), name)



# The metrics the functions write (crates/ingest/src/metrics.rs, METRICS).
METRICS_RS = REPO / "crates" / "ingest" / "src" / "metrics.rs"
EMF_METRICS = dict(re.findall(r'\("([A-Za-z0-9]+)", "(Count|Milliseconds)"\)', METRICS_RS.read_text()))
NAMESPACE = "MarketingWebhooks"
# The consent function's deliverability metrics (crates/consent-fn/src/metrics.rs).
CONSENT_METRICS_RS = REPO / "crates" / "consent-fn" / "src" / "metrics.rs"
CONSENT_EMF_METRICS = dict(re.findall(r'\("([A-Za-z0-9]+)", "(Count)"\)', CONSENT_METRICS_RS.read_text()))


def provider_dim(p: str) -> list:
    return [{"Name": "provider", "Value": p}]


# A search over every provider's metric of one name: a dashboard SEARCH expression
# ({namespace,provider} MetricName="..." with its statistic and period) or a Metrics
# Insights query (SELECT SUM(name) FROM SCHEMA(namespace, provider)). Neither lists
# the providers, so a new one shows up without an edit.
SEARCH = re.compile(r"""^SEARCH\('\{(\w+),provider\} MetricName="(\w+)"', '(\w+)', 300\)$""")
INSIGHTS = re.compile(r"^SELECT SUM\((\w+)\) FROM SCHEMA\((\w+), provider\)$")
EVERY_PROVIDER = {"provider": "*"}


def alarm_metrics(alarm: dict) -> list:
    props = alarm["Properties"]
    if "MetricName" in props:
        return [{"Namespace": props["Namespace"], "MetricName": props["MetricName"], "Dimensions": props["Dimensions"]}]
    out = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
    for m in props.get("Metrics", []):
        expression = m.get("Expression", "")
        query = INSIGHTS.match(expression) if isinstance(expression, str) else None
        if query:
            out.append({"Namespace": query[2], "MetricName": query[1], "Dimensions": EVERY_PROVIDER})
    return out


def dashboard() -> dict:
    """The dashboard body with its ${...} substitutions filled in (${!x} is a literal ${x})."""
    body = RES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    refs = set(re.findall(r"\$\{([^!}][^}]*)\}", body))
    resolved = body
    for ref in refs:
        resolved = resolved.replace("${" + ref + "}", f"<{ref}>")
    return json.loads(resolved.replace("${!", "${"))


def dashboard_metrics() -> list:
    """Every metric line of the dashboard as (namespace, name, dimensions, stat, title);
    a SEARCH over every provider has the dimensions {"provider": "*"}."""
    out = []
    for w in dashboard()["widgets"]:
        title = w.get("properties", {}).get("title")
        for m in w.get("properties", {}).get("metrics", []):
            if len(m) == 1 and "expression" in m[0]:
                search = SEARCH.match(m[0]["expression"])
                assert search, m[0]["expression"]
                out.append((search[1], search[2], EVERY_PROVIDER, search[3], title))
                continue
            opts = m[-1] if isinstance(m[-1], dict) else {}
            parts = m[:-1] if opts else m
            dims = dict(zip(parts[2::2], parts[3::2]))
            out.append((parts[0], parts[1], dims, opts.get("stat", w["properties"].get("stat")), title))
    return out


class Metrics(unittest.TestCase):
    def test_the_functions_write_the_contracted_metrics(self):
        """GIVEN docs/design.md's contract THEN metrics.rs writes these, and the template uses no other."""
        self.assertEqual(
            set(EMF_METRICS),
            {"Received", "Stored", "Duplicates", "Quarantined", "Unknown", "Truncated",
             "Requests2xx", "Requests4xx", "Requests5xx", "Latency"},
        )
        self.assertEqual(EMF_METRICS["Latency"], "Milliseconds")
        self.assertIn(f'NAMESPACE: &str = "{NAMESPACE}"', METRICS_RS.read_text())
        used = [(m["MetricName"], m["Dimensions"]) for a in resources_of_type(RES, "AWS::CloudWatch::Alarm").values()
                for m in alarm_metrics(a) if m["Namespace"] == NAMESPACE]
        used += [(name, dims) for ns, name, dims, _, _ in dashboard_metrics() if ns == NAMESPACE]
        self.assertTrue(used)
        for name, dims in used:
            self.assertIn(name, EMF_METRICS | CONSENT_EMF_METRICS)
            names = [d["Name"] for d in dims] if isinstance(dims, list) else list(dims)
            self.assertEqual(names, ["provider"], name)

    def test_silent_provider_alarm_is_per_provider_off_by_default_and_breaches_on_no_data(self):
        """GIVEN a row of the Providers mapping THEN the template has its written-out
        <Provider>SilentHours parameter, <Provider>SilentAlarmOn condition and
        <Provider>SilentAlarm (they cannot loop: docs/deploy.md, "Packaging")."""
        for p in PROVIDERS:
            param, cond, name = f"{logical(p)}SilentHours", f"{logical(p)}SilentAlarmOn", f"{logical(p)}SilentAlarm"
            for section, key in (("Parameters", param), ("Conditions", cond), ("Resources", name)):
                self.assertTrue(key in RAW[section], f"infra/template.yaml: {section} lacks {key} (copy another provider's)")
            param_props = SOURCE["Parameters"][param]
            self.assertEqual(param_props["Default"], 0, p)
            self.assertLessEqual(param_props["MaxValue"] * 3600, 7 * 86400)  # CloudWatch's evaluation range
            self.assertEqual(RAW["Conditions"][cond], {"Fn::Not": [{"Fn::Equals": [{"Ref": param}, 0]}]})
            alarm = RES[name]
            self.assertEqual(alarm["Condition"], cond)
            props = alarm["Properties"]
            self.assertEqual(props["AlarmName"], {"Fn::Sub": f"${{AWS::StackName}}-{p}-silent"})
            self.assertIn("${" + param + "}", props["AlarmDescription"]["Fn::Sub"], p)
            self.assertEqual(alarm_metrics(alarm), [{"Namespace": NAMESPACE, "MetricName": "Received", "Dimensions": provider_dim(p)}])
            self.assertEqual((props["Statistic"], props["Period"]), ("Sum", 3600))
            self.assertEqual(props["EvaluationPeriods"], {"Ref": param})
            self.assertEqual(props["DatapointsToAlarm"], {"Ref": param})
            self.assertEqual((props["ComparisonOperator"], props["Threshold"]), ("LessThanThreshold", 1))
            self.assertEqual(props["TreatMissingData"], "breaching")
        silent = {k for k in RAW["Resources"] if k.endswith("SilentAlarm")}
        self.assertEqual(silent, {f"{logical(p)}SilentAlarm" for p in PROVIDERS}, "a silent alarm without a Providers row")

    def test_unmapped_alarm_per_provider_adds_quarantined_and_unknown_per_hour(self):
        for p in PROVIDERS:
            alarm = RES[f"{logical(p)}UnmappedAlarm"]
            self.assertNotIn("Condition", alarm)
            props = alarm["Properties"]
            metrics = {m["MetricName"]: m for m in alarm_metrics(alarm)}
            self.assertEqual(set(metrics), {"Quarantined", "Unknown"}, p)
            for m in metrics.values():
                self.assertEqual((m["Namespace"], m["Dimensions"]), (NAMESPACE, provider_dim(p)))
            stats = [q for q in props["Metrics"] if "MetricStat" in q]
            self.assertTrue(all(q["MetricStat"]["Period"] == 3600 and q["MetricStat"]["Stat"] == "Sum" for q in stats))
            expr = [q for q in props["Metrics"] if q.get("ReturnData")]
            self.assertEqual(len(expr), 1)
            self.assertEqual(expr[0]["Expression"], "FILL(quarantined, 0) + FILL(unknown, 0)")
            self.assertEqual(props["Threshold"], {"Ref": "UnmappedEventsThreshold"})
            self.assertEqual(props["ComparisonOperator"], "GreaterThanThreshold")

    def test_duration_alarm_watches_each_function_p99_below_flashys_limit(self):
        param = SOURCE["Parameters"]["DurationAlarmMs"]
        self.assertLess(param["Default"], 5000)
        for p in PROVIDERS:
            alarm = RES[f"{logical(p)}DurationAlarm"]
            self.assertNotIn("Condition", alarm)
            props = alarm["Properties"]
            self.assertEqual(props["AlarmName"], {"Fn::Sub": f"${{AWS::StackName}}-{p}-duration-near-limit"})
            self.assertEqual(
                alarm_metrics(alarm),
                [{"Namespace": "AWS/Lambda", "MetricName": "Duration",
                  "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": f"{logical(p)}Function"}}]}],
            )
            self.assertEqual((props["ExtendedStatistic"], props["Period"]), ("p99", 300))
            self.assertEqual((props["EvaluationPeriods"], props["DatapointsToAlarm"]), (3, 2))
            self.assertEqual(props["Threshold"], {"Ref": "DurationAlarmMs"})
            self.assertEqual(props["ComparisonOperator"], "GreaterThanThreshold")

    def test_truncated_alarm_fires_on_any_truncated_member(self):
        """GIVEN the Truncated metric of every provider, summed by one query (no provider list)
        THEN one truncated member anywhere fires it."""
        alarm = RES["TruncatedAlarm"]
        props = alarm["Properties"]
        self.assertEqual(
            alarm_metrics(alarm), [{"Namespace": NAMESPACE, "MetricName": "Truncated", "Dimensions": EVERY_PROVIDER}]
        )
        (query,) = props["Metrics"]
        self.assertEqual((query["ReturnData"], query["Period"]), (True, 300))
        self.assertEqual((props["Threshold"], props["ComparisonOperator"]), (1, "GreaterThanOrEqualToThreshold"))


class Dashboard(unittest.TestCase):
    def setUp(self):
        self.metrics = dashboard_metrics()

    def lines(self, namespace, name, stat=None):
        return [(dims, st) for ns, n, dims, st, _ in self.metrics if ns == namespace and n == name and (stat is None or st == stat)]

    def test_body_is_json_with_only_known_substitutions(self):
        body = RES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        self.assertEqual(set(re.findall(r"\$\{([^!}][^}]*)\}", body)), {"AWS::Region", "WebhookApi", "EventsTable"})
        self.assertTrue(dashboard()["widgets"])

    def test_events_duplicates_quarantined_unknown_and_answers_per_provider(self):
        """Each a search over every provider: a new provider shows up without an edit."""
        for name in ("Received", "Duplicates", "Quarantined", "Unknown", "Truncated", "Requests4xx", "Requests5xx"):
            self.assertEqual(self.lines(NAMESPACE, name), [(EVERY_PROVIDER, "Sum")], name)

    def test_consent_deliverability_per_provider(self):
        """GIVEN the consent function's metrics (docs/consent.md, "Deliverability guard")
        THEN each is drawn, per provider by a search, as the complaint-rate alarms read it."""
        self.assertEqual(set(CONSENT_EMF_METRICS), {"Delivered", "Complained", "HardBounced"})
        for name in CONSENT_EMF_METRICS:
            self.assertEqual(self.lines(NAMESPACE, name), [(EVERY_PROVIDER, "Sum")], name)

    def test_latency_p50_and_p99_against_flashys_5_seconds(self):
        for stat in ("p50", "p99"):
            self.assertEqual(self.lines(NAMESPACE, "Latency", stat), [(EVERY_PROVIDER, stat)], stat)
        title = next(t for _, name, _, _, t in self.metrics if name == "Latency")
        widget = next(w for w in dashboard()["widgets"] if w.get("properties", {}).get("title") == title)
        marks = widget["properties"]["annotations"]["horizontal"]
        self.assertIn(5000, [m["value"] for m in marks])

    def test_table_write_units_and_throttles(self):
        table = {"TableName": "<EventsTable>"}
        self.assertIn((table, "Sum"), self.lines("AWS/DynamoDB", "ConsumedWriteCapacityUnits"))
        throttled = [d for d, _ in self.lines("AWS/DynamoDB", "WriteThrottleEvents")]
        self.assertEqual({d.get("GlobalSecondaryIndexName") for d in throttled}, {None, "by_contact", "by_day"})

    def test_api_gateway_errors(self):
        for name in ("4xx", "5xx"):
            self.assertTrue(self.lines("AWS/ApiGateway", name), name)

    def test_url_is_an_output(self):
        url = SOURCE["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
        self.assertIn("#dashboards:name=${Dashboard}", url)
        self.assertTrue(url.startswith("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/"))


# --- EventBridge fan-out ------------------------------------------------------

FAN_OUT = {"EventBus", "FanOutDeadLetterQueue", "FanOutEnrichmentRole", "FanOutEnrichment",
           "FanOutPipeRole", "FanOutPipe", "FanOutDeadLetterAlarm", "FanOutPipeLogGroup"}
# Step Functions' input limit for an Express workflow enrichment (262,144 characters).
ENRICHMENT_INPUT_LIMIT = 262_144
STREAM_RECORDS = INFRA / "testdata" / "stream-records.json"
EVENTBRIDGE_DOC = REPO / "docs" / "eventbridge.md"


def matches(pattern, event) -> bool:
    """EventBridge pattern matching for the subset used here: nested objects,
    and lists of exact values, {"prefix": ..}, {"suffix": ..} and {"anything-but": ..}."""

    def one(want, value) -> bool:
        if not isinstance(want, dict):
            return value == want
        (op, arg), = want.items()
        if op == "prefix":
            return isinstance(value, str) and value.startswith(arg)
        if op == "suffix":
            return isinstance(value, str) and value.endswith(arg)
        if op == "anything-but":
            return value is not None and value not in as_list(arg)
        raise AssertionError(f"pattern operator {op} is not modelled here")

    for key, want in pattern.items():
        if isinstance(want, dict):
            if not isinstance(event.get(key), dict) or not matches(want, event[key]):
                return False
        elif not any(one(w, event.get(key)) for w in want):
            return False
    return True


def json_path(document, path: str):
    """The dynamic path syntax of pipe parameters: $.a.b (dot notation)."""
    assert re.fullmatch(r"\$(\.[A-Za-z0-9_-]+)+", path), path
    value = document
    for part in path.split(".")[1:]:
        value = value[part]
    return value


def apply_input_template(template: str, record: dict):
    """A pipe's input template applied to one record: each <$.path> becomes the
    JSON of the value there. A path the record lacks is taken to give null
    (what AWS does there is not documented; the workflow treats null and
    absent alike)."""

    def value(match):
        try:
            return json.dumps(json_path(record, match.group(1)))
        except (KeyError, TypeError):
            return "null"

    return json.loads(re.sub(r"<(\$[^>]+)>", value, template))


def enrichment_input(records: list) -> list:
    """What the workflow receives for a batch: the records the filter keeps, each
    through the enrichment input template (applied per record)."""
    pipe = RES["FanOutPipe"]["Properties"]
    patterns = [json.loads(f["Pattern"]) for f in pipe["SourceParameters"]["FilterCriteria"]["Filters"]]
    kept = [r for r in records if any(matches(p, r) for p in patterns)]
    template = pipe["EnrichmentParameters"]["InputTemplate"]
    return [apply_input_template(template, r) for r in kept]


def run_workflow(batch: list) -> list:
    """The Express workflow's JSONata (run by jsonata-python, a port of the
    reference implementation) over one enrichment input."""
    import jsonata

    state = RES["FanOutEnrichment"]["Properties"]["Definition"]["States"]["ToEvents"]
    expr = state["Output"].strip()
    assert expr.startswith("{%") and expr.endswith("%}"), expr
    return jsonata.Jsonata(expr[2:-2]).evaluate(None, {"states": {"input": batch}}) or []


def run_pipe(records: list) -> list:
    """What the pipe in the template puts on the bus for these stream records:
    its filter, its enrichment input template, the Express workflow's JSONata,
    and the target parameters."""
    pipe = RES["FanOutPipe"]["Properties"]
    out = run_workflow(enrichment_input(records))
    target = pipe["TargetParameters"]
    bus = target["EventBridgeEventBusParameters"]
    m = re.fullmatch(r"<(\$[^>]+)>", target["InputTemplate"])
    assert m, target["InputTemplate"]
    return [
        {"source": json_path(e, bus["Source"]), "detail-type": json_path(e, bus["DetailType"]), "detail": json_path(e, m.group(1))}
        for e in out
    ]


def documented(marker: str) -> dict:
    """The JSON block after <!-- marker --> in docs/eventbridge.md."""
    text = EVENTBRIDGE_DOC.read_text()
    after = text.split(f"<!-- {marker} -->", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", after, re.S)
    return json.loads(block.group(1))


def documented_example() -> dict:
    return documented("example-event")


class FanOut(unittest.TestCase):
    def test_off_by_default_and_every_resource_under_the_condition(self):
        self.assertEqual(SOURCE["Parameters"]["EventFanOut"]["Default"], "disabled")
        self.assertEqual(RAW["Conditions"]["FanOutOn"], {"Fn::Equals": [{"Ref": "EventFanOut"}, "enabled"]})
        for name in FAN_OUT:
            self.assertIn(RES[name].get("Condition"), {"FanOutOn", "CreateEventBus"}, name)
        self.assertEqual(RES["EventBus"]["Condition"], "CreateEventBus")
        for name in ("EventBusArn", "FanOutDeadLetterQueueUrl"):
            self.assertEqual(SOURCE["Outputs"][name]["Condition"], "FanOutOn")
        unconditioned = {k for k, v in RES.items() if "Condition" not in v}
        self.assertFalse(unconditioned & FAN_OUT)

    def test_table_stream_of_new_images(self):
        """The stream is always on: the consent function reads it; the pipe only with fan-out."""
        spec = RES["EventsTable"]["Properties"]["StreamSpecification"]
        self.assertEqual(spec, {"StreamViewType": "NEW_IMAGE"})

    def test_pipe_reads_the_stream_keeps_inserts_and_targets_the_bus(self):
        pipe = RES["FanOutPipe"]["Properties"]
        self.assertEqual(pipe["Source"], {"Fn::GetAtt": ["EventsTable", "StreamArn"]})
        filters = pipe["SourceParameters"]["FilterCriteria"]["Filters"]
        self.assertEqual([json.loads(f["Pattern"]) for f in filters], [{"eventName": ["INSERT"]}])
        for name, kept in (("INSERT", True), ("MODIFY", False), ("REMOVE", False)):
            self.assertEqual(matches(json.loads(filters[0]["Pattern"]), {"eventName": name}), kept, name)
        stream = pipe["SourceParameters"]["DynamoDBStreamParameters"]
        self.assertEqual(stream["StartingPosition"], "LATEST")
        self.assertLessEqual(stream["BatchSize"], 10)  # PutEvents takes at most 10 entries
        self.assertEqual(stream["DeadLetterConfig"], {"Arn": {"Fn::GetAtt": ["FanOutDeadLetterQueue", "Arn"]}})
        named = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"}
        bus = {"Fn::If": ["CreateEventBus", {"Fn::GetAtt": ["EventBus", "Arn"]}, named]}
        self.assertEqual(pipe["Target"], bus)
        self.assertEqual(pipe["Enrichment"], {"Ref": "FanOutEnrichment"})
        self.assertEqual(RES["FanOutEnrichment"]["Properties"]["StateMachineType"], "EXPRESS")
        self.assertEqual(SOURCE["Outputs"]["EventBusArn"]["Value"], bus)

    def test_pipe_role_may_do_exactly_what_the_pipe_needs(self):
        role = RES["FanOutPipeRole"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(
            trust,
            [{"Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole",
              "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}],
        )
        self.assertNotIn("ManagedPolicyArns", role)
        self.assertEqual(len(role["Policies"]), 1)
        statements = role["Policies"][0]["PolicyDocument"]["Statement"]
        granted = {s["Sid"]: (set(as_list(s["Action"])), json.dumps(s["Resource"], sort_keys=True)) for s in statements}
        self.assertTrue(all(s["Effect"] == "Allow" for s in statements))
        self.assertEqual(set(granted), {"ReadTableStream", "Reshape", "Publish", "DeadLetter", "OwnLogGroup"})
        self.assertEqual(
            granted["OwnLogGroup"],
            ({"logs:CreateLogStream", "logs:PutLogEvents"}, json.dumps({"Fn::GetAtt": ["FanOutPipeLogGroup", "Arn"]})),
        )
        self.assertEqual(
            granted["ReadTableStream"],
            ({"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
             json.dumps({"Fn::GetAtt": ["EventsTable", "StreamArn"]})),
        )
        self.assertEqual(granted["Reshape"], ({"states:StartSyncExecution"}, json.dumps({"Ref": "FanOutEnrichment"})))
        self.assertEqual(granted["Publish"][0], {"events:PutEvents"})
        self.assertEqual(json.loads(granted["Publish"][1]), RES["FanOutPipe"]["Properties"]["Target"])
        self.assertEqual(
            granted["DeadLetter"], ({"sqs:SendMessage"}, json.dumps({"Fn::GetAtt": ["FanOutDeadLetterQueue", "Arn"]}))
        )
        for s in string_leaves(role):
            self.assertNotIn("*", s)
        enrichment = RES["FanOutEnrichmentRole"]["Properties"]
        self.assertNotIn("Policies", enrichment)
        self.assertNotIn("ManagedPolicyArns", enrichment)

    def test_a_recorded_stream_record_becomes_the_documented_event(self):
        """GIVEN an INSERT, a MODIFY (racing redelivery) and a REMOVE (TTL) of one event
        WHEN the template's pipe runs over them THEN exactly the example event of
        docs/eventbridge.md reaches the bus: source, detail-type, and the canonical
        event as plain JSON without raw."""
        records = json.loads(STREAM_RECORDS.read_text())["records"]
        self.assertEqual([r["eventName"] for r in records], ["INSERT", "MODIFY", "REMOVE"])
        published = run_pipe(records)
        example = documented_example()
        self.assertEqual(len(published), 1)
        self.assertEqual(
            published[0],
            {"source": example["source"], "detail-type": example["detail-type"], "detail": example["detail"]},
        )
        self.assertEqual(example["source"], "marketing-webhooks.sendpulse")
        self.assertNotIn("raw", example["detail"])
        self.assertEqual(example["detail"]["event_id"], records[0]["dynamodb"]["Keys"]["event_id"]["S"])

    def test_the_documented_example_rules_route_what_they_say(self):
        example = documented_example()

        def event(provider, type_):
            return {"source": f"marketing-webhooks.{provider}", "detail-type": type_, "detail": {"provider": provider}}

        leaving = documented("rule:unsubscribes-and-complaints")
        self.assertTrue(matches(leaving, event("flashy", "contact.unsubscribed")))
        self.assertTrue(matches(leaving, event("egoi", "email.complained")))
        self.assertTrue(matches(leaving, event("sendpulse", "web_push.unsubscribed")))
        self.assertFalse(matches(leaving, example))
        self.assertFalse(matches(leaving, event("egoi", "contact.subscribed")))
        self.assertFalse(matches(leaving, {**event("egoi", "email.complained"), "source": "other.egoi"}))
        clicks = documented("rule:sendpulse-clicks")
        self.assertTrue(matches(clicks, example))
        self.assertFalse(matches(clicks, event("sendpulse", "email.opened")))
        self.assertFalse(matches(clicks, event("flashy", "email.clicked")))

    def test_the_transform_keeps_every_attribute_type_and_batches(self):
        image = {
            "event_id": {"S": "e1"}, "provider": {"S": "flashy"}, "event_type": {"S": "unknown"},
            "raw": {"S": "{}"}, "schema_version": {"N": "1"},
            "attributes": {"M": {"value": {"N": "149.9"}, "ok": {"BOOL": False}, "none": {"NULL": True},
                                 "ids": {"L": [{"N": "88"}, {"S": "x"}]}, "one": {"L": [{"S": "a"}]},
                                 "nested": {"M": {"empty": {"M": {}}}}, "tags": {"SS": ["a", "b"]}}},
        }
        batch = [{"eventName": "INSERT", "dynamodb": {"NewImage": image}}] * 3
        published = run_pipe(batch)
        self.assertEqual(len(published), 3)
        self.assertEqual(published[0]["source"], "marketing-webhooks.flashy")
        self.assertEqual(published[0]["detail-type"], "unknown")
        self.assertEqual(
            published[0]["detail"],
            {"event_id": "e1", "provider": "flashy", "event_type": "unknown", "schema_version": 1,
             "attributes": {"value": 149.9, "ok": False, "none": None, "ids": [88, "x"], "one": ["a"],
                            "nested": {"empty": {}}, "tags": ["a", "b"]}},
        )
        self.assertEqual(run_pipe([{"eventName": "MODIFY", "dynamodb": {"NewImage": image}}]), [])

    def published_attributes(self, attributes: dict) -> dict:
        image = {"event_id": {"S": "e1"}, "provider": {"S": "egoi"}, "event_type": {"S": "unknown"},
                 "attributes": {"M": attributes}}
        (event,) = run_pipe([{"eventName": "INSERT", "dynamodb": {"NewImage": image}}])
        return event["detail"]["attributes"]

    def test_lists_of_lists_and_sets_keep_their_nesting(self):
        self.assertEqual(
            self.published_attributes({
                "matrix": {"L": [{"L": [{"N": "1"}, {"N": "2"}]}]},
                "deep": {"L": [{"L": [{"L": [{"S": "x"}]}]}, {"M": {"a": {"L": [{"N": "1"}]}}}]},
                "list_of_set": {"L": [{"SS": ["a", "b"]}]},
                "list_of_empty": {"L": [{"L": []}, {"M": {}}]},
                "one": {"L": [{"S": "a"}]},
                "set_of_one": {"SS": ["a"]},
                "numbers": {"NS": ["5", "9007199254740993"]},
                "mixed": {"L": [{"NULL": True}, {"BOOL": False}, {"N": "-0.5"}]},
            }),
            {
                "matrix": [[1, 2]],
                "deep": [[["x"]], {"a": [1]}],
                "list_of_set": [["a", "b"]],
                "list_of_empty": [[], {}],
                "one": ["a"],
                "set_of_one": ["a"],
                "numbers": [5, "9007199254740993"],
                "mixed": [None, False, -0.5],
            },
        )

    def test_numbers_beyond_what_json_carries_exactly_stay_exact_as_strings(self):
        published = self.published_attributes({
            "small": {"N": "149.9"}, "int": {"N": "100"}, "fifteen_digits": {"N": "123456789012345"},
            "sixteen_digits": {"N": "9007199254740991"},
            "beyond": {"N": "9007199254740993"}, "long_id": {"N": "12345678901234567890"},
            "many_digits": {"N": "0.12345678901234567890123"},
        })
        self.assertEqual(
            published,
            # JSONata's $string writes at most 15 significant digits, so a number of more
            # digits (even one a double holds, like 2^53 - 1) is kept as its string.
            {"small": 149.9, "int": 100, "fifteen_digits": 123456789012345, "sixteen_digits": "9007199254740991",
             "beyond": "9007199254740993",
             "long_id": "12345678901234567890", "many_digits": "0.12345678901234567890123"},
        )
        doc = EVENTBRIDGE_DOC.read_text()
        self.assertIn("9007199254740993", doc)

    def test_the_enrichment_input_is_bounded_whatever_raw_holds(self):
        """GIVEN ten records whose raw is 300 KB each (3 MB of stream records) WHEN the
        pipe's enrichment input template has picked each item's attributes THEN the
        workflow's input holds no raw and stays far under its 256 KB limit."""
        records = json.loads(STREAM_RECORDS.read_text())["records"]
        insert = records[0]
        big = copy.deepcopy(insert)
        big["dynamodb"]["NewImage"]["raw"] = {"S": "x" * 300_000}
        batch = [big] * 10
        self.assertGreater(len(json.dumps(batch)), 10 * ENRICHMENT_INPUT_LIMIT)
        given = enrichment_input(batch)
        self.assertEqual(len(given), 10)
        self.assertTrue(all("raw" not in item for item in given))
        size = len(json.dumps(given, ensure_ascii=False))
        self.assertLess(size, ENRICHMENT_INPUT_LIMIT // 10)
        # What reaches the bus is the same as without the big raw.
        self.assertEqual(run_pipe(batch), run_pipe([insert]) * 10)

    def test_the_template_picks_every_documented_attribute_but_raw(self):
        template = RES["FanOutPipe"]["Properties"]["EnrichmentParameters"]["InputTemplate"]
        picked = dict(re.findall(r'"([a-z_]+)": <\$\.dynamodb\.NewImage\.([a-z_]+)>', template))
        self.assertEqual(set(picked.items()), {(k, k) for k in picked})
        doc = EVENTBRIDGE_DOC.read_text()
        documented_names = re.search(r"The names and meanings are the table's[^:]*:(.*?)\.\n", doc, re.S).group(1)
        self.assertEqual(set(picked), set(re.findall(r"`([a-z_]+)`", documented_names)))
        self.assertNotIn("raw", picked)
        image = json.loads(STREAM_RECORDS.read_text())["records"][0]["dynamodb"]["NewImage"]
        self.assertTrue(set(image) - {"raw"} <= set(picked), set(image) - set(picked))

    def test_the_pipe_logs_errors_to_its_own_log_group(self):
        log = RES["FanOutPipe"]["Properties"]["LogConfiguration"]
        self.assertEqual(log["Level"], "ERROR")
        self.assertNotIn("IncludeExecutionData", log)  # never the events themselves
        self.assertEqual(log["CloudwatchLogsLogDestination"], {"LogGroupArn": {"Fn::GetAtt": ["FanOutPipeLogGroup", "Arn"]}})
        group = RES["FanOutPipeLogGroup"]
        self.assertEqual(group["Condition"], "FanOutOn")
        self.assertEqual(group["Properties"]["RetentionInDays"], {"Ref": "LogRetentionInDays"})
        self.assertEqual(group["Properties"]["LogGroupName"], {"Fn::Sub": "/aws/vendedlogs/pipes/${AWS::StackName}-fan-out"})


# --- Analytics: Firehose -> S3 (Parquet) -> Glue -> Athena ----------------------

ANALYTICS = {"AnalyticsBucket", "AnalyticsBucketPolicy", "AnalyticsDatabase", "AnalyticsEventsTable",
             "AnalyticsDeliveryLogGroup", "AnalyticsDeliveryLogStream", "AnalyticsDeliveryRole",
             "AnalyticsDeliveryStream", "AnalyticsDeadLetterQueue", "AnalyticsRowsRole", "AnalyticsRows",
             "AnalyticsPipeRole", "AnalyticsPipe", "AnalyticsDeadLetterAlarm", "AnalyticsWorkGroup",
             "AnalyticsQueryCampaignFunnel", "AnalyticsQueryComplaintsAndHardBounces",
             "AnalyticsQueryDailyCounts", "AnalyticsQueryUnmappedEvents"}
ANALYTICS_OUTPUTS = {"AnalyticsBucketName", "AnalyticsDatabaseName", "AnalyticsWorkGroupName"}
ANALYTICS_DIR = REPO / "analytics"
DESIGN_DOC = REPO / "docs" / "design.md"
# DynamoDB type of a stored attribute -> the Glue (Hive) type of its column.
GLUE_TYPE = {"S": "string", "N": "bigint", "M": "string"}
PARTITION_COLUMNS = {"provider": "string", "day": "string"}


def stored_attributes() -> dict:
    """The stored item's attributes and DynamoDB types, from docs/design.md's table
    ("The stored item"), so an attribute added there is one the analytics table must have."""
    section = DESIGN_DOC.read_text().split("## The stored item", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([a-z_]+)`", cells[0]):
            found[name] = cells[1]
    return found


def attribute_constants() -> set:
    """The top-level attribute names the code spells (crates/events-table/src/attr.rs)."""
    code = (REPO / "crates" / "events-table" / "src" / "attr.rs").read_text().split("pub mod inner", 1)[0]
    return set(re.findall(r'pub const [A-Z_]+: &str = "([a-z_]+)";', code))


def glue_columns() -> dict:
    table = RES["AnalyticsEventsTable"]["Properties"]["TableInput"]
    return {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}


def analytics_rows(records: list) -> list:
    """What the analytics pipe hands Firehose for these stream records: its filter
    and its Express workflow's JSONata (jsonata-python), like run_pipe."""
    import jsonata

    pipe = RES["AnalyticsPipe"]["Properties"]
    patterns = [json.loads(f["Pattern"]) for f in pipe["SourceParameters"]["FilterCriteria"]["Filters"]]
    kept = [r for r in records if any(matches(p, r) for p in patterns)]
    expr = RES["AnalyticsRows"]["Properties"]["Definition"]["States"]["ToRows"]["Output"].strip()
    assert expr.startswith("{%") and expr.endswith("%}"), expr
    return jsonata.Jsonata(expr[2:-2]).evaluate(None, {"states": {"input": kept}}) or []


def firehose_partition(row: dict) -> dict:
    """The template's JQ metadata query, for the one form it has: {k: .field, k: .field[0:n]}."""
    processors = RES["AnalyticsDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"][
        "ProcessingConfiguration"]["Processors"]
    params = {p["ParameterName"]: p["ParameterValue"] for p in processors[0]["Parameters"]}
    keys = {}
    for key, field, end in re.findall(r"(\w+): \.(\w+)(?:\[0:(\d+)\])?", params["MetadataExtractionQuery"]):
        value = row[field]
        keys[key] = value[: int(end)] if end else value
    return keys


class Analytics(unittest.TestCase):
    def test_off_by_default_and_every_resource_under_the_condition(self):
        self.assertEqual(SOURCE["Parameters"]["Analytics"]["Default"], "disabled")
        self.assertEqual(RAW["Conditions"]["AnalyticsEnabled"], {"Fn::Equals": [{"Ref": "Analytics"}, "enabled"]})
        self.assertEqual({k for k in RES if k.startswith("Analytics")}, ANALYTICS)
        for name in ANALYTICS:
            self.assertEqual(RES[name].get("Condition"), "AnalyticsEnabled", name)
        for name in ANALYTICS_OUTPUTS:
            self.assertEqual(SOURCE["Outputs"][name]["Condition"], "AnalyticsEnabled", name)

    def test_glue_columns_are_the_stored_items_attributes_with_their_types(self):
        """GIVEN the stored item of docs/design.md THEN the Glue table has exactly its attributes
        but raw, with their stored names and types (S string, N bigint, the map as a JSON string),
        provider as a partition column, and day (of occurred_at) as the other."""
        stored = stored_attributes()
        self.assertEqual(set(stored), attribute_constants(), "docs/design.md's table and attr.rs differ")
        self.assertIn("event_id", stored)
        self.assertIn("schema_version", stored)
        self.assertEqual(stored["attributes"], "M")
        expected = {name: GLUE_TYPE[kind] for name, kind in stored.items() if name not in {"raw", "provider"}}
        self.assertEqual(glue_columns(), expected)
        table = RES["AnalyticsEventsTable"]["Properties"]["TableInput"]
        self.assertEqual({k["Name"]: k["Type"] for k in table["PartitionKeys"]}, PARTITION_COLUMNS)
        self.assertEqual(GLUE_TYPE[stored["provider"]], "string")

    def test_the_local_reports_columns_are_the_glue_columns(self):
        sys.path.insert(0, str(ANALYTICS_DIR))
        try:
            import report
        except ImportError as e:  # duckdb missing: make tools installs it
            self.fail(f"analytics/report.py does not import: {e}")
        duck = {"string": "VARCHAR", "bigint": "BIGINT"}
        self.assertEqual(report.COLUMNS, {n: duck[t] for n, t in glue_columns().items()})
        self.assertEqual(report.PARTITIONS, {n: duck[t] for n, t in PARTITION_COLUMNS.items()})

    def test_partitions_by_provider_and_day_with_projection(self):
        table = RES["AnalyticsEventsTable"]["Properties"]["TableInput"]
        params = table["Parameters"]
        self.assertEqual(params["projection.enabled"], "true")
        names = [RAW["Mappings"]["Providers"][k]["Name"] for k in RAW["Mappings"]["Providers"]]
        self.assertEqual(params["projection.provider.type"], "enum")
        self.assertEqual(
            params["projection.provider.values"].split(","), names,
            "infra/template.yaml: AnalyticsEventsTable's projection.provider.values must name every Providers row, in order",
        )
        self.assertEqual((params["projection.day.type"], params["projection.day.format"]), ("date", "yyyy-MM-dd"))
        self.assertTrue(params["projection.day.range"].endswith(",NOW"))
        layout = "s3://${AnalyticsBucket}/events/provider=${!provider}/day=${!day}/"
        self.assertEqual(params["storage.location.template"], {"Fn::Sub": layout})
        s3 = RES["AnalyticsDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
        self.assertEqual(s3["Prefix"], "events/provider=!{partitionKeyFromQuery:provider}/day=!{partitionKeyFromQuery:day}/")
        self.assertTrue(s3["DynamicPartitioningConfiguration"]["Enabled"])
        conversion = s3["DataFormatConversionConfiguration"]
        self.assertIn("ParquetSerDe", conversion["OutputFormatConfiguration"]["Serializer"])
        self.assertEqual(conversion["SchemaConfiguration"]["TableName"], {"Ref": "AnalyticsEventsTable"})
        self.assertEqual(s3["CompressionFormat"], "UNCOMPRESSED")
        self.assertGreaterEqual(s3["BufferingHints"]["SizeInMBs"], 64)  # the least with conversion

    def test_a_recorded_stream_record_becomes_one_row_in_its_partition(self):
        """GIVEN the INSERT, MODIFY and REMOVE of docs/eventbridge.md's example event
        WHEN the analytics pipe's filter and workflow run over them THEN one row reaches
        Firehose: the stored item without raw (the fan-out's detail), attributes as one JSON
        string, and Firehose files it under provider=sendpulse/day=2024-06-03."""
        records = json.loads(STREAM_RECORDS.read_text())["records"]
        rows = analytics_rows(records)
        self.assertEqual(len(rows), 1)
        detail = documented_example()["detail"]
        row = rows[0]
        self.assertEqual(json.loads(row["attributes"]), detail["attributes"])
        self.assertEqual({**row, "attributes": detail["attributes"]}, detail)
        self.assertNotIn("raw", row)
        self.assertEqual(firehose_partition(row), {"provider": "sendpulse", "day": "2024-06-03"})
        self.assertLessEqual(set(row) - {"provider"}, set(glue_columns()))

    def test_a_row_holds_every_value_as_the_fan_out_detail_does(self):
        """GIVEN the example's INSERT with attributes DynamoDB's typed JSON makes hard to turn
        back (a number past 2^53, lists in lists, a one-element list of a list, NULL, a string
        set, a boolean) THEN its analytics row, attributes read back from their JSON string,
        is the fan-out's detail of the same record: no number rounded, no list flattened."""
        records = json.loads(STREAM_RECORDS.read_text())["records"]
        record = copy.deepcopy(next(r for r in records if r["eventName"] == "INSERT"))
        record["dynamodb"]["NewImage"]["attributes"] = {"M": {
            "big": {"N": "12345678901234567890"},
            "nested": {"L": [{"L": [{"N": "1"}, {"N": "2.5"}]}, {"S": "x"}]},
            "one": {"L": [{"L": [{"S": "a"}]}]},
            "nothing": {"NULL": True},
            "tags": {"SS": ["a", "b"]},
            "flag": {"BOOL": False},
        }}
        [event] = run_pipe([record])
        [row] = analytics_rows([record])
        attributes = json.loads(row["attributes"])
        self.assertEqual(attributes["big"], "12345678901234567890")
        self.assertEqual(attributes["one"], [["a"]])
        self.assertEqual({**row, "attributes": attributes}, event["detail"])

    def test_both_workflows_turn_dynamodb_json_with_the_same_functions(self):
        """The analytics workflow's $one and $plain are the fan-out's, word for word (the
        template cannot share them): change both or neither."""
        def functions(resource, state):
            text = RES[resource]["Properties"]["Definition"]["States"][state]["Output"]
            start = text.index("$one := ")
            end = text.index(")};", text.index("$plain := ")) + len(")};")
            return text[start:end]

        self.assertEqual(functions("AnalyticsRows", "ToRows"), functions("FanOutEnrichment", "ToEvents"))

    def test_workgroup_limits_bytes_scanned_and_keeps_results_in_the_bucket(self):
        config = RES["AnalyticsWorkGroup"]["Properties"]["WorkGroupConfiguration"]
        self.assertTrue(config["EnforceWorkGroupConfiguration"])
        self.assertEqual(config["BytesScannedCutoffPerQuery"], {"Ref": "AnalyticsBytesScannedLimit"})
        self.assertEqual(config["ResultConfiguration"]["OutputLocation"],
                         {"Fn::Sub": "s3://${AnalyticsBucket}/athena-results/"})
        bucket = RES["AnalyticsBucket"]["Properties"]
        self.assertTrue(all(bucket["PublicAccessBlockConfiguration"].values()))
        expiring = {r["Prefix"] for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r}
        self.assertEqual(expiring, {"athena-results/"})

    def test_named_queries_are_the_sql_files_word_for_word(self):
        """GIVEN analytics/*.sql THEN each is one Athena named query of the workgroup, on the
        Glue database, with the same text (copy a changed file into the template)."""
        files = {p.stem: p.read_text() for p in ANALYTICS_DIR.glob("*.sql")}
        self.assertGreaterEqual(set(files), {"daily_counts", "campaign_funnel", "complaints_and_hard_bounces",
                                             "unmapped_events"})
        named = {r["Properties"]["Name"]: r["Properties"] for r in resources_of_type(RES, "AWS::Athena::NamedQuery").values()}
        self.assertEqual(set(named), set(files))
        for name, props in named.items():
            self.assertEqual(props["QueryString"], files[name], name)
            self.assertEqual(props["Database"], {"Ref": "AnalyticsDatabase"})
            self.assertEqual(props["WorkGroup"], {"Ref": "AnalyticsWorkGroup"})
            self.assertIn("FROM events", props["QueryString"])

    def test_each_role_may_do_only_what_its_service_needs(self):
        def grants(role):
            statements = RES[role]["Properties"].get("Policies", [{}])[0].get("PolicyDocument", {}).get("Statement", [])
            self.assertTrue(all(s["Effect"] == "Allow" for s in statements), role)
            self.assertNotIn("ManagedPolicyArns", RES[role]["Properties"])
            for s in string_leaves(RES[role]):
                # the only wildcards: the objects under Firehose's two prefixes
                self.assertNotIn("*", re.sub(r"^\$\{AnalyticsBucket\.Arn\}/(events|errors)/\*$", "", s), role)
            return {s["Sid"]: (set(as_list(s["Action"])), s["Resource"]) for s in statements}

        pipe = grants("AnalyticsPipeRole")
        self.assertEqual(set(pipe), {"ReadTableStream", "Reshape", "Deliver", "DeadLetter"})
        self.assertEqual(pipe["ReadTableStream"][1], {"Fn::GetAtt": ["EventsTable", "StreamArn"]})
        self.assertEqual(pipe["Deliver"], ({"firehose:PutRecord", "firehose:PutRecordBatch"},
                                           {"Fn::GetAtt": ["AnalyticsDeliveryStream", "Arn"]}))
        self.assertEqual(grants("AnalyticsRowsRole"), {})
        delivery = grants("AnalyticsDeliveryRole")
        self.assertEqual(set(delivery), {"WriteEvents", "ReadSchema", "Log"})
        self.assertNotIn("s3:DeleteObject", delivery["WriteEvents"][0])
        self.assertEqual(delivery["ReadSchema"][0], {"glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"})
        written = json.dumps(delivery["WriteEvents"][1])
        self.assertNotIn("athena-results", written)
        trust = RES["AnalyticsDeliveryRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        self.assertEqual(trust["Condition"], {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}})


# --- The loops over the providers (AWS::LanguageExtensions) -------------------

MAKEFILE = REPO / "Makefile"


def walk_strings(node):
    yield from string_leaves(node)
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)


class Loops(unittest.TestCase):
    def test_each_loop_covers_its_providers_and_the_mapping_has_one_row_each(self):
        """GIVEN the template as written THEN the providers are the Providers mapping's rows, in
        order, and every Fn::ForEach runs over them."""
        self.assertEqual(RAW["Transform"], ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"])
        rows = RAW["Mappings"]["Providers"]
        self.assertEqual(list(rows), [logical(p) for p in PROVIDERS])
        for p in PROVIDERS:
            row = rows[logical(p)]
            self.assertEqual(
                row,
                {"Name": p, "Label": row["Label"], "Path": f"/webhooks/{p}", "CodeUri": f"../target/lambda/{p}/",
                 "AnswerBody": row["AnswerBody"]},
                f"infra/template.yaml, Providers row {logical(p)}",
            )
            self.assertEqual(row["Label"].lower().replace("-", ""), p)
        loops = [(section, k) for section in ("Conditions", "Resources", "Outputs") for k in RAW.get(section, {})
                 if k.startswith("Fn::ForEach::")]
        self.assertEqual(loops, LOOPS)
        for section, key in LOOPS:
            identifier, collection, _body = RAW[section][key]
            self.assertEqual(identifier, "Provider", key)
            self.assertEqual(
                collection, list(rows),
                f"infra/template.yaml: the list of {key} (`&providers`) must name every Providers row, in order",
            )

    def test_nothing_is_left_to_expand(self):
        """GIVEN the expanded template THEN no loop, loop variable or lookup in the Providers mapping is left."""
        for s in walk_strings(SOURCE):
            self.assertNotIn("Fn::ForEach", s)
            self.assertNotIn("${Provider}", s)
        for path, key, value in walk(SOURCE):
            self.assertNotEqual(key, "Fn::FindInMap", path)
            self.assertNotEqual(value, {"Ref": "Provider"}, path)

    def test_the_loops_keep_every_logical_id(self):
        """GIVEN a stack deployed from the template before the loops THEN the expanded template has
        the same logical ids (a renamed id is a new resource: the old one is deleted)."""
        per_provider = ["TokenSecret", "LogGroup", "Role", "Function", "ErrorsAlarm", "ThrottlesAlarm",
                        "SilentAlarm", "UnmappedAlarm", "DurationAlarm"]
        shared = {"WebhookApi", "ApiAccessLogGroup", "EventsTable", "SendpulseResponseSecretPolicy", "Api5xxRateAlarm",
                  "TableWriteThrottlesAlarm", "TruncatedAlarm", "Dashboard"} | FAN_OUT | ANALYTICS | CONSENT
        self.assertEqual(set(RES), shared | {logical(p) + r for p in PROVIDERS for r in per_provider})
        self.assertEqual(
            set(SOURCE["Outputs"]),
            {f"{logical(p)}WebhookUrl" for p in PROVIDERS}
            | {"EventsTableName", "WebhookTokenSecretPrefix", "DashboardUrl", "EventBusArn", "FanOutDeadLetterQueueUrl"}
            | ANALYTICS_OUTPUTS
            | {"ConsentTableName", "ConsentLookupUrl", "ConsentHashKeySecretName"},
        )

    def test_sam_cli_expands_the_loops_the_same_way(self):
        """GIVEN SAM CLI's own expansion (what `sam deploy --language-extensions` packages from)
        THEN it gives the same resources and outputs as the expansion checked here."""
        expanded = sam_cli_expand(RAW)
        if expanded is None:
            self.skipTest("SAM CLI is not installed (make lint-infra installs it)")
        # SAM CLI also fills in parameter defaults where it can (for its local view only;
        # CloudFormation gets the template with the loops), so compare what the loops make:
        # the logical ids and types, and what packaging and the routes read.
        for section in ("Resources", "Outputs"):
            self.assertEqual(set(expanded[section]), set(SOURCE[section]), section)
        for name, res in RES.items():
            self.assertEqual(expanded["Resources"][name]["Type"], res["Type"], name)
            self.assertEqual(expanded["Resources"][name].get("Condition"), res.get("Condition"), name)
        for p in PROVIDERS:
            mine = RES[f"{logical(p)}Function"]["Properties"]
            theirs = expanded["Resources"][f"{logical(p)}Function"]["Properties"]
            self.assertEqual(theirs["CodeUri"], mine["CodeUri"], p)
            self.assertEqual(theirs["Events"], mine["Events"], p)



def run_sam(args: list, cwd: Path, env: dict | None = None):
    """Run SAM CLI's own click command in a child process, offline: each S3 upload is
    recorded (the zip's members and their contents) instead of sent, the managed
    bucket (resolve_s3) is faked, and `sam deploy` stops where it would call
    CloudFormation, writing the template it would send to DEPLOY_OUT.
    Returns (exit code, uploads {s3 url: {member: text}}, stderr)."""
    import subprocess

    harness = r'''
import hashlib, json, os, sys, zipfile
from samcli.lib.package import s3_uploader
uploads = {}
def upload(self, file_name, remote_path):
    with zipfile.ZipFile(file_name) as z:
        url = "s3://recorded/" + remote_path
        uploads[url] = {n: z.read(n).decode() for n in z.namelist()}
    return url
def upload_with_dedup(self, file_name, extension=None, precomputed_md5=None):
    digest = hashlib.md5(open(file_name, "rb").read()).hexdigest()
    return self.upload(file_name, digest + ("." + extension if extension else ""))
s3_uploader.S3Uploader.upload = upload
s3_uploader.S3Uploader.upload_with_dedup = upload_with_dedup
import samcli.commands.deploy.command as deploy_command
deploy_command.manage_stack = lambda **kw: "recorded"
from samcli.commands.deploy.deploy_context import DeployContext
def stop_before_cloudformation(self, stack_name, template_str, *a, **kw):
    open(os.environ["DEPLOY_OUT"], "w").write(template_str)
DeployContext.deploy = stop_before_cloudformation
from samcli.cli.main import cli
try:
    cli.main(args=sys.argv[1:], standalone_mode=False)
finally:
    open(os.environ["UPLOADS_OUT"], "w").write(json.dumps(uploads))
'''
    uploads_out = cwd / "uploads.json"
    full_env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "eu-central-1",
                "AWS_ACCESS_KEY_ID": "offline", "AWS_SECRET_ACCESS_KEY": "offline",
                "UPLOADS_OUT": str(uploads_out), "DEPLOY_OUT": str(cwd / "deployed.yaml"), **(env or {})}
    full_env.pop("SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS", None)
    full_env.pop("AWS_PROFILE", None)
    done = subprocess.run([sys.executable, "-c", harness, *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)
    uploads = json.loads(uploads_out.read_text()) if uploads_out.exists() else {}
    return done.returncode, uploads, done.stderr


def sam_cli_installed() -> bool:
    try:
        import samcli  # noqa: F401
    except ImportError:
        return False
    return True


class Packaging(unittest.TestCase):
    """`make deploy` runs `sam deploy`, which zips each function's local CodeUri and
    uploads it. Inside Fn::ForEach the path comes from the loop variable; SAM CLI
    must expand the loop itself to find each provider's directory (aws-sam-cli issues
    #5249, #5647). These run SAM CLI in a copy of infra/ with a dummy binary per provider."""

    def setUp(self):
        if not sam_cli_installed():
            self.skipTest("SAM CLI is not installed (make lint-infra installs it)")
        import tempfile

        self.tmp = Path(tempfile.mkdtemp())
        (self.tmp / "infra").mkdir()
        for name in ("template.yaml", "samconfig.toml"):
            (self.tmp / "infra" / name).write_text((INFRA / name).read_text())
        for p in PROVIDERS:
            (self.tmp / "target" / "lambda" / p).mkdir(parents=True)
            (self.tmp / "target" / "lambda" / p / "bootstrap").write_text(f"the {p} binary\n")
        for b in CONSENT_BINARIES.values():
            (self.tmp / "target" / "lambda" / b).mkdir(parents=True)
            (self.tmp / "target" / "lambda" / b / "bootstrap").write_text(f"the {b} binary\n")

    def tearDown(self):
        import shutil

        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp)

    def assert_each_function_ships_its_own_binary(self, uploads: dict, template: Path):
        self.assertEqual(
            sorted(members.get("bootstrap") for members in uploads.values()),
            sorted(f"the {p} binary\n" for p in [*PROVIDERS, *CONSENT_BINARIES.values()]),
        )
        # What CloudFormation receives, expanded and translated: each function's code is
        # the zip holding its own binary.
        cfn = translate(expand(template), code_uris_as_written=True)
        for p in PROVIDERS:
            code = cfn["Resources"][f"{logical(p)}Function"]["Properties"]["Code"]
            url = f"s3://{code['S3Bucket']}/{code['S3Key']}"
            self.assertEqual(uploads[url], {"bootstrap": f"the {p} binary\n"}, p)

    def test_sam_deploy_as_make_deploy_runs_it_uploads_each_functions_own_directory(self):
        """GIVEN `make deploy`'s command and infra/samconfig.toml THEN SAM CLI uploads one
        zip per binary, and the template it sends points each function at its own."""
        deploy = re.search(r"^deploy:.*\n\t(.*)$", MAKEFILE.read_text(), re.M).group(1)
        self.assertIn("--language-extensions", deploy)
        code, uploads, err = run_sam(
            ["deploy", "--language-extensions", "--template-file", "infra/template.yaml", "--no-confirm-changeset"],
            self.tmp,
        )
        self.assertEqual(code, 0, err[-3000:])
        self.assert_each_function_ships_its_own_binary(uploads, self.tmp / "deployed.yaml")

    def test_the_current_template_processed_offline_passes_deploy_check(self):
        """GIVEN the template as `sam deploy` would send it, expanded and transformed offline
        THEN deploy-check's checks pass (the recorded processed template may lag behind)."""
        code, _uploads, err = run_sam(
            ["deploy", "--language-extensions", "--template-file", "infra/template.yaml", "--no-confirm-changeset"],
            self.tmp,
        )
        self.assertEqual(code, 0, err[-3000:])
        processed = translate(expand(self.tmp / "deployed.yaml"), code_uris_as_written=True)
        self.assertEqual(deploy_check().check_processed(processed, PROVIDERS), [])

    def test_samconfig_alone_turns_on_local_expansion(self):
        """GIVEN a plain `sam deploy` (no flag) THEN samconfig's language_extensions does the same."""
        config = tomllib.loads(SAMCONFIG.read_text())
        self.assertIs(config["default"]["deploy"]["parameters"]["language_extensions"], True)
        code, uploads, err = run_sam(
            ["deploy", "--template-file", "infra/template.yaml", "--no-confirm-changeset"], self.tmp
        )
        self.assertEqual(code, 0, err[-3000:])
        self.assert_each_function_ships_its_own_binary(uploads, self.tmp / "deployed.yaml")

    def test_without_local_expansion_nothing_is_uploaded(self):
        """GIVEN --no-language-extensions THEN SAM CLI stops before uploading anything: no
        stack is ever deployed with a function missing or with another function's code."""
        code, uploads, _err = run_sam(
            ["package", "--no-language-extensions", "--template-file", "infra/template.yaml",
             "--s3-bucket", "recorded", "--output-template-file", "packaged.yaml"],
            self.tmp,
        )
        self.assertNotEqual(code, 0)
        self.assertEqual(uploads, {})
        self.assertFalse((self.tmp / "packaged.yaml").exists())

    def test_pinned_sam_cli_is_the_one_tested(self):
        from importlib.metadata import version

        pinned = re.search(r"^SAM_CLI_VERSION := ([0-9.]+)$", MAKEFILE.read_text(), re.M).group(1)
        self.assertEqual(version("aws-sam-cli"), pinned)


# --- make deploy-check (infra/deploy_check.py) -------------------------------

PROCESSED = INFRA / "testdata" / "processed-template.json"
CHANGE_SET = INFRA / "testdata" / "change-set.json"


def deploy_check():
    sys.path.insert(0, str(INFRA))
    import deploy_check as module

    return module


class DeployCheck(unittest.TestCase):
    """The checks `make deploy-check` runs on the template as AWS processed it.
    infra/testdata/processed-template.json was made offline from this template
    (`sam deploy` of the Packaging harness, then the loops expanded and the SAM
    transform applied), not downloaded from AWS."""

    def setUp(self):
        self.check = deploy_check()
        self.processed = json.loads(PROCESSED.read_text())

    def problems(self, template):
        return self.check.check_processed(template, PROVIDERS)

    def test_the_recorded_processed_template_passes(self):
        self.assertEqual(self.problems(self.processed), [])

    def test_two_functions_with_one_code_fail(self):
        t = copy.deepcopy(self.processed)
        t["Resources"]["EgoiFunction"]["Properties"]["Code"] = t["Resources"]["FlashyFunction"]["Properties"]["Code"]
        self.assertEqual(
            [p for p in self.problems(t) if "same code" in p],
            [p for p in self.problems(t) if p.startswith("egoi: EgoiFunction runs the same code as FlashyFunction")],
        )
        self.assertTrue(any("same code" in p for p in self.problems(t)))

    def test_code_that_is_not_one_s3_object_fails(self):
        t = copy.deepcopy(self.processed)
        t["Resources"]["EnkodFunction"]["Properties"]["Code"] = {"Fn::FindInMap": ["SAMCodeUriFunctions", "Enkod", "CodeUri"]}
        self.assertTrue(any(p.startswith("enkod: EnkodFunction's code is not one S3 object") for p in self.problems(t)))

    def test_another_providers_secret_or_a_secret_value_fails(self):
        t = copy.deepcopy(self.processed)
        env = t["Resources"]["SupersendFunction"]["Properties"]["Environment"]["Variables"]
        env["WEBHOOK_TOKENS_SECRET_ID"] = {"Ref": "FlashyTokenSecret"}
        self.assertTrue(any(p.startswith("supersend: WEBHOOK_TOKENS_SECRET_ID") for p in self.problems(t)))
        env["WEBHOOK_TOKENS_SECRET_ID"] = {"Ref": "SupersendTokenSecret"}
        env["WEBHOOK_TOKENS"] = "{{resolve:secretsmanager:x:SecretString}}"
        found = self.problems(t)
        self.assertTrue(any("dynamic reference" in p for p in found), found)
        self.assertTrue(any(p == "supersend: SupersendFunction has WEBHOOK_TOKENS in its configuration" for p in found))

    def test_a_role_that_reads_another_secret_fails(self):
        t = copy.deepcopy(self.processed)
        for policy in t["Resources"]["EgoiRole"]["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == "OwnTokenSecret":
                    statement["Resource"] = {"Ref": "FlashyTokenSecret"}
        self.assertTrue(any(p.startswith("egoi: EgoiRole may read") for p in self.problems(t)))

    def test_a_missing_or_misrouted_route_fails(self):
        t = copy.deepcopy(self.processed)
        paths = t["Resources"]["WebhookApi"]["Properties"]["Body"]["paths"]
        del paths["/webhooks/sendpulse"]["head"]
        paths["/webhooks/egoi"]["post"] = paths["/webhooks/flashy"]["post"]
        found = self.problems(t)
        self.assertIn("sendpulse: no HEAD /webhooks/sendpulse route", found)
        self.assertTrue(any(p.startswith("egoi: POST /webhooks/egoi is not integrated with EgoiFunction") for p in found))

    def test_a_missing_function_fails(self):
        t = copy.deepcopy(self.processed)
        del t["Resources"]["EnkodFunction"]
        self.assertIn("enkod: no AWS::Lambda::Function EnkodFunction", self.problems(t))

    def test_the_change_set_summary_says_what_is_added_changed_replaced_and_removed(self):
        changes = json.loads(CHANGE_SET.read_text())["Changes"]
        self.assertEqual(
            self.check.summarize(changes).splitlines(),
            [
                "would add 1:",
                "  SendpulseResponseSecretPolicy (AWS::IAM::RolePolicy)",
                "would change 4:",
                "  EventsTable (AWS::DynamoDB::Table)",
                "  FanOutEnrichment (AWS::StepFunctions::StateMachine)",
                "  FlashyFunction (AWS::Lambda::Function)",
                "  FlashyRole (AWS::IAM::Role)",
                "would remove 1:",
                "  OldAlarm (AWS::CloudWatch::Alarm)",
                "would replace 2:",
                "  EventsTable (AWS::DynamoDB::Table): replacement conditional",
                "  FanOutEnrichment (AWS::StepFunctions::StateMachine): replacement true",
            ],
        )
        self.assertEqual(self.check.summarize([]), "would replace nothing")

    def test_the_change_set_arn_is_read_from_sam_deploy(self):
        printed = "\nChangeset created successfully. arn:aws:cloudformation:eu-central-1:123456789012:changeSet/samcli-deploy1733350000/0123-abcd\n"
        self.assertEqual(
            self.check.CHANGESET_ARN.search(printed).group(1),
            "arn:aws:cloudformation:eu-central-1:123456789012:changeSet/samcli-deploy1733350000/0123-abcd",
        )

    def test_make_deploy_check_creates_the_change_set_and_docs_put_it_before_deploy(self):
        makefile = MAKEFILE.read_text()
        recipe = re.search(r"^deploy-check:.*\n\t(.*)$", makefile, re.M).group(1)
        self.assertIn("infra/deploy_check.py", recipe)
        self.assertIn("--no-execute-changeset", (INFRA / "deploy_check.py").read_text())
        self.assertIn("--template-stage", (INFRA / "deploy_check.py").read_text().replace("TemplateStage", "--template-stage"))
        doc = (REPO / "docs" / "deploy.md").read_text()
        self.assertLess(doc.index("make deploy-check"), doc.index("make deploy   "))


# --- Offline rehearsal: the stack created on a local AWS emulator -------------

# The parameter sets rehearsed: the defaults, everything on, fan-out to an existing bus.
# "Everything on" publishes to an existing bus too: with a bus the stack creates,
# moto 5.2.5 fails creating the consent function, whose environment refers to
# that bus (it cannot serialize its EventBus model); that case is covered by
# the schema check only. Analytics stays off: moto does not model its Firehose
# delivery stream, and CreateStack refuses the Fn::GetAtt to it.
REHEARSALS = {
    "defaults": {},
    "everything on": {
        "EventFanOut": "enabled", "EventBusName": "default",
        "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:webhook-alarms",
        "SendPulseResponseSecretId": "rehearsal/sendpulse-response-body", "ReservedConcurrency": "5",
        "RetentionDays": "365", **{f"{logical(p)}SilentHours": "6" for p in PROVIDERS},
    },
    "fan-out to an existing bus": {"EventFanOut": "enabled", "EventBusName": "default"},
}


# Resource types moto 5.2.5's CloudFormation does not create (it records them
# only); the schema check below covers them.
NOT_MODELLED_BY_MOTO = {
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::CloudWatch::Alarm",
    "AWS::SecretsManager::Secret", "AWS::Pipes::Pipe", "AWS::IAM::RolePolicy",
}


def condition_values(template: dict, parameters: dict) -> dict:
    """Each condition's value for these parameters (the functions the template uses)."""
    values = {name: p.get("Default") for name, p in template["Parameters"].items()}
    values.update(parameters)
    conditions = template.get("Conditions", {})

    def ev(node):
        if isinstance(node, dict):
            (fn, arg), = node.items()
            if fn == "Ref":
                return str(values[arg])
            if fn == "Condition":
                return ev(conditions[arg])
            if fn == "Fn::Equals":
                return str(ev(arg[0])) == str(ev(arg[1]))
            if fn == "Fn::Not":
                return not ev(arg[0])
            if fn == "Fn::And":
                return all(ev(a) for a in arg)
            if fn == "Fn::Or":
                return any(ev(a) for a in arg)
            raise AssertionError(f"condition function {fn} is not modelled")
        return node

    return {name: ev(body) for name, body in conditions.items()}


def lint_errors(template: dict, parameters: dict) -> list:
    """cfn-lint's errors for the transformed template with these parameter values
    (as defaults, which cfn-lint resolves): every resource's properties against
    the CloudFormation resource schemas cfn-lint carries (required properties,
    enums, patterns, lengths)."""
    from cfnlint.api import ManualArgs, lint

    tpl = copy.deepcopy(template)
    for name, value in parameters.items():
        tpl["Parameters"][name]["Default"] = int(value) if tpl["Parameters"][name]["Type"] == "Number" else value
    return [str(m) for m in lint(json.dumps(tpl), config=ManualArgs(regions=["us-east-1"])) if m.rule.id.startswith("E")]


class Rehearsal(unittest.TestCase):
    """The expanded, SAM-transformed template created as a stack on moto (a local
    implementation of AWS's APIs), for each parameter set of REHEARSALS. moto's
    CloudFormation creates the resources it models (functions, roles, table, log
    groups, queue, bus, state machine, permissions) and only records the others
    (API Gateway v2, alarms, secrets, the pipe, role policies); every resource is
    also checked by cfn-lint against the CloudFormation resource schemas."""

    def setUp(self):
        try:
            import moto  # noqa: F401
        except ImportError:
            self.skipTest("moto is not installed (make tools installs it)")

    def create(self, parameters: dict):
        import logging
        import warnings

        import boto3
        from moto import mock_aws

        # moto says so, once per resource it does not model; NOT_MODELLED_BY_MOTO lists them.
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported")
        os.environ.update({"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"})
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="artifacts")
            s3.put_object(Bucket="artifacts", Key="code.zip", Body=b"the binaries' zip")
            cfn = boto3.client("cloudformation", region_name="us-east-1")
            cfn.create_stack(
                StackName="rehearsal", TemplateBody=json.dumps(CFN), Capabilities=["CAPABILITY_IAM"],
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            )
            stack = cfn.describe_stacks(StackName="rehearsal")["Stacks"][0]
            created = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(StackName="rehearsal")["StackResourceSummaries"]}
            functions = {
                f["FunctionName"]: f for f in boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"]
            }
            tables = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=created["EventsTable"]["PhysicalResourceId"])["Table"]
            machines = boto3.client("stepfunctions", region_name="us-east-1").list_state_machines()["stateMachines"]
        return stack, created, functions, tables, machines

    def test_each_parameter_set_creates_the_stack(self):
        for name, parameters in REHEARSALS.items():
            with self.subTest(name):
                stack, created, functions, table, machines = self.create(parameters)
                self.assertEqual(stack["StackStatus"], "CREATE_COMPLETE", stack.get("StackStatusReason"))
                conditions = condition_values(CFN, parameters)
                expected = {k for k, r in CFN_RES.items() if conditions.get(r.get("Condition"), True)}
                # moto lists a resource it does not model without its logical id.
                modelled = {k for k in created if k}
                self.assertLessEqual(modelled, expected)
                not_modelled = {CFN_RES[k]["Type"] for k in expected - modelled}
                self.assertLessEqual(not_modelled, NOT_MODELLED_BY_MOTO, "moto did not create these")
                self.assertLessEqual({f"rehearsal-{p}" for p in PROVIDERS}, set(functions))
                for p in PROVIDERS:
                    env = functions[f"rehearsal-{p}"]["Environment"]["Variables"]
                    # A Ref to a resource moto does not model (the token secret) comes
                    # out empty there and the variable is dropped; the Secrets tests
                    # check WEBHOOK_TOKENS_SECRET_ID in the transformed template.
                    self.assertEqual(env["TABLE_NAME"], table["TableName"], p)
                    self.assertFalse(SECRET_VALUE_VARS & set(env), p)
                    # Named for the provider that answers with it, empty for the others.
                    expected_body = parameters.get("SendPulseResponseSecretId") if p == "sendpulse" else ""
                    self.assertEqual(env.get("RESPONSE_BODY_SECRET_ID", "") or "", expected_body or "", p)
                fan_out = parameters.get("EventFanOut") == "enabled"
                self.assertEqual(table["TableName"], created["EventsTable"]["PhysicalResourceId"])
                self.assertEqual(len(machines), int(fan_out))
                self.assertEqual("EventBus" in created, fan_out and not parameters.get("EventBusName"))

    def test_every_resource_holds_the_resource_schemas(self):
        # Also what moto cannot create: fan-out to a bus of the stack's own, and analytics.
        schema_only = {"a new bus and analytics": {"EventFanOut": "enabled", "Analytics": "enabled"}}
        for name, parameters in {**REHEARSALS, **schema_only}.items():
            with self.subTest(name):
                self.assertEqual(lint_errors(CFN, parameters), [])

    def test_the_schema_check_can_fail(self):
        broken = copy.deepcopy(CFN)
        broken["Resources"]["FanOutPipe"]["Properties"]["LogConfiguration"]["Level"] = "LOUD"
        errors = lint_errors(broken, REHEARSALS["everything on"])
        self.assertTrue(any("LOUD" in e for e in errors), errors)


class Outputs(unittest.TestCase):
    def test_a_webhook_url_per_provider_without_token_and_the_table_name(self):
        outputs = SOURCE["Outputs"]
        for p in PROVIDERS:
            value = outputs[f"{logical(p)}WebhookUrl"]["Value"]
            self.assertEqual(
                value,
                {"Fn::Sub": f"https://${{WebhookApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/webhooks/{p}"},
            )
            self.assertNotIn("token", json.dumps(value).lower())
        self.assertEqual(outputs["EventsTableName"]["Value"], {"Ref": "EventsTable"})


# The consent types of the fold (crates/consent/src/fact.rs, CONSENT_TYPES).
FACT_RS = REPO / "crates" / "consent" / "src" / "fact.rs"
CONSENT_TYPES = re.findall(
    r'"([a-z_]+\.[a-z_]+)"', re.search(r"CONSENT_TYPES: &\[&str\] = &\[(.*?)\];", FACT_RS.read_text(), re.S).group(1)
)


class Consent(unittest.TestCase):
    """The consent view (docs/consent.md): its table, the stream function and the lookup."""

    def test_table_one_item_per_subject_and_fact(self):
        props = RES["ConsentTable"]["Properties"]
        self.assertEqual(props["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(
            props["KeySchema"],
            [{"AttributeName": "subject", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        self.assertEqual(RES["ConsentTable"]["DeletionPolicy"], "Retain")
        self.assertTrue(props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        self.assertTrue(props["SSESpecification"]["SSEEnabled"])

    def test_functions_are_the_workspace_binaries(self):
        manifest = tomllib.loads((REPO / "crates" / "consent-fn" / "Cargo.toml").read_text())
        bins = {b["name"] for b in manifest["bin"]}
        for logical_id, binary in CONSENT_BINARIES.items():
            props = RES[logical_id]["Properties"]
            self.assertIn(binary, bins)
            self.assertEqual(props["CodeUri"], f"../target/lambda/{binary}/")
            self.assertEqual(props["Environment"]["Variables"]["CONSENT_TABLE_NAME"], {"Ref": "ConsentTable"})
            self.assertEqual(props["FunctionName"], {"Fn::Sub": f"${{AWS::StackName}}-{binary}"})

    def test_stream_mapping_filtered_to_consent_types_with_partial_failures_and_a_dead_letter(self):
        mappings = resources_of_type(CFN_RES, "AWS::Lambda::EventSourceMapping")
        self.assertEqual(len(mappings), 1)
        m = next(iter(mappings.values()))["Properties"]
        self.assertEqual(m["FunctionName"], {"Ref": "ConsentFunction"})
        self.assertEqual(m["EventSourceArn"], {"Fn::GetAtt": ["EventsTable", "StreamArn"]})
        self.assertEqual(m["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertTrue(m["BisectBatchOnFunctionError"])
        self.assertGreater(m["MaximumRetryAttempts"], 0)
        self.assertEqual(
            m["DestinationConfig"]["OnFailure"]["Destination"], {"Fn::GetAtt": ["ConsentDeadLetterQueue", "Arn"]}
        )
        filters = m["FilterCriteria"]["Filters"]
        # With EraseLaterEvents only: every new event (a forgotten person's is deleted whatever its type).
        erase_later = [f for f in filters if "Fn::If" in f]
        self.assertEqual(erase_later, [{"Fn::If": ["EraseLaterOn", {"Pattern": '{"eventName":["INSERT"]}'}, NO_VALUE]}])
        patterns = [json.loads(f["Pattern"]) for f in filters if "Fn::If" not in f]
        sends = [p for p in patterns if "provider" in p["dynamodb"]["NewImage"]]
        self.assertEqual(sends, [{"eventName": ["INSERT"], "dynamodb": {"NewImage": {
            "provider": {"S": ["egoi", "enkod", "supersend"]}, "event_type": {"S": ["email.sent"]}}}}],
            "the sends of the providers that report no deliveries, for the complaint rate")
        by_type = [p for p in patterns if "event_type" in p["dynamodb"]["NewImage"] and p not in sends]
        self.assertEqual(len(by_type), 1)
        self.assertEqual(by_type[0]["dynamodb"]["NewImage"]["event_type"]["S"], CONSENT_TYPES)
        self.assertEqual(by_type[0]["eventName"], ["INSERT", "MODIFY"], "a reprocessed item retyped to consent counts")
        links = [p for p in patterns if "contact_id" in p["dynamodb"]["NewImage"]]
        self.assertEqual({tuple(sorted(p["dynamodb"]["NewImage"])) for p in links},
                         {("contact_id", "email"), ("contact_id", "phone")})
        # A pattern that matched a record with no event type would let every event in.
        self.assertEqual(len(patterns), len(by_type) + len(links) + len(sends))

    def _granted(self, role: str) -> dict:
        props = RES[role]["Properties"]
        self.assertNotIn("ManagedPolicyArns", props)
        self.assertEqual(len(props["Policies"]), 1)
        statements = props["Policies"][0]["PolicyDocument"]["Statement"]
        # A statement under `!If [FanOutOn, ...]` is granted only with fan-out: kept as "<Sid> (fan-out)";
        # one under `!If [EraseLaterOn, ...]` as "<Sid> (erase later)".
        granted = {}
        for s in statements:
            suffix = ""
            if "Fn::If" in s:
                condition, s, otherwise = s["Fn::If"]
                self.assertIn(condition, ("FanOutOn", "EraseLaterOn"))
                self.assertEqual(otherwise, NO_VALUE)
                suffix = {"FanOutOn": " (fan-out)", "EraseLaterOn": " (erase later)"}[condition]
            self.assertEqual(s["Effect"], "Allow")
            granted[s["Sid"] + suffix] = (set(as_list(s["Action"])), s["Resource"])
        for leaf in string_leaves(props):
            self.assertNotIn("*", leaf, role)
        return granted

    def test_least_privilege(self):
        self.assertEqual(
            self._granted("ConsentRole"),
            {
                "ReadEventsStream": (
                    {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                     "dynamodb:ListStreams"},
                    {"Fn::GetAtt": ["EventsTable", "StreamArn"]},
                ),
                "ConsentTableItems": ({"dynamodb:PutItem"}, {"Fn::GetAtt": ["ConsentTable", "Arn"]}),
                "DeadLetter": ({"sqs:SendMessage"}, {"Fn::GetAtt": ["ConsentDeadLetterQueue", "Arn"]}),
                "OwnLogGroup": (LOG_ACTIONS, {"Fn::GetAtt": ["ConsentLogGroup", "Arn"]}),
                "ReadConsentBeforeChange (fan-out)": ({"dynamodb:Query"}, {"Fn::GetAtt": ["ConsentTable", "Arn"]}),
                "PublishConsentChanged (fan-out)": (
                    {"events:PutEvents"}, RES["FanOutPipe"]["Properties"]["Target"]),
                "ReadHashKey": ({"secretsmanager:GetSecretValue"}, {"Ref": "ConsentHashKeySecret"}),
                "EraseConsentRecords (erase later)": (
                    {"dynamodb:Query", "dynamodb:BatchWriteItem"}, {"Fn::GetAtt": ["ConsentTable", "Arn"]}),
                "FindEventsOfPerson (erase later)": (
                    {"dynamodb:Query"}, {"Fn::Sub": "${EventsTable.Arn}/index/by_contact"}),
                "DeleteEventsOfPerson (erase later)": (
                    {"dynamodb:BatchGetItem", "dynamodb:DeleteItem"}, {"Fn::GetAtt": ["EventsTable", "Arn"]}),
            },
        )
        self.assertEqual(
            self._granted("ConsentLookupRole"),
            {
                "ConsentTableReads": ({"dynamodb:Query"}, {"Fn::GetAtt": ["ConsentTable", "Arn"]}),
                "OwnLogGroup": (LOG_ACTIONS, {"Fn::GetAtt": ["ConsentLookupLogGroup", "Arn"]}),
                "ReadHashKey": ({"secretsmanager:GetSecretValue"}, {"Ref": "ConsentHashKeySecret"}),
            },
        )
        for fn, role in (("ConsentFunction", "ConsentRole"), ("ConsentLookupFunction", "ConsentLookupRole")):
            self.assertEqual(RES[fn]["Properties"]["Role"], {"Fn::GetAtt": [role, "Arn"]})
            self.assertNotIn("Policies", RES[fn]["Properties"])

    def test_lookup_is_a_get_route_behind_iam_and_the_webhooks_stay_open(self):
        body = CFN_RES["WebhookApi"]["Properties"]["Body"]
        consent = body["paths"]["/consent"]
        self.assertEqual(set(consent), {"get"})
        self.assertEqual(consent["get"]["security"], [{"AWS_IAM": []}])
        self.assertIn("ConsentLookupFunction", json.dumps(consent["get"]["x-amazon-apigateway-integration"]["uri"]))
        self.assertEqual(body["components"]["securitySchemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"], "awsSigv4")
        for p in PROVIDERS:
            for op in body["paths"][f"/webhooks/{p}"].values():
                self.assertNotIn("security", op, p)

    def test_complaint_rate_alarms_per_provider_warn_at_0_1_and_alarm_at_0_3_percent(self):
        self.assertEqual(set(CONSENT_EMF_METRICS), {"Delivered", "Complained", "HardBounced"})
        for p in PROVIDERS:
            for suffix, threshold in (("ComplaintRateWarnAlarm", 0.1), ("ComplaintRateAlarm", 0.3)):
                alarm = RES[f"{logical(p)}{suffix}"]["Properties"]
                self.assertEqual(alarm["Threshold"], threshold, p)
                self.assertEqual(alarm["ComparisonOperator"], "GreaterThanThreshold")
                stats = {m["Id"]: m for m in alarm["Metrics"]}
                for metric_id, name in (("complained", "Complained"), ("delivered", "Delivered")):
                    stat = stats[metric_id]["MetricStat"]
                    self.assertEqual(stat["Metric"]["MetricName"], name)
                    self.assertEqual(stat["Metric"]["Dimensions"], provider_dim(p))
                    self.assertEqual((stat["Period"], stat["Stat"]), (86400, "Sum"), "over 24 hours")
                expression = stats["rate"]["Expression"]
                self.assertEqual(
                    expression,
                    {"Fn::Sub": "IF(FILL(delivered, 0) >= ${ComplaintRateMinimumDelivered}, "
                                "100 * FILL(complained, 0) / delivered, 0)"},
                    "a percentage, only above the minimum volume",
                )

    def test_the_erasure_hash_key_is_a_kept_generated_secret_read_at_start(self):
        secret = RES["ConsentHashKeySecret"]
        self.assertEqual(secret["Type"], "AWS::SecretsManager::Secret")
        self.assertEqual((secret["DeletionPolicy"], secret["UpdateReplacePolicy"]), ("Retain", "Retain"),
                         "a forgotten person is found only by this key, as long as the consent table lives")
        self.assertNotIn("SecretString", secret["Properties"])
        self.assertEqual(secret["Properties"]["Name"], {"Fn::Sub": "${AWS::StackName}/consent-hash-key"})
        for fn in CONSENT_FUNCTIONS:
            env = RES[fn]["Properties"]["Environment"]["Variables"]
            self.assertEqual(env["CONSENT_HASH_KEY_SECRET"], {"Ref": "ConsentHashKeySecret"}, fn)
            self.assertNotIn("CONSENT_HASH_KEY", env, "the key itself never goes into the configuration")
        erasure = (REPO / "crates" / "consent-fn" / "src" / "erasure.rs").read_text()
        self.assertIn('SECRET_VAR: &str = "CONSENT_HASH_KEY_SECRET"', erasure)
        self.assertIn('ERASE_LATER_VAR: &str = "ERASE_LATER_EVENTS"', erasure)
        env = RES["ConsentFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["ERASE_LATER_EVENTS"], {"Fn::If": ["EraseLaterOn", "true", NO_VALUE]})
        self.assertEqual(env["TABLE_NAME"], {"Fn::If": ["EraseLaterOn", {"Ref": "EventsTable"}, NO_VALUE]})
        self.assertEqual(RAW["Conditions"]["EraseLaterOn"], {"Fn::Equals": [{"Ref": "EraseLaterEvents"}, "enabled"]})
        self.assertEqual(SOURCE["Parameters"]["EraseLaterEvents"]["Default"], "disabled")

    def test_consent_changed_goes_to_the_fan_out_bus_only_when_fan_out_is_on(self):
        env = RES["ConsentFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(
            env["EVENT_BUS_NAME"],
            {"Fn::If": ["FanOutOn", {"Fn::If": ["CreateEventBus", {"Ref": "EventBus"}, {"Ref": "EventBusName"}]},
                        NO_VALUE]},
        )
        changes = (REPO / "crates" / "consent-fn" / "src" / "changes.rs").read_text()
        self.assertIn('SOURCE: &str = "marketing-webhooks.consent"', changes)
        self.assertIn('DETAIL_TYPE: &str = "consent.changed"', changes)

    def test_same_alarms_as_the_webhook_functions_plus_dead_letters_and_lag(self):
        for fn in CONSENT_FUNCTIONS:
            watched = {
                a["Properties"]["MetricName"]
                for a in resources_of_type(RES, "AWS::CloudWatch::Alarm").values()
                if a["Properties"].get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
            }
            self.assertLessEqual({"Errors", "Throttles"}, watched, fn)
        self.assertEqual(RES["ConsentIteratorAgeAlarm"]["Properties"]["MetricName"], "IteratorAge")
        self.assertEqual(
            RES["ConsentDeadLetterAlarm"]["Properties"]["Dimensions"],
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ConsentDeadLetterQueue", "QueueName"]}}],
        )


class Lint(unittest.TestCase):
    def test_cfn_lint_reports_nothing(self):
        """Same as `cfn-lint infra/template.yaml`: no error, no warning."""
        from cfnlint.api import ManualArgs, lint_file

        matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1"]))
        self.assertEqual([str(m) for m in matches], [])


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
