"""The command line's AWS CLI habits: ``--starting-token`` and the resume hint, ``--query``,
``--result-key``, ``-v/--verbose``, the progress line while nothing is printed, and ``--help``
wrapped to the terminal with every exit status listed."""

from __future__ import annotations

import io
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

import pagewalk
from pagewalk import _cli
from pagewalk._cli import main
from pagewalk.testing import no_sleep

from .seed import s3_objects
from .test_cli import Proxy, child_env, keys, proxy, run_cli, run_main

__all__ = ["child_env", "proxy"]  # fixtures used here


@pytest.fixture
def bucket(aws: Any) -> list[str]:
    """Bucket ``demo`` with 10 objects; their keys in listing order."""
    return s3_objects(aws("s3"), "demo", 10)


def hint_token(stderr: str) -> str:
    """The token in the resume hint (the one line on stderr), as a shell would pass it."""
    assert stderr.count("\n") == 1, stderr
    line = stderr.strip()
    assert line.startswith("pagewalk: more results: "), line
    words = shlex.split(line)
    return words[words.index("--starting-token") + 1]


# --------------------------------------------------------------------------------------------
# --starting-token and the resume hint


@pytest.mark.parametrize(
    "limit", [("--max-items", "5"), ("--max-items", "4"), ("--max-pages", "2")]
)
def test_limit_hint_then_starting_token_prints_exactly_the_rest(
    child_env: dict[str, str], moto: Any, bucket: list[str], limit: tuple[str, str]
) -> None:
    argv = ("s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "2",
            "--endpoint-url", moto.url)  # fmt: skip
    first = run_cli(child_env, *argv, *limit)
    token = hint_token(first.stderr)
    rest = run_cli(child_env, *argv, "--starting-token", token)
    assert (first.returncode, rest.returncode, rest.stderr) == (0, 0, "")
    assert keys(first.stdout.splitlines()) + keys(rest.stdout.splitlines()) == bucket
    assert len(first.stdout.splitlines()) in (4, 5)


def test_hint_in_pages_mode_continues_with_the_next_page(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str]
) -> None:
    argv = ("s3", "list-objects-v2", "Bucket=demo", "--page-size", "3", "--endpoint-url", moto.url)
    code, first, err = run_main(capsys, *argv, "--max-pages", "1")
    code2, rest, err2 = run_main(capsys, *argv, "--starting-token", hint_token(err))
    pages = [*first, *rest]
    assert (code, code2, err2) == (0, 0, "")
    assert [item["Key"] for line in pages for item in _json(line)["Contents"]] == bucket


def test_no_hint_when_the_walk_completes_or_keeps_a_checkpoint(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str], tmp_path: Path
) -> None:
    argv = ("s3", "list-objects-v2", "Bucket=demo", "--items", "--endpoint-url", moto.url)
    assert run_main(capsys, *argv, "--max-items", "10")[2] == ""  # the limit is the end
    checkpoint = str(tmp_path / "walk.json")
    assert run_main(capsys, *argv, "--max-items", "3", "--checkpoint", checkpoint)[2] == ""


def test_botocore_next_token_works_as_starting_token(
    capsys: pytest.CaptureFixture[str], moto: Any, aws: Any, bucket: list[str]
) -> None:
    paginator = aws("s3").get_paginator("list_objects_v2")
    config = {"MaxItems": 3, "PageSize": 2}
    first = paginator.paginate(Bucket="demo", PaginationConfig=config).build_full_result()
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "2",
        "--starting-token", first["NextToken"], "--endpoint-url", moto.url,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert [item["Key"] for item in first["Contents"]] + keys(out) == bucket


def test_starting_token_of_another_operation_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], moto: Any
) -> None:
    from botocore.paginate import TokenEncoder

    token = TokenEncoder().encode({"ExclusiveStartKey": {"pk": {"S": "a"}}})
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--starting-token", token,
        "--endpoint-url", moto.url,
    )  # fmt: skip
    assert (code, out) == (2, [])
    assert err.startswith("pagewalk: --starting-token: ")
    assert "another operation" in err
    assert err.count("\n") == 1


def test_garbage_starting_token_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--starting-token", "not a token"
    )
    assert (code, out) == (2, [])
    assert err.startswith("pagewalk: --starting-token: ")


# --------------------------------------------------------------------------------------------
# --query and --result-key


def test_query_is_applied_to_each_item(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str]
) -> None:
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
        "--query", "Key", "--endpoint-url", moto.url,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == [f'"{key}"' for key in bucket]


def test_query_is_applied_to_each_page(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str]
) -> None:
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--page-size", "4",
        "--query", "{n: KeyCount, keys: Contents[].Key}", "--endpoint-url", moto.url,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert [_json(line) for line in out] == [
        {"n": 4, "keys": bucket[0:4]}, {"n": 4, "keys": bucket[4:8]}, {"n": 2, "keys": bucket[8:]},
    ]  # fmt: skip


