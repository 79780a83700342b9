"""Ordered key spaces: S3 listings cut into key ranges that are walked at once. No I/O here.

S3 lists keys in UTF-8 binary order and a listing can start after any key (``StartAfter`` for
``ListObjectsV2``, ``Marker`` for ``ListObjects``, ``KeyMarker`` for ``ListObjectVersions``). A
*key range* ``(after, end]`` is an ordinary token walk that starts after ``after`` and stops at
``end``: the page that crosses ``end`` is trimmed and the range ends there (``KeyRange.receive()``,
which the cursor calls on every page). Ranges chain (``(a, s]`` then ``(s, e]``), so splitting a
range at any string ``s`` between its position and its end keeps every key in exactly one range.

Ordering. Python compares ``str`` by code point, and for strings of Unicode scalar values
(no surrogates) code point order *is* UTF-8 byte order: UTF-8 is designed so. Keys S3 returns
never hold surrogates; split keys are built only from characters seen in real keys; a user's
``StartAfter``/``Prefix`` holding a lone surrogate cannot be sent at all and is refused.

Split points. The ``Splitter`` maps strings to integers in the radix of the characters
seen so far (after the common prefix of the strings involved), reads the density of keys from
the pages ranges received, and picks the range with the most keys left. A bounded range is
split in the middle of what is left; the open-ended last range, when the keys seen so far sit
under a long common prefix (a skewed bucket: every key under ``data/2024/05/part-``), is split
at twice the extent explored so far instead of in the middle of an empty byte space. Split keys
are then shortened to the shortest prefix that still lies strictly inside the range, so they
look like the keys around them (``data/2024/05/part-014``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KEY_SPACES",
    "KeyRange",
    "KeySample",
    "KeySpace",
    "Splitter",
    "check_key",
    "key_space",
]

MAX_KEY_BYTES = 1024
"""S3's limit on a key's UTF-8 length; a split key is never longer."""

PLAUSIBLE_KEYS = 1e12
"""More keys than this left in the open-ended range means its keys do not fill the byte space
up to the end (they sit under a long common prefix): grow from what was seen instead."""


@dataclass(frozen=True)
class KeySpace:
    """How one S3 listing operation moves through its ordered key space.

    Attributes:
        operation: ``"s3.ListObjectsV2"``.
        start_parameter: the request parameter a listing starts after: ``StartAfter``,
            ``Marker`` or ``KeyMarker``.
        start_is_token: whether that parameter is also the input token (``Marker``,
            ``KeyMarker``); ``StartAfter`` is a plain parameter next to ``ContinuationToken``.
        lists: the result lists whose entries carry a ``Key`` (``DeleteMarkers`` too).
        unique: whether a key appears once (objects) or once per version.
    """

    operation: str
    start_parameter: str
    start_is_token: bool
    lists: tuple[str, ...]
    unique: bool


KEY_SPACES: Mapping[str, KeySpace] = {
    space.operation: space
    for space in (
        KeySpace("s3.ListObjectsV2", "StartAfter", False, ("Contents",), True),
        KeySpace("s3.ListObjects", "Marker", True, ("Contents",), True),
        KeySpace("s3.ListObjectVersions", "KeyMarker", True, ("Versions", "DeleteMarkers"), False),
    )
}


def key_space(operation: str) -> KeySpace | None:
    """The ordered key space of ``operation`` (``"s3.ListObjects"``), or ``None``."""
    return KEY_SPACES.get(operation)


def check_key(value: Any, what: str) -> str:
    """``value`` if it is a string S3 could order: valid UTF-8 and at most 1,024 bytes.

    Raises:
        ValueError: anything else (a lone surrogate cannot be encoded, so it has no place in
            UTF-8 binary order).
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(
            f"{what} {value!r} is not valid UTF-8 (it holds a lone surrogate)"
        ) from None
    if size > MAX_KEY_BYTES:
        raise ValueError(f"{what} is {size} bytes long in UTF-8; S3 keys have at most 1024")
    return value


