"""The command line: argument parsing and value conversion (in process, through ``main()``),
output, exit codes and resumable checkpoints (a few runs of ``python -m pagewalk``).

Walks run against the session's moto server, sometimes through :class:`Proxy`, an HTTP endpoint
in front of moto that counts requests and can slow them down or fail one of them, so faults
come from the server side and the product needs no test hooks.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from pagewalk import __version__
from pagewalk._cli import main
from pagewalk._cli_values import parse_params, to_json_line

from .seed import s3_objects

ON_WINDOWS = sys.platform == "win32"


# --------------------------------------------------------------------------------------------
# Helpers


class Proxy:
    """An HTTP endpoint that forwards every request to moto, counting them.

    ``delay`` seconds are waited before each request is forwarded; request number ``fail_at``
    (1-based, counted over the proxy's life) gets an S3 ``400 InvalidArgument`` instead.
    """

    def __init__(self, target: str) -> None:
        parsed = urllib.parse.urlsplit(target)
        self.target = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.requests = 0
        self.delay = 0.0
        self.fail_at: int | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests += 1
                    number = proxy.requests
                time.sleep(proxy.delay)
                if number == proxy.fail_at:
                    self._reply(400, [("Content-Type", "application/xml")], _S3_FAULT)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                connection = http.client.HTTPConnection(*proxy.target, timeout=30)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
                    self._reply(response.status, kept, data)
                finally:
                    connection.close()

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the child hung up (Ctrl-C): nothing to report

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}
)
_S3_FAULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
    b"<Message>injected by the test proxy</Message><RequestId>test</RequestId></Error>"
)


@pytest.fixture
def proxy(moto: Any) -> Iterator[Proxy]:
    server = Proxy(moto.url)
    yield server
    server.close()


@pytest.fixture
def bucket(aws: Any) -> list[str]:
    """Bucket ``demo`` with 10 objects; their keys in listing order."""
    return s3_objects(aws("s3"), "demo", 10)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """``main(argv)``: exit status, stdout lines, stderr text."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def explain(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run_main(capsys, *argv, "--explain")
    assert (code, err) == (0, "")
    result: dict[str, Any] = json.loads("\n".join(out))
    return result


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    """Environment of a child process: test credentials, no AWS config files, no IMDS."""
    # Without PYTHONUNBUFFERED, so that only pagewalk's own flushing makes lines stream.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "PYTHONUNBUFFERED"
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def run_cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagewalk", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def keys(lines: list[str]) -> list[str]:
    return [json.loads(line)["Key"] for line in lines]


# --------------------------------------------------------------------------------------------
# Operations and values (in process, --explain: nothing is sent)


@pytest.mark.parametrize("operation", ["list-objects-v2", "list_objects_v2", "ListObjectsV2"])
def test_operation_is_found_in_any_form(capsys: pytest.CaptureFixture[str], operation: str) -> None:
    assert explain(capsys, "s3", operation, "Bucket=b")["operation"] == "s3.ListObjectsV2"


def test_string_member_keeps_the_text_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    params = explain(capsys, "s3", "list-objects-v2", "Bucket=007", "Prefix=123")["params"]
    assert params == {"Bucket": "007", "Prefix": "123"}


def test_integer_and_boolean_members_are_parsed(capsys: pytest.CaptureFixture[str]) -> None:
    params = explain(capsys, "s3", "list-objects-v2", "Bucket=b", "MaxKeys=5", "FetchOwner=true")
    assert params["params"] == {"Bucket": "b", "MaxKeys": 5, "FetchOwner": True}


def test_value_may_contain_equals_signs(capsys: pytest.CaptureFixture[str]) -> None:
    params = explain(capsys, "s3", "list-objects-v2", "Bucket=b", "Prefix=a=b==c")["params"]
    assert params["Prefix"] == "a=b==c"


def test_list_member_is_given_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    filters = '[{"Name": "instance-state-name", "Values": ["running"]}]'
    params = explain(capsys, "ec2", "describe-instances", f"Filters={filters}")["params"]
    assert params == {"Filters": [{"Name": "instance-state-name", "Values": ["running"]}]}


def test_map_member_is_given_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    values = '{":v": {"N": "1"}}'
    params = explain(
        capsys, "dynamodb", "scan", "TableName=t", f"ExpressionAttributeValues={values}"
    )["params"]
    assert params["ExpressionAttributeValues"] == {":v": {"N": "1"}}


def test_timestamp_member_is_iso_8601_and_utc_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = explain(
        capsys,
        "cloudtrail",
        "lookup-events",
        "StartTime=2024-05-01T12:00:00Z",
        "EndTime=2024-05-02",
    )["params"]
    assert params == {
        "StartTime": "2024-05-01T12:00:00+00:00",
        "EndTime": "2024-05-02T00:00:00+00:00",
    }


def test_double_and_blob_members_follow_their_shapes() -> None:
    session = boto3.Session(region_name="us-east-1")
    codebuild = session.client("codebuild").meta.service_model
    kms = session.client("kms").meta.service_model
    coverage = parse_params(
        codebuild.operation_model("DescribeCodeCoverages"),
        ["reportArn=arn", "minLineCoveragePercentage=12.5"],
    )
    blob = parse_params(kms.operation_model("Encrypt"), ["KeyId=k", "Plaintext=123"])
    assert coverage == {"reportArn": "arn", "minLineCoveragePercentage": 12.5}
    assert blob == {"KeyId": "k", "Plaintext": "123"}


def test_explain_shows_the_token_mapping_and_where_it_came_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    described = explain(capsys, "s3", "list-objects-v2", "Bucket=b")
    assert described["source"] == "botocore"
    assert described["token_mapping"]["input_token"] == "ContinuationToken"
    assert described["token_mapping"]["output_token"] == "NextContinuationToken"
    assert (described["limit_key"], described["items_key"]) == ("MaxKeys", "Contents")


def test_explain_shows_a_registered_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    described = explain(capsys, "logs", "get-log-events", "logGroupName=g", "logStreamName=s")
    assert described["source"] == "registry"
    assert described["token_mapping"]["stop_on_same_token"] is True


def test_explain_sends_no_request(capsys: pytest.CaptureFixture[str], proxy: Proxy) -> None:
    explain(capsys, "s3", "list-objects-v2", "Bucket=demo", "--endpoint-url", proxy.url)
    assert proxy.requests == 0


def test_explain_without_token_mapping_lists_members_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_main(capsys, "s3", "put-object", "Bucket=b", "Key=k", "--explain")
    described = json.loads("\n".join(out))
    assert code == 2
    assert described["token_mapping"] is None
    assert described["input_members"]["Key"] == "string"
    assert err.count("\n") == 1
    assert "--explain" in err
    assert "Token mappings" in err


# --------------------------------------------------------------------------------------------
# Usage errors: one line, exit status 2, nothing sent


def assert_usage_error(code: int, out: list[str], err: str, *fragments: str) -> None:
    assert code == 2
    assert out == []
    assert err.startswith("pagewalk: ")
    assert err.count("\n") == 1
    for fragment in fragments:
        assert fragment in err


def test_unknown_service_names_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run_main(capsys, "dynamdb", "scan"), "'dynamdb'", "dynamodb")


