"""Parallel listings of ordered key spaces (S3): every key exactly once, in ranges split on the
fly, resumable from JSON after any stop; and the sans-IO range logic underneath."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.core import DEFAULT_ACCOUNT_ID

import pagewalk
from pagewalk import Checkpoint, SpecError
from pagewalk._keyranges import (
    KEY_SPACES,
    KeyRange,
    KeySample,
    Splitter,
    check_key,
    next_block,
    next_char,
)

from .conftest import MotoServer

BUCKET = "listing"
V2 = KEY_SPACES["s3.ListObjectsV2"]
VERSIONS = KEY_SPACES["s3.ListObjectVersions"]


def uniform(count: int) -> list[str]:
    return [hashlib.md5(str(index).encode()).hexdigest() for index in range(count)]


def skewed(count: int) -> list[str]:
    """Every key under one long prefix, plus a stray key on each side."""
    return [f"data/2024/05/part-{index:05d}.parquet" for index in range(count)] + ["a", "zz"]


NON_ASCII = [
    "caf\u00e9/1",
    "cafe/2",
    "\u00e9t\u00e9",
    "\u65e5\u672c/\u6771\u4eac",
    "\U0001f600/smile",
    "\ue000private",
    "\ud7ff-last-before-surrogates",
    "z",
    "Z",
    "~",
    " space",
] + [f"\u00fc{index:03d}" for index in range(40)]


# --------------------------------------------------------------------------------------------
# Fixtures: moto seeded through its in-process backend (the server runs in this process)


def _backend() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


def seed(client: Any, keys: list[str], *, versions: int = 1, delete_every: int = 0) -> None:
    """Create the bucket with ``keys``; with ``versions`` > 1 the bucket is versioned, each key
    has that many versions, and every ``delete_every``-th key also gets a delete marker."""
    client.create_bucket(Bucket=BUCKET)
    if versions > 1 or delete_every:
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    backend = _backend()
    for index, key in enumerate(keys):
        for _ in range(versions):
            backend.put_object(BUCKET, key, b"x")
        if delete_every and index % delete_every == 0:
            backend.delete_object(BUCKET, key)


@pytest.fixture
def s3(moto: MotoServer) -> Any:
    return moto.client("s3")


@pytest.fixture(autouse=True)
def real_key_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5's ListObjectVersions given a KeyMarker alone skips the first version at or
    after the marker; S3 lists the keys after the marker (every version of the marker key
    skipped). Make moto do what S3 does: start after the marker key's oldest version."""
    from moto.s3.models import S3Backend

    original = S3Backend.list_object_versions

    def list_object_versions(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        marker = kwargs.get("key_marker")
        if marker and not kwargs.get("version_id_marker"):
            bucket = self.get_bucket(bucket_name)
            names = [name for name in bucket.keys if name <= marker]
            if names:
                from moto.core.utils import unix_time_millis

                name = max(names)
                versions = sorted(
                    bucket.keys.getlist(name), key=lambda v: -unix_time_millis(v.last_modified)
                )
                kwargs["key_marker"] = name
                kwargs["version_id_marker"] = versions[-1].version_id
            else:
                kwargs["key_marker"] = None
        return original(self, bucket_name, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "list_object_versions", list_object_versions)


def sequential(method: Callable[..., Any], **params: Any) -> list[tuple[str, str]]:
    """The reference: one plain boto3 walk, every entry as (key, version id or "")."""
    return sorted(entries(pagewalk.pages(method, **params)))


def entries(pages: Iterator[Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for page in pages:
        for name in ("Contents", "Versions", "DeleteMarkers"):
            found.extend((entry["Key"], entry.get("VersionId", "")) for entry in page.get(name, []))
    return found


OPERATIONS = ["list_objects_v2", "list_objects", "list_object_versions"]


# --------------------------------------------------------------------------------------------
# Sans-IO: ordering, trimming, splitting


@given(st.text(max_size=8), st.text(max_size=8))
def test_code_point_order_is_utf8_byte_order_without_surrogates(a: str, b: str) -> None:
    # st.text() draws no surrogates (they are not valid in UTF-8), exactly like S3 keys.
    assert (a < b) == (a.encode() < b.encode())


def test_keys_past_the_bmp_sort_as_in_utf8_not_as_in_utf16() -> None:
    # UTF-16 (Java, JavaScript) puts U+10000 (a surrogate pair) before U+E000; UTF-8 and
    # Python's code point order put it after, as S3 does.
    astral, private = "\U00010000", "\ue000"
    assert astral > private
    assert astral.encode() > private.encode()
    assert astral.encode("utf-16-be") < private.encode("utf-16-be")


def test_a_lone_surrogate_has_no_utf8_form_and_is_refused() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        check_key("\ud800", "StartAfter")


def test_next_char_skips_the_surrogates_and_stops_after_the_last_code_point() -> None:
    assert next_char("a") == "b"
    assert next_char("\ud7ff") == "\ue000"
    assert next_char("\U0010ffff") is None
    assert next_block("data/part-00") == "data/part-01"
    assert next_block("ab\U0010ffff") == "ac"


def page(*keys: str) -> dict[str, Any]:
    return {"Contents": [{"Key": key} for key in keys], "IsTruncated": True}


def test_a_range_trims_the_page_that_crosses_its_end_and_ends() -> None:
    key_range = KeyRange(V2, None, "c", None)
    response, ended = key_range.receive(page("a", "b"))
    assert not ended
    assert [item["Key"] for item in response["Contents"]] == ["a", "b"]
    original = page("bb", "c", "ca", "d")
    response, ended = key_range.receive(original)
    assert ended
    assert [item["Key"] for item in response["Contents"]] == ["bb", "c"]
    assert len(original["Contents"]) == 4  # the method's response is left alone


def test_an_object_range_ends_at_its_end_key_but_a_version_range_may_go_on() -> None:
    assert KeyRange(V2, None, "b", None).receive(page("a", "b"))[1]
    versions = {"Versions": [{"Key": "a"}, {"Key": "b"}], "IsTruncated": True}
    assert not KeyRange(VERSIONS, None, "b", None).receive(versions)[1]


def test_delete_markers_past_the_end_are_trimmed_too() -> None:
    response, ended = KeyRange(VERSIONS, None, "b", None).receive(
        {"Versions": [{"Key": "a"}], "DeleteMarkers": [{"Key": "b"}, {"Key": "c"}]}
    )
    assert ended
    assert [item["Key"] for item in response["DeleteMarkers"]] == ["b"]


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=300, unique=True),
    at=st.integers(min_value=0),
    end=st.one_of(st.none(), st.text(min_size=1, max_size=12)),
    in_flight=st.booleans(),
)
def test_split_keys_lie_strictly_inside_the_range(
    keys: list[str], at: int, end: str | None, in_flight: bool
) -> None:
    keys.sort()
    cut = at % (len(keys) - 1) + 1
    sample = KeySample()
    key_range = KeyRange(V2, None, end, None, sample)
    key_range.receive(page(*keys[:cut]))
    left, split = Splitter("", sample).estimate(key_range, in_flight)
    assert left >= 0
    if split is not None:
        assert key_range.position is not None
        assert key_range.position < split
        assert end is None or split < end
        check_key(split, "split key")
        rest = key_range.split(split)
        assert (key_range.end, rest.after, rest.end) == (split, split, end)


@pytest.mark.parametrize("layout", [uniform, skewed])
def test_the_splitter_cuts_where_the_keys_are(layout: Callable[[int], list[str]]) -> None:
    keys = sorted(layout(3000))
    sample = KeySample()
    first = KeyRange(V2, None, None, None, sample)
    first.receive(page(*keys[:100]))
    split = Splitter("", sample).choose([(first, True)])
    assert split is not None
    _, at = split
    # The new range holds keys, and the first range keeps more than its page in flight.
    assert 200 <= sum(key <= at for key in keys) < 3000


def parts(count: int) -> list[str]:
    """Every key under one long prefix, and nothing else."""
    return [f"data/2024/05/part-{index:05d}.parquet" for index in range(count)]


def fan_out(keys: list[str], workers: int, *, thorough: bool = False) -> tuple[int, list[int]]:
    """What a listing does with its first page (the first range keeps a page in flight): ask
    for probes with the free workers and answer them from ``keys``, split with the rest, until
    every worker has a range. Returns the probes sent and the keys each range holds."""
    keys = sorted(keys)
    sample = KeySample()
    splitter = Splitter("", sample)
    first = KeyRange(V2, None, None, None, sample)
    first.receive(page(*keys[:100]))
    ranges = [first]
    probes = 0
    for _ in range(2 * workers):
        free = workers - len(ranges)
        if free <= 0:
            break
        asked = splitter.probes([(part, part is first) for part in ranges], free, thorough=thorough)
        probes += len(asked)
        free -= len(asked)
        while free > 0:
            choice = splitter.choose([(part, part is first) for part in ranges], free)
            if choice is None:
                break
            key_range, at = choice
            ranges.append(key_range.split(at))
            free -= 1
        for at in asked:
            index = bisect.bisect_right(keys, at)
            splitter.probed(at, keys[index] if index < len(keys) else None)
    held = []
    for key_range in ranges:
        low = 0 if key_range.after is None else bisect.bisect_right(keys, key_range.after)
        high = len(keys) if key_range.end is None else bisect.bisect_right(keys, key_range.end)
        held.append(high - low)
    return probes, held


def test_hash_keys_are_cut_into_equal_ranges_without_probes() -> None:
    probes, held = fan_out(uniform(3000), 8)
    assert probes == 0  # keys that fill the key space after the prefix need no looking
    assert len(held) == 8
    fair = 3000 / 8
    assert all(0.6 * fair <= count <= 1.6 * fair for count in held), held


@pytest.mark.parametrize("count", [3000, 10000, 100000])
def test_skewed_keys_are_probed_then_cut_into_fair_shares(count: int) -> None:
    # The first page (part-00000 .. part-00099) says nothing of how far the keys go: probes
    # find it (two rounds of at most 7), and each of the 8 first ranges gets a fair share.
    probes, held = fan_out(parts(count), 8)
    assert 0 < probes <= 14
    assert len(held) == 8
    fair = count / 8
    assert all(0.4 * fair <= part <= 1.6 * fair for part in held), held
    assert sum(held) == count


def test_a_stray_key_far_off_is_a_gap_not_a_stretch_full_of_keys() -> None:
    # A probe past part-03 answers "zz": no key lies between, so no range is cut there.
    _, held = fan_out(["a", *parts(3000), "zz"], 8)
    assert len(held) == 8
    assert sum(count >= 100 for count in held) >= 7, held


def test_the_splitter_stops_probing_once_it_knows() -> None:
    keys = parts(3000)
    sample = KeySample()
    splitter = Splitter("", sample)
    first = KeyRange(V2, None, None, None, sample)
    first.receive(page(*keys[:100]))
    asked = splitter.probes([(first, True)], 7)
    assert asked == sorted(asked)
    assert all(first.position is not None and at > first.position for at in asked)
    assert splitter.probes([(first, True)], 7) == []  # not while these are out
    assert splitter.choose([(first, True)], 7) is None  # nor split the range they look at
    for at in asked:
        index = bisect.bisect_right(keys, at)
        splitter.probed(at, keys[index] if index < len(keys) else None)
    assert splitter.limit is not None
    assert keys[-1] < splitter.limit
    finer = splitter.probes([(first, True)], 7)  # between the last key found and the limit
    assert finer
    for at in finer:
        index = bisect.bisect_right(keys, at)
        splitter.probed(at, keys[index] if index < len(keys) else None)
    assert splitter.probes([(first, True)], 7) == []


def test_no_new_range_is_shorter_than_two_pages() -> None:
    # 500 keys, 100 a page: the first range keeps one page in flight and at most two more
    # ranges of two pages each can be cut from what is left.
    _, held = fan_out(parts(500), 8)
    assert 2 <= len(held) <= 3
    assert all(count >= 100 for count in held), held


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.text(min_size=1, max_size=8), min_size=2, max_size=20, unique=True),
    a=st.integers(min_value=0),
    b=st.integers(min_value=0),
)
def test_numbers_map_to_strings_in_order(keys: list[str], a: int, b: int) -> None:
    sample = KeySample()
    sample.add(sorted(keys))
    scale = Splitter("", sample)._scale(sorted(keys), "")
    a, b = sorted((a % scale.top, b % scale.top))
    # The largest string not above the number: split keys built from numbers keep their order.
    assert scale.value(scale.string(a)) <= a
    assert scale.string(a) <= scale.string(b)


