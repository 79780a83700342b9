"""Hardening of input: nothing a caller passes or a forged file holds changes, loses or leaks data.

A checkpoint may only say where to continue (never add a request parameter); any malformed
checkpoint or shard is a ``SpecError`` before any request; plain callables have a stable name;
long retries do not overflow; nonsense options are refused when built; a client method's
parameters are checked at the call; messages stay short; and the command line reports a full
disk in one line with its checkpoint intact.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError

import pagewalk
from pagewalk import Checkpoint, Retry, SpecError, TokenSpec
from pagewalk._checkpoint import params_digest
from pagewalk._cli import main
from pagewalk._cli_checkpoint import CheckpointFile
from pagewalk._shards import Shard
from pagewalk.testing import no_sleep

from .drivers import count_requests
from .seed import dynamodb_table, s3_objects

SPEC = TokenSpec("NextToken", "NextToken", result_key="Items")
ROOT = Path(__file__).resolve().parent.parent


def list_things(NextToken: str | None = None, **params: Any) -> dict[str, Any]:
    """A paged plain callable: page ``i`` answers token ``str(i)`` with two items, 4 pages."""
    if params:
        raise AssertionError(f"a parameter the walk never gives was sent: {sorted(params)}")
    number = int(NextToken or 0)
    response: dict[str, Any] = {"Items": [f"{number}a", f"{number}b"]}
    if number < 3:
        response["NextToken"] = str(number + 1)
    return response


class Recorded:
    """A callable object recording the parameters of every call to :func:`list_things`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return list_things(**params)


class Closed:
    """Real botocore clients pointed at a closed port, counting every call they start."""

    def __init__(self, config: Config | None = None) -> None:
        self.calls = 0
        self.config = config or Config(retries={"total_max_attempts": 1}, connect_timeout=0.5)

    def client(self, service: str) -> Any:
        client = boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=self.config,
        )
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, **kwargs: Any) -> None:
        self.calls += 1


@pytest.fixture
def closed() -> Iterator[Closed]:
    clients = Closed()
    yield clients
    assert clients.calls == 0, "a request was started for bad input"


def forged(checkpoint: Checkpoint | None, **changes: Any) -> str:
    """``checkpoint``'s JSON with top-level fields replaced (``tokens__X`` sets one token)."""
    assert checkpoint is not None
    data = checkpoint.to_dict()
    for name, value in changes.items():
        if name.startswith("tokens__"):
            data["tokens"][name[len("tokens__") :]] = value
        else:
            data[name] = value
    return json.dumps(data)


# --------------------------------------------------------------------------------------------
# 1. A checkpoint may only carry the mapping's input tokens


def test_checkpoint_carrying_another_parameter_is_refused_before_any_request(aws: Any) -> None:
    s3 = aws("s3")
    s3_objects(s3, "mine", 6)
    s3_objects(s3, "other", 3, prefix="secret-")
    walk = pagewalk.items(s3.list_objects_v2, Bucket="mine", page_size=2, max_pages=1)
    assert len(list(walk)) == 2
    text = forged(walk.checkpoint, tokens__Bucket="other")
    with count_requests(s3) as sent, pytest.raises(SpecError, match="not one of its input tokens"):
        pagewalk.items(s3.list_objects_v2, Bucket="mine", page_size=2, resume_from=text)
    assert sent == []


def test_checkpoint_of_a_plain_callable_carrying_another_parameter_is_refused() -> None:
    service = Recorded()
    walk = pagewalk.items(service, token_spec=SPEC, max_items=3)
    assert list(walk) == ["0a", "0b", "1a"]
    for name in ("Extra", "Limit", "max_items"):
        text = forged(walk.checkpoint, **{f"tokens__{name}": "x"})
        with pytest.raises(SpecError, match="cannot add or change a request parameter"):
            pagewalk.items(service, token_spec=SPEC, resume_from=text)
    assert len(service.calls) == 2


