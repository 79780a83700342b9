"""A page that fails after retries says how pagewalk's tries and botocore's own retries stacked up."""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

import pagewalk
from pagewalk import _cli
from pagewalk.testing import no_sleep

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="PEP 678 notes")


class _Body:
    def stream(self, **_: Any) -> Any:
        yield b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>"


def _always_slow_down(sent: list[int]) -> Any:
    def fault(request: Any, **_: Any) -> Any:
        sent[0] += 1
        return AWSResponse(request.url, 503, {}, _Body())  # type: ignore[arg-type]

    return fault


@pytest.fixture
def instant_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own retry sleeps, made instant for this test only."""
    shim = types.SimpleNamespace(**vars(time))
    shim.sleep = lambda seconds: None
    monkeypatch.setattr(botocore.endpoint, "time", shim)


@pytest.mark.usefixtures("instant_botocore_backoff")
def test_a_page_that_fails_after_retries_counts_both_layers(aws: Any) -> None:
    s3 = aws("s3", config=Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    s3.create_bucket(Bucket="demo")
    sent = [0]
    s3.meta.events.register_first("before-send", _always_slow_down(sent))
    walk = pagewalk.items(
        s3.list_objects_v2, Bucket="demo", retry_policy=pagewalk.Retry(attempts=4)
    )
    with no_sleep(), pytest.raises(ClientError) as caught:
        list(walk)
    assert sent[0] == 12  # 4 tries by pagewalk, each 3 attempts by botocore
    notes = [note for note in caught.value.__notes__ if "by pagewalk" in note]
    assert notes == [
        "pagewalk: page 1 failed after 4 tries by pagewalk and 8 more by botocore inside them: "
        "12 requests. pagewalk's tries are set by retry_policy=Retry(attempts=...), botocore's "
        "by Config(retries=...) or AWS_MAX_ATTEMPTS."
    ]


def test_a_page_that_fails_at_once_gets_no_note(aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="demo")
    sent = [0]
    s3.meta.events.register_first("before-send", _always_slow_down(sent))
    walk = pagewalk.items(s3.list_objects_v2, Bucket="demo", retry_policy=None)
    with pytest.raises(ClientError) as caught:
        list(walk)
    assert sent[0] == 1
    assert not [note for note in getattr(caught.value, "__notes__", []) if "by pagewalk" in note]


@pytest.mark.usefixtures("instant_botocore_backoff")
def test_the_command_line_failure_line_counts_both_layers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, aws: Any
) -> None:
    aws("s3").create_bucket(Bucket="demo")
    make_client = _cli.make_client
    sent = [0]

    def faulty_client(*args: Any, **kwargs: Any) -> Any:
        client = make_client(*args, **kwargs)
        client.meta.events.register_first("before-send", _always_slow_down(sent))
        return client

    monkeypatch.setattr(_cli, "make_client", faulty_client)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    endpoint = aws("s3").meta.endpoint_url
    with no_sleep():
        status = _cli.main(["s3", "list-objects-v2", "Bucket=demo", "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert status != 0
    assert sent[0] == 24  # the default Retry(attempts=8), each try 3 attempts by botocore
    assert err.count("\n") == 1, err
    assert "page 1 failed: " in err
    assert err.rstrip().endswith(
        "(after 8 tries by pagewalk and 16 more by botocore inside them: 24 requests)"
    ), err
