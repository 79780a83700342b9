"""The command line: ``pagewalk SERVICE OPERATION [Name=value ...]`` prints every page or item.

A thin driver over [`pages()`][pagewalk.pages] / [`items()`][pagewalk.items]: it turns words into request
parameters (``_cli_values``), prints JSON lines, and keeps a checkpoint file in step with what
it printed. Token handling, limits and retries stay in the core.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import boto3
import botocore
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from ._checkpoint import Checkpoint
from ._cli_checkpoint import CheckpointFile
from ._cli_progress import Progress, showing_retries
from ._cli_values import (
    CommandFailed,
    UsageError,
    json_default,
    make_client,
    method_name,
    one_line,
    parse_params,
    to_json_line,
)
from ._errors import PagewalkError, SpecError
from ._fastparse import fast_parsing
from ._pacing import RateLimit, default_rate_limit, documented_quota
from ._spec import spec_for
from ._version import __version__
from ._walk import Walk, items, pages

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `cmd | head` gives for other tools

DOCS_URL = "https://pagewalk.readthedocs.io/en/latest/token-mappings/"

EXAMPLES = """\
Values follow the parameter's type in the service model: strings are taken as typed
(Prefix=123 is "123"), numbers and booleans (true/false) are parsed, lists, maps and
structures are JSON, timestamps are ISO 8601 (UTC unless an offset is given), and a blob is
sent as the UTF-8 bytes of its text. A value may contain "=".

Output: one JSON object per line on stdout, flushed per line. Pages are printed without
their ResponseMetadata. Datetimes are ISO 8601 text, bytes are base64 text.

examples:
  pagewalk s3 list-objects-v2 Bucket=my-bucket Prefix=logs/ --items | jq -r .Key
  pagewalk dynamodb scan TableName=orders --items --page-size 500 --checkpoint scan.json
  pagewalk ec2 describe-instances 'Filters=[{"Name":"instance-state-name","Values":["running"]}]'
  pagewalk logs filter-log-events logGroupName=/app --items --max-items 100
  pagewalk s3 ListObjectsV2 Bucket=my-bucket --explain

Progress (pages, items, retries, items/s, seconds) is drawn on stderr when it is a terminal
and stdout is not, redrawn at least once a second and at each retry. -v/--verbose adds one
line on stderr for every retry (pagewalk's and botocore's own) and every pacing wait, with the
error and the delay. Otherwise nothing is written to stderr on success, except the line below.

When --max-items or --max-pages stops a walk that has more to come and no --checkpoint is
given, one line on stderr gives the --starting-token to pass to the same command to continue.
--starting-token also takes a NextToken printed by botocore's paginator or by the AWS CLI.
--query applies a JMESPath expression to each printed page or item and prints its result as
one JSON value per line (null included).

--checkpoint FILE: resumes from FILE when it exists, keeps it in step with the lines printed
(rewritten at every page end and on the way out), and deletes it once the walk is complete.
After an error, Ctrl-C or SIGTERM, run the same command again to print exactly the remaining
lines. A walk stopped by --max-items or --max-pages keeps FILE, so the next run continues with
the next batch.

exit status:
  0    done, also when --max-items or --max-pages stopped the walk
  1    the service or network failed (after retries), or the output or checkpoint could not
       be written; the checkpoint file is kept
  2    usage error: bad arguments, unknown service, operation or parameter, a value botocore
       rejects, no token mapping, a checkpoint or starting token of another walk, no
       credentials; nothing was sent
  130  interrupted (Ctrl-C); the checkpoint file is kept
  141  stdout was closed early (`pagewalk ... | head`, SIGPIPE); nothing more is printed
  143  terminated (SIGTERM); the checkpoint file is kept
"""


class _Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C."""


