"""Griffe extension for the API reference: show docstring ``>>>`` examples as Python code.

pagewalk's docstrings carry bare doctest examples (they run in the test suite). Markdown would
render ``>>>`` lines as nested quotes and an output line such as ``['a', 'b']`` as a link, so
every run of example lines is wrapped in a ``pycon`` fence (doctest flags removed) before the
docstring is parsed. Examples already inside a fence are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_PROMPT = re.compile(r"^(?P<indent>[ \t]*)>>>(?: |$)")
_FLAGS = re.compile(r"\s*#\s*doctest:.*$")


def fence_examples(text: str) -> str:
    """``text`` with each run of doctest lines (prompt to the next blank line) fenced."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    in_fence = False
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _PROMPT.match(line)
        if match is None:
            out.append(line)
            index += 1
            continue
        indent = match["indent"]
        out.append(f"{indent}```pycon")
        while index < len(lines) and lines[index].strip():
            out.append(_FLAGS.sub("", lines[index]))
            index += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fence the doctest examples of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_examples(obj.docstring.value)
