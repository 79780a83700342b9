"""pagewalk.testing: stub_pages() against botocore's Stubber, inject_faults() against moto."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
    StubAssertionError,
)
from botocore.stub import Stubber

import pagewalk
from pagewalk.testing import FAULT_KINDS, Fault, inject_faults, no_sleep, stub_pages

NO_RETRIES = Config(retries={"total_max_attempts": 1})


def offline_client(service: str) -> Any:
    """A client whose endpoint nobody listens on: every request must be stubbed or faulted."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


def python_method(client: Any, operation: str) -> Any:
    """The client method for an API name (``"ListObjectVersions"``) or a Python name."""
    by_api = {api: name for name, api in client.meta.method_to_api_mapping.items()}
    return getattr(client, by_api.get(operation, operation))


@pytest.fixture
def stubbed() -> Iterator[Callable[[str], tuple[Any, Stubber]]]:
    """Factory: ``stubbed("s3")`` is an offline client and its active Stubber."""
    stubbers: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        client = offline_client(service)
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.deactivate()


# --------------------------------------------------------------------------------------------
# stub_pages: one case per token shape. Each: service, operation, pages, params, result key.

CASES: dict[str, tuple[str, str, list[dict[str, Any]], dict[str, Any], str]] = {
    "s3-string-token": (
        "s3",
        "list_objects_v2",
        [{"Contents": [{"Key": f"k{page}{item}"} for item in range(2)]} for page in range(3)],
        {"Bucket": "demo"},
        "Contents",
    ),
    "s3-multi-part-token": (
        "s3",
        "ListObjectVersions",
        [{"Versions": [{"Key": f"k{page}", "VersionId": f"v{page}"}]} for page in range(3)],
        {"Bucket": "demo"},
        "Versions",
    ),
    "s3-jmespath-token": (
        "s3",
        "list_objects",
        [{"Contents": [{"Key": f"k{page}"}]} for page in range(3)],
        {"Bucket": "demo"},
        "Contents",
    ),
    "dynamodb-dict-token": (
        "dynamodb",
        "scan",
        [
            {"Items": [{"pk": {"S": f"p{page}"}}], "Count": 1, "ScannedCount": 1}
            for page in range(3)
        ],
        {"TableName": "demo"},
        "Items",
    ),
    "logs-same-token-end": (
        "logs",
        "get_log_events",
        [{"events": [{"timestamp": page, "message": f"m{page}"}]} for page in range(3)]
        + [{"events": []}],
        {"logGroupName": "g", "logStreamName": "s", "startFromHead": True},
        "events",
    ),
    "sqs-json": (
        "sqs",
        "list_queues",
        [{"QueueUrls": [f"https://sqs.example/q{page}"]} for page in range(3)],
        {},
        "QueueUrls",
    ),
    "inferred-only": (
        "servicecatalog",
        "search_products",
        [{"ProductViewSummaries": [{"Id": f"prod-{page}"}]} for page in range(3)],
        {},
        "ProductViewSummaries",
    ),
}
PAGINATED_BY_BOTOCORE = [
    "s3-string-token",
    "s3-multi-part-token",
    "s3-jmespath-token",
    "dynamodb-dict-token",
    "sqs-json",
]


@pytest.mark.parametrize("case", list(CASES))
def test_pagewalk_walks_stubbed_pages_in_order(stubbed: Any, case: str) -> None:
    service, operation, payloads, params, result_key = CASES[case]
    client, stubber = stubbed(service)
    stub_pages(stubber, operation, payloads, params=params)
    walk = pagewalk.pages(python_method(client, operation), **params)
    results = [page[result_key] for page in walk]
    assert results == [page[result_key] for page in payloads]
    assert walk.stats.requests == len(payloads)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("case", PAGINATED_BY_BOTOCORE)
def test_botocore_paginator_walks_the_same_stubs(stubbed: Any, case: str) -> None:
    service, operation, payloads, params, result_key = CASES[case]
    client, stubber = stubbed(service)
    stub_pages(stubber, operation, payloads, params=params)
    paginator = client.get_paginator(python_method(client, operation).__name__)
    pages = list(paginator.paginate(**params))
    assert [page[result_key] for page in pages] == [page[result_key] for page in payloads]
    stubber.assert_no_pending_responses()


def test_hand_written_loop_ends_get_log_events_on_the_echoed_token(stubbed: Any) -> None:
    _, operation, payloads, params, _ = CASES["logs-same-token-end"]
    client, stubber = stubbed("logs")
    stub_pages(stubber, operation, payloads, params=params)
    messages, token = [], None
    while True:
        response = client.get_log_events(**params, **({"nextToken": token} if token else {}))
        messages += [event["message"] for event in response["events"]]
        if response.get("nextForwardToken") in (None, token):
            break
        token = response["nextForwardToken"]
    assert messages == ["m0", "m1", "m2"]
    stubber.assert_no_pending_responses()


