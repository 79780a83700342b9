"""Walk behaviour both drivers must share: every test runs through the sync and the async driver.

The async runs need aiobotocore (the ``async`` extra) and are skipped without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

import pagewalk
from pagewalk import Checkpoint, PageInfo, Retry, TokenLoopError, TokenSpec
from pagewalk.testing import inject_faults, no_sleep

from . import seed
from .drivers import Call, Driver, Function, count_requests, driver, fail_requests

__all__ = ["driver"]  # the fixture, imported so pytest finds it here

Aws = Callable[..., Any]

LIST_OBJECTS = Call("s3", "list_objects_v2")
SCAN = Call("dynamodb", "scan")
LOG_EVENTS = Call("logs", "get_log_events")


def keys_of(objects: list[dict[str, Any]]) -> list[str]:
    return [obj["Key"] for obj in objects]


def test_s3_walk_with_small_pages_yields_every_key_once_in_order(driver: Driver, aws: Aws) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    run = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5)
    assert keys_of(run.results) == keys
    assert (run.walk.stats.pages, run.walk.stats.requests, run.walk.stats.items) == (5, 5, 23)
    assert run.walk.checkpoint is None


def test_s3_pages_come_one_response_per_page_size(driver: Driver, aws: Aws) -> None:
    seed.s3_objects(aws("s3"), "behaviour", 23)
    run = driver.pages(LIST_OBJECTS, Bucket="behaviour", page_size=5)
    assert [page["KeyCount"] for page in run.results] == [5, 5, 5, 5, 3]


def test_max_items_then_resume_yields_the_rest_exactly(driver: Driver, aws: Aws) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    first = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5, max_items=7)
    assert keys_of(first.results) == keys[:7]
    checkpoint = first.walk.checkpoint
    assert (checkpoint.pages, checkpoint.skip, checkpoint.items) == (1, 2, 7)
    rest = driver.items(
        LIST_OBJECTS, Bucket="behaviour", page_size=5, resume_from=checkpoint.to_json()
    )
    assert keys_of(rest.results) == keys[7:]
    assert rest.walk.checkpoint is None


def test_max_pages_stops_after_that_many_pages(driver: Driver, aws: Aws) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    run = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5, max_pages=2)
    assert keys_of(run.results) == keys[:10]
    assert run.walk.stats.requests == 2


def test_dynamodb_scan_with_a_filter_crosses_empty_pages_exactly(driver: Driver, aws: Aws) -> None:
    items = seed.dynamodb_table(aws("dynamodb"), "behaviour", 60)
    wanted = sorted(int(item["sk"]["N"]) for item in items if item["flag"]["N"] == "1")
    infos: list[PageInfo] = []
    run = driver.items(
        SCAN,
        TableName="behaviour",
        FilterExpression="flag = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        page_size=2,
        on_page=infos.append,
    )
    assert sorted(int(item["sk"]["N"]) for item in run.results) == wanted
    assert len(run.results) == len(wanted)
    assert any(info.items == 0 for info in infos[:-1])  # the walk really crossed empty pages


def test_logs_get_log_events_ends_when_the_token_comes_back(driver: Driver, aws: Aws) -> None:
    messages = seed.log_stream(aws("logs"), "group", "stream", 25)
    run = driver.items(
        LOG_EVENTS, logGroupName="group", logStreamName="stream", startFromHead=True, page_size=10
    )
    assert [event["message"] for event in run.results] == messages
    assert run.walk.checkpoint is None


def test_on_page_is_called_in_order_with_page_numbers(driver: Driver, aws: Aws) -> None:
    seed.s3_objects(aws("s3"), "behaviour", 12)
    infos: list[PageInfo] = []
    driver.pages(LIST_OBJECTS, Bucket="behaviour", page_size=5, on_page=infos.append)
    assert [(info.number, info.items, info.last) for info in infos] == [
        (1, 5, False),
        (2, 5, False),
        (3, 2, True),
    ]


def test_error_at_page_k_leaves_the_checkpoint_at_k_and_resume_is_exact(
    driver: Driver, aws: Aws
) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    failed = driver.items(
        LIST_OBJECTS,
        Bucket="behaviour",
        page_size=5,
        retry_policy=None,
        with_client=lambda client: fail_requests(client, 3),
        raises=ConnectionClosedError,
    )
    assert keys_of(failed.results) == keys[:10]
    checkpoint = failed.walk.checkpoint
    assert (checkpoint.pages, checkpoint.skip, checkpoint.items) == (2, 0, 10)
    rest = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5, resume_from=checkpoint)
    assert keys_of(failed.results + rest.results) == keys


def test_a_token_seen_before_raises_token_loop_error_after_the_pages_before_it(
    driver: Driver,
) -> None:
    tokens = {None: "a", "a": "b", "b": "a"}  # a cycle of two

    def cycling(NextToken: str | None = None) -> dict[str, Any]:
        return {"Items": [NextToken or "start"], "NextToken": tokens[NextToken]}

    run = driver.items(
        Function(cycling),
        token_spec=TokenSpec("NextToken", "NextToken", result_key="Items"),
        raises=TokenLoopError,
    )
    assert run.results == ["start", "a", "b"]
    assert run.error.checkpoint == run.walk.checkpoint
    checkpoint = run.walk.checkpoint
    # At the repeated token, with the loop's items to skip: resuming repeats nothing.
    assert (dict(checkpoint.tokens), checkpoint.skip, checkpoint.pages) == (
        {"NextToken": "a"},
        2,
        3,
    )


@pytest.mark.parametrize("kind", ["throttle", "slowdown", "server", "reset", "timeout"])
def test_injected_faults_are_retried_with_no_sleep_and_the_walk_is_exact(
    driver: Driver, aws: Aws, kind: str
) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 40)
    with no_sleep() as delays:
        run = driver.items(
            LIST_OBJECTS,
            Bucket="behaviour",
            page_size=4,
            retry_policy=Retry(attempts=10),
            with_client=lambda client: inject_faults(client, rate=0.4, seed=7, kinds=(kind,)),
        )
    assert keys_of(run.results) == keys
    assert {fault.kind for fault in run.hooked} == {kind}
    stats = run.walk.stats
    assert stats.retries == len(run.hooked) == len(delays)
    assert stats.requests == stats.pages + stats.retries


def test_prefetched_pages_arrive_in_order(driver: Driver, aws: Aws) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    run = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=3, prefetch_pages=2)
    assert keys_of(run.results) == keys


def test_prefetch_error_comes_out_where_its_page_would_and_resume_is_exact(
    driver: Driver, aws: Aws
) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    failed = driver.items(
        LIST_OBJECTS,
        Bucket="behaviour",
        page_size=5,
        prefetch_pages=3,
        retry_policy=None,
        with_client=lambda client: fail_requests(client, 3),
        raises=ConnectionClosedError,
    )
    assert keys_of(failed.results) == keys[:10]
    checkpoint = failed.walk.checkpoint
    assert checkpoint.pages == 2
    rest = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5, resume_from=checkpoint)
    assert keys_of(failed.results + rest.results) == keys


def test_prefetch_checkpoint_counts_only_what_the_caller_got(driver: Driver, aws: Aws) -> None:
    keys = seed.s3_objects(aws("s3"), "behaviour", 23)
    first = driver.items(
        LIST_OBJECTS, Bucket="behaviour", page_size=5, prefetch_pages=3, stop_after=7
    )
    checkpoint: Checkpoint = first.walk.checkpoint
    assert (checkpoint.pages, checkpoint.skip) == (1, 2)
    rest = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5, resume_from=checkpoint)
    assert keys_of(first.results + rest.results) == keys


def test_a_bad_option_is_refused_before_any_request(driver: Driver, aws: Aws) -> None:
    seed.s3_objects(aws("s3"), "behaviour", 3)
    run = driver.items(
        LIST_OBJECTS,
        Bucket="behaviour",
        page_size=0,
        with_client=count_requests,
        raises=ValueError,
    )
    assert run.walk is None
    assert run.hooked == []


def test_a_misspelt_option_is_a_type_error_naming_the_option(driver: Driver, aws: Aws) -> None:
    run = driver.items(LIST_OBJECTS, Bucket="behaviour", page_sise=5, raises=TypeError)
    assert "page_size" in str(run.error)


def test_checkpoint_of_another_walk_is_refused(driver: Driver, aws: Aws) -> None:
    seed.s3_objects(aws("s3"), "behaviour", 12)
    first = driver.items(LIST_OBJECTS, Bucket="behaviour", page_size=5, max_items=3)
    run = driver.items(
        LIST_OBJECTS,
        Bucket="other",
        resume_from=first.walk.checkpoint,
        raises=pagewalk.SpecError,
    )
    assert "other request parameters" in str(run.error)