# --------------------------------------------------------------------------------------------
# Every key exactly once, against moto


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("layout", [uniform, skewed])
def test_every_entry_exactly_once(s3: Any, operation: str, layout: Any) -> None:
    versioned = operation == "list_object_versions"
    # moto copies every version of the bucket for each ListObjectVersions request: fewer keys.
    count = 150 if versioned else 400
    seed(s3, layout(count), versions=2 if versioned else 1, delete_every=7 if versioned else 0)
    method = getattr(s3, operation)
    expected = sequential(method, Bucket=BUCKET)
    walk = pagewalk.parallel_pages(method, Bucket=BUCKET, page_size=20, max_workers=6)
    found = entries(walk)
    assert sorted(found) == expected
    assert len(found) == len(set(found))
    assert walk.checkpoint is None
    assert len({key for key, _ in found}) >= count
    assert walk.stats.requests < 3 * len(expected) / 20  # split, not listed key by key


@pytest.mark.parametrize("operation", OPERATIONS)
def test_within_a_prefix_after_a_start_key(s3: Any, operation: str) -> None:
    seed(s3, skewed(120) + uniform(40))
    start = {
        "list_objects_v2": "StartAfter",
        "list_objects": "Marker",
        "list_object_versions": "KeyMarker",
    }[operation]
    method = getattr(s3, operation)
    params = {"Bucket": BUCKET, "Prefix": "data/2024/05/part-0", start: "data/2024/05/part-00042"}
    expected = sequential(method, **params)
    assert len(expected) == 120 - 42  # part-00042.parquet sorts after part-00042
    found = entries(pagewalk.parallel_pages(method, page_size=10, **params))
    assert sorted(found) == expected
    assert len(found) == len(set(found))


