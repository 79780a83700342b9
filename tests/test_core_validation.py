"""Bad input is refused when pages()/items() is called, before any request is sent."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

import pagewalk
from pagewalk import Checkpoint, Retry, SpecError, TokenSpec


class Counted:
    """Real botocore clients pointed at a closed port, counting every call they start."""

    def __init__(self) -> None:
        self.calls = 0
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            client = boto3.client(
                service,
                region_name="us-east-1",
                endpoint_url="http://127.0.0.1:9",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5),
            )
            client.meta.events.register("before-call", self._count)
            self._clients[service] = client
        return self._clients[service]

    def _count(self, **kwargs: Any) -> None:
        self.calls += 1


@pytest.fixture
def counted() -> Iterator[Counted]:
    counter = Counted()
    yield counter
    assert counter.calls == 0, "a request was sent for bad input"


def _checkpoint_of(operation: str, **params: Any) -> str:
    from pagewalk._checkpoint import params_digest

    return Checkpoint(
        operation, params_digest(operation, params), {"ContinuationToken": "t"}
    ).to_json()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"page_sise": 10}, TypeError, "did you mean 'page_size'"),
        ({"max_item": 10}, TypeError, "did you mean 'max_items'"),
        ({"resume": "x", "resume_form": None}, TypeError, "resume_from"),
        ({"page_size": 0}, ValueError, "page_size must be an int >= 1"),
        ({"page_size": "10"}, TypeError, "page_size must be an int"),
        ({"page_size": True}, TypeError, "page_size must be an int"),
        ({"max_pages": 0}, ValueError, "max_pages"),
        ({"max_items": -1}, ValueError, "max_items"),
        ({"max_items": 2.5}, TypeError, "max_items"),
        ({"prefetch_pages": -1}, ValueError, "prefetch_pages"),
        ({"retry_policy": "fast"}, TypeError, "retry_policy"),
        ({"on_page": 5}, TypeError, "on_page"),
        ({"token_spec": {"input_token": "x"}}, TypeError, "token_spec"),
        ({"resume_from": 42}, TypeError, "resume_from"),
        ({"resume_from": "not json"}, SpecError, "not a pagewalk checkpoint"),
        ({"resume_from": '{"a": 1}'}, SpecError, "not a pagewalk checkpoint"),
        (
            {"resume_from": _checkpoint_of("s3.ListObjects", Bucket="b")},
            SpecError,
            "belongs to s3.ListObjects,",
        ),
        (
            {"resume_from": _checkpoint_of("s3.ListObjectsV2", Bucket="other")},
            SpecError,
            "other request parameters",
        ),
        ({"MaxKeys": 10, "page_size": 10}, ValueError, "give the page size once"),
        (
            {
                "ContinuationToken": "abc",
                "resume_from": _checkpoint_of("s3.ListObjectsV2", Bucket="b"),
            },
            ValueError,
            "not both",
        ),
    ],
)
@pytest.mark.parametrize("walker", [pagewalk.pages, pagewalk.items])
def test_bad_option_is_refused_at_call_time(
    counted: Counted, walker: Any, options: dict[str, Any], error: type[Exception], match: str
) -> None:
    s3 = counted.client("s3")
    with pytest.raises(error, match=match):
        walker(s3.list_objects_v2, Bucket="b", **options)


def test_operation_without_a_token_is_a_spec_error(counted: Counted) -> None:
    with pytest.raises(SpecError, match=r"s3\.GetObject.*token_spec="):
        pagewalk.pages(counted.client("s3").get_object, Bucket="b", Key="k")


def test_page_size_without_a_limit_parameter_is_a_spec_error(counted: Counted) -> None:
    sns = counted.client("sns")
    assert pagewalk.spec_for(sns.list_topics).limit_key is None
    with pytest.raises(SpecError, match="no page size parameter"):
        pagewalk.items(sns.list_topics, page_size=10)


def test_items_of_a_mapping_without_result_key_is_a_spec_error(counted: Counted) -> None:
    s3 = counted.client("s3")
    with pytest.raises(SpecError, match="no result_key"):
        pagewalk.items(
            s3.list_objects_v2,
            Bucket="b",
            token_spec=TokenSpec("ContinuationToken", "NextContinuationToken"),
        )


def test_parallel_checkpoint_is_refused_by_a_plain_walk(counted: Counted) -> None:
    from pagewalk._checkpoint import params_digest

    digest = params_digest("dynamodb.Scan", {"TableName": "t"})
    parallel = Checkpoint("dynamodb.Scan", digest, total_segments=4)
    with pytest.raises(SpecError, match="parallel"):
        pagewalk.items(counted.client("dynamodb").scan, TableName="t", resume_from=parallel)


def test_a_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="client method"):
        pagewalk.pages("s3.list_objects_v2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"attempts": 0}, "attempts"),
        ({"initial": -1}, "initial"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"timeout": 0}, "timeout"),
        ({"retry_on": "always"}, "retry_on"),
    ],
)
def test_bad_retry_policy_is_refused_when_built(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        Retry(**kwargs)


# -- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_round_trips_dict_tokens_with_bytes_decimal_and_dollar_keys() -> None:
    tokens = {
        "ExclusiveStartKey": {
            "pk": {"B": b"\x00\xffbinary"},
            "sk": {"N": "12"},
            "amount": Decimal("1.50"),
            "$weird": ["a", {"$bytes": "not a tag here"}],
            "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        }
    }
    checkpoint = Checkpoint("dynamodb.Scan", "d" * 32, tokens, skip=2, pages=3, items=40)
    back = Checkpoint.from_json(checkpoint.to_json())
    assert back == checkpoint
    assert back.tokens["ExclusiveStartKey"]["pk"]["B"] == b"\x00\xffbinary"
    assert isinstance(back.tokens["ExclusiveStartKey"]["amount"], Decimal)


def test_checkpoint_json_is_plain_data() -> None:
    import json

    checkpoint = Checkpoint("s3.ListObjectsV2", "0" * 32, {"ContinuationToken": "abc"}, skip=1)
    data = json.loads(checkpoint.to_json())
    assert data["format"] == "pagewalk.checkpoint/1"
    assert data["tokens"] == {"ContinuationToken": "abc"}


@pytest.mark.parametrize(
    "text",
    [
        '{"format": "pagewalk.checkpoint/1", "operation": 1, "params_digest": "x"}',
        '{"format": "pagewalk.checkpoint/1", "operation": "a", "params_digest": "x", "skip": -1}',
        '{"format": "pagewalk.checkpoint/1", "operation": "a", "params_digest": "x", "tokens": []}',
        '{"format": "pagewalk.checkpoint/1", "operation": "a"}',
        "[1, 2]",
    ],
)
def test_malformed_checkpoint_json_is_a_spec_error(text: str) -> None:
    with pytest.raises(SpecError):
        Checkpoint.from_json(text)
