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
the pages ranges received, and picks the range with the most keys left; the new range takes an
equal share of it for each worker waiting. When the keys seen so far sit under a long common
prefix (a skewed bucket: every key under ``data/2024/05/part-``), the open-ended last range is
not cut before a few probes (``MaxKeys=1`` requests the driver sends for the splitter) have
found how far its keys go. Split keys are shortened to a shorter prefix where that keeps the
ranges even, so they look like the keys around them (``data/2024/05/part-014``).
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
        # A 0 ("ended") followed by more digits names no string: the string ends there. That
        # is the largest string whose value is not above ``number``, so ``string()`` keeps
        # the order of numbers (taking the smallest character instead would not: it can
        # sort past a string that ends there, ``data/05-`` past ``data/05``).
        if 0 in digits:
            digits = digits[: digits.index(0)]
        return self.base + "".join(
            self.columns[index][digit - 1] for index, digit in enumerate(digits)
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


def _clip(intervals: list[tuple[int, int]], low: int, high: int) -> list[tuple[int, int]]:
    """``intervals`` cut to ``(low, high)`` and merged, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        start, end = max(start, low), min(end, high)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _back(high: int, width: int, empty: list[tuple[int, int]]) -> int:
    """The point below ``high`` with ``width`` of filled (not ``empty``) space up to ``high``."""
    point = high
    for start, end in reversed(empty):
        if end < point:
            if point - end >= width:
                return point - width
            width -= point - end
        point = min(point, start)
    return point - width


class Splitter:
    """Chooses which range to split and where, from the keys a scan has seen, and which cheap
    probes to send first when it does not know how far the keys go.

    Probes. When the keys seen so far sit under a long common prefix (every key under
    ``data/2024/05/part-``), the first page says nothing about how many keys follow. The
    splitter then asks for a round of probes (``probes()``: ``MaxKeys=1`` requests starting
    after keys 2, 8, 32, ... pages past the range's position). Each answer (``probed()``) is
    the first key after the probe, or none: no key lies between the two (``gaps``, left out of
    every estimate), and after a probe that finds none no key lies past it (``limit``): the
    open-ended range is then estimated to end halfway between the last key found and the
    limit. A probe whose answer lies past the next probe's key found a gap, not keys close by.

    Split points. The new range takes ``1 / (free + 1)`` of what is left of the range with the
    most keys left (``free`` workers waiting, this one included), so a first fan-out cuts the
    range into equal parts; no new range holds less than two pages' worth.

    Args:
        prefix: the listing's ``Prefix`` (every key starts with it).
        sample: what the scan has seen of its keys.
    """

    STEPS = 16
    """At most this many probes in a round that looks for where the keys end."""
    GROWTH = 4
    """Each probe of that round lies this many times further than the one before."""
    MIN_PIECE_PAGES = 2.0
    """A new range holds at least this many pages' worth of keys (a shorter one costs its own
    request plus the one that crosses its end for little gain)."""

    def __init__(self, prefix: str, sample: KeySample) -> None:
        self.prefix = prefix
        self.sample = sample
        self.limit: str | None = None
        """No key lies after this one (a probe after it found none)."""
        self.found: list[str] = []
        """Keys probes found, in order."""
        self.outstanding = 0
        self.min_piece_pages: float = self.MIN_PIECE_PAGES
        self._rounds = 0
        self._probed_past: str | None = None
        self._steps = 0
        self.gaps: list[tuple[str, str]] = []
        """Stretches ``(after, key)`` probes found empty: no key lies between the two."""
        self._round: list[str] = []
        self._answers: dict[str, str | None] = {}
        self._horizons: dict[str, str | None] = {}
        self._hits: list[str] = []

    def _scale(self, strings: list[str], base: str) -> _Scale:
        seen = self.sample.columns
        # Which characters occur at a position is known only from the keys seen so far (hash
        # keys that all began with "0" in the first page): assume that any character seen
        # varying at some position may occur at every position...
        varying: set[str] = set().union(*(column for column in seen if len(column) > 1))
        width = min(max(len(text) for text in strings) - len(base) + 2, MAX_KEY_BYTES)
        columns: list[list[str]] = []
        for index in range(len(base), len(base) + width):
            column = seen[index] if index < len(seen) else set()
            # ... except where a character never seen varying always stood (the "/" or "-"
            # of ``logs/2024-05-``): that is the keys' structure, not a sample of it.
            chars = set(column) if column - varying else column | varying
            chars.update(text[index] for text in strings if index < len(text))
            columns.append(sorted(chars))
        return _Scale(columns, base)

    # -- probes ---------------------------------------------------------------------------------

    def probes(
        self, ranges: Iterable[tuple[KeyRange, bool]], count: int, *, thorough: bool = False
    ) -> list[str]:
        """Keys to send probes after (``MaxKeys=1``), at most ``count``, before splitting the
        open-ended range; empty when its keys' extent is known well enough (or unknowable).

        ``ranges`` are the unfinished ranges, each with whether a page of it is in flight.

        A first round looks 2, 8, 32, ... pages ahead; when one of its probes found keys close
        by and the next did not, a second round looks evenly between the two. When every probe
        found keys close by, a listing splits what they found and looks further once its last
        range has walked past them; ``thorough`` (planning without walking: shards) looks
        further at once.
        """
        if self.outstanding or count < 1:
            return []
        for key_range, in_flight in ranges:
            if key_range.end is None and key_range.explored:
                return self._probes(key_range, in_flight, count, thorough)
        return []

    def _probes(
        self, key_range: KeyRange, in_flight: bool, count: int, thorough: bool
    ) -> list[str]:
        position = key_range.position
        page = key_range.page or self.sample.page
        if position is None or page is None:
            return []
        first, last, keys = page
        walked = max(position, self.prefix)
        if self._probed_past is not None and walked > self._probed_past:
            # Walked past every probe (the keys go on, or came after a gap, or were added):
            # look further from here.
            if self.limit is not None and walked >= self.limit:
                self.limit = None
            if self.limit is None:
                self._rounds = 0
        if (
            self._rounds == 1
            and thorough
            and self.limit is None
            and self._uncertain(walked) is None
        ):
            self._rounds = 0  # every probe found keys close by: look further
        if self._rounds == 0:
            low = max([walked, *self._hits])
            scale = self._scale([low, first, last], self.prefix)
            page_width = max(1, scale.value(last) - scale.value(first))
            start = scale.value(low) + (page_width if in_flight else 0)
            if not self._structured(first, last):
                left = _ratio(keys * max(0, scale.top - start), page_width)
                if left <= PLAUSIBLE_KEYS:
                    return []  # the keys fill the key space after the prefix: no need to look
            # 2, 8, 32, ... pages past the range's position (a page is twice
            # ``page_width``), going on from the last round's.
            steps = min(count, self.STEPS)
            first_step = self._steps
            self._steps += steps
            points = [
                start + 2 * page_width * 2 * self.GROWTH**step
                for step in range(first_step, first_step + steps)
            ]
            probes = self._send(scale, points, position, start, None)
            self._round = probes
            self._rounds = 1
            if probes:
                self._probed_past = probes[-1]
            return probes
        if self._rounds == 1:
            self._rounds = 2
            stretch = self._uncertain(walked)
            if stretch is None:
                return []
            low, high_key = stretch
            scale = self._scale([low, first, last, high_key], self.prefix)
            page_width = max(1, scale.value(last) - scale.value(first))
            start = scale.value(low)
            high = scale.value(high_key)
            if _ratio(keys * max(0, high - start), page_width) < 4 * keys:
                return []  # known to within two pages: good enough
            # The finer round: evenly over the stretch where the keys end.
            points = [start + (high - start) * (step + 1) // (count + 1) for step in range(count)]
            return self._send(scale, points, low, start, high_key)
        return []

    def _send(
        self, scale: _Scale, points: list[int], position: str, start: int, end: str | None
    ) -> list[str]:
        """Probes near ``points``; each one's horizon is the next point (the last one's, as
        far again as from the one before): an answer past it tells of a gap."""
        probes: list[str] = []
        previous = start
        for index, point in enumerate(points):
            if point >= scale.top:
                break
            probe = self._near(scale, point, point - previous, position, start, end)
            following = points[index + 1] if index + 1 < len(points) else 2 * point - previous
            previous = point
            if probe is not None and (not probes or probe > probes[-1]):
                probes.append(probe)
                self._horizons[probe] = scale.string(following) if following < scale.top else None
        self.outstanding = len(probes)
        return probes

    def _uncertain(self, walked: str) -> tuple[str, str] | None:
        """The widest stretch of the last round of probes where the keys may end: from the key
        a probe found to the next probe, when that one found no key before the probe after
        it (or none at all)."""
        probes = self._round
        answers = [self._answers.get(probe) for probe in probes]
        best: tuple[int, str, str] | None = None
        scale: _Scale | None = None
        for index, probe in enumerate(probes):
            answer = answers[index]
            horizon = self._horizons.get(probe)
            if answer is not None and (horizon is None or answer < horizon):
                continue  # keys right after this probe
            low = answers[index - 1] if index else walked
            if low is None or not low < probe:
                continue
            if scale is None:
                scale = self._scale([walked, *probes, *filter(None, answers)], self.prefix)
            width = scale.value(probe) - scale.value(low)
            if best is None or width > best[0]:
                best = (width, low, probe)
        return None if best is None else (best[1], best[2])

    def _structured(self, first: str, last: str) -> bool:
        """Whether the keys of a page share a prefix (past the listing's) holding a character
        never seen varying (``logs/2024-``, ``data/part-``): keys under a structure, not keys
        that fill the key space (hashes)."""
        varying: set[str] = set().union(
            *(column for column in self.sample.columns if len(column) > 1)
        )
        common = _common_prefix([first, last])[len(self.prefix) :]
        return any(char not in varying for char in common)

    def probed(self, at: str, found: str | None) -> None:
        """Take a probe's answer: ``found`` is the first key after ``at`` (``None``: none).

        Either way no key lies between them: estimates leave that stretch out.
        """
        self.outstanding = max(0, self.outstanding - 1)
        self._answers[at] = found
        if found is None:
            if self.limit is None or at < self.limit:
                self.limit = at
        else:
            bisect.insort(self.found, found)
            self.gaps.append((at, found))
            horizon = self._horizons.get(at)
            if horizon is None or found < horizon:
                bisect.insort(self._hits, found)

    def probe_lost(self) -> None:
        """A probe got no answer (its request failed): split without it."""
        self.outstanding = max(0, self.outstanding - 1)

    # -- estimates and split points -------------------------------------------------------------

    def estimate(
        self, key_range: KeyRange, in_flight: bool, free: int = 1
    ) -> tuple[float, str | None]:
        """How many entries are left in ``key_range`` beyond the page it has in flight, and
        the key to split it at (``None`` when it cannot be split usefully).

        The new range (from the split key to the end) takes ``1 / (free + 1)`` of what is left,
        so ``free`` splits in a row cut a range into equal parts.
        """
        position = key_range.position
        page = key_range.page or self.sample.page
        if position is None or page is None:
            return 0.0, None
        first, last, count = page
        low = max(position, self.prefix)
        end = key_range.end
        if end is None:
            limit = self.limit
            if limit is not None and low >= limit:
                return 0.0, None  # a probe found no key past the limit
            if self.outstanding:
                return 0.0, None  # its probes are out: split it once they are back
            known = max([low, *(key for key in self._hits if limit is None or key < limit)])
            if limit is not None and not self.outstanding:
                # Nothing lies past the limit, and keys were found close by up to the last
                # key below it: expect them to end halfway between.
                end = self._halfway(known)
            elif known > low:
                end = known  # at least that long
            else:
                return self._open(low, position, page, in_flight, free)
        gaps = [
            (gap_low, gap_high)
            for gap_low, gap_high in self.gaps
            if gap_high > low and gap_low < end and gap_low < gap_high
        ]
        strings = [low, first, last, end]
        scale = self._scale(
            [*strings, *(key for gap in gaps for key in gap)], _common_prefix(strings)
        )
        page_width = max(1, scale.value(last) - scale.value(first))
        start = scale.value(low) + (page_width if in_flight else 0)
        high = scale.value(end)
        # Stretches probes found empty hold no keys: leave them out of the estimate.
        empty = _clip(
            [(scale.value(gap_low), scale.value(gap_high)) for gap_low, gap_high in gaps],
            start,
            high,
        )
        filled = max(0, high - start - sum(gap_high - gap_low for gap_low, gap_high in empty))
        left = _ratio(count * filled, page_width)
        piece = self._piece(left, count, free)
        if piece is None:
            return left, None
        width = int(filled * piece / left)
        target = _back(high, width, empty)
        # The split key must lie before the range's real end only (not before ``limit``).
        return left, self._near(scale, target, width, position, start, key_range.end)

    def _halfway(self, low: str) -> str:
        """Halfway between ``low`` and ``limit`` (but past ``low``)."""
        assert self.limit is not None
        strings = [low, self.limit]
        scale = self._scale(strings, _common_prefix(strings))
        start, high = scale.value(low), scale.value(self.limit)
        middle = scale.string(start + (high - start) // 2)
        return middle if low < middle < self.limit else self.limit

    def _piece(self, left: float, count: int, free: int) -> float | None:
        """How many of ``left`` entries the new range takes, or ``None``: not worth a split."""
        smallest = self.min_piece_pages * 2 * count  # ``count`` is half a page
        piece = max(left / (max(1, free) + 1), smallest)
        if left - piece < 2 * count:
            return None  # the range would keep less than a page of its own
        return piece

    def _open(
        self, low: str, position: str, page: tuple[str, str, int], in_flight: bool, free: int
    ) -> tuple[float, str | None]:
        """The open-ended last range without probes: assume its keys fill the block one
        character above what the last page had in common (``data/part-00`` for
        ``data/part-00017``); once that is covered, cut at the start of the next block and go
        up a level, so the ranges climb the key space's structure instead of cutting an empty
        byte space in half."""
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
        if left > PLAUSIBLE_KEYS:
            target = start + (high - start) // 2
            split = self._shortest(scale.string(target), position, scale.string(start), None)
            return float("inf"), split
        piece = self._piece(left, count, free)
        if piece is not None:
            width = int((high - start) * piece / left)
            return left, self._near(scale, high - width, width, position, start, None)
        if len(base) <= len(self.prefix):
            return left, None
        # This block is (nearly) done: what lies beyond it is unknown, so open the next one.
        following = next_block(base)
        if following is None or not following > max(position, scale.string(start)):
            return left, None
        return float("inf"), following

    def _near(
        self, scale: _Scale, target: int, width: int, position: str, start: int, end: str | None
    ) -> str | None:
        """A split key near ``target`` for a new range ``width`` long: the shortest prefix of
        the key at ``target`` that lies within an eighth of ``width`` below it (so split keys
        look like the keys around them, ``data/2024/05/part-014``, without unbalancing the
        ranges), past ``position`` and ``start`` and before ``end``."""
        candidate = scale.string(target)
        low = max(position, scale.string(start))
        least = target - width // 8
        for size in range(1, len(candidate) + 1):
            split = candidate[:size]
            if len(split.encode("utf-8")) > MAX_KEY_BYTES:
                return None
            if (
                split > low
                and (end is None or split < end)
                and (size == len(candidate) or scale.value(split) >= least)
            ):
                return split
        return None

    @staticmethod
    def _shortest(candidate: str, position: str, floor: str, end: str | None) -> str | None:
        """The shortest prefix of ``candidate`` past ``floor`` and ``position`` and before
        ``end``, or ``None`` when even ``candidate`` is not."""
        low = max(position, floor)
        for size in range(1, len(candidate) + 1):
            split = candidate[:size]
            if len(split.encode("utf-8")) > MAX_KEY_BYTES:
                return None
            if split > low and (end is None or split < end):
                return split
        return None

    def choose(
        self, ranges: Iterable[tuple[KeyRange, bool]], free: int = 1
    ) -> tuple[KeyRange, str] | None:
        """The range with the most entries left and where to split it, or ``None``.

        ``ranges`` are the unfinished ranges, each with whether a page of it is in flight;
        ``free`` is how many workers are waiting for a range (this one included).
        """
        best: tuple[float, KeyRange, str] | None = None
        for key_range, in_flight in ranges:
            if not key_range.explored and key_range.born != self.sample.received:
                # Split off since the last page arrived: wait for its own first page (which
                # may well be empty) before cutting it again.
                continue
            left, split = self.estimate(key_range, in_flight, free)
            if split is not None and (best is None or left > best[0]):
                best = (left, key_range, split)
        if best is None:
            return None
        return best[1], best[2]