def test_non_ascii_keys_in_utf8_binary_order(s3: Any) -> None:
    seed(s3, NON_ASCII)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=3)
    found = [item["Key"] for item in walk]
    assert sorted(found) == sorted(NON_ASCII)
    assert len(found) == len(NON_ASCII)
    assert walk.stats.requests > len(NON_ASCII) / 3  # more than one range, at least one split


def test_pages_of_one_range_arrive_in_key_order(s3: Any) -> None:
    seed(s3, uniform(300))
    ranges: dict[int, list[str]] = {}
    infos: list[Any] = []
    walk = pagewalk.parallel_pages(
        s3.list_objects_v2, Bucket=BUCKET, page_size=10, on_page=infos.append
    )
    responses = list(walk)
    for info, response in zip(infos, responses, strict=True):
        ranges.setdefault(info.segment, []).extend(o["Key"] for o in response.get("Contents", []))
    assert len(ranges) > 1
    for keys in ranges.values():
        assert keys == sorted(keys)


# --------------------------------------------------------------------------------------------
# Refusals, before any request


def test_delimiter_is_refused_at_the_call(s3: Any) -> None:
    with pytest.raises(SpecError, match="Delimiter"):
        pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, Delimiter="/")


def test_total_segments_is_refused_for_a_key_space(s3: Any) -> None:
    with pytest.raises(TypeError, match="total_segments"):
        pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, total_segments=4)