def test_bad_query_is_a_usage_error_before_any_request(
    capsys: pytest.CaptureFixture[str], proxy: Proxy
) -> None:
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--query", "Contents[", "--endpoint-url",
        proxy.url,
    )  # fmt: skip
    assert (code, out, proxy.requests) == (2, [], 0)
    assert err.startswith("pagewalk: --query 'Contents[' is not a JMESPath expression")


def test_result_key_prints_the_common_prefixes(
    capsys: pytest.CaptureFixture[str], moto: Any, aws: Any
) -> None:
    s3_objects(aws("s3"), "tree", 6, prefix="top-")
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for index in range(5):
        backend.put_object("tree", f"dir{index}/file", b"x")
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=tree", "Delimiter=/", "--items",
        "--result-key", "CommonPrefixes", "--page-size", "3", "--max-items", "4",
        "--query", "Prefix", "--endpoint-url", moto.url,
    )  # fmt: skip
    assert code == 0
    assert out == ['"dir0/"', '"dir1/"', '"dir2/"', '"dir3/"']
    code, rest, err2 = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=tree", "Delimiter=/", "--items",
        "--result-key", "CommonPrefixes", "--page-size", "3", "--query", "Prefix",
        "--starting-token", hint_token(err), "--endpoint-url", moto.url,
    )  # fmt: skip
    assert (code, rest, err2) == (0, ['"dir4/"'], "")


def test_unknown_result_key_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=b", "--items", "--result-key", "Prefixes"
    )
    assert (code, out) == (2, [])
    assert "--result-key='Prefixes'" in err
    assert "'CommonPrefixes'" in err


def test_result_key_needs_items(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=b", "--result-key", "CommonPrefixes"
    )
    assert code == 2
    assert "add --items" in err


# --------------------------------------------------------------------------------------------
# Retries on stderr: --verbose and the progress line

SITECUSTOMIZE = """
import os

import botocore.session
from botocore.awsrequest import AWSResponse

_FAIL = {int(n) for n in os.environ["PAGEWALK_TEST_FAIL"].split(",")}
_count = [0]
_create = botocore.session.Session.create_client


class _Body:
    def __init__(self, data):
        self._data = data

    def stream(self, **_):
        yield self._data


def _fault(request, **kwargs):
    _count[0] += 1
    if _count[0] in _FAIL:
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                b"<Message>injected</Message><RequestId>t</RequestId></Error>")
        return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _Body(body))
    return None


def create_client(self, *args, **kwargs):
    client = _create(self, *args, **kwargs)
    client.meta.events.register_first("before-send", _fault)
    return client


botocore.session.Session.create_client = create_client
"""


