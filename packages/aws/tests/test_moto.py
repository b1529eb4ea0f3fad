"""The in-process moto server keeps concurrent DynamoDB transactions isolated."""

from __future__ import annotations

import concurrent.futures
import uuid
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from eventual_aws._moto import guard_transactions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def _put(key: str) -> TransactWriteItemTypeDef:
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": key}}}}


TABLE = f"moto-guard-{uuid.uuid4().hex[:8]}"


def test_a_failed_transaction_never_undoes_another(endpoint: str, session: boto3.Session) -> None:
    """Writes that land while another transaction fails its condition all stay written."""
    guard_transactions()  # idempotent: the session's server already has it
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "taken"}})
    # moto copies the whole table for each transaction: a fuller table widens the
    # window in which an unguarded rollback would undo its neighbours.
    for start in range(0, 500, 25):
        dynamodb.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": {"pk": {"S": f"filler-{n}"}, "pad": {"S": "x" * 200}}}}
                    for n in range(start, start + 25)
                ]
            }
        )
    written: list[str] = []

    def commit(index: int) -> None:
        if index % 4 == 3:
            conflicting: TransactWriteItemTypeDef = {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": "taken"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            try:
                dynamodb.transact_write_items(TransactItems=[_put(f"lost-{index}"), conflicting])
            except ClientError:
                return
            raise AssertionError("the conflicting transaction committed")
        key = f"kept-{index}"
        if index % 4 == 1:  # a plain write, landing while another transaction copies
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": key}})
        else:
            dynamodb.transact_write_items(TransactItems=[_put(key)])
        written.append(key)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(commit, range(64)))
    stored = {
        item["pk"]["S"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
    }
    assert set(written) <= stored
    assert not {key for key in stored if key.startswith("lost-")}