def test_a_continuation_token_is_refused_as_a_start(s3: Any) -> None:
    with pytest.raises(ValueError, match="StartAfter"):
        pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, ContinuationToken="x")


def test_a_start_key_with_a_lone_surrogate_is_refused(s3: Any) -> None:
    with pytest.raises(ValueError, match="surrogate"):
        pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, StartAfter="\udc80")


# --------------------------------------------------------------------------------------------
# Limits, stops and resumes through JSON


def resume_all(
    method: Callable[..., Any], checkpoint: Checkpoint | None, **params: Any
) -> list[str]:
    found: list[str] = []
    while checkpoint is not None:
        walk = pagewalk.parallel_items(
            method, resume_from=checkpoint.to_json(), page_size=7, max_items=23, **params
        )
        found.extend(item["Key"] for item in walk)
        checkpoint = walk.checkpoint
    return found


def test_max_items_is_exact_across_ranges_and_resumes(s3: Any) -> None:
    keys = uniform(200)
    seed(s3, keys)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=7, max_items=51)
    first = [item["Key"] for item in walk]
    assert len(first) == 51
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert checkpoint.items == 51
    assert all(position.key_range is not None for position in checkpoint.segments)
    rest = resume_all(s3.list_objects_v2, checkpoint, Bucket=BUCKET)
    assert sorted(first + rest) == sorted(keys)
    assert len(first + rest) == len(keys)