def test_unknown_operation_names_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(
        *run_main(capsys, "s3", "list-object-v2", "Bucket=b"), "'list-object-v2'", "list-objects-v2"
    )


def test_unknown_parameter_names_the_closest_members(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run_main(capsys, "s3", "list-objects-v2", "Buckt=b"), "'Buckt'", "Bucket")


def test_parameter_without_equals_sign_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run_main(capsys, "s3", "list-objects-v2", "Bucket"), "Name=value")


def test_parameter_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run_main(capsys, "s3", "list-objects-v2", "Bucket=a", "Bucket=b"), "twice")


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        ("MaxKeys=five", "number"),
        ("FetchOwner=maybe", "true or false"),
        ("OptionalObjectAttributes=RestoreStatus", "JSON list"),
        ('OptionalObjectAttributes={"a": 1}', "JSON list"),
    ],
)
def test_value_of_the_wrong_type_is_refused(
    capsys: pytest.CaptureFixture[str], argument: str, fragment: str
) -> None:
    result = run_main(capsys, "s3", "list-objects-v2", "Bucket=b", argument, "--explain")
    assert_usage_error(*result, argument.split("=")[0], fragment)


def test_bad_timestamp_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "cloudtrail", "lookup-events", "StartTime=yesterday", "--explain")
    assert_usage_error(*result, "ISO 8601")


def test_page_size_out_of_range_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "s3", "list-objects-v2", "Bucket=b", "--page-size", "0")
    assert_usage_error(*result, "--page-size")


def test_page_size_for_an_operation_without_limit_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert_usage_error(*run_main(capsys, "sns", "list-topics", "--page-size", "5"), "page size")


def test_unknown_option_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(*run_main(capsys, "s3", "list-objects-v2", "--max-item", "3"), "--help")


