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
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pagewalk
import pagewalk.testing
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


def test_no_python_block_of_the_docs_or_the_readme_is_skipped() -> None:
    skipped = [
        f"{_page_id(block.path)}:{block.line}"
        for page in _pages()
        for block in extract_blocks(page.read_text(encoding="utf-8"), page)
        if block.language in _PYTHON and block.skipped
    ]
    assert skipped == [], "make these blocks run against the docs' moto server"


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


# --------------------------------------------------------------------------------------------
# The built site: one ``mkdocs build --strict`` per test session


ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|exc|data|obj|ref|const):(?:`|<code)")
"""A reST role as it survives into HTML: ``:func:`x``` or ``:func:<code>x</code>``."""
_OBJECT = re.compile(r'<div class="doc doc-object doc-(?P<kind>function|class|attribute|module)">')
_HEADING = re.compile(r'<h\d id="(?P<id>[^"]+)" class="doc doc-heading">')
_SIGNATURE = re.compile(r'<div class="doc-signature highlight">(?P<html>.*?)</div>', re.DOTALL)
_SECTION = re.compile(r'<span class="doc-section-title">(?P<title>[^<:]+):</span>')
_TABLE_NAMES = re.compile(
    r'<tr class="doc-section-item">\s*<td>\s*<code>(?P<name>.*?)</code>', re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")
_NOT_PARAMETERS = frozenset({"", "/", "*", "self", "cls"})


@dataclass(frozen=True)
class ApiObject:
    """One object rendered by mkdocstrings: its own part of the page, members excluded."""

    kind: str
    id: str
    signature: str | None
    """The signature as text, or ``None`` when the page hides it."""
    html: str

    def parameters(self) -> list[str]:
        """Parameter names from the signature (``*args``/``**kwargs`` with their stars)."""
        if self.signature is None or "(" not in self.signature:
            return []
        text = self.signature[self.signature.index("(") + 1 :]
        names, depth, current = [], 0, ""
        for char in text:
            if char in "([{":
                depth += 1
            elif char in ")]}":
                if depth == 0:
                    break
                depth -= 1
            if char == "," and depth == 0:
                names.append(current)
                current = ""
            else:
                current += char
        names.append(current)
        found = [name.split(":")[0].split("=")[0].strip() for name in names]
        return [name for name in found if name not in _NOT_PARAMETERS]

    def section(self, title: str) -> list[str] | None:
        """The names listed in this object's ``title`` table, or ``None`` without one."""
        matches = list(_SECTION.finditer(self.html))
        for index, match in enumerate(matches):
            if match["title"] == title:
                end = matches[index + 1].start() if index + 1 < len(matches) else len(self.html)
                names = _TABLE_NAMES.findall(self.html[match.end() : end])
                return [_TAG.sub("", name).strip() for name in names]
        return None


def api_objects(html: str) -> list[ApiObject]:
    """Every object mkdocstrings rendered on a page, in page order."""
    starts = list(_OBJECT.finditer(html))
    objects = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(html)
        part = html[match.end() : end]
        heading = _HEADING.search(part)
        if heading is None:
            continue
        signature = _SIGNATURE.search(part)
        text = None
        if signature is not None:
            text = " ".join(_TAG.sub("", signature["html"]).split())
        objects.append(ApiObject(match["kind"], heading["id"], text, part))
    return objects


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation built once with ``mkdocs build --strict`` (skipped without mkdocs)."""
    pytest.importorskip("mkdocs", reason="mkdocs is in the docs extra")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is in the docs extra")
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return site


@pytest.fixture(scope="session")
def api_page(built_site: Path) -> str:
    return (built_site / "api" / "index.html").read_text(encoding="utf-8")


def test_the_parser_reads_a_parameter_table_and_a_signature() -> None:
    html = (
        '<div class="doc doc-object doc-function"><h3 id="pagewalk.f" class="doc doc-heading">'
        '</h3><div class="doc-signature highlight"><pre><code><span>f</span>(a: <span>dict'
        "</span>[str, int] = {}, /, *, b=1, **params: Any) -&gt; None</code></pre></div>"
        '<p><span class="doc-section-title">Parameters:</span></p><table><tbody>'
        '<tr class="doc-section-item"><td><code><span title="f.a">a</span></code></td></tr>'
        "</tbody></table></div>"
    )
    (found,) = api_objects(html)

    assert (found.kind, found.id) == ("function", "pagewalk.f")
    assert found.parameters() == ["a", "b", "**params"]
    assert found.section("Parameters") == ["a"]
    assert found.section("Raises") is None


def test_the_built_docs_show_no_raw_rest_roles(built_site: Path) -> None:
    found = {
        str(page.relative_to(built_site)): sorted(set(ROLE.findall(text)))
        for page in built_site.rglob("*.html")
        if ROLE.search(text := page.read_text(encoding="utf-8"))
    }
    assert ROLE.search(":func:<code>pages</code>")
    assert ROLE.search(":meth:`to_json`")
    assert found == {}, "write [`name`][pagewalk.name] instead of reST roles"


def test_every_public_name_is_on_the_api_page(api_page: str) -> None:
    rendered = {found.id for found in api_objects(api_page)}
    public = {f"pagewalk.{name}" for name in pagewalk.__all__ if name != "__version__"}
    public |= {f"pagewalk.testing.{name}" for name in pagewalk.testing.__all__}

    assert sorted(public - rendered) == []


def test_the_api_page_opens_with_pages_and_items(api_page: str) -> None:
    first = [found.id for found in api_objects(api_page)][:2]

    assert first == ["pagewalk.pages", "pagewalk.items"]


def test_every_parameter_of_every_public_function_is_in_its_parameter_table(
    api_page: str,
) -> None:
    objects = api_objects(api_page)
    functions = [found for found in objects if found.kind == "function" and found.parameters()]
    assert len(functions) >= 12, [found.id for found in objects]

    missing = {}
    for found in functions:
        table = found.section("Parameters")
        if table is None or set(found.parameters()) - set(table):
            missing[found.id] = sorted(set(found.parameters()) - set(table or []))
    assert missing == {}, "add an Args: section (Google style) naming these parameters"


def test_every_public_class_with_a_signature_documents_its_parameters(api_page: str) -> None:
    classes = [found for found in api_objects(api_page) if found.kind == "class"]
    assert {"pagewalk.Retry", "pagewalk.TokenSpec"} <= {found.id for found in classes}

    missing = {}
    for found in classes:
        table = found.section("Parameters") or found.section("Attributes") or []
        if set(found.parameters()) - set(table):
            missing[found.id] = sorted(set(found.parameters()) - set(table))
    assert missing == {}, "add an Args: (or Attributes:) section naming these parameters"


def test_every_returns_section_describes_one_value(api_page: str) -> None:
    # A second row means a description's next line lost its indentation (Google style indents
    # continuation lines), and the reference shows the return type twice.
    split = {
        f"{found.id} {title}": rows
        for found in api_objects(api_page)
        for title in ("Returns", "Yields")
        if len(rows := found.section(title) or []) > 1
    }
    assert split == {}


def test_long_signatures_are_formatted_one_parameter_a_line(api_page: str) -> None:
    # mkdocstrings formats signatures with Ruff (in the docs extra); without it, they stay one
    # long line behind a scrollbar.
    (walk,) = [found for found in api_objects(api_page) if found.id == "pagewalk.pages"]
    signature = _SIGNATURE.search(walk.html)

    assert signature is not None
    assert signature["html"].count('id="__codelineno-') >= len(walk.parameters())