def test_max_pages_is_exact_across_ranges(s3: Any) -> None:
    seed(s3, uniform(200))
    walk = pagewalk.parallel_pages(s3.list_objects_v2, Bucket=BUCKET, page_size=7, max_pages=9)
    assert len(list(walk)) == 9


def test_break_then_resume_from_json(s3: Any) -> None:
    keys = skewed(200)
    seed(s3, keys)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=7)
    first: list[str] = []
    for item in walk:
        first.append(item["Key"])
        if len(first) == 60:
            break
    checkpoint = walk.checkpoint
    walk.close()
    rest = resume_all(s3.list_objects_v2, checkpoint, Bucket=BUCKET)
    assert sorted(first + rest) == sorted(keys)
    assert len(first + rest) == len(keys)


def test_a_failing_range_stops_the_listing_and_the_checkpoint_resumes_it(s3: Any) -> None:
    keys = uniform(300)
    seed(s3, keys)
    failed: list[str] = []

    def deny(request: Any, **_: Any) -> AWSResponse | None:
        # One range (the one that starts after a split key) fails for good, once.
        if "start-after=" in request.url and not failed:
            failed.append(request.url)
            body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
            return AWSResponse(request.url, 403, {}, _Raw(body))
        return None

    s3.meta.events.register_first("before-send.s3.ListObjectsV2", deny)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=10)
    first: list[str] = []
    with pytest.raises(ClientError, match="AccessDenied"):
        first.extend(item["Key"] for item in walk)
    assert failed
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    rest = resume_all(s3.list_objects_v2, checkpoint, Bucket=BUCKET)
    assert sorted(first + rest) == sorted(keys)
    assert len(first + rest) == len(keys)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Probes:
    """Counts a client's ListObjectsV2 requests, and of them probes (``MaxKeys=1``)."""

    def __init__(self, client: Any) -> None:
        self.requests = 0
        self.probes = 0
        client.meta.events.register("before-send.s3.ListObjectsV2", self)

    def __call__(self, request: Any, **_: Any) -> None:
        self.requests += 1
        self.probes += "max-keys=1" in request.url.partition("?")[2].split("&")


def test_a_skewed_listing_probes_where_its_keys_go_a_hash_listing_does_not(s3: Any) -> None:
    seed(s3, parts(1000))
    s3.create_bucket(Bucket="hashes")
    backend = _backend()
    for key in uniform(1000):
        backend.put_object("hashes", key, b"x")
    for bucket, keys, probed in ((BUCKET, parts(1000), True), ("hashes", uniform(1000), False)):
        counter = Probes(s3)
        walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=bucket, page_size=50)
        found = [item["Key"] for item in walk]
        s3.meta.events.unregister("before-send.s3.ListObjectsV2", counter)
        assert sorted(found) == sorted(keys)
        assert len(found) == len(keys)
        assert (counter.probes > 0) is probed
        assert walk.stats.requests == counter.requests  # probes are counted as requests
        assert walk.stats.pages == counter.requests - counter.probes  # but are no pages