def test_stub_pages_echoes_the_sent_token_on_the_last_get_log_events_page(stubbed: Any) -> None:
    _, operation, payloads, params, _ = CASES["logs-same-token-end"]
    client, stubber = stubbed("logs")
    tokens = stub_pages(stubber, operation, payloads, params=params)
    client.get_log_events(**params)
    responses = [client.get_log_events(**params, **token) for token in tokens]
    assert responses[-1]["nextForwardToken"] == tokens[-1]["nextToken"]


def test_stub_pages_returns_the_tokens_it_wrote(stubbed: Any) -> None:
    _, stubber = stubbed("s3")
    tokens = stub_pages(stubber, "list_objects_v2", [{}, {}, {}], params={"Bucket": "demo"})
    assert tokens == [
        {"ContinuationToken": "stub-ContinuationToken-2"},
        {"ContinuationToken": "stub-ContinuationToken-3"},
    ]


def test_stub_pages_writes_every_part_of_a_multi_part_token(stubbed: Any) -> None:
    client, stubber = stubbed("s3")
    stub_pages(stubber, "list_object_versions", [{}, {}], params={"Bucket": "demo"})
    first = client.list_object_versions(Bucket="demo")
    assert (first["IsTruncated"], first["NextKeyMarker"], first["NextVersionIdMarker"]) == (
        True,
        "stub-KeyMarker-2",
        "stub-VersionIdMarker-2",
    )
    last = client.list_object_versions(
        Bucket="demo", KeyMarker="stub-KeyMarker-2", VersionIdMarker="stub-VersionIdMarker-2"
    )
    assert last["IsTruncated"] is False
    assert "NextKeyMarker" not in last


def test_stub_pages_writes_a_jmespath_output_token_to_its_first_field(stubbed: Any) -> None:
    _, stubber = stubbed("s3")
    # ListObjects' output token is "NextMarker || Contents[-1].Key".
    tokens = stub_pages(stubber, "list_objects", [{}, {}], params={"Bucket": "demo"})
    assert tokens == [{"Marker": "stub-Marker-2"}]


def test_stub_pages_writes_a_dynamodb_key_as_the_dict_token(stubbed: Any) -> None:
    _, stubber = stubbed("dynamodb")
    tokens = stub_pages(
        stubber, "Scan", [{"Items": []}, {"Items": []}], params={"TableName": "demo"}
    )
    assert tokens == [{"ExclusiveStartKey": {"stub-key": {"S": "stub-ExclusiveStartKey-2"}}}]


def test_stub_pages_sends_page_size_as_the_limit_shape_type(stubbed: Any) -> None:
    client, stubber = stubbed("route53")
    payload = {"HostedZones": [], "Marker": "", "MaxItems": "2"}
    stub_pages(stubber, "list_hosted_zones", [payload, payload], page_size=2)
    walk = pagewalk.pages(client.list_hosted_zones, page_size=2)
    assert len(list(walk)) == 2
    stubber.assert_no_pending_responses()


def test_stub_pages_expects_the_starting_token_given_in_params(stubbed: Any) -> None:
    client, stubber = stubbed("sqs")
    stub_pages(
        stubber,
        "list_queues",
        [{"QueueUrls": ["q1"]}, {"QueueUrls": ["q2"]}],
        params={"NextToken": "start"},
    )
    with pytest.raises(StubAssertionError):
        client.list_queues()
    assert client.list_queues(NextToken="start")["NextToken"] == "stub-NextToken-2"


def test_stub_pages_follows_a_token_spec_argument(stubbed: Any) -> None:
    client, stubber = stubbed("sqs")
    spec = pagewalk.TokenSpec(
        "NextToken", "NextToken", result_key="QueueUrls", limit_key="MaxResults"
    )
    stub_pages(
        stubber,
        "ListQueues",
        [{"QueueUrls": ["a"]}, {"QueueUrls": ["b"]}],
        page_size=1,
        token_spec=spec,
    )
    assert list(pagewalk.items(client.list_queues, page_size=1, token_spec=spec)) == ["a", "b"]


def test_wrong_token_fails_at_once_and_is_never_retried(stubbed: Any) -> None:
    client, stubber = stubbed("s3")
    stub_pages(
        stubber, "list_objects_v2", [{"Contents": [{"Key": "a"}]}, {}], params={"Bucket": "demo"}
    )
    # A mapping that sends the last key back instead of the continuation token.
    wrong = pagewalk.TokenSpec("ContinuationToken", "Contents[-1].Key", result_key="Contents")
    walk = pagewalk.items(client.list_objects_v2, Bucket="demo", token_spec=wrong)
    with no_sleep() as delays, pytest.raises(StubAssertionError):
        list(walk)
    assert (walk.stats.requests, walk.stats.retries, delays) == (2, 0, [])


