"""pagewalk async example: aiobotocore walks against an embedded moto server, no AWS account needed.

Run it with::

    pip install ".[async,demo]"
    python examples/async_walk.py

It starts moto on 127.0.0.1 (a free port), creates two S3 buckets, then walks them with
``pagewalk.apages()`` / ``pagewalk.aitems()``: pages, items, several walks at once, a walk
cancelled midway and resumed from its checkpoint, and a walk that survives injected faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import boto3
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

import pagewalk
from pagewalk.testing import inject_faults, no_sleep

CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "demo",
    "aws_secret_access_key": "demo",
}


def start_moto() -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def seed(url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=url, **CREDENTIALS)
    # The server runs in this process, so the objects go straight into its backend
    # (thousands of PutObject calls over HTTP would take a while).
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for bucket, count in (("photos", 2500), ("invoices", 700)):
        s3.create_bucket(Bucket=bucket)
        for index in range(count):
            backend.put_object(bucket, f"{bucket}/{index:05d}", b"...")


async def count_keys(s3: Any, bucket: str) -> int:
    walk = pagewalk.aitems(s3.list_objects_v2, Bucket=bucket, page_size=250)
    return len([obj async for obj in walk])


async def walk_everything(url: str) -> None:
    # botocore's own retries off, so every injected fault reaches pagewalk's retries.
    config = AioConfig(retries={"total_max_attempts": 1})
    async with get_session().create_client(
        "s3", endpoint_url=url, config=config, **CREDENTIALS
    ) as s3:
        print("1. Every page of s3.list_objects_v2, 1,000 keys a page:")
        walk = pagewalk.apages(s3.list_objects_v2, Bucket="photos", page_size=1000)
        async for page in walk:
            print(f"   page with {page['KeyCount']} keys, first {page['Contents'][0]['Key']}")
        print(f"   {walk.stats}\n")

        print("2. Two buckets at once with asyncio.gather:")
        photos, invoices = await asyncio.gather(
            count_keys(s3, "photos"), count_keys(s3, "invoices")
        )
        print(f"   photos: {photos} keys, invoices: {invoices} keys\n")

        print("3. A walk cancelled midway, resumed from its checkpoint:")
        seen: list[str] = []
        busy = asyncio.Event()
        first = pagewalk.aitems(s3.list_objects_v2, Bucket="photos", page_size=400)

        async def consume() -> None:
            async for obj in first:
                seen.append(obj["Key"])
                if len(seen) == 1000:
                    busy.set()
                    await asyncio.sleep(3600)  # stuck; cancelled below

        task = asyncio.create_task(consume())
        await busy.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        checkpoint = first.checkpoint
        assert checkpoint is not None
        print(f"   cancelled after {len(seen)} keys; checkpoint: {checkpoint.to_json()}")
        rest = pagewalk.aitems(
            s3.list_objects_v2, Bucket="photos", page_size=400, resume_from=checkpoint
        )
        keys = seen + [obj["Key"] async for obj in rest]
        print(f"   resumed: {len(keys)} keys in all, {len(set(keys))} distinct\n")

        print("4. 30% of requests fail (throttling, 503, 500, resets, timeouts); the walk goes on:")
        with no_sleep() as delays, inject_faults(s3, rate=0.3, seed=42) as faults:
            walk = pagewalk.aitems(s3.list_objects_v2, Bucket="invoices", page_size=50)
            invoices_keys = [obj["Key"] async for obj in walk]
        kinds = sorted({fault.kind for fault in faults})
        print(f"   {len(invoices_keys)} keys; {len(faults)} faults injected ({', '.join(kinds)})")
        print(f"   {walk.stats.retries} pagewalk retries, backoff asked for {sum(delays):.1f}s")


def main() -> None:
    server, url = start_moto()
    try:
        seed(url)
        print(f"moto is listening on {url}\n")
        asyncio.run(walk_everything(url))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
