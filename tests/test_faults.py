"""The fault matrix: injected faults against the moto server, pagewalk's retries against botocore's.

Every walk here must give exactly the items of a clean run (same order, nothing lost, nothing
repeated) while a seeded 30% of its requests fail with every kind of fault.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

import pagewalk
from pagewalk.testing import FAULT_KINDS, inject_faults, no_sleep

from . import seed

FAULTS = (ClientError, ConnectionClosedError, ReadTimeoutError)
# A schedule whose first forty requests include every kind of fault (seed 0's happen not to
# include a connection reset that early).
SEED = 3


class Listing:
    """One paginated operation over seeded moto data."""

    def __init__(self, client: Any, operation: str, params: dict[str, Any], page_size: int) -> None:
        self.client = client
        self.operation = operation
        self.params = params
        self.page_size = page_size

    @property
    def method(self) -> Callable[..., Any]:
        return getattr(self.client, self.operation)  # type: ignore[no-any-return]

    def items(self) -> pagewalk.Walk[Any]:
        return pagewalk.items(self.method, page_size=self.page_size, **self.params)

    def botocore_items(self) -> list[Any]:
        spec = pagewalk.spec_for(self.method)
        paginator = self.client.get_paginator(self.operation)
        pages = paginator.paginate(**self.params, PaginationConfig={"PageSize": self.page_size})
        return [item for page in pages for item in page[spec.result_keys[0]]]


def s3_listing(client: Any) -> Listing:
    seed.s3_objects(client, "faults", 240)
    return Listing(client, "list_objects_v2", {"Bucket": "faults"}, 6)


def dynamodb_listing(client: Any) -> Listing:
    seed.dynamodb_table(client, "faults", 200)
    return Listing(client, "scan", {"TableName": "faults"}, 5)


def logs_listing(client: Any) -> Listing:
    seed.log_stream(client, "faults", "stream", 240)
    return Listing(client, "filter_log_events", {"logGroupName": "faults"}, 6)


def sqs_listing(client: Any) -> Listing:
    for index in range(80):
        client.create_queue(QueueName=f"faults-{index:03d}")
    return Listing(client, "list_queues", {}, 2)


LISTINGS: dict[str, tuple[str, Callable[[Any], Listing]]] = {
    "s3.list_objects_v2": ("s3", s3_listing),
    "dynamodb.scan": ("dynamodb", dynamodb_listing),
    "logs.filter_log_events": ("logs", logs_listing),
    "sqs.list_queues": ("sqs", sqs_listing),
}


@pytest.fixture(params=list(LISTINGS))
def listing(request: pytest.FixtureRequest, aws: Callable[..., Any]) -> Listing:
    service, make = LISTINGS[request.param]
    return make(aws(service))


def test_a_walk_under_faults_gives_exactly_the_items_of_a_clean_run(listing: Listing) -> None:
    clean = list(listing.items())
    assert len(clean) >= 48
    walk = listing.items()
    with (
        no_sleep(),
        inject_faults(listing.client, rate=0.3, seed=SEED, kinds=FAULT_KINDS) as faults,
    ):
        faulted = list(walk)
    assert faulted == clean
    assert walk.stats.retries > 0
    # botocore's retries are off: every injected fault is one retry of pagewalk's.
    assert walk.stats.retries == len(faults)
    assert {fault.kind for fault in faults} == set(FAULT_KINDS)


def test_the_same_faults_make_botocores_paginator_fail(listing: Listing) -> None:
    with (
        inject_faults(listing.client, rate=0.3, seed=SEED, kinds=FAULT_KINDS),
        pytest.raises(FAULTS),
    ):
        listing.botocore_items()


def test_pagewalk_retries_stack_on_botocore_standard_mode_under_heavy_faults(
    listing: Listing, moto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = list(listing.items())
    botocore_sleeps: list[float] = []
    # botocore's own backoff sleeps go through this module's time.sleep: make them instant too.
    monkeypatch.setattr(
        botocore.endpoint, "time", types.SimpleNamespace(sleep=botocore_sleeps.append)
    )
    client = moto.client(
        listing.client.meta.service_model.service_name, config=Config(retries={"mode": "standard"})
    )
    standard = Listing(client, listing.operation, listing.params, listing.page_size)
    walk = standard.items()
    with no_sleep(), inject_faults(client, rate=0.5, seed=SEED) as faults:
        assert list(walk) == clean
    assert botocore_sleeps, "botocore's standard mode retried nothing"
    assert walk.stats.retries > 0
    # Each of pagewalk's requests went through botocore's retries: more faults than retries.
    assert len(faults) > walk.stats.retries