@pytest.mark.parametrize("value", [None, ""])
def test_checkpoint_with_an_empty_token_is_refused(value: Any) -> None:
    service = Recorded()
    walk = pagewalk.items(service, token_spec=SPEC, max_items=3)
    list(walk)
    with pytest.raises(SpecError, match="empty NextToken"):
        pagewalk.items(
            service, token_spec=SPEC, resume_from=forged(walk.checkpoint, tokens__NextToken=value)
        )


def test_checkpoint_object_built_in_code_is_checked_like_its_json() -> None:
    start = pagewalk.items(list_things, token_spec=SPEC).checkpoint
    assert start is not None
    bad = Checkpoint(start.operation, start.params_digest, {"Bucket": "other"})
    with pytest.raises(SpecError, match="not one of its input tokens"):
        pagewalk.items(list_things, token_spec=SPEC, resume_from=bad)
    nested = Checkpoint(start.operation, start.params_digest, segments=(start,))
    with pytest.raises(SpecError, match="has segments"):
        pagewalk.items(list_things, token_spec=SPEC, resume_from=nested)
    with pytest.raises(SpecError, match="cannot store a object"):
        pagewalk.items(
            list_things,
            token_spec=SPEC,
            resume_from=Checkpoint(start.operation, start.params_digest, {"NextToken": object()}),
        )


def test_parallel_checkpoint_cannot_add_parameters_at_any_level(aws: Any) -> None:
    ddb = aws("dynamodb")
    dynamodb_table(ddb, "t", 40)
    walk = pagewalk.parallel_items(ddb.scan, TableName="t", total_segments=2, page_size=5)
    for _ in range(12):
        next(walk)
    walk.close()
    data = walk.checkpoint.to_dict() if walk.checkpoint else {}
    assert data["segments"]
    assert data["segments"][0]["tokens"]

    in_segment = json.loads(json.dumps(data))
    in_segment["segments"][0]["tokens"]["TableName"] = "other"
    at_top = dict(data, tokens={"TableName": "other"})
    nested = json.loads(json.dumps(data))
    nested["segments"][0]["segments"] = [dict(data["segments"][0])]
    nested["segments"][0]["total_segments"] = 2
    with count_requests(ddb) as sent:
        for bad, match in [
            (in_segment, "not one of its input tokens"),
            (at_top, "positions are in its segments"),
            (nested, "hold no segments"),
            (dict(data, segments=[]), "at least one unfinished segment"),
        ]:
            with pytest.raises(SpecError, match=match):
                pagewalk.parallel_items(
                    ddb.scan,
                    TableName="t",
                    total_segments=2,
                    page_size=5,
                    resume_from=json.dumps(bad),
                )
    assert sent == []


def test_checkpoint_token_of_the_wrong_shape_is_refused(closed: Closed) -> None:
    s3, ddb = closed.client("s3"), closed.client("dynamodb")
    s3_start = pagewalk.items(s3.list_objects_v2, Bucket="b").checkpoint
    ddb_start = pagewalk.items(ddb.scan, TableName="t").checkpoint
    for method, params, text in [
        (s3.list_objects_v2, {"Bucket": "b"}, forged(s3_start, tokens__ContinuationToken=5)),
        (s3.list_objects_v2, {"Bucket": "b"}, forged(s3_start, tokens__ContinuationToken=[1])),
        (ddb.scan, {"TableName": "t"}, forged(ddb_start, tokens__ExclusiveStartKey="pk")),
        (
            ddb.scan,
            {"TableName": "t"},
            forged(ddb_start, tokens__ExclusiveStartKey={"pk": {"S": "a"}, "x": 5}),
        ),
    ]:
        with pytest.raises(SpecError, match="holds a token botocore would refuse"):
            pagewalk.items(method, resume_from=text, **params)


