"""pagewalk's per-page retries, one behaviour per test, with botocore's Stubber and no_sleep()."""

from __future__ import annotations

import email.utils
import logging
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    StubAssertionError,
)
from botocore.stub import Stubber

import pagewalk
from pagewalk import Retry
from pagewalk._retry import PageAttempts
from pagewalk.testing import no_sleep

URLS = [f"https://sqs.example/q{index}" for index in range(6)]


def make_client(service: str = "sqs") -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def sqs() -> Iterator[tuple[Any, Stubber]]:
    """An SQS client whose requests are answered by a Stubber (list_queues pages by NextToken)."""
    client = make_client()
    with Stubber(client) as stubber:
        yield client, stubber


def ok(
    stubber: Stubber, urls: list[str], *, sent: str | None = None, token: str | None = None
) -> None:
    """Queue a page of queue URLs for the request that sends token ``sent``."""
    response: dict[str, Any] = {"QueueUrls": urls}
    if token is not None:
        response["NextToken"] = token
    stubber.add_response("list_queues", response, {"NextToken": sent} if sent else {})


def fail(
    stubber: Stubber,
    code: str = "ThrottlingException",
    *,
    status: int = 400,
    sent: str | None = None,
    headers: dict[str, str] | None = None,
    message: str = "",
) -> None:
    """Queue an error response for the request that sends token ``sent``."""
    stubber.add_client_error(
        "list_queues",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        expected_params={"NextToken": sent} if sent else {},
        response_meta={"HTTPHeaders": headers} if headers else None,
    )


def throttling(headers: dict[str, str] | None = None) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": "ThrottlingException", "Message": ""},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": headers or {}},
    }
    return ClientError(response, "ListQueues")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# What is retried, and how


def test_a_failed_page_is_retried_with_the_same_token(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    ok(stubber, URLS[:2], token="t2")
    fail(stubber, sent="t2")
    fail(stubber, "SlowDown", status=503, sent="t2")
    ok(stubber, URLS[2:4], sent="t2")
    with no_sleep():
        assert list(pagewalk.items(client.list_queues)) == URLS[:4]
    stubber.assert_no_pending_responses()


def test_backoff_delays_stay_within_the_full_jitter_bounds(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    for _ in range(5):
        fail(stubber)
    ok(stubber, URLS)
    policy = Retry(attempts=6, initial=1.0, multiplier=2.0, maximum=5.0, timeout=None)
    with no_sleep() as delays:
        list(pagewalk.items(client.list_queues, retry_policy=policy))
    bounds = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(delays) == len(bounds)
    assert all(0.0 <= delay <= bound for delay, bound in zip(delays, bounds, strict=True))


def test_backoff_is_jittered_over_the_whole_range() -> None:
    policy = Retry(attempts=2, initial=1.0, timeout=None)
    tries = PageAttempts(policy, rng=random.Random(1))
    tries.attempts = 1
    delays = [tries.on_error(throttling()) for _ in range(300)]
    assert all(delay is not None and 0.0 <= delay <= 1.0 for delay in delays)
    assert min(d for d in delays if d is not None) < 0.05
    assert max(d for d in delays if d is not None) > 0.95


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"x-amz-retry-after": "1500"}, 1.5),
        ({"Retry-After": "100"}, 5.0),
        ({"x-amz-retry-after": "60000"}, 5.0),
    ],
    ids=["retry-after-seconds", "x-amz-retry-after-ms", "retry-after-capped", "x-amz-capped"],
)
def test_a_retry_after_header_is_a_floor_capped_at_maximum(
    sqs: tuple[Any, Stubber], headers: dict[str, str], expected: float
) -> None:
    client, stubber = sqs
    fail(stubber, headers=headers)
    ok(stubber, URLS)
    policy = Retry(initial=0.001, maximum=5.0, timeout=None)
    with no_sleep() as delays:
        list(pagewalk.items(client.list_queues, retry_policy=policy))
    assert delays == [expected]


