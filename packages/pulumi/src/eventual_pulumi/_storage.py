"""The table and the bucket: where the engine keeps its records and large payloads."""

from __future__ import annotations

import json
import re

import attrs
import pulumi

from eventual_aws import BucketPlan, TablePlan

from ._aws import aws

__all__ = ["Bucket", "create_bucket", "create_table"]


def create_table(
    name: str,
    table: TablePlan,
    *,
    kms_key: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> aws.dynamodb.Table:
    """Create the DynamoDB table the plan describes: keys, indexes, TTL, recovery."""
    keys = {table.partition_key, table.sort_key}
    for index in table.indexes:
        keys |= {index.partition_key, index.sort_key}
    return aws.dynamodb.Table(
        f"{name}-{table.id}",
        billing_mode=table.billing_mode,
        hash_key=table.partition_key,
        range_key=table.sort_key,
        attributes=[aws.dynamodb.TableAttributeArgs(name=k, type="S") for k in sorted(keys)],
        global_secondary_indexes=[
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=index.name,
                projection_type="ALL",
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=index.partition_key, key_type="HASH"
                    ),
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=index.sort_key, key_type="RANGE"
                    ),
                ],
            )
            for index in table.indexes
        ],
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=table.ttl_attribute, enabled=True),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
            enabled=table.point_in_time_recovery
        ),
        server_side_encryption=(
            aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=kms_key)
            if kms_key is not None
            else None
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


@attrs.frozen(kw_only=True)
class Bucket:
    """The bucket and the resources that configure it (each reachable)."""

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock | None
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    policy: aws.s3.BucketPolicy | None
    lifecycle: aws.s3.BucketLifecycleConfiguration | None = None


def _bucket_prefix(prefix: str) -> str:
    # Bucket names are lowercase letters, digits and hyphens; AWS adds 26 characters.
    cleaned = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:30] or "eventual"
    return f"{cleaned}-"


def create_bucket(
    name: str,
    bucket: BucketPlan,
    *,
    prefix: str,
    kms_key: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> Bucket:
    """Create the S3 bucket the plan describes: public access blocked, encrypted, TLS only.

    The plan leaves the name to the renderer (bucket names are worldwide); it
    starts with the plan's prefix, made a valid bucket name.
    """
    opts = pulumi.ResourceOptions(parent=parent)
    created = aws.s3.Bucket(f"{name}-{bucket.id}", bucket_prefix=_bucket_prefix(prefix), opts=opts)
    block = None
    if bucket.block_public_access:
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-{bucket.id}-public-access",
            bucket=created.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
    rule = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=(
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms" if kms_key is not None else "AES256",
                kms_master_key_id=kms_key,
            )
        ),
        bucket_key_enabled=kms_key is not None,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-{bucket.id}-encryption", bucket=created.id, rules=[rule], opts=opts
    )
    policy = None
    if bucket.enforce_ssl:
        document = created.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        )
        # After the public access block: S3 refuses policies while it is being set.
        policy = aws.s3.BucketPolicy(
            f"{name}-{bucket.id}-policy",
            bucket=created.id,
            policy=document,
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[block] if block is not None else []
            ),
        )
    lifecycle = None
    if bucket.expirations:
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-{bucket.id}-lifecycle",
            bucket=created.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id=expiration.id,
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        prefix=expiration.prefix
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=expiration.days
                    ),
                )
                for expiration in bucket.expirations
            ],
            opts=opts,
        )
    return Bucket(
        bucket=created,
        public_access_block=block,
        encryption=encryption,
        policy=policy,
        lifecycle=lifecycle,
    )