def test_shard_whose_checkpoint_adds_a_parameter_is_refused_before_any_request(
    closed: Closed,
) -> None:
    ddb = closed.client("dynamodb")
    shard = pagewalk.shards(ddb.scan, TableName="t", total_segments=2)[1]
    start = shard.items(ddb).checkpoint
    assert start is not None
    position = start.to_dict()
    position["tokens"] = {"ExclusiveStartKey": {"pk": {"S": "a"}}, "TableName": "other"}
    data = dict(shard.to_dict(), checkpoint=position)
    moved = Shard.from_json(json.dumps(data))
    with pytest.raises(SpecError, match="not one of its input tokens"):
        moved.items(ddb)


# --------------------------------------------------------------------------------------------
# 2. Any text that is not a well-formed checkpoint is a SpecError


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def _base() -> dict[str, Any]:
    walk = pagewalk.items(list_things, token_spec=SPEC, max_items=3)
    list(walk)
    assert walk.checkpoint is not None
    return walk.checkpoint.to_dict()


def _segment(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return dict(base, segment=0, **changes)


MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "bad $decimal": lambda b: dict(b, tokens={"NextToken": {"$decimal": "x"}}),
    "bad $bytes": lambda b: dict(b, tokens={"NextToken": {"$bytes": "!!"}}),
    "$bytes of a number": lambda b: dict(b, tokens={"NextToken": {"$bytes": 5}}),
    "bad $datetime": lambda b: dict(b, tokens={"NextToken": {"$datetime": "soon"}}),
    "$set of unhashables": lambda b: dict(b, tokens={"NextToken": {"$set": [[1], [2]]}}),
    "$map of a list": lambda b: dict(b, tokens={"NextToken": {"$map": [1]}}),
    "unknown tag": lambda b: dict(b, tokens={"NextToken": {"$pickle": "x"}}),
    "tag beside other keys": lambda b: dict(b, tokens={"NextToken": {"$bytes": "", "a": 1}}),
    "tokens as a tagged set": lambda b: dict(b, tokens={"$set": ["a"]}),
    "tokens a list": lambda b: dict(b, tokens=["NextToken"]),
    "deep values": lambda b: dict(b, tokens={"NextToken": _deep(500)}),
    "negative count": lambda b: dict(b, items=-1),
    "bool count": lambda b: dict(b, skip=True),
    "float count": lambda b: dict(b, pages=1.0),
    "text count": lambda b: dict(b, skip="1"),
    "operation not text": lambda b: dict(b, operation=["x"]),
    "no operation": lambda b: {key: value for key, value in b.items() if key != "operation"},
    "digest not text": lambda b: dict(b, params_digest=None),
    "segments without a scan": lambda b: dict(b, segments=[_segment(b)]),
    "empty segment list": lambda b: dict(b, tokens={}, skip=0, total_segments=2, segments=[]),
    "segments not a list": lambda b: dict(b, tokens={}, skip=0, total_segments=2, segments={}),
    "segments inside a segment": lambda b: dict(
        b,
        tokens={},
        skip=0,
        total_segments=2,
        segments=[_segment(b, total_segments=2, segments=[_segment(b)])],
    ),
    "segment position without a segment": lambda b: dict(
        b, tokens={}, skip=0, total_segments=2, segments=[b]
    ),
    "segment position of a number": lambda b: dict(
        b, tokens={}, skip=0, total_segments=2, segments=[5]
    ),
    "negative segment": lambda b: dict(b, segment=-1),
    "no segments at all": lambda b: dict(b, total_segments=0),
    "not an object": lambda b: [b],
}


@pytest.mark.parametrize("mutation", sorted(MALFORMED))
def test_malformed_checkpoint_is_a_spec_error_before_any_request(mutation: str) -> None:
    text = json.dumps(MALFORMED[mutation](_base()))
    with pytest.raises(SpecError):
        Checkpoint.from_json(text)
    service = Recorded()
    with pytest.raises(SpecError):
        pagewalk.items(service, token_spec=SPEC, resume_from=text)
    assert service.calls == []


