"""What index shards cost and spread on the aws backend: requests per start and per listing page.

For 1 and 4 shards of the listing, task and inbox indexes (``aws_listing_shards``,
``aws_task_shards``, ``aws_inbox_shards``), ``n`` executions are started on
eventual-aws's DynamoDB backend against moto's server started here, then listed
page by page, newest first. The report counts, with the backend's request counter
(``AwsBackend.requests``): requests per start, requests per listing page, and
index writes per start on the busiest partition of each index (read from the
table afterwards): what bounds the start rate, a partition taking about a
thousand writes a second.

Run: ``python benchmarks/aws_shards.py [--executions 200] [--page 20]`` (needs
eventual-aws with its ``simulator`` extra, i.e. ``moto[server]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from collections import Counter
from typing import Any

from moto.server import ThreadedMotoServer

from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual.spi import ExecutionFilter
from eventual_engine.conformance.support import make_record, started_of


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _kind(partition: str) -> str:
    """Name an index partition without its shard: ``L3#w#wf`` is ``L#w#``, ``inbox#2`` is inbox."""
    if partition.startswith("L"):
        rest = partition.split("#", 1)[1]
        return "L#" + rest.split("#", 1)[0] + ("#" if "#" in rest else "")
    return partition.split("#", 1)[0]


async def _measure(endpoint: str, shards: int, executions: int, page: int) -> dict[str, Any]:
    options = {
        "aws_table": f"shards-{shards}",
        "aws_bucket": "bench",
        "aws_region": "us-east-1",
        "aws_endpoint_url": endpoint,
        "aws_listing_shards": shards,
        "aws_task_shards": shards,
        "aws_inbox_shards": shards,
    }
    config = EventualConfig(backend="aws", options=options)
    backend: Any = Plugins(get_plugin_manager()).backend("aws").create(config)
    try:
        await backend.create_resources()
        before = backend.requests.copy()
        for index in range(executions):
            record = make_record(f"e{index}", workflow="wf")
            await backend.executions.create(record, started_of(record), ())
        starting: Counter[str] = backend.requests - before
        before = backend.requests.copy()
        pages, listed, after = 0, 0, None
        while True:
            found = await backend.executions.list(ExecutionFilter(limit=page, after=after))
            pages += 1
            listed += len(found.executions)
            if found.next is None:
                break
            after = found.next
        assert listed == executions
        listing: Counter[str] = backend.requests - before
        writes: Counter[str] = Counter()
        client = backend.clients.dynamodb
        for item in (
            client.get_paginator("scan").paginate(TableName=options["aws_table"]).search("Items")
        ):
            for name in ("gsi1pk", "gsi2pk"):
                if name in item:
                    writes[item[name]["S"]] += 1
        hottest: dict[str, float] = {}
        for partition, count in writes.items():
            kind = _kind(partition)
            hottest[kind] = max(hottest.get(kind, 0.0), count / executions)
        return {
            "shards": shards,
            "requests_per_start": sum(starting.values()) / executions,
            "start_requests": dict(sorted(starting.items())),
            "requests_per_page": sum(listing.values()) / pages,
            "page_requests": {k: v / pages for k, v in sorted(listing.items())},
            "hottest_partition_writes_per_start": dict(sorted(hottest.items())),
        }
    finally:
        await backend.close()


async def _run(executions: int, page: int) -> list[dict[str, Any]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")  # moto accepts any credentials
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        return [
            await _measure(f"http://127.0.0.1:{port}", shards, executions, page)
            for shards in (1, 4)
        ]
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = asyncio.run(_run(args.executions, args.page))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        return
    for row in rows:
        print(f"shards {row['shards']}")
        print(f"  requests per start {row['requests_per_start']:.2f}  {row['start_requests']}")
        pages = ", ".join(f"{k} {v:.2f}" for k, v in row["page_requests"].items())
        print(f"  requests per page  {row['requests_per_page']:.2f}  {pages}")
        hottest = ", ".join(
            f"{k} {v:.2f}" for k, v in row["hottest_partition_writes_per_start"].items()
        )
        print(f"  busiest partition's writes per start: {hottest}")


if __name__ == "__main__":
    main()