def test_value_botocore_rejects_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], moto: Any
) -> None:
    result = run_main(capsys, "s3", "list-objects-v2", "--endpoint-url", moto.url)
    assert_usage_error(*result, "Bucket")


def test_missing_credentials_are_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    moto: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run_main(capsys, "s3", "list-objects-v2", "Bucket=b", "--endpoint-url", moto.url)
    assert_usage_error(*result, "credentials")


def test_unknown_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "s3", "list-objects-v2", "Bucket=b", "--profile", "no-such-profile")
    assert_usage_error(*result, "no-such-profile")


# --------------------------------------------------------------------------------------------
# Walking (in process, against moto)


def test_items_carry_datetimes_as_iso_8601(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str]
) -> None:
    code, out, _ = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--items", "--endpoint-url", moto.url
    )
    modified = json.loads(out[0])["LastModified"]
    assert code == 0
    assert datetime.datetime.fromisoformat(modified).tzinfo is not None


def test_service_error_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], moto: Any
) -> None:
    code, out, err = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=missing", "--endpoint-url", moto.url
    )
    assert (code, out) == (1, [])
    assert err.startswith("pagewalk: page 1 failed: ")
    assert "NoSuchBucket" in err
    assert err.count("\n") == 1


def test_nothing_on_stderr_on_success_when_it_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str]
) -> None:
    code, out, err = run_main(
        capsys,
        "s3",
        "list-objects-v2",
        "Bucket=demo",
        "--page-size",
        "3",
        "--endpoint-url",
        moto.url,
    )
    assert (code, len(out), err) == (0, 4, "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto: Any,
    bucket: list[str],
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, _, _ = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
        "--endpoint-url", moto.url,
    )  # fmt: skip
    text = terminal.getvalue()
    assert code == 0
    assert text.startswith("\rpagewalk: ")
    assert "3 pages, 10 items, 0 retries" in text
    assert text.endswith("\n")