@pytest.mark.parametrize(
    "text",
    [
        '{"format": "pagewalk.checkpoint/1", "tokens": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 100_000,
        '{"format": "pagewalk.checkpoint/1", "items": 1' + "0" * 5000 + "}",
        '{"format": "pagewalk.checkpoint/1", "oper',
        b'{"format": "pagewalk.checkpoint/1", "operation": "\xff"}',
        "",
    ],
    ids=["deep JSON", "deep unclosed JSON", "huge number", "truncated", "not UTF-8", "empty"],
)
def test_text_that_is_not_a_checkpoint_is_a_spec_error(text: str | bytes) -> None:
    with pytest.raises(SpecError) as raised:
        Checkpoint.from_json(text)
    assert len(str(raised.value)) < 300
    assert "\n" not in str(raised.value)


def test_checkpoint_of_a_newer_format_says_it_was_written_by_a_newer_pagewalk() -> None:
    text = json.dumps(dict(_base(), format="pagewalk.checkpoint/2"))
    with pytest.raises(SpecError, match="written by a newer pagewalk"):
        pagewalk.items(list_things, token_spec=SPEC, resume_from=text)


def _shard() -> dict[str, Any]:
    return pagewalk.shards(list_things, token_spec=SPEC, total_segments=3)[1].to_dict()


SHARD_MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "deep params": lambda s: dict(s, params={"Key": _deep(500)}),
    "bad tag in params": lambda s: dict(s, params={"Key": {"$decimal": "x"}}),
    "params a list": lambda s: dict(s, params=[1]),
    "segment out of range": lambda s: dict(s, segment=3),
    "bool segment": lambda s: dict(s, segment=True),
    "option as a param": lambda s: dict(s, params={"max_items": 5}),
    "Segment as a param": lambda s: dict(s, params={"Segment": 0}),
    "checkpoint of another segment": lambda s: dict(
        s, checkpoint=dict(_base(), operation=s["operation"], segment=2)
    ),
    "bad checkpoint": lambda s: dict(s, checkpoint=dict(_base(), skip=-1)),
    "newer format": lambda s: dict(s, format="pagewalk.shard/2"),
}


@pytest.mark.parametrize("mutation", sorted(SHARD_MALFORMED))
def test_malformed_shard_is_a_spec_error(mutation: str) -> None:
    text = json.dumps(SHARD_MALFORMED[mutation](_shard()))
    with pytest.raises(SpecError) as raised:
        Shard.from_json(text)
    assert len(str(raised.value)) < 300
    if mutation == "newer format":
        assert "newer pagewalk" in str(raised.value)


def test_deeply_nested_shard_text_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="nested"):
        Shard.from_json('{"format": "pagewalk.shard/1", "params": ' + "[" * 100_000 + "}")


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


