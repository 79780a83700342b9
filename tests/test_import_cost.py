"""``import pagewalk`` stays cheap: what a caller may never use loads on first use.

Import time itself is measured by ``benchmarks/run.py --only import``; these tests check the
deterministic part, which modules an import loads, in a fresh interpreter each.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import pagewalk

INIT = Path(pagewalk.__file__)

NOT_ON_IMPORT = (
    "asyncio",
    "concurrent.futures",
    "pagewalk._async",
    "pagewalk._cli",
    "pagewalk._keyranges",
    "pagewalk._parallel",
    "pagewalk._shards",
    "pagewalk.testing",
)


def modules_after(statement: str) -> set[str]:
    """The names in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_pagewalk_loads_no_async_threads_cli_or_testing_modules() -> None:
    loaded = modules_after("import pagewalk")

    assert "pagewalk._walk" in loaded  # the check itself sees pagewalk's modules
    assert sorted(loaded & set(NOT_ON_IMPORT)) == []


def test_the_first_use_of_a_lazy_name_loads_its_module() -> None:
    loaded = modules_after("import pagewalk\npagewalk.apages")

    assert {"asyncio", "pagewalk._async"} <= loaded
    assert "pagewalk._parallel" not in loaded


def test_the_command_line_module_is_not_loaded_by_the_library() -> None:
    loaded = modules_after("import pagewalk\npagewalk.items\npagewalk.pages")

    assert "pagewalk._cli" not in loaded


def _type_checking_imports() -> set[str]:
    """The names ``__init__.py`` imports under ``if TYPE_CHECKING:`` (seen by type checkers)."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in statement.names)
    return names


def test_every_lazy_name_is_also_imported_for_type_checkers_and_the_other_way_round() -> None:
    lazy = set(pagewalk._LAZY)

    assert "apages" in lazy
    assert _type_checking_imports() == lazy


def test_every_public_name_resolves_and_is_listed_by_dir_in_a_fresh_interpreter() -> None:
    code = (
        "import json, pagewalk\n"
        "listed = set(dir(pagewalk))\n"
        "print(json.dumps({name: name in listed and getattr(pagewalk, name) is not None"
        " for name in [*pagewalk.__all__, 'testing']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(result.stdout)

    assert set(found) == {*pagewalk.__all__, "testing"}
    assert [name for name, ok in found.items() if not ok] == []


def test_a_lazy_name_is_the_object_of_its_module() -> None:
    from pagewalk import _async, _parallel, _shards, testing

    assert pagewalk.apages is _async.apages
    assert pagewalk.AsyncWalk is _async.AsyncWalk
    assert pagewalk.parallel_items is _parallel.parallel_items
    assert pagewalk.Shard is _shards.Shard
    assert pagewalk.testing is testing


def test_star_import_binds_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from pagewalk import *", namespace)

    assert set(pagewalk.__all__) <= set(namespace)


def test_all_is_sorted() -> None:
    assert pagewalk.__all__ == sorted(pagewalk.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'apage'"):
        pagewalk.apage  # noqa: B018
