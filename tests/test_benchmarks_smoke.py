"""The benchmark suite runs: its quick mode completes and prints a ratio in every section.

Only that it runs is checked here; the figures themselves mean nothing at quick-mode sizes and
are never asserted on.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATIO = re.compile(r"\d+\.\d+x")


@pytest.fixture(scope="module")
def quick_run() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )


def test_quick_benchmarks_complete(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert quick_run.returncode == 0, quick_run.stderr


@pytest.mark.parametrize(
    "section", ["[a] overhead", "[b] prefetch", "[c] memory", "[c2] loop guard", "[d] import"]
)
def test_quick_benchmarks_print_ratios_in_every_section(
    quick_run: subprocess.CompletedProcess[str], section: str
) -> None:
    sections = re.split(r"^(?=\[[a-d]2?\] )", quick_run.stdout, flags=re.MULTILINE)
    printed = [text for text in sections if text.startswith(section)]

    assert len(printed) == 1, quick_run.stdout
    assert RATIO.search(printed[0]), printed[0]
    assert "target:" in printed[0]


def test_quick_parsing_benchmark_prints_ratios_in_every_section() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "parsing.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    sections = re.split(r"^(?=\[[a-c]\] )", result.stdout, flags=re.MULTILINE)[1:]

    assert result.returncode == 0, result.stderr
    assert [section[:3] for section in sections] == ["[a]", "[b]", "[c]"], result.stdout
    assert all(RATIO.search(section) for section in sections), result.stdout
    assert "keys/s" in sections[2]
