"""The sync walk against a real moto server: exact results for the services people page most."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

import pagewalk
from pagewalk import Checkpoint, PageInfo, Retry

from . import seed

Aws = Callable[..., Any]


def test_s3_list_objects_v2_yields_every_key_once_in_order(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "walk-v2", 2345)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="walk-v2", page_size=100)
    got = [obj["Key"] for obj in walk]
    assert got == keys
    assert walk.stats.pages == 24
    assert walk.stats.requests == 24
    assert walk.stats.items == 2345
    assert walk.checkpoint is None


def test_s3_list_objects_v1_is_exact(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "walk-v1", 1050)
    pages = list(pagewalk.pages(s3.list_objects, Bucket="walk-v1", page_size=200))
    assert [key["Key"] for page in pages for key in page["Contents"]] == keys
    assert len(pages) == 6


def test_s3_list_object_versions_walks_a_multi_part_token(aws: Aws) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="versions")
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    expected = []
    for index in range(12):
        for _ in range(3):
            version = s3.put_object(Bucket="versions", Key=f"k{index:02d}", Body=b"x")["VersionId"]
            expected.append((f"k{index:02d}", version))
    got = [
        (version["Key"], version["VersionId"])
        for version in pagewalk.items(s3.list_object_versions, Bucket="versions", page_size=5)
    ]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got)) == 36


def test_dynamodb_scan_with_a_filter_walks_through_empty_pages(aws: Aws) -> None:
    ddb = aws("dynamodb")
    items = seed.dynamodb_table(ddb, "scan-filter", 300)
    seen_pages: list[PageInfo] = []
    walk = pagewalk.items(
        ddb.scan,
        TableName="scan-filter",
        FilterExpression="sk < :n",
        ExpressionAttributeValues={":n": {"N": "20"}},
        page_size=7,
        on_page=seen_pages.append,
    )
    got = [(item["pk"]["S"], item["sk"]["N"]) for item in walk]
    expected = {(i["pk"]["S"], i["sk"]["N"]) for i in items if int(i["sk"]["N"]) < 20}
    assert len(got) == len(set(got)) == len(expected) == 20
    assert set(got) == expected
    assert any(info.items == 0 for info in seen_pages[:-1]), "expected empty pages with a token"
    assert [info.number for info in seen_pages] == list(range(1, len(seen_pages) + 1))


def test_dynamodb_query_is_exact(aws: Aws) -> None:
    ddb = aws("dynamodb")
    seed.dynamodb_table(ddb, "query", 200)
    got = [
        int(item["sk"]["N"])
        for item in pagewalk.items(
            ddb.query,
            TableName="query",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p3"}},
            page_size=6,
        )
    ]
    assert got == list(range(3, 200, 10))


def test_dynamodb_checkpoint_with_a_dict_token_round_trips_through_json(aws: Aws) -> None:
    ddb = aws("dynamodb")
    seed.dynamodb_table(ddb, "resume", 90)
    walk = pagewalk.items(ddb.scan, TableName="resume", page_size=10, max_items=35)
    first = [item["sk"]["N"] for item in walk]
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert isinstance(checkpoint.tokens["ExclusiveStartKey"], dict)
    rest = [
        item["sk"]["N"]
        for item in pagewalk.items(
            ddb.scan, TableName="resume", page_size=10, resume_from=checkpoint.to_json()
        )
    ]
    assert len(first) == 35
    assert sorted(first + rest, key=int) == [str(i) for i in range(90)]


def test_logs_get_log_events_ends_when_the_token_comes_back(aws: Aws) -> None:
    logs = aws("logs")
    messages = seed.log_stream(logs, "/app", "web", 250)
    walk = pagewalk.items(
        logs.get_log_events,
        logGroupName="/app",
        logStreamName="web",
        startFromHead=True,
        page_size=40,
    )
    assert [event["message"] for event in walk] == messages
    assert walk.checkpoint is None
    # 7 pages of events, then the page that echoes the token and ends the walk.
    assert walk.stats.pages == 8


def test_logs_filter_log_events_is_exact(aws: Aws) -> None:
    logs = aws("logs")
    messages = seed.log_stream(logs, "/filter", "web", 130)
    got = [
        event["message"]
        for event in pagewalk.items(logs.filter_log_events, logGroupName="/filter", page_size=25)
    ]
    assert got == messages


def test_sqs_list_queues_is_exact(aws: Aws) -> None:
    sqs = aws("sqs")
    names = [f"queue-{index:03d}" for index in range(45)]
    for name in names:
        sqs.create_queue(QueueName=name)
    urls = list(pagewalk.items(sqs.list_queues, QueueNamePrefix="queue-", page_size=10))
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == names
    assert len(urls) == len(set(urls))


def test_ssm_get_parameters_by_path_is_exact(aws: Aws) -> None:
    ssm = aws("ssm")
    names = [f"/app/config/p{index:02d}" for index in range(33)]
    for name in names:
        ssm.put_parameter(Name=name, Value="v", Type="String")
    walk = pagewalk.items(ssm.get_parameters_by_path, Path="/app/config", page_size=10)
    got = [parameter["Name"] for parameter in walk]
    assert sorted(got) == names
    assert walk.stats.pages == 4


def test_route53_list_hosted_zones_sends_page_size_as_a_string(aws: Aws) -> None:
    route53 = aws("route53")
    names = [f"zone{index:02d}.example.com." for index in range(23)]
    for name in names:
        route53.create_hosted_zone(Name=name, CallerReference=name)
    sent: list[Any] = []
    route53.meta.events.register(
        "provide-client-params.route53.ListHostedZones",
        lambda params, **kwargs: sent.append(params.get("MaxItems")),
    )
    walk = pagewalk.items(route53.list_hosted_zones, page_size=5)
    assert sorted(zone["Name"] for zone in walk) == names
    assert walk.stats.pages == 5
    assert set(sent) == {"5"}


def test_max_items_then_resume_from_object_yields_exactly_the_rest(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "resume-items", 530)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="resume-items", page_size=50, max_items=123)
    first = [obj["Key"] for obj in walk]
    assert walk.checkpoint is not None
    assert (walk.checkpoint.skip, walk.checkpoint.items, walk.checkpoint.pages) == (23, 123, 2)
    rest = pagewalk.items(
        s3.list_objects_v2, Bucket="resume-items", page_size=50, resume_from=walk.checkpoint
    )
    assert first + [obj["Key"] for obj in rest] == keys
    assert rest.checkpoint is None


def test_max_items_on_pages_truncates_the_last_page_exactly(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "truncate", 300)
    walk = pagewalk.pages(s3.list_objects_v2, Bucket="truncate", page_size=100, max_items=150)
    pages = list(walk)
    assert [len(page["Contents"]) for page in pages] == [100, 50]
    assert walk.checkpoint is not None
    resumed = list(
        pagewalk.pages(
            s3.list_objects_v2,
            Bucket="truncate",
            page_size=100,
            resume_from=walk.checkpoint.to_json(),
        )
    )
    assert [len(page["Contents"]) for page in resumed] == [50, 100]
    assert [o["Key"] for page in pages + resumed for o in page["Contents"]] == keys


def test_max_items_on_a_page_boundary_fetches_no_further_page(aws: Aws) -> None:
    s3 = aws("s3")
    seed.s3_objects(s3, "boundary", 250)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="boundary", page_size=50, max_items=100)
    assert len(list(walk)) == 100
    assert walk.stats.requests == 2
    assert walk.checkpoint is not None
    assert walk.checkpoint.skip == 0
    assert walk.checkpoint.pages == 2


def test_max_pages_then_resume_gets_a_fresh_budget_and_running_counts(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "max-pages", 200)
    first = pagewalk.items(s3.list_objects_v2, Bucket="max-pages", page_size=30, max_pages=2)
    got = [obj["Key"] for obj in first]
    second = pagewalk.items(
        s3.list_objects_v2,
        Bucket="max-pages",
        page_size=30,
        max_pages=2,
        resume_from=first.checkpoint,
    )
    got += [obj["Key"] for obj in second]
    assert len(got) == 120
    assert second.checkpoint is not None
    assert (second.checkpoint.pages, second.checkpoint.items) == (4, 120)
    third = pagewalk.items(
        s3.list_objects_v2, Bucket="max-pages", page_size=30, resume_from=second.checkpoint
    )
    assert got + [obj["Key"] for obj in third] == keys


def test_breaking_out_of_items_leaves_a_checkpoint_just_past_the_last_item(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "break", 120)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="break", page_size=25)
    got = []
    for obj in walk:
        got.append(obj["Key"])
        if len(got) == 61:
            break
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert (checkpoint.skip, checkpoint.items) == (11, 61)
    rest = [
        obj["Key"]
        for obj in pagewalk.items(
            s3.list_objects_v2, Bucket="break", page_size=25, resume_from=checkpoint
        )
    ]
    assert got + rest == keys


def test_error_at_page_k_leaves_the_checkpoint_at_page_k(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "fail-k", 200)
    calls = {"n": 0}

    def fail_fourth_request(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDenied", "Message": "no"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "ListObjectsV2",
            )

    s3.meta.events.register("before-call.s3.ListObjectsV2", fail_fourth_request)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="fail-k", page_size=20)
    got: list[str] = []
    with pytest.raises(ClientError, match="AccessDenied"):
        got.extend(obj["Key"] for obj in walk)
    assert len(got) == 60
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert (checkpoint.pages, checkpoint.items, checkpoint.skip) == (3, 60, 0)
    assert walk.stats.requests == 4
    s3.meta.events.unregister("before-call.s3.ListObjectsV2", fail_fourth_request)
    rest = pagewalk.items(s3.list_objects_v2, Bucket="fail-k", page_size=20, resume_from=checkpoint)
    assert got + [obj["Key"] for obj in rest] == keys


def test_a_starting_token_in_params_is_where_the_walk_begins(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "start-token", 90)
    first_page = s3.list_objects_v2(Bucket="start-token", MaxKeys=40)
    rest = pagewalk.items(
        s3.list_objects_v2,
        Bucket="start-token",
        ContinuationToken=first_page["NextContinuationToken"],
        page_size=40,
    )
    assert [obj["Key"] for obj in rest] == keys[40:]


def test_checkpoint_of_other_params_is_refused_before_any_request(aws: Aws) -> None:
    s3 = aws("s3")
    seed.s3_objects(s3, "other-params", 30)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="other-params", page_size=10, max_items=15)
    list(walk)
    assert walk.checkpoint is not None
    with pytest.raises(pagewalk.SpecError, match="other request parameters"):
        pagewalk.items(
            s3.list_objects_v2, Bucket="other-params", Prefix="x", resume_from=walk.checkpoint
        )
    sqs = aws("sqs")
    with pytest.raises(pagewalk.SpecError, match=r"belongs to s3\.ListObjectsV2"):
        pagewalk.items(sqs.list_queues, resume_from=walk.checkpoint)


def test_resuming_with_another_page_size_is_allowed(aws: Aws) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "page-size", 100)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="page-size", page_size=30, max_items=45)
    got = [obj["Key"] for obj in walk]
    rest = pagewalk.items(
        s3.list_objects_v2, Bucket="page-size", page_size=7, resume_from=walk.checkpoint
    )
    assert got + [obj["Key"] for obj in rest] == keys


def test_checkpoint_before_the_first_page_is_the_start(aws: Aws) -> None:
    s3 = aws("s3")
    seed.s3_objects(s3, "start", 5)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="start")
    checkpoint = walk.checkpoint
    assert isinstance(checkpoint, Checkpoint)
    assert (dict(checkpoint.tokens), checkpoint.skip, checkpoint.pages, checkpoint.items) == (
        {},
        0,
        0,
        0,
    )
    assert walk.stats.requests == 0


def test_retry_policy_none_lets_the_first_error_through(aws: Aws) -> None:
    s3 = aws("s3")
    seed.s3_objects(s3, "no-retry", 10)
    calls = {"n": 0}

    def throttle(**kwargs: Any) -> None:
        calls["n"] += 1
        raise ClientError(
            {
                "Error": {"Code": "SlowDown", "Message": "slow"},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            },
            "ListObjectsV2",
        )

    s3.meta.events.register("before-call.s3.ListObjectsV2", throttle)
    with pytest.raises(ClientError, match="SlowDown"):
        list(pagewalk.items(s3.list_objects_v2, Bucket="no-retry", retry_policy=None))
    assert calls["n"] == 1
    from pagewalk.testing import no_sleep

    calls["n"] = 0
    with no_sleep() as delays, pytest.raises(ClientError, match="SlowDown"):
        list(pagewalk.items(s3.list_objects_v2, Bucket="no-retry", retry_policy=Retry(attempts=3)))
    assert calls["n"] == 3
    assert len(delays) == 2
