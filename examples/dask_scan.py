"""A DynamoDB scan split into shards and run on a Dask cluster, with per-shard checkpoints.

Run it with::

    pip install ".[demo]" "dask[distributed]"
    python examples/dask_scan.py

It starts moto on 127.0.0.1 (a free port), fills a table with 3,000 items, splits a Scan into
16 shards and runs them on a local Dask cluster (2 worker processes). Each task walks at most
a few pages of its shard and hands back the shard's remaining part as JSON (``shard.at(
walk.checkpoint)``); the driver resubmits what is left until nothing is. A task that fails is
retried the same way, from its shard's last checkpoint, so no page is fetched twice by a
successful task and no item is lost. pagewalk ships no scheduler: Dask (or Ray, or a queue)
does the scheduling, pagewalk the paging.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

import pagewalk

TABLE = "events"
ITEMS = 3000
SEGMENTS = 16
PAGES_PER_TASK = 2


def start_moto() -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def dynamodb(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard"}),
    )


def seed(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, ITEMS, 25):
        client.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": {"id": {"S": f"event-{index:05d}"}}}}
                    for index in range(start, start + 25)
                ]
            }
        )


def run_shard(shard_json: str, url: str) -> tuple[list[str], str | None]:
    """Dask task: walk a few pages of one shard; return its items and what is left of it."""
    shard = pagewalk.Shard.from_json(shard_json)
    walk = shard.items(dynamodb(url), max_pages=PAGES_PER_TASK)
    ids = [item["id"]["S"] for item in walk]
    rest = shard.at(walk.checkpoint)
    return ids, None if rest is None else rest.to_json()


def main() -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    server, url = start_moto()
    # Worker processes inherit these; a real deployment gives workers their own credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    try:
        client = dynamodb(url)
        seed(client)
        shards = pagewalk.shards(
            client.scan, TableName=TABLE, total_segments=SEGMENTS, page_size=50
        )
        print(f"{len(shards)} shards; first: {shards[0].to_json()}")

        seen: list[str] = []
        tasks = 0
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as dask,
        ):
            pending = as_completed(
                [dask.submit(run_shard, shard.to_json(), url, pure=False) for shard in shards],
                with_results=True,
            )
            for _, (ids, rest) in pending:
                tasks += 1
                seen.extend(ids)
                if rest is not None:  # the shard's checkpoint: resubmit what is left of it
                    pending.add(dask.submit(run_shard, rest, url, pure=False))

        print(f"{tasks} tasks, {len(seen)} items, {len(set(seen))} distinct (expected {ITEMS})")
        assert sorted(seen) == [f"event-{index:05d}" for index in range(ITEMS)]
    finally:
        server.stop()


if __name__ == "__main__":
    main()