def test_no_progress_when_stdout_is_the_terminal_too(
    monkeypatch: pytest.MonkeyPatch, moto: Any, bucket: list[str]
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", _Terminal())
    code = main(["s3", "list-objects-v2", "Bucket=demo", "--endpoint-url", moto.url])
    assert (code, terminal.getvalue()) == (0, "")


def test_max_pages_keeps_the_checkpoint_for_the_next_batch(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    argv = (
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "2", "--max-pages", "2",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    )  # fmt: skip
    batches = [run_main(capsys, *argv) for _ in range(3)]
    assert [code for code, _, _ in batches] == [0, 0, 0]
    assert [keys(out) for _, out, _ in batches] == [bucket[:4], bucket[4:8], bucket[8:]]
    assert not checkpoint.exists()


def test_checkpoint_of_other_parameters_is_refused(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    common = ("--items", "--page-size", "2", "--checkpoint", str(checkpoint))
    common += ("--endpoint-url", moto.url)
    first = run_main(capsys, "s3", "list-objects-v2", "Bucket=demo", "--max-pages", "1", *common)
    second = run_main(capsys, "s3", "list-objects-v2", "Bucket=demo", "Prefix=key-", *common)
    assert first[0] == 0
    assert_usage_error(*second, str(checkpoint), "other request parameters", "delete it")


def test_checkpoint_of_another_operation_is_refused(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    common = ("Bucket=demo", "--page-size", "2", "--checkpoint", str(checkpoint))
    common += ("--endpoint-url", moto.url)
    first = run_main(capsys, "s3", "list-objects-v2", "--max-pages", "1", *common)
    second = run_main(capsys, "s3", "list-objects", *common)
    assert first[0] == 0
    assert_usage_error(*second, "s3.ListObjectsV2", "delete it")


def test_file_that_is_not_a_checkpoint_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    checkpoint.write_text("[1, 2]", encoding="utf-8")
    result = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--checkpoint", str(checkpoint)
    )
    assert_usage_error(*result, "not a pagewalk checkpoint")


def test_checkpoint_in_a_missing_directory_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "missing" / "walk.json"
    result = run_main(
        capsys, "s3", "list-objects-v2", "Bucket=demo", "--checkpoint", str(checkpoint)
    )
    assert_usage_error(*result, "not a writable directory")


def test_checkpoint_file_wins_over_a_starting_token(
    capsys: pytest.CaptureFixture[str], moto: Any, aws: Any, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    argv = (
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "3", "--max-pages", "1",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    )  # fmt: skip
    first = run_main(capsys, *argv)
    token = aws("s3").list_objects_v2(Bucket="demo", MaxKeys=1)["NextContinuationToken"]
    second = run_main(capsys, *argv, f"ContinuationToken={token}")
    assert keys(first[1]) + keys(second[1]) == bucket[:6]


def test_max_items_mid_page_then_rerun_continues_at_the_next_item(
    capsys: pytest.CaptureFixture[str], moto: Any, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    argv = (
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    )  # fmt: skip
    first = run_main(capsys, *argv, "--max-items", "3")
    second = run_main(capsys, *argv)
    assert keys(first[1]) == bucket[:3]
    assert keys(second[1]) == bucket[3:]


class _Recorder(io.StringIO):
    """stdout that reads the checkpoint file each time a line is about to be printed."""

    def __init__(self, checkpoint: Path) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.seen: list[int | None] = []

    def write(self, text: str) -> int:
        if self.checkpoint.exists():
            self.seen.append(json.loads(self.checkpoint.read_text(encoding="utf-8"))["items"])
        else:
            self.seen.append(None)
        return super().write(text)


def test_checkpoint_file_is_written_at_every_page_end_and_never_ahead(
    monkeypatch: pytest.MonkeyPatch, moto: Any, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    recorder = _Recorder(checkpoint)
    monkeypatch.setattr(sys, "stdout", recorder)
    code = main(
        ["s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
         "--checkpoint", str(checkpoint), "--endpoint-url", moto.url]
    )  # fmt: skip
    assert code == 0
    # Before line i is printed the file records at most i items, exactly 4 and 8 after a page.
    assert recorder.seen == [None, None, None, None, 4, 4, 4, 4, 8, 8]
    assert not checkpoint.exists()


class _InterruptedOutput(io.StringIO):
    """stdout on which ``signum`` arrives while line ``at`` (1-based) is being written."""

    def __init__(self, at: int, signum: int = signal.SIGINT) -> None:
        super().__init__()
        self.at = at
        self.signum = signum
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += 1
        written = super().write(text)
        if self.lines == self.at:
            signal.raise_signal(self.signum)
        return written


def test_ctrl_c_while_a_line_is_printed_acts_after_its_checkpoint(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto: Any,
    bucket: list[str],
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "walk.json"
    argv = [
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    ]  # fmt: skip
    interrupted = _InterruptedOutput(at=6)
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", interrupted)
        code = main(argv)
    err = capsys.readouterr().err
    rerun = run_main(capsys, *argv)
    assert code == 130
    assert (
        err
        == f"pagewalk: interrupted; {checkpoint} is kept: run the same command again to continue\n"
    )
    assert keys(interrupted.getvalue().splitlines()) == bucket[:6]
    assert keys(rerun[1]) == bucket[6:]


def test_sigterm_stops_like_ctrl_c_with_status_143(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto: Any,
    bucket: list[str],
    tmp_path: Path,
) -> None:
    checkpoint = tmp_path / "walk.json"
    argv = [
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "4",
        "--checkpoint", str(checkpoint), "--endpoint-url", moto.url,
    ]  # fmt: skip
    terminated = _InterruptedOutput(at=2, signum=signal.SIGTERM)
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", terminated)
        code = main(argv)
    err = capsys.readouterr().err
    rerun = run_main(capsys, *argv)
    assert code == 143
    assert err.startswith("pagewalk: terminated; ")
    assert keys(terminated.getvalue().splitlines()) + keys(rerun[1]) == bucket


def test_missing_region_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert_usage_error(*run_main(capsys, "sqs", "list-queues"), "--region")


# --------------------------------------------------------------------------------------------
# JSON lines


def test_json_line_encodes_bytes_decimals_and_datetimes() -> None:
    value = {
        "blob": b"\x00\xff",
        "whole": Decimal("12"),
        "part": Decimal("1.5"),
        "when": datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc),
    }
    assert json.loads(to_json_line(value)) == {
        "blob": base64.b64encode(b"\x00\xff").decode(),
        "whole": 12,
        "part": 1.5,
        "when": "2024-05-01T12:00:00+00:00",
    }


def test_json_line_is_one_line() -> None:
    assert "\n" not in to_json_line({"text": "a\nb", "list": [1, {"x": 2}]})


# --------------------------------------------------------------------------------------------
# The real command (subprocess)


def test_pages_are_json_lines_without_response_metadata(
    child_env: dict[str, str], moto: Any, bucket: list[str]
) -> None:
    result = run_cli(
        child_env, "s3", "list-objects-v2", "Bucket=demo", "--page-size", "4",
        "--endpoint-url", moto.url,
    )  # fmt: skip
    pages = [json.loads(line) for line in result.stdout.splitlines()]
    assert (result.returncode, result.stderr) == (0, "")
    assert [page["KeyCount"] for page in pages] == [4, 4, 2]
    assert [obj["Key"] for page in pages for obj in page["Contents"]] == bucket
    assert not any("ResponseMetadata" in page for page in pages)


def test_items_are_json_lines_up_to_max_items(
    child_env: dict[str, str], moto: Any, bucket: list[str]
) -> None:
    result = run_cli(
        child_env, "s3", "ListObjectsV2", "Bucket=demo", "--items", "--page-size", "2",
        "--max-items", "5", "--endpoint-url", moto.url,
    )  # fmt: skip
    assert result.returncode == 0
    # The one line on stderr says how to continue (see test_cli_habits.py).
    assert result.stderr.startswith("pagewalk: more results: ")
    assert result.stderr.count("\n") == 1
    assert keys(result.stdout.splitlines()) == bucket[:5]


def test_error_is_one_line_without_traceback(child_env: dict[str, str]) -> None:
    result = run_cli(child_env, "s3", "list-object-v2", "Bucket=demo")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pagewalk: s3 has no operation 'list-object-v2'")
    assert result.stderr.count("\n") == 1


def test_version_names_the_release(child_env: dict[str, str]) -> None:
    result = run_cli(child_env, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"pagewalk {__version__} ")


def test_rerun_after_a_service_error_prints_exactly_the_remaining_lines(
    child_env: dict[str, str], proxy: Proxy, bucket: list[str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "walk.json"
    argv = (
        "s3", "list-objects-v2", "Bucket=demo", "--items", "--page-size", "3",
        "--checkpoint", str(checkpoint), "--endpoint-url", proxy.url,
    )  # fmt: skip
    proxy.fail_at = 3
    failed = run_cli(child_env, *argv)
    kept = checkpoint.exists()
    rerun = run_cli(child_env, *argv)
    assert failed.returncode == 1
    assert failed.stderr.startswith("pagewalk: page 3 failed: ")
    assert "InvalidArgument" in failed.stderr
    assert failed.stderr.count("\n") == 1
    assert kept
    assert (rerun.returncode, rerun.stderr) == (0, "")
    assert keys(failed.stdout.splitlines()) == bucket[:6]
    assert keys(rerun.stdout.splitlines()) == bucket[6:]
    assert not checkpoint.exists()
    assert proxy.requests == 3 + 2


@pytest.mark.skipif(ON_WINDOWS, reason="SIGINT cannot be sent to one child process on Windows")
def test_rerun_after_ctrl_c_prints_exactly_the_remaining_lines(
    child_env: dict[str, str], proxy: Proxy, aws: Any, tmp_path: Path
) -> None:
    names = s3_objects(aws("s3"), "slow", 12)
    checkpoint = tmp_path / "walk.json"
    argv = (
        "s3", "list-objects-v2", "Bucket=slow", "--items", "--page-size", "2",
        "--checkpoint", str(checkpoint), "--endpoint-url", proxy.url,
    )  # fmt: skip
    proxy.delay = 0.3
    child = subprocess.Popen(
        [sys.executable, "-m", "pagewalk", *argv],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    before = [child.stdout.readline() for _ in range(3)]
    child.send_signal(signal.SIGINT)
    # Not communicate(): it reads the pipes' descriptors and would miss lines readline()
    # has already buffered.
    rest = child.stdout.read()
    err = child.stderr.read()
    child.wait(timeout=60)
    proxy.delay = 0.0
    rerun = run_cli(child_env, *argv)
    first = before + rest.splitlines()
    assert child.returncode == 130
    assert err.startswith("pagewalk: interrupted; ")
    assert err.count("\n") == 1
    assert (rerun.returncode, rerun.stderr) == (0, "")
    assert keys(first) + keys(rerun.stdout.splitlines()) == names
    assert len(first) < len(names)
    assert not checkpoint.exists()


@pytest.mark.skipif(ON_WINDOWS, reason="no SIGPIPE semantics to compare with on Windows")
def test_closed_stdout_ends_quietly_with_status_141(
    child_env: dict[str, str], proxy: Proxy, bucket: list[str]
) -> None:
    proxy.delay = 0.1
    child = subprocess.Popen(
        [sys.executable, "-m", "pagewalk", "s3", "list-objects-v2", "Bucket=demo", "--items",
         "--page-size", "2", "--endpoint-url", proxy.url],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.readline()
    child.stdout.close()  # what `| head -1` does after its line
    err = child.stderr.read()
    child.wait(timeout=60)
    assert (child.returncode, err) == (141, "")