class _HelpFormatter(argparse.HelpFormatter):
    """Help wrapped to the terminal width (at most 100 columns): paragraphs are re-flowed, a
    ``term  text`` line wraps under its text, and a long example command is continued with a
    backslash, so no word is ever broken."""

    def __init__(self, prog: str) -> None:
        width = max(40, min(_terminal_columns(), 100) - 2)
        super().__init__(prog, width=width, max_help_position=min(30, width // 3))

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(_flow(text, width, indent))


def _terminal_columns() -> int:
    """The terminal's width: ``COLUMNS``, else the terminal of stdout, stderr or stdin (so that
    ``pagewalk --help | less`` fits the terminal too), else 80."""
    columns = shutil.get_terminal_size((0, 0)).columns
    if columns > 0:
        return columns
    for descriptor in (2, 0):
        with contextlib.suppress(OSError, ValueError):
            return os.get_terminal_size(descriptor).columns
    return 80


_TERM = re.compile(r"^(\s+\S+\s{2,})(\S.*)$")


def _flow(text: str, width: int, indent: str) -> list[str]:
    """``text`` wrapped to ``width``: see ``_HelpFormatter``."""
    lines: list[str] = []
    prose: list[str] = []
    term: tuple[str, list[str]] | None = None

    def wrap(words: str, first: str, rest: str) -> list[str]:
        return textwrap.wrap(
            words, width, initial_indent=first, subsequent_indent=rest,
            break_long_words=False, break_on_hyphens=False,
        )  # fmt: skip

    def flush() -> None:
        nonlocal term
        if prose:
            lines.extend(wrap(" ".join(prose), indent, indent))
            prose.clear()
        if term is not None:
            head, body = term
            lines.extend(wrap(" ".join(body), indent + head, indent + " " * len(head)))
            term = None

    for line in text.splitlines():
        if not line.strip():
            flush()
            lines.append("")
        elif not line[0].isspace():
            if term is not None:
                flush()
            prose.append(line.strip())
        elif term is not None and line.startswith(" " * len(term[0])):
            term[1].append(line.strip())
        else:
            flush()
            match = _TERM.match(line)
            if match is not None and not line.lstrip().startswith("pagewalk "):
                term = (match.group(1), [match.group(2)])
            else:
                lines.extend(_command(indent + line, width))
    flush()
    return lines


def _command(line: str, width: int) -> list[str]:
    """An example command, continued with `` \\`` on further lines when it is too long."""
    if len(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    parts: list[str] = []
    current = lead
    for word in line.split():
        candidate = f"{current} {word}" if current.strip() else current + word
        if current.strip() and len(candidate) > width - 2:
            parts.append(current + " \\")
            current = lead + "    " + word
        else:
            current = candidate
    parts.append(current)
    return parts


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see pagewalk --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pagewalk`` command."""
    parser = _Parser(
        prog="pagewalk",
        description=(
            "Walk every page of an AWS API call and print each page (or, with --items, each "
            "result item) as one JSON object per line."
        ),
        epilog=EXAMPLES,
        formatter_class=_HelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("service", help="botocore service name: s3, dynamodb, logs, ec2, ...")
    parser.add_argument(
        "operation",
        help="operation in any form: list-objects-v2, list_objects_v2 or ListObjectsV2",
    )
    parser.add_argument(
        "params",
        nargs="*",
        metavar="Name=value",
        help="request parameters, sent with every page request",
    )
    parser.add_argument(
        "--items",
        action="store_true",
        help="print the result items (Contents, Items, ...) instead of whole pages",
    )
    parser.add_argument("--page-size", type=int, metavar="N", help="items to ask for per page")
    parser.add_argument(
        "--max-items", type=int, metavar="N", help="stop after N items (exact, also for pages)"
    )
    parser.add_argument("--max-pages", type=int, metavar="N", help="stop after N pages")
    parser.add_argument(
        "--starting-token",
        metavar="TOKEN",
        help="start where an earlier walk stopped: the token this command printed, or a "
        "NextToken from botocore's paginator or the AWS CLI",
    )
    parser.add_argument(
        "--result-key",
        metavar="NAME",
        help="with --items: print this result list instead of the first (CommonPrefixes for "
        "S3 with Delimiter=/); --explain lists them",
    )
    parser.add_argument(
        "--query",
        metavar="EXPR",
        help="JMESPath expression applied to each printed page or item; prints its result",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="one line on stderr for every retry and pacing wait, with the error and the delay",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="resume from FILE if it exists; keep it current; delete it when the walk completes",
    )
    parser.add_argument("--endpoint-url", metavar="URL", help="send requests to URL")
    parser.add_argument("--region", metavar="R", help="AWS region (default: your AWS config)")
    parser.add_argument("--profile", metavar="P", help="profile from your AWS config files")
    parser.add_argument(
        "--no-fast-parsing",
        dest="fast_parsing",
        action="store_false",
        help="parse responses with botocore's own parser (same output, more CPU per page)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        metavar="N",
        help=(
            "send at most N requests per second, retries included, and slow down further when "
            "throttled (default: adaptive, starting at the operation's documented quota if any)"
        ),
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the token mapping and the request parameters as JSON; send nothing",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=(
            f"pagewalk {__version__} (boto3 {boto3.__version__}, botocore {botocore.__version__}, "
            f"Python {sys.version.split()[0]})"
        ),
    )
    return parser


# --------------------------------------------------------------------------------------------
# Progress


def _utf8(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "") == "utf8"


# --------------------------------------------------------------------------------------------
# Signals


class _Signals:
    """Ctrl-C and SIGTERM, held back while a line is printed and its checkpoint noted.

    A line and the checkpoint that points past it are one step: a signal arriving in between
    takes effect right after both, so a rerun neither repeats nor skips that line.
    """

    def __init__(self) -> None:
        self._holding = False
        self._pending: int | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._holding:
            self._pending = signum
            return
        self._raise(signum)

    @staticmethod
    def _raise(signum: int) -> NoReturn:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise _Terminated

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Route SIGINT and SIGTERM here (only possible in the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in _SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Run the block without interruption; a signal that came meanwhile acts after it."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
            pending, self._pending = self._pending, None
            if pending is not None:
                self._raise(pending)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# --------------------------------------------------------------------------------------------
# Running


def _cli_names(message: str) -> str:
    for option in ("page_size", "max_items", "max_pages", "result_key"):
        message = message.replace(option, "--" + option.replace("_", "-"))
    return message.replace("resume_from", "--starting-token")


def _compile_query(expression: str | None) -> Any:
    """The compiled ``--query`` expression (botocore's jmespath), or ``None``."""
    if expression is None:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise UsageError(
            f"--query {expression!r} is not a JMESPath expression: {one_line(exc)}"
        ) from exc


def _explain(
    label: str,
    method: Any,
    params: Mapping[str, Any],
    resume: Checkpoint | None,
    out: TextIO,
    result_key: str | None = None,
    rate_limit: RateLimit | None = None,
) -> None:
    spec = spec_for(method)
    quota = documented_quota(label)
    described = {
        "operation": label,
        "source": spec.source,
        "token_mapping": spec.to_dict(),
        "limit_key": spec.limit_key,
        "result_keys": list(spec.result_keys),
        "items_key": result_key or (spec.result_keys[0] if spec.result_keys else None),
        "params": dict(params),
        "resume_from": resume.to_dict() if resume is not None else None,
        "rate_limit": {
            "per_second": rate_limit.per_second if rate_limit is not None else None,
            "adaptive": rate_limit.adaptive if rate_limit is not None else False,
            "documented_quota": None
            if quota is None
            else {"per_second": quota.per_second, "scope": quota.scope, "url": quota.url},
        },
    }
    out.write(json.dumps(described, default=json_default, indent=2) + "\n")
    out.flush()


def _rate_limit(per_second: float | None, label: str) -> RateLimit:
    """The limiter of ``--rate-limit N``, or the walk's default one for ``label``."""
    if per_second is None:
        return default_rate_limit(label)
    if not math.isfinite(per_second) or per_second <= 0:
        raise UsageError(
            f"--rate-limit must be a number of requests per second above 0, got {per_second:g}"
        )
    return RateLimit(per_second)


def _explain_unknown(
    label: str, operation_model: OperationModel, params: Mapping[str, Any], out: TextIO
) -> None:
    def members(shape: Any) -> dict[str, str]:
        found: Mapping[str, Shape] = getattr(shape, "members", {})
        return {name: member.type_name for name, member in found.items()}

    described = {
        "operation": label,
        "source": None,
        "token_mapping": None,
        "input_members": members(operation_model.input_shape),
        "output_members": members(operation_model.output_shape),
        "params": dict(params),
    }
    out.write(json.dumps(described, default=json_default, indent=2) + "\n")
    out.flush()


def _run(args: argparse.Namespace, out: TextIO, err: TextIO, signals: _Signals) -> int:
    client = make_client(
        args.service,
        region=args.region,
        profile=args.profile,
        endpoint_url=args.endpoint_url,
        explain=args.explain,
    )
    if args.fast_parsing:
        fast_parsing(client)
    python_name = method_name(client, args.operation)
    method = getattr(client, python_name)
    api_name = client.meta.method_to_api_mapping[python_name]
    label = f"{client.meta.service_model.service_name}.{api_name}"
    operation_model = client.meta.service_model.operation_model(api_name)
    params = parse_params(operation_model, args.params)
    query = _compile_query(args.query)
    if args.result_key is not None and not args.items:
        raise UsageError("--result-key chooses the result list --items prints: add --items")
    try:
        spec = spec_for(method)
    except SpecError as exc:
        if args.explain:
            _explain_unknown(label, operation_model, params, out)
        raise UsageError(
            f"{label} takes no continuation token pagewalk knows of (no registered mapping, "
            "no botocore paginator, none inferred); --explain lists its input and output "
            f"members, and 'Token mappings' in the docs ({DOCS_URL}) shows how to register "
            "a mapping from Python"
        ) from exc

    store = CheckpointFile(args.checkpoint) if args.checkpoint else None
    resume = store.load() if store is not None else None
    if resume is not None:
        # The file is where this same command stopped: it wins over a starting token.
        for name in spec.input_tokens:
            params.pop(name, None)
    resume_from: Checkpoint | str | None = resume
    if resume is None and args.starting_token is not None:
        resume_from = args.starting_token

    options: dict[str, Any] = {"result_key": args.result_key} if args.items else {}
    # Made here, not by the walk, so the progress line can show its current rate.
    limiter = _rate_limit(args.rate_limit, label)
    options["rate_limit"] = limiter
    start = items if args.items else pages
    try:
        walk = start(
            method,
            page_size=args.page_size,
            max_pages=args.max_pages,
            max_items=args.max_items,
            resume_from=resume_from,
            **options,
            **params,
        )
    except SpecError as exc:
        if resume is None and args.starting_token is not None and exc.checkpoint is None:
            message = one_line(exc)
            if "token" in message or "checkpoint" in message:
                raise UsageError(f"--starting-token: {_cli_names(message)}") from exc
        if exc.checkpoint is not None and store is not None:
            raise UsageError(
                f"{store.path}: {one_line(exc)}; delete it to start a new walk, or pass "
                "another --checkpoint"
            ) from exc
        raise UsageError(_cli_names(one_line(exc))) from exc
    except ParamValidationError as exc:
        raise UsageError(_usage_message(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise UsageError(_cli_names(one_line(exc))) from exc

    with walk:
        if args.explain:
            begins = walk.checkpoint if resume_from is not None else None
            _explain(label, method, params, begins, out, args.result_key, limiter)
            return EXIT_OK
        progress = Progress(err, out)
        progress.rate_limit = limiter
        with showing_retries(progress, err, verbose=args.verbose, client=client):
            _print_walk(walk, args.items, out, err, store, signals, progress, query)
        if store is None and walk.checkpoint is not None:
            # A limit stopped the walk before its end: say how to go on, as the AWS CLI
            # prints a NextToken. A pagewalk checkpoint, not botocore's form: it also checks
            # the parameters and works for every operation and result list.
            token = shlex.quote(walk.checkpoint.to_json())
            _say(
                err,
                f"more results: to continue, run the same command with --starting-token {token}",
            )
    return EXIT_OK


def _print_walk(
    walk: Walk[Any],
    mode_items: bool,
    out: TextIO,
    err: TextIO,
    store: CheckpointFile | None,
    signals: _Signals,
    progress: Progress,
    query: Any = None,
) -> None:
    ascii_only = not _utf8(out)
    progress.start(walk)
    try:
        while True:
            try:
                value = next(walk)
            except StopIteration:
                break
            except (ParamValidationError, NoCredentialsError, PartialCredentialsError) as exc:
                raise UsageError(_usage_message(exc)) from exc
            except (ClientError, BotoCoreError, PagewalkError, OSError) as exc:
                if store is not None:
                    store.flush()
                progress.update(force=True)
                raise CommandFailed(_failure_message(exc, walk, store)) from exc
            if not mode_items:
                value = {key: item for key, item in value.items() if key != "ResponseMetadata"}
            if query is not None:
                value = query.search(value)
            line = to_json_line(value, ascii_only=ascii_only) + "\n"
            with signals.held():
                _write(out, line, store)
                if store is not None:
                    store.advance(walk.checkpoint)
            progress.update()
        if store is not None and walk.checkpoint is None:
            store.advance(None)
        progress.update(force=True)
    finally:
        if store is not None:
            with signals.held():
                store.flush()
        progress.end()


class _OutputFailed(CommandFailed):
    """stdout cannot be written (a full disk, a closed file): the line was not printed."""


def _write(out: TextIO, line: str, store: CheckpointFile | None) -> None:
    """Print one line; if it cannot be written the checkpoint stays before it."""
    try:
        out.write(line)
        out.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: stdout was closed
        raise _OutputFailed(
            _stop_message(
                store.path if store else None,
                f"cannot write the output: {one_line(exc)}; the last line may be cut short",
            )
        ) from exc


def _usage_message(exc: Exception) -> str:
    if isinstance(exc, ParamValidationError):
        return one_line(exc)
    return (
        f"{one_line(exc)}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, "
        "or configure credentials as for the AWS CLI"
    )


def _failure_message(exc: Exception, walk: Walk[Any], store: CheckpointFile | None) -> str:
    checkpoint = walk.checkpoint
    page = (checkpoint.pages if checkpoint is not None else walk.stats.pages) + 1
    what = f"page {page} failed: {one_line(exc)}"
    # The note a page that failed after retries carries: how pagewalk's and botocore's tries
    # stacked up (so 24 requests for one page is not a mystery).
    for note in getattr(exc, "__notes__", ()):
        found = re.match(r"pagewalk: page \d+ failed after (.+? by pagewalk .+?)\. ", note)
        if found:
            what += f" (after {found.group(1)})"
    return _stop_message(store.path if store else None, what)


def _stop_message(path: str | None, what: str) -> str:
    if path is not None and os.path.exists(path):
        return f"{what}; {path} is kept: run the same command again to continue"
    return what


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pagewalk`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Errors are one line on stderr starting with ``pagewalk: ``; never a traceback.
    """
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    signals = _Signals()
    store_path: str | None = None
    try:
        try:
            args = parser.parse_intermixed_args(argv)
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        store_path = args.checkpoint
        with signals.installed():
            return _run(args, out, err, signals)
    except UsageError as exc:
        _say(err, str(exc))
        return EXIT_USAGE
    except _OutputFailed as exc:
        _say(err, str(exc))
        _silence_stdout()  # Python would try to flush what could not be written at exit
        return EXIT_FAILED
    except CommandFailed as exc:
        _say(err, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say(err, _stop_message(store_path, "interrupted"))
        return EXIT_INTERRUPTED
    except _Terminated:
        _say(err, _stop_message(store_path, "terminated"))
        return EXIT_TERMINATED
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing, like other tools killed by SIGPIPE.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: still one line, with what to report
        _say(err, f"unexpected {type(exc).__name__}: {one_line(exc)} (please report this)")
        return EXIT_FAILED


def _say(err: TextIO, message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        err.write(f"pagewalk: {message}\n")
        err.flush()


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the reader gone that would print a traceback.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