class KeySample:
    """What a scan has seen of its keys, shared by its ranges: which characters occur at each
    position of a key (from a few keys of every page), the first key seen, and the most
    recent page's density."""

    __slots__ = ("columns", "origin", "page", "received")

    SAMPLED = 16
    """Keys of each page whose characters are noted (spread over the page)."""

    def __init__(self) -> None:
        self.columns: list[set[str]] = []
        self.received = 0
        self.page: tuple[str, str, int] | None = None
        self.origin: str | None = None

    def note(self, text: str) -> None:
        """Note the characters of ``text``, position by position."""
        columns = self.columns
        if len(text) > len(columns):
            columns.extend(set() for _ in range(len(text) - len(columns)))
        for column, char in zip(columns, text, strict=False):
            column.add(char)

    def add(self, keys: Sequence[str]) -> tuple[str, str, int] | None:
        """Note a page's keys (in order); return its density sample ``(first, last, count)``."""
        if not keys:
            return None
        step = max(1, len(keys) // self.SAMPLED)
        for key in keys[::step]:
            self.note(key)
        self.note(keys[-1])
        # Density is read from the second half of the page, nearest to where the range goes
        # on: a stray key at its start (``a`` before ``data/...``) would dilute it.
        half = len(keys) // 2
        page = (keys[half], keys[-1], len(keys) - half)
        if self.origin is None or keys[half] < self.origin:
            self.origin = keys[half]
        self.page = page
        return page


class KeyRange:
    """One range ``(after, end]`` of a key space, and where its walk stands in it.

    The range's cursor calls ``receive()`` with every response: entries past ``end`` are
    trimmed and the range ends there. ``end`` is ``None`` for the open-ended last range; a
    scan lowers it when it splits the range (``split()``), never below ``position``.

    Attributes:
        after: the range starts after this key (``None``: at the start of the key space).
        end: the last key the range may yield (``None``: no end).
        position: the last key this range received, or where it starts; ``None`` while it
            is unknown (a range resumed at an opaque continuation token, until its first page).
        page: ``(first, last, count)`` of the second half of the last non-empty page it
            received (or of the range it was split from), to read the density of keys.
        explored: whether ``page`` is this range's own (a range split off another has not
            been explored until its first page arrives).
    """

    __slots__ = ("after", "born", "end", "explored", "page", "position", "sample", "space")

    def __init__(
        self,
        space: KeySpace,
        after: str | None,
        end: str | None,
        position: str | None,
        sample: KeySample | None = None,
    ) -> None:
        self.space = space
        self.after = after
        self.end = end
        self.position = position
        self.page: tuple[str, str, int] | None = None
        self.explored = True
        self.sample = sample if sample is not None else KeySample()
        self.born = self.sample.received

    @property
    def bounds(self) -> tuple[str | None, str | None]:
        """``(after, end)``, as a checkpoint records them."""
        return self.after, self.end

    def receive(self, response: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """Trim ``response`` at ``end``; return it and whether the range ends with this page.

        The range ends when an entry lies past ``end`` (it and all after it are cut), or, for
        objects, when the last entry is ``end`` itself. The response the method returned is
        left as it was: a trimmed page is a shallow copy.
        """
        end = self.end
        trimmed: dict[str, list[Any]] = {}
        keys: list[str] = []
        crossed = False
        for name in self.space.lists:
            entries = response.get(name)
            if not entries or not isinstance(entries, list):
                continue
            names = [
                entry.get("Key", "") if isinstance(entry, Mapping) else "" for entry in entries
            ]
            if end is not None and names[-1] > end:
                cut = bisect.bisect_right(names, end)
                crossed = True
                trimmed[name] = entries[:cut]
                names = names[:cut]
            keys.extend(names)
        if len(self.space.lists) > 1:
            keys.sort()
        self.sample.received += 1
        page = self.sample.add(keys)
        if page is not None:
            self.page = page
            self.explored = True
            if self.position is None or page[1] > self.position:
                self.position = page[1]
        ended = crossed or (
            self.space.unique and end is not None and bool(keys) and keys[-1] >= end
        )
        if trimmed:
            copy = dict(response)
            copy.update(trimmed)
            return copy, ended
        return response, ended

    def split(self, at: str) -> KeyRange:
        """Cut this range at ``at``: it now ends there; return the range ``(at, old end]``."""
        if (
            self.position is None
            or not self.position < at
            or (self.end is not None and not at < self.end)
        ):
            raise ValueError(f"cannot split ({self.position!r}, {self.end!r}] at {at!r}")
        rest = KeyRange(self.space, at, self.end, at, self.sample)
        rest.page = self.page  # its density, until its own first page says better
        rest.explored = False
        self.end = at
        return rest


class _Scale:
    """Strings after a common ``base`` as integers, one digit per character position in the
    radix of the characters seen at that position (digit 0 is "the string ended"), so
    arithmetic between keys is exact and ``data/part-00017`` counts in tens, not in 150,000s."""

    def __init__(self, columns: Sequence[Sequence[str]], base: str) -> None:
        self.columns = columns
        self.ranks = [{char: index + 1 for index, char in enumerate(column)} for column in columns]
        self.radices = [len(column) + 1 for column in columns]
        self.base = base

    @property
    def top(self) -> int:
        """Just past every string of this base."""
        top = 1
        for radix in self.radices:
            top *= radix
        return top

    def value(self, text: str) -> int:
        rest = text[len(self.base) :]
        number = 0
        for index, radix in enumerate(self.radices):
            number = number * radix + (self.ranks[index][rest[index]] if index < len(rest) else 0)
        return number

    def string(self, number: int) -> str:
        digits: list[int] = []
        for radix in reversed(self.radices):
            number, digit = divmod(number, radix)
            digits.append(digit)
        digits.reverse()
        while digits and digits[-1] == 0:
            digits.pop()
        # An inner 0 ("ended") followed by more would name no string: take the smallest char.
        return self.base + "".join(
            self.columns[index][max(digit, 1) - 1] for index, digit in enumerate(digits)
        )


def _ratio(numerator: int, denominator: int) -> float:
    try:
        return numerator / denominator
    except OverflowError:
        return float("inf")


def next_char(char: str) -> str | None:
    """The character after ``char`` in UTF-8 binary order, skipping surrogates (which UTF-8
    cannot encode); ``None`` after U+10FFFF."""
    point = ord(char) + 1
    if 0xD800 <= point <= 0xDFFF:
        point = 0xE000
    return chr(point) if point <= 0x10FFFF else None


def next_block(block: str) -> str | None:
    """The smallest string above every string that starts with ``block``'s parent and its
    last character: ``data/part-01`` after the block ``data/part-00``."""
    while block:
        following = next_char(block[-1])
        if following is not None:
            return block[:-1] + following
        block = block[:-1]
    return None


def _common_prefix(strings: Iterable[str]) -> str:
    texts = list(strings)
    shortest, longest = min(texts), max(texts)
    for index, char in enumerate(shortest):
        if char != longest[index]:
            return shortest[:index]
    return shortest


class Splitter:
    """Chooses which range to split and where, from the keys a scan has seen.

    Args:
        prefix: the listing's ``Prefix`` (every key starts with it).
        sample: what the scan has seen of its keys.
    """

    def __init__(self, prefix: str, sample: KeySample) -> None:
        self.prefix = prefix
        self.sample = sample

    def _scale(self, strings: list[str], base: str) -> _Scale:
        seen = self.sample.columns
        # Which characters occur at a position is known only from the keys seen so far (hash
        # keys that all began with "0" in the first page): assume that any character seen
        # varying at some position may occur at every position.
        varying: set[str] = set().union(*(column for column in seen if len(column) > 1))
        width = min(max(len(text) for text in strings) - len(base) + 2, MAX_KEY_BYTES)
        columns: list[list[str]] = []
        for index in range(len(base), len(base) + width):
            chars = (set(seen[index]) if index < len(seen) else set()) | varying
            chars.update(text[index] for text in strings if index < len(text))
            columns.append(sorted(chars))
        return _Scale(columns, base)

    def estimate(self, key_range: KeyRange, in_flight: bool) -> tuple[float, str | None]:
        """How many entries are left in ``key_range`` beyond the page it has in flight, and
        the key to split it at (``None`` when it cannot be split usefully)."""
        position = key_range.position
        page = key_range.page or self.sample.page
        if position is None or page is None:
            return 0.0, None
        first, last, count = page
        low = max(position, self.prefix)
        end = key_range.end
        if end is None:
            return self._open(low, position, page, in_flight)
        strings = [low, first, last, end]
        scale = self._scale(strings, _common_prefix(strings))
        page_width = max(1, scale.value(last) - scale.value(first))
        start = scale.value(low) + (page_width if in_flight else 0)
        high = scale.value(end)
        left = _ratio(count * max(0, high - start), page_width)
        if left < 2 * count:
            return left, None  # not worth a range of its own: less than two pages
        target = start + (high - start) // 2
        return left, self._shortest(scale.string(target), position, scale.string(start), end)

    def _open(
        self, low: str, position: str, page: tuple[str, str, int], in_flight: bool
    ) -> tuple[float, str | None]:
        """The open-ended last range: assume its keys fill the block one character above what
        the last page had in common (``data/part-00`` for ``data/part-00017``); once that is
        covered, cut at the start of the next block and go up a level, so the ranges climb
        the key space's structure instead of cutting an empty byte space in half."""
        first, last, count = page
        common = _common_prefix([first, last])
        block = common[: max(len(self.prefix), len(common) - 1)]
        while len(block) > len(self.prefix) and not low.startswith(block):
            block = block[:-1]
        base = _common_prefix([low, block])
        strings = [low, first, last]
        scale = self._scale(strings, base)
        page_width = max(1, scale.value(last) - scale.value(first))
        start = scale.value(low) + (page_width if in_flight else 0)
        high = scale.top
        left = _ratio(count * max(0, high - start), page_width)
        if left >= 2 * count:
            target = start + (high - start) // 2
            split = self._shortest(scale.string(target), position, scale.string(start), None)
            return (left if left <= PLAUSIBLE_KEYS else float("inf")), split
        if len(base) <= len(self.prefix):
            return left, None
        # This block is (nearly) done: what lies beyond it is unknown, so open the next one.
        following = next_block(base)
        if following is None or not following > max(position, scale.string(start)):
            return left, None
        return float("inf"), following

    @staticmethod
    def _shortest(candidate: str, position: str, floor: str, end: str | None) -> str | None:
        """The shortest prefix of ``candidate`` past ``floor`` and ``position`` and before
        ``end``, or ``None`` when even ``candidate`` is not."""
        low = max(position, floor)
        for size in range(1, len(candidate) + 1):
            split = candidate[:size]
            if split > low and (end is None or split < end):
                return split
        return None

    def choose(self, ranges: Iterable[tuple[KeyRange, bool]]) -> tuple[KeyRange, str] | None:
        """The range with the most entries left and where to split it, or ``None``.

        ``ranges`` are the unfinished ranges, each with whether a page of it is in flight.
        """
        best: tuple[float, KeyRange, str] | None = None
        for key_range, in_flight in ranges:
            if not key_range.explored and key_range.born != self.sample.received:
                # Split off since the last page arrived: wait for its own first page (which
                # may well be empty) before cutting it again.
                continue
            left, split = self.estimate(key_range, in_flight)
            if split is not None and (best is None or left > best[0]):
                best = (left, key_range, split)
        if best is None:
            return None
        return best[1], best[2]
