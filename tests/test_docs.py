"""The documentation's code runs: every ```python block of docs/*.md and README.md, and every
``>>>`` example in the docstrings of the pagewalk modules.

Each page's blocks run in order, in one namespace, against the session's moto server. A block
directly preceded by a ``<!-- skip -->`` line (blank lines between are allowed) is not run;
doctest examples marked ``# doctest: +SKIP`` are not run either. A page (or module) whose code
imports an optional extra that is not installed (aiobotocore) is skipped; CI also runs the suite
with the ``async`` extra installed, where it runs.

What the docs can assume, without showing any set-up:

- ``boto3.client(...)`` (and aiobotocore clients) reach the moto server: the environment has
  ``AWS_ENDPOINT_URL`` pointing at it, test credentials and ``AWS_DEFAULT_REGION=us-east-1``.
- S3: bucket ``my-bucket`` holding 300 one-byte objects ``reports/000000`` ... ``reports/000299``.
- DynamoDB: table ``my-table`` (hash key ``pk`` string, range key ``sk`` number) with 200 items,
  spread over partition keys ``p0`` ... ``p9``; every third item has ``flag`` = 1.
- CloudWatch Logs: log group ``my-app`` with stream ``web-1`` holding 250 events
  ``"event 00000"`` ... ``"event 00249"``.
- SQS: queues ``jobs-0`` ... ``jobs-4``.
- Route 53: hosted zones ``example0.com`` ... ``example4.com``.

State is reset before every page, so pages cannot depend on each other.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pagewalk
from pagewalk import _spec

from . import seed
from .conftest import MotoServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

BUCKET, OBJECTS, PREFIX = "my-bucket", 300, "reports/"
TABLE, TABLE_ITEMS = "my-table", 200
LOG_GROUP, LOG_STREAM, LOG_EVENTS = "my-app", "web-1", 250
QUEUES = [f"jobs-{index}" for index in range(5)]
ZONES = [f"example{index}.com" for index in range(5)]

SKIP_MARKER = "<!-- skip -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
_PYTHON = frozenset({"python", "py", "python3"})


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    """1-based line number of the block's first code line."""
    language: str
    source: str
    skipped: bool


def _language(info: str) -> str:
    # "python", "python title="x.py"", "{.python .annotate}" all name Python.
    word = info.split(None, 1)[0] if info.split() else ""
    return word.lstrip("{").lstrip(".").rstrip("}").lower()


def extract_blocks(text: str, path: Path) -> list[Block]:
    """Every fenced code block of ``text``, indented ones (admonitions, tabs) included."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    previous = ""  # the last non-blank line before the current one
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line)
        if match is None:
            if line.strip():
                previous = line.strip()
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        start = index + 2
        index += 1
        while index < len(lines) and not closing.match(lines[index]):
            code = lines[index]
            body.append(code[len(indent) :] if code.startswith(indent) else code.lstrip())
            index += 1
        blocks.append(
            Block(
                path=path,
                line=start,
                language=_language(match["info"]),
                source="\n".join(body) + "\n",
                skipped=previous == SKIP_MARKER,
            )
        )
        previous = line.strip()
        index += 1  # the closing fence
    return blocks


def python_blocks(path: Path) -> list[Block]:
    """The Python blocks of ``path`` that are meant to run."""
    blocks = extract_blocks(path.read_text(encoding="utf-8"), path)
    return [block for block in blocks if block.language in _PYTHON and not block.skipped]


def _pages() -> list[Path]:
    pages = sorted(DOCS.glob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        pages.append(readme)
    return pages


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _modules() -> list[str]:
    names = [pagewalk.__name__]
    found = pkgutil.walk_packages(pagewalk.__path__, f"{pagewalk.__name__}.")
    # Importing __main__ would run the command line.
    names += [info.name for info in found if info.name.rsplit(".", 1)[-1] != "__main__"]
    return sorted(names)


# --------------------------------------------------------------------------------------------
# The environment the docs run in


@pytest.fixture(scope="module")
def seeding_clients(moto_server: MotoServer) -> dict[str, Any]:
    """Clients that seed the resources, made once: creating boto3 clients is slow."""
    services = ("s3", "dynamodb", "logs", "sqs", "route53")
    return {service: moto_server.client(service) for service in services}


@pytest.fixture
def docs_env(
    moto: MotoServer,
    seeding_clients: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[None]:
    """The moto server behind every default boto3 client, seeded with what the docs use."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # No user configuration (profiles, retry modes, endpoints) may change what the docs show.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    seed.s3_objects(seeding_clients["s3"], BUCKET, OBJECTS, prefix=PREFIX)
    seed.dynamodb_table(seeding_clients["dynamodb"], TABLE, TABLE_ITEMS)
    seed.log_stream(seeding_clients["logs"], LOG_GROUP, LOG_STREAM, LOG_EVENTS)
    for name in QUEUES:
        seeding_clients["sqs"].create_queue(QueueName=name)
    for name in ZONES:
        seeding_clients["route53"].create_hosted_zone(Name=name, CallerReference=name)
    monkeypatch.chdir(tmp_path)  # a block that writes a file writes it here
    registered = set(_spec._user_registry)
    yield
    # A page that registers a token mapping must not change the mappings of later tests.
    for service, operation in set(_spec._user_registry) - registered:
        pagewalk.unregister(service, operation)