def test_a_failing_probe_leaves_the_listing_whole(s3: Any) -> None:
    keys = parts(600)
    seed(s3, keys)
    failed: list[str] = []

    def deny(request: Any, **_: Any) -> AWSResponse | None:
        if "max-keys=1" in request.url.partition("?")[2].split("&"):
            failed.append(request.url)
            body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
            return AWSResponse(request.url, 403, {}, _Raw(body))
        return None

    s3.meta.events.register_first("before-send.s3.ListObjectsV2", deny)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=20)
    found = [item["Key"] for item in walk]
    assert failed  # probes were sent, and failed
    assert sorted(found) == sorted(keys)
    assert len(found) == len(keys)
    assert walk.checkpoint is None


def test_a_short_listing_sends_no_probes(s3: Any) -> None:
    seed(s3, parts(600))
    counter = Probes(s3)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=20, max_items=50)
    assert len(list(walk)) == 50
    assert counter.probes == 0


def test_a_checkpoint_is_refused_by_another_listing(s3: Any) -> None:
    seed(s3, uniform(50))
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=5, max_items=7)
    list(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    with pytest.raises(SpecError):
        pagewalk.parallel_items(
            s3.list_objects_v2, Bucket=BUCKET, Prefix="x", resume_from=checkpoint
        )
    with pytest.raises(SpecError):
        pagewalk.parallel_items(
            s3.list_objects_v2, Bucket=BUCKET, StartAfter="a", resume_from=checkpoint
        )
    with pytest.raises(SpecError):
        pagewalk.items(s3.list_objects_v2, Bucket=BUCKET, resume_from=checkpoint)


@pytest.mark.parametrize(
    "key_range",
    [
        ["a"],
        ["b", "a"],
        ["a", "a"],
        [1, None],
        ["\ud800", None],
        ["", None],
        "ab",
        ["x" * 1025, None],
    ],
)
def test_a_damaged_key_range_is_a_spec_error(key_range: Any) -> None:
    data = {
        "format": "pagewalk.checkpoint/1",
        "operation": "s3.ListObjectsV2",
        "params_digest": "0" * 32,
        "total_segments": 1,
        "segments": [
            {
                "format": "pagewalk.checkpoint/1",
                "operation": "s3.ListObjectsV2",
                "params_digest": "0" * 32,
                "segment": 0,
                "key_range": key_range,
            }
        ],
    }
    with pytest.raises(SpecError):
        Checkpoint.from_json(json.dumps(data))


def test_overlapping_ranges_in_a_checkpoint_are_refused(s3: Any) -> None:
    seed(s3, uniform(60))
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=5, max_items=30)
    list(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert len(checkpoint.segments) > 1
    data = json.loads(checkpoint.to_json())
    data["segments"][0]["key_range"] = [None, None]
    with pytest.raises(SpecError):
        pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, resume_from=json.dumps(data))


# --------------------------------------------------------------------------------------------
# The property: any keys, workers and stop points; resume until done


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    keys=st.lists(
        st.text(
            st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=6
        ),
        min_size=0,
        max_size=60,
        unique=True,
    ),
    workers=st.integers(min_value=1, max_value=6),
    page_size=st.integers(min_value=1, max_value=9),
    stops=st.lists(
        st.one_of(
            st.tuples(st.just("break"), st.integers(0, 30)),
            st.tuples(st.just("max"), st.integers(0, 30)),
        ),
        max_size=3,
    ),
)
def test_any_keys_any_stops_every_key_once(
    moto_server: MotoServer,
    keys: list[str],
    workers: int,
    page_size: int,
    stops: list[tuple[str, int]],
) -> None:
    keys = [key for key in keys if key.strip() and len(key.encode()) <= 1024]
    moto_server.reset()
    s3 = moto_server.client("s3")
    seed(s3, keys)
    found: list[str] = []
    checkpoint: Checkpoint | None = None
    started = False
    for kind, count in [*stops, ("end", 0)]:
        if started and checkpoint is None:
            break
        options: dict[str, Any] = {"max_items": count} if kind == "max" else {}
        walk = pagewalk.parallel_items(
            s3.list_objects_v2,
            Bucket=BUCKET,
            page_size=page_size,
            max_workers=workers,
            resume_from=None if checkpoint is None else checkpoint.to_json(),
            **options,
        )
        started = True
        taken = itertools.islice(walk, count) if kind == "break" else walk
        found.extend(item["Key"] for item in taken)
        checkpoint = walk.checkpoint
        walk.close()
    assert checkpoint is None
    assert sorted(found) == sorted(keys)
    assert len(found) == len(keys)


