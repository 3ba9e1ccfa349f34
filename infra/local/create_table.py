"""Create the events table on a local DynamoDB-compatible server, if missing.

The table definition (keys, GSIs, projections, TTL) is read from
infra/template.yaml, so local and AWS tables cannot drift apart.

usage: create_table.py ENDPOINT_URL TABLE_NAME
"""

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


def table_properties():
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    # Entries made by an `Fn::ForEach` loop are lists, not resources; the
    # table is never made by one.
    tables = [
        r["Properties"]
        for r in template["Resources"].values()
        if isinstance(r, dict) and r.get("Type") == "AWS::DynamoDB::Table"
    ]
    if len(tables) != 1:
        sys.exit(f"expected one AWS::DynamoDB::Table in {TEMPLATE}, found {len(tables)}")
    return tables[0]


def main(endpoint, name):
    props = table_properties()
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    if name in client.list_tables()["TableNames"]:
        print(f"table {name} exists at {endpoint}")
        return
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
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