def test_stub_pages_refuses_a_page_that_already_has_a_token(stubbed: Any) -> None:
    _, stubber = stubbed("sqs")
    with pytest.raises(ValueError, match="leave tokens"):
        stub_pages(stubber, "list_queues", [{"QueueUrls": [], "NextToken": "mine"}, {}])
    stubber.assert_no_pending_responses()


def test_stub_pages_refuses_an_empty_list_of_pages(stubbed: Any) -> None:
    _, stubber = stubbed("sqs")
    with pytest.raises(ValueError, match="at least one page"):
        stub_pages(stubber, "list_queues", [])


def test_stub_pages_names_the_closest_operation_for_a_typo(stubbed: Any) -> None:
    _, stubber = stubbed("sqs")
    with pytest.raises(ValueError, match="list_queues"):
        stub_pages(stubber, "list_queue", [{}])


def test_stub_pages_refuses_page_size_without_a_limit_parameter(stubbed: Any) -> None:
    _, stubber = stubbed("ce")
    with pytest.raises(pagewalk.SpecError, match="page_size"):
        stub_pages(stubber, "get_cost_and_usage", [{}], page_size=5)


# --------------------------------------------------------------------------------------------
# inject_faults

# service: (python method, parameters, throttling code)
MOTO_CALLS = {
    "s3": ("list_buckets", {}, "Throttling"),  # rest-xml
    "dynamodb": ("list_tables", {}, "ThrottlingException"),  # json
    "sqs": ("list_queues", {}, "ThrottlingException"),  # json (formerly query)
    "sns": ("list_topics", {}, "Throttling"),  # query
}
HTTP_ERRORS = {"throttle": 400, "slowdown": 503, "server": 500}


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("service", list(MOTO_CALLS))
def test_injected_fault_parses_to_the_intended_error(aws: Any, service: str, kind: str) -> None:
    client = aws(service)
    method, params, throttle_code = MOTO_CALLS[service]
    with (
        inject_faults(client, rate=1.0, kinds=(kind,)) as faults,
        pytest.raises(Exception) as caught,
    ):
        getattr(client, method)(**params)
    error = caught.value
    assert pagewalk.is_retryable(error)
    if kind == "reset":
        assert type(error) is ConnectionClosedError
    elif kind == "timeout":
        assert type(error) is ReadTimeoutError
    else:
        assert isinstance(error, ClientError)
        code = {"throttle": throttle_code, "slowdown": "SlowDown"}.get(kind)
        code = code or (
            "InternalServerError" if service in ("dynamodb", "sqs") else "InternalError"
        )
        assert error.response["Error"]["Code"] == code
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == HTTP_ERRORS[kind]
    api_name = client.meta.method_to_api_mapping[method]
    assert [(fault.kind, fault.operation) for fault in faults] == [(kind, api_name)]


OFFLINE_CALLS = {
    "ec2": ("describe_instances", "RequestLimitExceeded"),
    "lambda": ("list_functions", "ThrottlingException"),  # rest-json
    "route53": ("list_hosted_zones", "Throttling"),  # rest-xml, not S3's error form
    "servicecatalog": (
        "search_products",
        "ThrottlingException",
    ),  # smithy-rpc-v2-cbor where botocore has it
    "iam": ("list_roles", "Throttling"),  # query
}


@pytest.mark.parametrize("service", list(OFFLINE_CALLS))
def test_injected_throttling_parses_in_the_services_protocol(service: str) -> None:
    client = offline_client(service)
    method, code = OFFLINE_CALLS[service]
    with inject_faults(client, rate=1.0, kinds=("throttle",)), pytest.raises(ClientError) as caught:
        getattr(client, method)()
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_fault_log_records_code_and_status(aws: Any) -> None:
    client = aws("s3")
    with inject_faults(client, rate=1.0, kinds=("slowdown",)) as faults, pytest.raises(ClientError):
        client.list_buckets()
    assert faults == [Fault("slowdown", "ListBuckets", 1, "SlowDown", 503)]


def test_the_same_seed_gives_the_same_schedule(aws: Any) -> None:
    client = aws("sqs")

    def schedule(seed: int) -> list[Fault]:
        with inject_faults(client, rate=0.5, seed=seed) as faults:
            for _ in range(30):
                with contextlib.suppress(ClientError, ConnectionClosedError, ReadTimeoutError):
                    client.list_queues()
        return faults

    first = schedule(7)
    assert schedule(7) == first
    assert schedule(8) != first