# --------------------------------------------------------------------------------------------
# The extractor itself (so a broken extractor cannot make every docs test pass vacuously)


def test_extract_finds_python_blocks_with_their_first_code_line() -> None:
    text = "# Title\n\nSome text.\n\n```python\nx = 1\ny = 2\n```\n"
    (block,) = extract_blocks(text, Path("page.md"))
    assert (block.language, block.line, block.source) == ("python", 6, "x = 1\ny = 2\n")


def test_extract_marks_a_block_after_the_skip_marker_as_skipped() -> None:
    text = "<!-- skip -->\n\n```python\nraise SystemExit\n```\n\n```python\nok = True\n```\n"
    blocks = extract_blocks(text, Path("page.md"))
    assert [block.skipped for block in blocks] == [True, False]


def test_extract_dedents_blocks_inside_admonitions_and_tabs() -> None:
    text = '!!! example\n\n    ```python title="x.py"\n    if True:\n        pass\n    ```\n'
    (block,) = extract_blocks(text, Path("page.md"))
    assert (block.language, block.source) == ("python", "if True:\n    pass\n")


def test_extract_keeps_other_languages_apart_and_honours_longer_fences() -> None:
    text = "````markdown\n```python\nnot code\n```\n````\n\n```console\n$ pagewalk s3 x\n```\n"
    blocks = extract_blocks(text, Path("page.md"))
    assert [block.language for block in blocks] == ["markdown", "console"]


def test_the_guide_pages_have_code_that_runs() -> None:
    for name in (
        "index.md",
        "getting-started.md",
        "pages-and-items.md",
        "options.md",
        "checkpoints.md",
    ):
        assert python_blocks(DOCS / name), f"docs/{name} has no runnable python block"


def test_every_docs_page_is_in_the_nav() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)
        elif isinstance(node, dict):
            for child in node.values():
                yield from walk(child)

    in_nav = set(walk(config["nav"]))
    on_disk = {path.name for path in DOCS.glob("*.md")}
    assert on_disk - in_nav == set(), "add these pages to the nav in mkdocs.yml"
    assert in_nav - on_disk == set(), "the nav names pages that do not exist"


# --------------------------------------------------------------------------------------------
# The docs run


@pytest.mark.parametrize("page", [page for page in _pages() if python_blocks(page)], ids=_page_id)
def test_docs_page_code_runs(page: Path, docs_env: None) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in python_blocks(page):
        # Leading newlines make tracebacks point at the block's lines in the Markdown file.
        code = compile("\n" * (block.line - 1) + block.source, str(page), "exec")
        try:
            exec(code, namespace)
        except ModuleNotFoundError as exc:
            _skip_if_optional_dependency_missing(exc, str(page.relative_to(ROOT)))
            raise


def _skip_if_optional_dependency_missing(exc: ModuleNotFoundError, where: str) -> None:
    """Skip (rather than fail) code that needs an extra, such as aiobotocore, not installed here.

    CI runs the suite once with and once without the ``async`` extra, so such code still runs.
    """
    top = (exc.name or "").split(".")[0]
    if top and top != "pagewalk" and importlib.util.find_spec(top) is None:
        pytest.skip(f"{where} needs {top}, which is not installed (an optional extra)")


@pytest.mark.parametrize("module_name", _modules())
def test_doctests_in_docstrings_pass(module_name: str, docs_env: None) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        _skip_if_optional_dependency_missing(exc, module_name)
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in finder.find(module, module_name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