# --------------------------------------------------------------------------------------------
# Shards of a key space


class Requests:
    """Counts a client's ListObjectsV2 requests."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        client.meta.events.register("before-send.s3.ListObjectsV2", self)

    def __call__(self, **_: Any) -> None:
        self.count += 1


@pytest.mark.parametrize("layout", [uniform, skewed])
def test_shards_cover_the_key_space_once_with_at_most_2n_requests(s3: Any, layout: Any) -> None:
    keys = layout(1500)
    seed(s3, keys)
    requests = Requests(s3)
    shards = pagewalk.shards(s3.list_objects_v2, Bucket=BUCKET, total_segments=8)
    assert len(shards) == 8
    assert requests.count <= 16
    found: list[str] = []
    holding = 0
    for shard in shards:
        copy = pagewalk.Shard.from_json(shard.to_json())
        assert copy == shard
        part = [item["Key"] for item in copy.items(s3, page_size=100)]
        holding += bool(part)
        found.extend(part)
    assert sorted(found) == sorted(keys)
    assert len(found) == len(keys)
    assert holding >= 6  # balanced enough: most shards hold keys, skewed or not


def test_a_shard_resumes_from_its_checkpoint_within_its_range(s3: Any) -> None:
    keys = uniform(300)
    seed(s3, keys)
    found: list[str] = []
    pending = [
        s.to_json() for s in pagewalk.shards(s3.list_objects, Bucket=BUCKET, total_segments=4)
    ]
    while pending:
        shard = pagewalk.Shard.from_json(pending.pop())
        walk = shard.items(s3, page_size=10, max_pages=2)
        found.extend(item["Key"] for item in walk)
        rest = shard.at(walk.checkpoint)
        if rest is not None:
            pending.append(rest.to_json())
    assert sorted(found) == sorted(keys)
    assert len(found) == len(keys)


def test_shards_of_a_parallel_listing_checkpoint_finish_it(s3: Any) -> None:
    keys = skewed(200)
    seed(s3, keys)
    walk = pagewalk.parallel_items(s3.list_objects_v2, Bucket=BUCKET, page_size=9, max_items=40)
    found = [item["Key"] for item in walk]
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    shards = pagewalk.shards(
        s3.list_objects_v2, Bucket=BUCKET, total_segments=1, resume_from=checkpoint.to_json()
    )
    assert len(shards) == len(checkpoint.segments)
    for shard in shards:
        found.extend(item["Key"] for item in shard.items(s3))
    assert sorted(found) == sorted(keys)
    assert len(found) == len(keys)


@pytest.mark.parametrize(
    "change",
    [
        {"key_range": ["b", "a"]},
        {"key_range": ["\ud800", None]},
        {"key_range": "x"},
        {"params": {"Bucket": BUCKET, "StartAfter": "q"}},
    ],
)
def test_a_damaged_range_shard_is_a_spec_error(s3: Any, change: dict[str, Any]) -> None:
    seed(s3, uniform(30))
    shard = pagewalk.shards(s3.list_objects_v2, Bucket=BUCKET, total_segments=2)[1]
    data = {**shard.to_dict(), **change}
    with pytest.raises(SpecError):
        pagewalk.Shard.from_json(json.dumps(data)).items(s3)


@pytest.mark.parametrize("layout", [uniform, parts])
def test_shards_are_balanced_on_uniform_and_skewed_keys(s3: Any, layout: Any) -> None:
    keys = layout(3000)
    seed(s3, keys)
    requests = Requests(s3)
    shards = pagewalk.shards(s3.list_objects_v2, Bucket=BUCKET, total_segments=8)
    assert requests.count <= 16
    held = [len(list(shard.items(s3, page_size=1000))) for shard in shards]
    assert sum(held) == len(keys)
    fair = len(keys) / 8
    assert all(0.4 * fair <= count <= 1.6 * fair for count in held), held
