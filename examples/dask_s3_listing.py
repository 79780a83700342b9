"""An S3 bucket listed in key-range shards on a Dask cluster, with per-shard checkpoints.

Run it with::

    pip install ".[demo]" "dask[distributed]"
    python examples/dask_s3_listing.py

It starts moto on 127.0.0.1 (a free port), fills a bucket with 3,000 keys, all under one long
prefix (a skewed bucket: ``data/2024/05/part-00000.parquet`` ...), splits its
``ListObjectsV2`` into 8 key-range shards (at most 16 list requests find where the keys are) and
runs them on a local Dask cluster (2 worker processes). Each task lists at most a few pages of
its shard and hands back what is left of it as JSON (``shard.at(walk.checkpoint)``); the driver
resubmits that until nothing is left. Every key comes back exactly once.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

import pagewalk

BUCKET = "events"
KEYS = 3000
SHARDS = 8
PAGES_PER_TASK = 3


def start_moto() -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def s3(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", config=Config(retries={"mode": "standard"})
    )


def key(index: int) -> str:
    return f"data/2024/05/part-{index:05d}.parquet"


def seed(client: Any) -> None:
    # The moto server runs in this process: fill its backend directly (HTTP would take a minute).
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    client.create_bucket(Bucket=BUCKET)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for index in range(KEYS):
        backend.put_object(BUCKET, key(index), b"x")


def run_shard(shard_json: str, url: str) -> tuple[list[str], str | None]:
    """Dask task: list a few pages of one shard; return its keys and what is left of it."""
    shard = pagewalk.Shard.from_json(shard_json)
    walk = shard.items(s3(url), page_size=100, max_pages=PAGES_PER_TASK)
    keys = [obj["Key"] for obj in walk]
    rest = shard.at(walk.checkpoint)
    return keys, None if rest is None else rest.to_json()


def main() -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    server, url = start_moto()
    # Worker processes inherit these; a real deployment gives workers their own credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    try:
        client = s3(url)
        seed(client)
        shards = pagewalk.shards(client.list_objects_v2, Bucket=BUCKET, total_segments=SHARDS)
        print(f"{len(shards)} shards: {[shard.key_range for shard in shards]}")

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
            for _, (keys, rest) in pending:
                tasks += 1
                seen.extend(keys)
                if rest is not None:  # what is left of the shard: resubmit it
                    pending.add(dask.submit(run_shard, rest, url, pure=False))

        print(f"{tasks} tasks, {len(seen)} keys, {len(set(seen))} distinct (expected {KEYS})")
        assert sorted(seen) == [key(index) for index in range(KEYS)]
    finally:
        server.stop()


if __name__ == "__main__":
    main()