@pytest.mark.parametrize(
    "content",
    [
        '{"format": "pagewalk.checkpoint/1", "tokens": ' + "[" * 50_000 + "]" * 50_000 + "}",
        json.dumps(
            {
                "format": "pagewalk.checkpoint/1",
                "operation": "s3.ListObjectsV2",
                "params_digest": params_digest("s3.ListObjectsV2", {"Bucket": "demo"}),
                "tokens": {"ContinuationToken": {"$decimal": "x"}},
            }
        ),
        json.dumps(
            {
                "format": "pagewalk.checkpoint/1",
                "operation": "s3.ListObjectsV2",
                "params_digest": params_digest("s3.ListObjectsV2", {"Bucket": "demo"}),
                "tokens": {"ContinuationToken": "t", "Bucket": "other"},
            }
        ),
        '{"format": "pagewalk.checkpoint/7"}',
        '{"format": "pagewalk.checkpoint/1", "skip": -3, "operation": "s3.ListObjectsV2"}',
    ],
    ids=["deep", "bad decimal", "extra token", "newer", "negative"],
)
def test_cli_malformed_checkpoint_file_is_exit_2_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    checkpoint = tmp_path / "walk.json"
    checkpoint.write_text(content, encoding="utf-8")
    code, out, err = run_main(
        capsys,
        "s3", "list-objects-v2", "Bucket=demo", "--checkpoint", str(checkpoint),
        "--endpoint-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert (code, out) == (2, [])
    assert err.count("\n") == 1
    assert err.startswith("pagewalk: ")
    assert "please report" not in err
    assert str(checkpoint) in err
    assert len(err) < 400
    assert checkpoint.read_text(encoding="utf-8") == content


# --------------------------------------------------------------------------------------------
# 3. Plain callables have a stable name


def test_names_of_partials_and_callable_objects_hold_no_memory_address() -> None:
    def name(method: Any) -> str:
        checkpoint = pagewalk.items(method, token_spec=SPEC).checkpoint
        assert checkpoint is not None
        return checkpoint.operation

    first, second = functools.partial(list_things), functools.partial(list_things)
    nested = functools.partial(functools.partial(list_things), NextToken=None)
    assert name(first) == name(second) == name(nested) == f"{__name__}.list_things"
    assert name(Recorded()) == name(Recorded()) == f"{__name__}.Recorded"
    assert name(list_things) == f"{__name__}.list_things"
    assert "0x" not in name(first) + name(Recorded())


@pytest.mark.parametrize("kind", ["partial", "callable object"])
def test_checkpoint_of_a_plain_callable_written_in_another_process_resumes_here(
    kind: str,
) -> None:
    make = "functools.partial(list_things)" if kind == "partial" else "Recorded()"
    script = (
        "import functools, pagewalk\n"
        "from tests.test_hardening_input import SPEC, Recorded, list_things\n"
        f"walk = pagewalk.items({make}, token_spec=SPEC, max_items=3)\n"
        "assert list(walk) == ['0a', '0b', '1a']\n"
        "print(walk.checkpoint.to_json())\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    method = functools.partial(list_things) if kind == "partial" else Recorded()
    walk = pagewalk.items(method, token_spec=SPEC, resume_from=child.stdout.strip())
    assert list(walk) == ["1b", "2a", "2b", "3a", "3b"]


# --------------------------------------------------------------------------------------------
# 6. Long retries do not overflow; nonsense options are refused when built


def test_retrying_one_page_more_than_a_thousand_times_does_not_overflow() -> None:
    failures = 1100

    def flaky(NextToken: str | None = None) -> dict[str, Any]:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionResetError("reset")
        return {"Items": [1, 2]}

    walk = pagewalk.items(
        flaky, token_spec=SPEC, retry_policy=Retry(attempts=10**6, timeout=None, maximum=1.0)
    )
    with no_sleep() as delays:
        assert list(walk) == [1, 2]
    assert walk.stats.retries == 1100
    assert max(delays) <= 1.0


@pytest.mark.parametrize("retry", [1025, 10**6, 10**30])
def test_delay_bound_saturates_at_maximum_for_any_retry(retry: int) -> None:
    assert Retry(attempts=10**6).delay_bound(retry) == 20.0
    assert Retry(initial=0, attempts=10**6).delay_bound(retry) == 0.0


@pytest.mark.parametrize(
    "options",
    [
        {"initial": float("nan")},
        {"initial": float("inf")},
        {"initial": -0.5},
        {"initial": 10**400},
        {"maximum": float("inf")},
        {"maximum": float("nan")},
        {"multiplier": float("inf")},
        {"multiplier": float("nan")},
        {"timeout": float("inf")},
        {"timeout": float("nan")},
        {"timeout": -1},
    ],
    ids=repr,
)
def test_retry_refuses_delays_and_timeouts_that_make_no_sense(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="finite number"):
        Retry(**options)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"result_key": 5}, "result_key must be a string"),
        ({"result_key": b"Items"}, "result_key must be a string"),
        ({"limit_key": 5}, "limit_key must be a request parameter name"),
        ({"stop_on_same_token": "yes"}, "stop_on_same_token must be True or False"),
        ({"stop_on_same_token": 1}, "stop_on_same_token must be True or False"),
        ({"stop_on_same_token": None}, "stop_on_same_token must be True or False"),
    ],
    ids=repr,
)
def test_token_spec_refuses_values_that_make_no_sense(options: dict[str, Any], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        TokenSpec("NextToken", "NextToken", **options)


# --------------------------------------------------------------------------------------------
# 10. Checks that belong at the call


@pytest.mark.parametrize(
    "params",
    [
        {"Bucket": 12345},
        {},
        {"Bucket": "b", "Nope": 1},
        {"Bucket": "b", "MaxKeys": "ten"},
        {"Bucket": "b", "ContinuationToken": 5},
    ],
    ids=["wrong type", "missing required", "unknown member", "wrong limit type", "bad token"],
)
@pytest.mark.parametrize("walker", [pagewalk.pages, pagewalk.items])
def test_wrong_aws_parameters_are_refused_at_the_call(
    closed: Closed, walker: Any, params: dict[str, Any]
) -> None:
    with pytest.raises(ParamValidationError):
        walker(closed.client("s3").list_objects_v2, **params)


def test_parallel_scan_parameters_are_refused_at_the_call(closed: Closed) -> None:
    ddb = closed.client("dynamodb")
    with pytest.raises(ParamValidationError, match="TableName"):
        pagewalk.parallel_items(ddb.scan, TableName=5, total_segments=4)
    with pytest.raises(ParamValidationError, match="Limit"):
        pagewalk.shards(ddb.scan, TableName="t", Limit="many", total_segments=4)


def test_parameters_are_checked_as_they_will_be_sent(closed: Closed) -> None:
    # page_size is sent as Route 53's string MaxItems; botocore fills Glacier's accountId.
    pagewalk.items(closed.client("route53").list_hosted_zones, page_size=5)
    pagewalk.items(closed.client("glacier").list_vaults)
    pagewalk.parallel_items(closed.client("dynamodb").scan, TableName="t", total_segments=3)


def test_a_client_that_does_not_validate_is_not_validated() -> None:
    clients = Closed(Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    pagewalk.items(clients.client("s3").list_objects_v2, Bucket=12345)
    assert clients.calls == 0


def test_pagination_config_is_refused_naming_the_options_that_replace_it(closed: Closed) -> None:
    with pytest.raises(TypeError, match="PaginationConfig") as raised:
        pagewalk.items(
            closed.client("s3").list_objects_v2, Bucket="b", PaginationConfig={"MaxItems": 5}
        )
    for option in ("max_items", "page_size", "resume_from", "StartingToken"):
        assert option in str(raised.value)


async def alist_things(NextToken: str | None = None) -> dict[str, Any]:
    return list_things(NextToken)


@pytest.mark.parametrize("walker", [pagewalk.pages, pagewalk.items])
def test_a_coroutine_method_is_refused_by_sync_walks_pointing_at_apages(walker: Any) -> None:
    with pytest.raises(TypeError, match=r"apages\(\)/aitems\(\)"):
        walker(alist_things, token_spec=SPEC)
    with pytest.raises(TypeError, match=r"apages\(\)/aitems\(\)"):
        walker(functools.partial(alist_things), token_spec=SPEC)


def test_an_aiobotocore_method_is_refused_by_sync_walks() -> None:
    pytest.importorskip("aiobotocore")
    import asyncio

    from aiobotocore.session import get_session

    async def refuse() -> None:
        async with get_session().create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ) as s3:
            with pytest.raises(TypeError, match=r"s3.ListObjectsV2 is a coroutine method"):
                pagewalk.items(s3.list_objects_v2, Bucket="b")
            with pytest.raises(ParamValidationError):
                pagewalk.aitems(s3.list_objects_v2, Bucket=5)

    asyncio.run(refuse())


def test_a_sync_client_method_is_refused_by_async_walks(closed: Closed) -> None:
    with pytest.raises(TypeError, match=r"pagewalk.pages\(\)/items\(\)"):
        pagewalk.aitems(closed.client("s3").list_objects_v2, Bucket="b")


HUGE = {"Contents": [{"Key": "k" * 50, "Size": 1}] * 2000, "IsTruncated": False}


@pytest.mark.parametrize(
    "call",
    [
        lambda: pagewalk.items(HUGE),  # a response instead of a method
        lambda: pagewalk.items(list_things, token_spec=SPEC, page_size=list(range(10**5))),
        lambda: pagewalk.items(list_things, token_spec=SPEC, max_items=-(10**5000)),
        lambda: pagewalk.items(list_things, token_spec=SPEC, on_page=HUGE),
        lambda: Retry(attempts=HUGE),
        lambda: Retry(retry_on=HUGE),
        lambda: TokenSpec(["x-" * 10**5], "NextToken"),
        lambda: TokenSpec("NextToken", "NextToken", more_results=HUGE),
        lambda: pagewalk.register(HUGE, "Op", SPEC),  # type: ignore[arg-type]
    ],
)
def test_error_messages_quote_user_objects_briefly(call: Callable[[], Any]) -> None:
    with pytest.raises((TypeError, ValueError)) as raised:
        call()
    assert len(str(raised.value)) < 400


# --------------------------------------------------------------------------------------------
# 11. The command line on a full disk


class FullDisk:
    """A stdout that takes ``lines`` lines, then fails every write with ENOSPC."""

    encoding = "utf-8"

    def __init__(self, lines: int) -> None:
        self.lines: list[str] = []
        self.room = lines

    def write(self, text: str) -> int:
        if self.room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= 1
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "not a real file")


