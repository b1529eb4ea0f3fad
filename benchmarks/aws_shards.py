"""What index shards cost and spread on the aws backend: requests per start, page, step, relay.

For 1 and 4 shards of the listing, task, inbox and outbox indexes
(``aws_listing_shards``, ``aws_task_shards``, ``aws_inbox_shards``,
``aws_outbox_shards``), ``n`` executions are started on eventual-aws's DynamoDB
backend against moto's server started here, then listed page by page, newest
first; then each execution takes one step that publishes ``--events`` events, and
the outbox is relayed (read and acknowledged, as ``relay_published`` does) until
empty. The report counts, with the backend's request counter
(``AwsBackend.requests``): requests per start, per listing page, per step and
per relay round of 100 events, and index writes per start on the busiest
partition of each index and per step on the busiest outbox partition (read from
the table before the relay): what bounds the start and step rates, a partition
taking about a thousand writes a second.

Run: ``python benchmarks/aws_shards.py [--executions 200] [--page 20] [--events 1]``
(needs eventual-aws with its ``simulator`` extra, i.e. ``moto[server]``).
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

from eventual.history import PublishedEvent
from eventual.plugins import EventualConfig, Plugins, get_plugin_manager
from eventual.spi import ExecutionFilter, StepCommit
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


async def _steps(backend: Any, ids: list[str], events: int) -> Counter[str]:
    """Commit one step per execution publishing ``events`` events; return the commits' requests."""
    records = [await backend.executions.get(execution_id) for execution_id in ids]
    before = backend.requests.copy()
    for execution_id, record in zip(ids, records, strict=True):
        published = tuple(
            PublishedEvent(name="bench.told", payload={"execution": execution_id, "n": n})
            for n in range(events)
        )
        step = StepCommit(
            execution_id=execution_id,
            expected_length=1,
            lease=None,
            record=record,
            published=published,
        )
        await backend.executions.commit(step)
    stepping: Counter[str] = backend.requests - before
    return stepping


async def _relay(backend: Any, expected: int) -> tuple[Counter[str], Counter[str]]:
    """Relay the outbox 100 events at a time until empty, as ``relay_published`` does.

    Returns the requests of the relays that found events, and those of one that
    found the outbox empty.
    """
    before = backend.requests.copy()
    relayed = 0
    while items := await backend.published(100):
        await backend.ack_published([outbox_id for outbox_id, _ in items])
        relayed += len(items)
    assert relayed == expected, (relayed, expected)
    relaying: Counter[str] = backend.requests - before
    before = backend.requests.copy()
    assert await backend.published(100) == []
    empty: Counter[str] = backend.requests - before
    return relaying, empty


async def _measure(
    endpoint: str, shards: int, executions: int, page: int, events: int
) -> dict[str, Any]:
    options = {
        "aws_table": f"shards-{shards}",
        "aws_bucket": "bench",
        "aws_region": "us-east-1",
        "aws_endpoint_url": endpoint,
        "aws_listing_shards": shards,
        "aws_task_shards": shards,
        "aws_inbox_shards": shards,
        "aws_outbox_shards": shards,
    }
    config = EventualConfig(backend="aws", options=options)
    backend: Any = Plugins(get_plugin_manager()).backend("aws").create(config)
    try:
        await backend.create_resources()
        before = backend.requests.copy()
        ids = []
        for index in range(executions):
            record = make_record(f"e{index}", workflow="wf")
            await backend.executions.create(record, started_of(record), ())
            ids.append(record.id)
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
        stepping = await _steps(backend, ids, events)
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
            if kind != "outbox":
                hottest[kind] = max(hottest.get(kind, 0.0), count / executions)
        outbox = [count for partition, count in writes.items() if _kind(partition) == "outbox"]
        relaying, empty = await _relay(backend, executions * events)
        # The loop's last read found the outbox empty: it is counted apart.
        relaying -= empty
        hundreds = executions * events / 100
        return {
            "shards": shards,
            "requests_per_start": sum(starting.values()) / executions,
            "start_requests": dict(sorted(starting.items())),
            "requests_per_page": sum(listing.values()) / pages,
            "page_requests": {k: v / pages for k, v in sorted(listing.items())},
            "hottest_partition_writes_per_start": dict(sorted(hottest.items())),
            "events_per_step": events,
            "requests_per_step": sum(stepping.values()) / executions,
            "step_requests": dict(sorted(stepping.items())),
            "outbox_partitions_written": len(outbox),
            "hottest_outbox_writes_per_step": max(outbox) / executions,
            "requests_per_100_relayed": sum(relaying.values()) / hundreds,
            "relay_requests": {k: v / hundreds for k, v in sorted(relaying.items())},
            "empty_relay_requests": dict(sorted(empty.items())),
        }
    finally:
        await backend.close()


async def _run(executions: int, page: int, events: int) -> list[dict[str, Any]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")  # moto accepts any credentials
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        return [
            await _measure(f"http://127.0.0.1:{port}", shards, executions, page, events)
            for shards in (1, 4)
        ]
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--events", type=int, default=1, help="events each step publishes")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = asyncio.run(_run(args.executions, args.page, args.events))
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
        print(
            f"  requests per step publishing {row['events_per_step']} "
            f"{row['requests_per_step']:.2f}  {row['step_requests']}"
        )
        print(
            f"  busiest outbox partition's writes per step "
            f"{row['hottest_outbox_writes_per_step']:.2f} "
            f"({row['outbox_partitions_written']} partitions written)"
        )
        relay = ", ".join(f"{k} {v:.2f}" for k, v in row["relay_requests"].items())
        print(f"  requests per 100 events relayed {row['requests_per_100_relayed']:.2f}  {relay}")
        print(f"  requests of a relay finding nothing  {row['empty_relay_requests']}")


if __name__ == "__main__":
    main()
