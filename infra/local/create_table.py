"""Create the events table (and the consent table) on a local
DynamoDB-compatible server, if missing.

The table definitions (keys, GSIs, projections, TTL, stream) are read from
infra/template.yaml, so local and AWS tables cannot drift apart. The consent
table is named by CONSENT_TABLE_NAME (default webhook-consent).

usage: create_table.py ENDPOINT_URL TABLE_NAME
"""

import os

import pathlib
import sys
import time

import boto3
import yaml

TEMPLATE = pathlib.Path(__file__).resolve().parents[1] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (!Ref, !Sub ...) as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_CfnLoader.add_multi_constructor("!", _any_tag)


def table_properties(logical_id="EventsTable"):
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    # Entries made by an `Fn::ForEach` loop are lists, not resources; the
    # tables are never made by one.
    table = template["Resources"].get(logical_id)
    if not isinstance(table, dict) or table.get("Type") != "AWS::DynamoDB::Table":
        sys.exit(f"expected an AWS::DynamoDB::Table {logical_id} in {TEMPLATE}")
    return table["Properties"]


def main(endpoint, name):
    create(endpoint, name, table_properties("EventsTable"))
    consent = os.environ.get("CONSENT_TABLE_NAME") or "webhook-consent"
    create(endpoint, consent, table_properties("ConsentTable"))


def create(endpoint, name, props):
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    stream = props.get("StreamSpecification")
    wants_stream = isinstance(stream, dict) and stream.get("StreamViewType")
    if name in client.list_tables()["TableNames"]:
        print(f"table {name} exists at {endpoint}")
        # A table made before the template had its stream: turn it on. The
        # stream holds what is written from now on; `webhooks consent
        # rebuild` derives the consent view of what was there before.
        if wants_stream and not client.describe_table(TableName=name)["Table"].get("StreamSpecification"):
            client.update_table(
                TableName=name,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]},
            )
            print(f"turned on the stream of {name}; run `webhooks consent rebuild` for the events already there")
        return
    extra = {}
    if props.get("GlobalSecondaryIndexes"):
        extra["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if wants_stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        **extra,
    )
    for _ in range(50):
        if client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled") in (True, "true"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    print(f"created table {name} at {endpoint}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