def test_rate_sets_the_fraction_of_failed_requests(aws: Any) -> None:
    client = aws("dynamodb")
    with inject_faults(client, rate=0.25, kinds=("throttle",)) as faults:
        for _ in range(200):
            with contextlib.suppress(ClientError):
                client.list_tables()
    assert 30 <= len(faults) <= 70


def test_rate_zero_lets_every_request_through(aws: Any) -> None:
    client = aws("s3")
    with inject_faults(client, rate=0.0) as faults:
        for _ in range(20):
            client.list_buckets()
    assert faults == []


def test_the_handler_is_unregistered_on_exit(aws: Any) -> None:
    client = aws("s3")
    with inject_faults(client, rate=1.0, kinds=("throttle",)), pytest.raises(ClientError):
        client.list_buckets()
    assert client.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_the_handler_is_unregistered_when_the_block_raises(aws: Any) -> None:
    client = aws("s3")
    with pytest.raises(KeyError), inject_faults(client, rate=1.0):
        raise KeyError("boom")
    assert client.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("names", [["list_objects_v2"], ["ListObjectsV2"], ["list-objects-v2"]])
def test_operations_limits_faults_to_the_named_operations(aws: Any, names: list[str]) -> None:
    client = aws("s3")
    client.create_bucket(Bucket="demo")
    with inject_faults(client, rate=1.0, kinds=("server",), operations=names) as faults:
        client.list_buckets()
        with pytest.raises(ClientError):
            client.list_objects_v2(Bucket="demo")
    assert [fault.operation for fault in faults] == ["ListObjectsV2"]


def test_an_injected_fault_counts_as_a_request_of_the_walk(aws: Any) -> None:
    client = aws("sqs")
    with no_sleep(), inject_faults(client, rate=0.5, seed=3) as faults:
        walk = pagewalk.pages(client.list_queues)
        list(walk)
    assert faults
    assert walk.stats.requests == 1 + len(faults)
    assert walk.stats.retries == len(faults)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"rate": 1.5}, ValueError, "between 0 and 1"),
        ({"rate": -0.1}, ValueError, "between 0 and 1"),
        ({"rate": True}, ValueError, "between 0 and 1"),
        ({"kinds": ("throttle", "throtle")}, ValueError, "did you mean 'throttle'"),
        ({"kinds": ()}, ValueError, "at least one"),
        ({"kinds": "throttle"}, TypeError, r"kinds=\('throttle',\)"),
        ({"operations": ["ListObjectV2"]}, ValueError, "did you mean 'ListObjectsV2'"),
        ({"operations": "ListObjectsV2"}, TypeError, "operations=\\['ListObjectsV2'\\]"),
        ({"seed": "1"}, TypeError, "seed must be an int"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_registered(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    client = offline_client("s3")
    with pytest.raises(error, match=message), inject_faults(client, **options):
        pass
    with Stubber(client) as stubber:
        stubber.add_response("list_buckets", {"Buckets": []})
        assert client.list_buckets()["Buckets"] == []


def test_inject_faults_refuses_something_that_is_not_a_client() -> None:
    with pytest.raises(TypeError, match="botocore/boto3 client"), inject_faults(object()):
        pass


@pytest.mark.skipif(importlib.util.find_spec("aiobotocore") is None, reason="needs the async extra")
def test_inject_faults_works_for_aiobotocore_clients(moto: Any) -> None:
    from aiobotocore.session import get_session

    async def call() -> tuple[list[str], int]:
        session = get_session()
        async with session.create_client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=moto.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        ) as client:
            codes = []
            with inject_faults(client, rate=1.0, kinds=("throttle", "slowdown", "server")):
                for _ in range(6):
                    with pytest.raises(ClientError) as caught:
                        await client.list_tables()
                    codes.append(caught.value.response["Error"]["Code"])
            clean = await client.list_tables()
            return codes, clean["ResponseMetadata"]["HTTPStatusCode"]

    codes, status = asyncio.run(call())
    assert len(codes) == 6
    assert set(codes) <= {"ThrottlingException", "SlowDown", "InternalServerError"}
    assert status == 200


@pytest.mark.skipif(importlib.util.find_spec("aiobotocore") is None, reason="needs the async extra")
def test_stub_pages_works_with_aiobotocores_stubber() -> None:
    from aiobotocore.session import get_session
    from aiobotocore.stub import AioStubber

    async def walk() -> list[str]:
        session = get_session()
        async with session.create_client(
            "sqs",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as client:
            with AioStubber(client) as stubber:
                stub_pages(
                    stubber,
                    "list_queues",
                    [{"QueueUrls": ["a"]}, {"QueueUrls": ["b"]}],
                    page_size=1,
                )
                urls = [url async for url in pagewalk.aitems(client.list_queues, page_size=1)]
                stubber.assert_no_pending_responses()
                return urls

    assert asyncio.run(walk()) == ["a", "b"]