def test_cli_output_on_a_full_disk_is_one_line_and_keeps_the_checkpoint_before_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto: Any,
    aws: Any,
    tmp_path: Path,
) -> None:
    keys = s3_objects(aws("s3"), "demo", 10)
    checkpoint = tmp_path / "walk.json"
    argv = [
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "3",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    ]  # fmt: skip
    stdout = FullDisk(lines=4)
    monkeypatch.setattr(sys, "stdout", stdout)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "No space left on device" in err
    assert "please report" not in err
    assert str(checkpoint) in err
    assert [json.loads(line)["Key"] for line in stdout.lines] == keys[:4]
    Checkpoint.from_json(checkpoint.read_text(encoding="utf-8"))
    monkeypatch.undo()
    code, out, _ = run_main(capsys, *argv)
    assert code == 0
    assert [json.loads(line)["Key"] for line in out] == keys[4:]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_cli_writing_to_a_full_device_exits_1_in_one_line(
    moto: Any, aws: Any, tmp_path: Path
) -> None:
    s3_objects(aws("s3"), "demo", 5)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    checkpoint = tmp_path / "walk.json"
    with open("/dev/full", "w") as full:
        child = subprocess.run(
            [
                sys.executable, "-m", "pagewalk", "s3", "list-objects-v2", "Bucket=demo",
                "--items", "--page-size", "2", "--checkpoint", str(checkpoint),
                "--endpoint-url", moto.url,
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            timeout=120,
            check=False,
        )  # fmt: skip
    assert child.returncode == 1, child.stderr
    assert child.stderr.count("\n") == 1
    assert "No space left on device" in child.stderr
    assert "please report" not in child.stderr
    assert "Traceback" not in child.stderr
    # The first line could not be written, so no checkpoint was: a rerun starts at the beginning.
    assert not checkpoint.exists()


def test_cli_checkpoint_write_failure_leaves_the_last_written_checkpoint(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto: Any,
    aws: Any,
    tmp_path: Path,
) -> None:
    s3_objects(aws("s3"), "demo", 10)
    checkpoint = tmp_path / "walk.json"
    write = CheckpointFile._write
    writes: list[Checkpoint | None] = []

    def fail_the_second(self: CheckpointFile, value: Checkpoint | None) -> None:
        if writes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        writes.append(value)
        write(self, value)

    monkeypatch.setattr(CheckpointFile, "_write", fail_the_second)
    code, out, err = run_main(
        capsys,
        "s3", "list-objects-v2", "Bucket=demo", "--page-size", "3",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    )  # fmt: skip
    assert code == 1
    assert len(out) == 2
    assert err.count("\n") == 1
    assert "cannot write the checkpoint" in err
    assert "please report" not in err
    assert Checkpoint.from_json(checkpoint.read_text(encoding="utf-8")) == writes[0]