@pytest.fixture
def faulty_env(child_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A child environment whose clients fail their 2nd request with a 503 SlowDown."""
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = dict(child_env)
    env["PYTHONPATH"] = str(tmp_path)
    env["PAGEWALK_TEST_FAIL"] = "2"
    env["AWS_MAX_ATTEMPTS"] = "1"  # botocore's retries off: the fault reaches pagewalk
    return env


def test_verbose_shows_an_injected_retry(
    faulty_env: dict[str, str], moto: Any, bucket: list[str]
) -> None:
    argv = ("s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
            "--endpoint-url", moto.url)  # fmt: skip
    verbose = run_cli(faulty_env, *argv, "--verbose")
    quiet = run_cli(faulty_env, *argv)
    assert (verbose.returncode, quiet.returncode) == (0, 0)
    assert keys(verbose.stdout.splitlines()) == bucket
    assert keys(quiet.stdout.splitlines()) == bucket
    lines = verbose.stderr.splitlines()
    retries = [line for line in lines if " failed with " in line]
    assert len(retries) == 1, lines
    assert re.fullmatch(
        r"pagewalk: s3\.ListObjectsV2: page 2 try 1 failed with ClientError\(SlowDown\); "
        r"retrying in \d+\.\d\ds \(token <redacted>\)",
        retries[0],
    ), retries
    # Anything else is a pacing wait after the throttling error, also one line each.
    assert all(line.startswith("pagewalk: s3.ListObjectsV2: ") for line in lines)
    assert quiet.stderr == ""


def test_verbose_shows_botocore_retries_too(
    faulty_env: dict[str, str], moto: Any, bucket: list[str]
) -> None:
    env = dict(faulty_env, AWS_MAX_ATTEMPTS="2")  # botocore retries the fault itself
    result = run_cli(
        env, "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
        "--endpoint-url", moto.url, "-v",
    )  # fmt: skip
    assert result.returncode == 0
    assert keys(result.stdout.splitlines()) == bucket
    botocore_lines = [line for line in result.stderr.splitlines() if "botocore" in line]
    assert len(botocore_lines) == 1, result.stderr
    assert botocore_lines[0].startswith(
        "pagewalk: botocore retries a request after SlowDown (HTTP 503) in "
    )
    assert " failed with " not in result.stderr  # pagewalk itself never saw the fault


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_a_retry_as_it_happens(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto: Any,
    bucket: list[str],
) -> None:
    from botocore.awsrequest import AWSResponse

    make_client = _cli.make_client
    sent = [0]

    class Body:
        def stream(self, **_: Any) -> Any:
            yield b"<Error><Code>SlowDown</Code><Message>m</Message></Error>"

    def fault(request: Any, **_: Any) -> Any:
        sent[0] += 1
        if sent[0] == 2:
            return AWSResponse(request.url, 503, {}, Body())  # type: ignore[arg-type]
        return None

    def faulty_client(*args: Any, **kwargs: Any) -> Any:
        client = make_client(*args, **kwargs)
        client.meta.events.register_first("before-send", fault)
        return client

    monkeypatch.setattr(_cli, "make_client", faulty_client)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("COLUMNS", "200")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with no_sleep() as delays:
        code, out, _ = run_main(
            capsys, "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
            "--endpoint-url", moto.url,
        )  # fmt: skip
    assert code == 0
    assert keys(out) == bucket
    assert len(delays) == 1
    assert re.search(
        r"\rpagewalk: 1 pages, 4 items, 1 retries, [^\r]*; retrying page 2: "
        r"ClientError\(SlowDown\), waiting \d",
        terminal.getvalue(),
    )


def test_progress_is_redrawn_while_nothing_is_printed(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    proxy: Proxy,
    bucket: list[str],
) -> None:
    # No folders: every page has Contents but no CommonPrefixes, so no line is printed.
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("COLUMNS", "40")
    proxy.delay = 0.5
    walk_started = pagewalk.WalkStats()
    walk_started.start()
    code, out, _ = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "Delimiter=/", "--items",
        "--result-key", "CommonPrefixes", "--page-size", "2", "--endpoint-url", proxy.url,
    )  # fmt: skip
    elapsed = walk_started.elapsed
    draws = terminal.getvalue().split("\r")[1:]
    assert (code, out) == (0, [])
    assert proxy.requests == 5
    assert elapsed >= 2.5  # five pages, each delayed by half a second
    # At least once a second while the walk ran (the timer ticks twice a second).
    assert len(draws) >= int(elapsed)
    shown = {re.search(r"(\d+) pages", draw).group(1) for draw in draws}  # type: ignore[union-attr]
    assert {"0", "5"} <= shown
    # Narrower than the terminal: a wrapped line could not be redrawn in place.
    assert all(len(draw.rstrip("\n")) <= 39 for draw in draws)
    assert terminal.getvalue().endswith("\n")


# --------------------------------------------------------------------------------------------
# --help


def help_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", [50, 80, 100])
def test_help_is_wrapped_to_the_terminal_width(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    text = help_text(capsys, monkeypatch, columns)
    for line in text.splitlines():
        # Only a word longer than the line (a JSON example value) may stick out.
        assert len(line) <= columns - 2 or len(line.removesuffix(" \\").split()) == 1, line
    # Words are never broken: every word of the epilog's prose is in the help whole.
    words = set(_cli.EXAMPLES.split())
    assert words <= set(text.replace(" \\\n", " ").split())


def test_help_uses_a_wide_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert max(len(line) for line in help_text(capsys, monkeypatch, 120).splitlines()) > 92


def test_help_lists_every_exit_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = help_text(capsys, monkeypatch, 80)
    listed = text[text.index("exit status:") :]
    codes = {value for name, value in vars(_cli).items() if name.startswith("EXIT_")}
    assert codes == {0, 1, 2, 130, 141, 143}
    for code in codes:
        assert re.search(rf"^  {code} +\S", listed, re.MULTILINE), code


def test_help_example_commands_stay_copyable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = help_text(capsys, monkeypatch, 60)
    examples = text[text.index("examples:") :].split("\n\n")[0]
    joined = examples.replace(" \\\n      ", " ")
    assert (
        "  pagewalk ec2 describe-instances "
        '\'Filters=[{"Name":"instance-state-name","Values":["running"]}]\''
    ) in joined


def _json(line: str) -> Any:
    import json

    return json.loads(line)


def test_explain_shows_the_result_key_and_the_starting_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from botocore.paginate import TokenEncoder

    token = TokenEncoder().encode({"ContinuationToken": "abc"})
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=b", "Delimiter=/", "--items",
        "--result-key", "CommonPrefixes", "--starting-token", token, "--explain",
    )  # fmt: skip
    described = _json("\n".join(out))
    assert (code, err) == (0, "")
    assert described["items_key"] == "CommonPrefixes"
    assert described["resume_from"]["tokens"] == {"ContinuationToken": "abc"}