def test_a_retry_after_http_date_is_a_floor(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    fail(stubber, headers={"Retry-After": email.utils.formatdate(time.time() + 10, usegmt=True)})
    ok(stubber, URLS)
    policy = Retry(initial=0.001, maximum=20.0, timeout=None)
    with no_sleep() as delays:
        list(pagewalk.items(client.list_queues, retry_policy=policy))
    # An HTTP date has whole seconds: the wait is what is left of the 10 s.
    assert len(delays) == 1
    assert 8.5 <= delays[0] <= 10.0


def test_timeout_bounds_a_page_counting_recorded_delays(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    for attempt in range(1, 4):
        fail(stubber, headers={"x-amz-retry-after": "4500"}, message=f"try {attempt}")
    policy = Retry(attempts=10, initial=0.0, maximum=20.0, timeout=10.0)
    walk = pagewalk.items(client.list_queues, retry_policy=policy)
    # 4.5 s + 4.5 s fit into 10 s; a third wait would not, so the third error propagates.
    with no_sleep() as delays, pytest.raises(ClientError, match="try 3"):
        list(walk)
    assert delays == [4.5, 4.5]
    assert walk.stats.requests == 3


def test_exhausted_attempts_raise_the_last_error_unchanged(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    for attempt in range(1, 4):
        fail(stubber, "SlowDown", status=503, message=f"try {attempt}")
    walk = pagewalk.items(client.list_queues, retry_policy=Retry(attempts=3))
    with no_sleep(), pytest.raises(ClientError) as raised:
        list(walk)
    assert raised.value.response["Error"] == {"Code": "SlowDown", "Message": "try 3"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert walk.stats.requests == 3
    stubber.assert_no_pending_responses()


def test_after_exhausted_attempts_the_checkpoint_resumes_at_the_failed_page(
    sqs: tuple[Any, Stubber],
) -> None:
    client, stubber = sqs
    ok(stubber, URLS[:2], token="t2")
    for _ in range(3):
        fail(stubber, sent="t2")
    walk = pagewalk.items(client.list_queues, retry_policy=Retry(attempts=3))
    seen: list[str] = []
    with no_sleep(), pytest.raises(ClientError):
        seen.extend(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert (dict(checkpoint.tokens), checkpoint.pages, checkpoint.items) == (
        {"NextToken": "t2"},
        1,
        2,
    )
    ok(stubber, URLS[2:4], sent="t2", token="t3")
    ok(stubber, URLS[4:], sent="t3")
    seen.extend(pagewalk.items(client.list_queues, resume_from=checkpoint.to_json()))
    assert seen == URLS
    stubber.assert_no_pending_responses()


# --------------------------------------------------------------------------------------------
# What is never retried

NOT_RETRYABLE = [
    ("ValidationException", 400),
    ("InvalidParameterValue", 400),
    ("AccessDenied", 403),
    ("AccessDeniedException", 400),
    ("UnrecognizedClientException", 400),
    ("ExpiredTokenException", 400),
    ("InvalidNextTokenException", 400),
    ("ExpiredNextTokenException", 400),
    ("InvalidToken", 400),
]


@pytest.mark.parametrize(("code", "status"), NOT_RETRYABLE, ids=[code for code, _ in NOT_RETRYABLE])
def test_a_client_error_that_cannot_succeed_is_tried_once(
    sqs: tuple[Any, Stubber], code: str, status: int
) -> None:
    client, stubber = sqs
    fail(stubber, code, status=status)
    walk = pagewalk.items(client.list_queues)
    with no_sleep() as delays, pytest.raises(ClientError, match=code):
        list(walk)
    assert (walk.stats.requests, walk.stats.retries, delays) == (1, 0, [])


def test_a_parameter_validation_error_is_tried_once() -> None:
    client = make_client()

    def refuse(**kwargs: Any) -> None:  # a check botocore makes only when the request is built
        raise ParamValidationError(report="refused by a handler")

    client.meta.events.register("before-parameter-build.sqs.ListQueues", refuse)
    walk = pagewalk.items(client.list_queues, MaxResults=10)
    with no_sleep() as delays, pytest.raises(ParamValidationError):
        list(walk)
    assert (walk.stats.requests, delays) == (1, [])


def test_a_stub_mismatch_is_tried_once(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    ok(stubber, URLS, sent="expected-token")
    walk = pagewalk.items(client.list_queues, NextToken="other-token")
    with no_sleep() as delays, pytest.raises(StubAssertionError):
        list(walk)
    assert (walk.stats.requests, delays) == (1, [])


def test_missing_credentials_are_tried_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.session.Session().client(
        "sqs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    walk = pagewalk.items(client.list_queues)
    with no_sleep() as delays, pytest.raises(NoCredentialsError):
        list(walk)
    assert (walk.stats.requests, delays) == (1, [])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PEP 678 notes need Python 3.11")
def test_a_rejected_token_gets_a_note_saying_to_restart(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    ok(stubber, URLS[:2], token="t2")
    fail(stubber, "InvalidNextTokenException", sent="t2")
    with pytest.raises(ClientError) as raised:
        list(pagewalk.items(client.list_queues))
    notes = " ".join(getattr(raised.value, "__notes__", []))
    assert "page 2" in notes
    assert "restart" in notes


def test_retry_on_retries_what_the_default_classifier_would_not(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    fail(stubber, "ValidationException")
    ok(stubber, URLS)
    policy = Retry(retry_on=lambda exc: isinstance(exc, ClientError))
    walk = pagewalk.items(client.list_queues, retry_policy=policy)
    with no_sleep():
        assert list(walk) == URLS
    assert walk.stats.retries == 1


def test_retry_on_replaces_the_default_classifier(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    fail(stubber, "ThrottlingException")
    policy = Retry(retry_on=lambda exc: False)
    walk = pagewalk.items(client.list_queues, retry_policy=policy)
    with no_sleep(), pytest.raises(ClientError, match="ThrottlingException"):
        list(walk)
    assert walk.stats.requests == 1


def test_retry_policy_none_turns_retries_off(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    fail(stubber, "SlowDown", status=503)
    walk = pagewalk.items(client.list_queues, retry_policy=None)
    with no_sleep() as delays, pytest.raises(ClientError, match="SlowDown"):
        list(walk)
    assert (walk.stats.requests, delays) == (1, [])


# --------------------------------------------------------------------------------------------
# What a retry reports


def test_on_page_is_told_how_many_attempts_each_page_took(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    fail(stubber)
    fail(stubber)
    ok(stubber, URLS[:3], token="t2")
    ok(stubber, URLS[3:], sent="t2")
    infos: list[pagewalk.PageInfo] = []
    with no_sleep():
        list(pagewalk.pages(client.list_queues, on_page=infos.append))
    assert [info.attempts for info in infos] == [3, 1]


def test_retries_are_logged_with_the_token_redacted(
    sqs: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber = sqs
    ok(stubber, URLS[:2], token="secret-token-value")
    fail(stubber, sent="secret-token-value")
    ok(stubber, URLS[2:], sent="secret-token-value")
    with caplog.at_level(logging.INFO, logger="pagewalk"), no_sleep():
        list(pagewalk.items(client.list_queues))
    retries = [record for record in caplog.records if record.name == "pagewalk"]
    assert len(retries) == 1
    message = retries[0].getMessage()
    assert "ThrottlingException" in message
    assert "redacted" in message
    assert "secret-token-value" not in message


def test_stats_count_requests_retries_and_slept_seconds(sqs: tuple[Any, Stubber]) -> None:
    client, stubber = sqs
    fail(stubber)
    ok(stubber, URLS[:3], token="t2")
    fail(stubber, sent="t2")
    fail(stubber, sent="t2")
    ok(stubber, URLS[3:], sent="t2")
    walk = pagewalk.items(client.list_queues)
    with no_sleep() as delays:
        list(walk)
    assert (walk.stats.pages, walk.stats.requests, walk.stats.retries) == (2, 5, 3)
    assert walk.stats.slept == pytest.approx(sum(delays))
    assert len(delays) == 3


def test_ctrl_c_during_a_backoff_sleep_leaves_a_resumable_checkpoint(
    sqs: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stubber = sqs
    ok(stubber, URLS[:2], token="t2")
    fail(stubber, sent="t2")

    def interrupted(delay: float) -> bool:
        raise KeyboardInterrupt

    # The hook every backoff sleep goes through first: Ctrl-C lands in the middle of the wait.
    monkeypatch.setattr(pagewalk._sleep, "record_instant", interrupted)
    walk = pagewalk.items(client.list_queues)
    seen: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        seen.extend(walk)
    monkeypatch.undo()
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert dict(checkpoint.tokens) == {"NextToken": "t2"}
    ok(stubber, URLS[2:], sent="t2")
    seen.extend(pagewalk.items(client.list_queues, resume_from=checkpoint))
    assert seen == URLS
    stubber.assert_no_pending_responses()
