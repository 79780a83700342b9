"""``fast_parsing(client)``: the same output as botocore's own parsing, for less CPU.

Equality is checked on real moto responses of every protocol: each response is received once by
a client with botocore's parsing, then replayed byte for byte (a ``before-send`` handler) to a
client with fast parsing, and the two results must be identical: the same keys in the same order,
the same types and values, datetimes with the same tzinfo class, UTC offset and fold. Spies on
the fast timestamp parser and on botocore's structure reader show the fast paths really ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
import os
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore import parsers
from botocore.awsrequest import AWSResponse
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import pagewalk
from pagewalk import _fastparse
from pagewalk._cli import main

from .conftest import MotoServer
from .seed import dynamodb_table, log_stream

Aws = Callable[..., Any]


# --------------------------------------------------------------------------------------------
# Helpers


def assert_identical(expected: Any, actual: Any, path: str = "response") -> None:
    """``actual`` is ``expected``: same types, key order, values; datetimes alike in every way."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_identical(expected[key], actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{path}: {len(actual)} != {len(expected)} items"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_identical(want, got, f"{path}[{index}]")
    elif isinstance(expected, datetime.datetime):
        assert same_datetime(expected, actual), f"{path}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def same_datetime(expected: datetime.datetime, actual: datetime.datetime) -> bool:
    return actual.tzinfo == expected.tzinfo and describe(actual) == describe(expected)


def describe(value: datetime.datetime) -> tuple[Any, ...]:
    """Everything about a datetime: wall time, fold, tzinfo class, UTC offset, zone name.

    The offset and name are whatever the tzinfo gives, errors included (dateutil builds a
    ``+24:00`` offset that only fails when asked for).
    """
    return (
        value.replace(tzinfo=None),
        value.fold,
        type(value.tzinfo),
        outcome(lambda _: value.utcoffset(), None),
        outcome(lambda _: value.tzname(), None),
    )


def datetimes_in(value: Any) -> int:
    if isinstance(value, dict):
        return sum(datetimes_in(item) for item in value.values())
    if isinstance(value, list):
        return sum(datetimes_in(item) for item in value)
    return int(isinstance(value, datetime.datetime))


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    async def read(self) -> bytes:  # how aiobotocore's responses read their body
        return self._data


class Replay:
    """Records every response ``reference`` receives; ``replica`` receives the same bytes."""

    def __init__(self, reference: Any, replica: Any, response: type[Any] = AWSResponse) -> None:
        self.reference = reference
        self.replica = replica
        self._response = response
        self._recorded: list[dict[str, Any]] = []
        reference.meta.events.register("before-parse", self._record)
        replica.meta.events.register("before-send", self._replay)

    def _record(self, response_dict: dict[str, Any], **_: Any) -> None:
        self._recorded.append(response_dict)

    def _replay(self, request: Any, **_: Any) -> AWSResponse:
        recorded = self._recorded.pop(0)
        headers = dict(recorded["headers"])
        return self._response(
            request.url, recorded["status_code"], headers, _Body(recorded["body"])
        )

    def both(self, operation: str, **params: Any) -> Any:
        """Call ``operation`` on both clients; assert the results are identical; return it."""
        self._recorded.clear()  # what the reference client received before
        expected = getattr(self.reference, operation)(**params)
        actual = getattr(self.replica, operation)(**params)
        assert_identical(expected, actual)
        assert not self._recorded
        return actual


class Spy:
    """Counts calls of the fast timestamp parser and of botocore's parser behind it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fast = 0
        self.fallbacks: list[Any] = []
        fast, fallback = _fastparse.parse_timestamp, _fastparse.botocore_parse_timestamp

        def counting_fast(value: Any) -> datetime.datetime:
            self.fast += 1
            return fast(value)

        def counting_fallback(value: Any) -> datetime.datetime:
            self.fallbacks.append(value)
            return fallback(value)

        monkeypatch.setattr(_fastparse, "parse_timestamp", counting_fast)
        monkeypatch.setattr(_fastparse, "botocore_parse_timestamp", counting_fallback)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


@pytest.fixture
def replay(aws: Aws) -> Callable[[str], Replay]:
    def make(service: str) -> Replay:
        return Replay(aws(service), pagewalk.fast_parsing(aws(service)))

    return make


@contextlib.contextmanager
def time_zone(name: str) -> Iterator[None]:
    """Run with the process's local time zone set to ``name`` (the ``TZ`` variable)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC-3"]

needs_tzset = pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX only")


# --------------------------------------------------------------------------------------------
# rest-xml: S3


KEYS = [
    "plain/key.txt",
    "ключ/日本語 é.txt",
    "xml/a&b <c> \"d\" 'e'.txt",
    "xml/&amp;&lt;already-escaped&gt;",
    "space and+plus%percent",
    "deep/nested/dir/z",
    "emoji/🙂",
]


def seed_bucket(s3: Any, bucket: str, keys: list[str], versioned: bool = False) -> None:
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")


def test_s3_list_objects_v2_with_non_ascii_and_xml_escaped_keys_and_owners(
    replay: Callable[[str], Replay], spy: Spy
) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "keys", KEYS)

    page = s3.both("list_objects_v2", Bucket="keys", FetchOwner=True)

    assert sorted(item["Key"] for item in page["Contents"]) == sorted(KEYS)
    assert all("Owner" in item for item in page["Contents"])
    assert spy.fast == datetimes_in(page) == len(KEYS)
    assert spy.fallbacks == []


def test_s3_pages_with_tokens_common_prefixes_and_delimiters(
    replay: Callable[[str], Replay],
) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "tree", KEYS)

    first = s3.both("list_objects_v2", Bucket="tree", MaxKeys=2)
    s3.both(
        "list_objects_v2",
        Bucket="tree",
        MaxKeys=2,
        ContinuationToken=first["NextContinuationToken"],
    )
    by_prefix = s3.both("list_objects_v2", Bucket="tree", Delimiter="/")
    one_prefix = s3.both("list_objects_v2", Bucket="tree", Delimiter="/", Prefix="deep/")
    single = s3.both("list_objects_v2", Bucket="tree", Prefix="plain/")

    assert first["IsTruncated"] is True
    assert len(by_prefix["CommonPrefixes"]) == 5
    assert one_prefix["CommonPrefixes"] == [{"Prefix": "deep/nested/"}]  # one element: no list
    assert len(single["Contents"]) == 1


def test_s3_listings_with_url_encoding(replay: Callable[[str], Replay]) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "encoded", KEYS, versioned=True)

    page = s3.both("list_objects_v2", Bucket="encoded", EncodingType="url", Delimiter="/")
    s3.both("list_object_versions", Bucket="encoded", EncodingType="url")
    s3.both("list_objects", Bucket="encoded", EncodingType="url")

    assert page["EncodingType"] == "url"


def test_s3_object_versions_with_delete_markers(replay: Callable[[str], Replay], spy: Spy) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "versions", KEYS, versioned=True)
    s3.reference.put_object(Bucket="versions", Key=KEYS[2], Body=b"second")
    s3.reference.delete_object(Bucket="versions", Key=KEYS[2])
    s3.reference.delete_object(Bucket="versions", Key=KEYS[1])

    page = s3.both("list_object_versions", Bucket="versions")
    first = s3.both("list_object_versions", Bucket="versions", MaxKeys=3)
    s3.both(
        "list_object_versions",
        Bucket="versions",
        KeyMarker=first["NextKeyMarker"],
        VersionIdMarker=first["NextVersionIdMarker"],
    )
    s3.both("list_object_versions", Bucket="versions", Delimiter="/")

    assert len(page["Versions"]) == len(KEYS) + 1
    assert len(page["DeleteMarkers"]) == 2
    assert spy.fallbacks == []


def test_s3_list_objects_v1_and_empty_listings(replay: Callable[[str], Replay]) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "full", KEYS)
    s3.reference.create_bucket(Bucket="empty")

    s3.both("list_objects", Bucket="full", Marker="m", MaxKeys=3)
    s3.both("list_objects", Bucket="full", Delimiter="/")
    empty = s3.both("list_objects_v2", Bucket="empty")
    s3.both("list_object_versions", Bucket="empty")
    s3.both("list_objects", Bucket="empty")

    assert "Contents" not in empty


def test_s3_headers_buckets_and_other_operations(replay: Callable[[str], Replay], spy: Spy) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "misc", KEYS[:2])

    head = s3.both("head_object", Bucket="misc", Key=KEYS[0])
    s3.both("list_buckets")
    s3.both("get_bucket_acl", Bucket="misc")
    s3.both("get_object_attributes", Bucket="misc", Key=KEYS[1], ObjectAttributes=["ETag"])

    assert isinstance(head["LastModified"], datetime.datetime)  # from an RFC 822 header
    assert spy.fallbacks == []


# Canned pages with what moto does not send: url-encoded keys, restore status, every owner
# field, an empty element and a single CommonPrefix.
CANNED_LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>canned</Name><Prefix></Prefix><Delimiter>/</Delimiter><MaxKeys>1000</MaxKeys>"
    b"<EncodingType>url</EncodingType><KeyCount>3</KeyCount><IsTruncated>false</IsTruncated>"
    b"<Contents><Key>a%26b%20%3Cc%3E%20%D0%BA</Key>"
    b"<LastModified>2024-05-01T12:00:00.000Z</LastModified>"
    b"<ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag>"
    b"<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm>"
    b"<ChecksumType>FULL_OBJECT</ChecksumType>"
    b"<Size>0</Size><StorageClass>GLACIER</StorageClass>"
    b"<Owner><DisplayName>me &amp; you</DisplayName><ID>abc</ID></Owner>"
    b"<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
    b"<RestoreExpiryDate>2024-06-01T00:00:00.123456789+02:00</RestoreExpiryDate></RestoreStatus>"
    b"</Contents>"
    b"<Contents><Key>plain</Key><LastModified>2009-10-12T17:50:30Z</LastModified>"
    b"<ETag></ETag><Size>12345678901234</Size><StorageClass>STANDARD</StorageClass></Contents>"
    b"<CommonPrefixes><Prefix>dir%2F</Prefix></CommonPrefixes>"
    b"<UnknownElement>ignored</UnknownElement>"
    b"</ListBucketResult>"
)


def canned_client(body: bytes, headers: dict[str, str] | None = None) -> Any:
    client = boto3.session.Session().client(
        "s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        all_headers = {"content-type": "application/xml", "x-amz-request-id": "R"}
        return AWSResponse(request.url, 200, {**all_headers, **(headers or {})}, _Body(body))

    client.meta.events.register("before-send", answer)
    return client


def test_s3_canned_listing_with_every_member_kind() -> None:
    # Without EncodingType from the caller, botocore asks for url encoding and decodes the keys.
    expected = canned_client(CANNED_LISTING).list_objects_v2(Bucket="canned")
    actual = pagewalk.fast_parsing(canned_client(CANNED_LISTING)).list_objects_v2(Bucket="canned")
    expected_raw = canned_client(CANNED_LISTING).list_objects_v2(Bucket="c", EncodingType="url")
    raw = pagewalk.fast_parsing(canned_client(CANNED_LISTING)).list_objects_v2(
        Bucket="c", EncodingType="url"
    )

    assert_identical(expected, actual)
    assert_identical(expected_raw, raw)
    assert actual["Contents"][0]["Key"] == "a&b <c> к"
    assert raw["Contents"][0]["Key"] == "a%26b%20%3Cc%3E%20%D0%BA"
    assert actual["Contents"][0]["RestoreStatus"]["RestoreExpiryDate"].utcoffset() == (
        datetime.timedelta(hours=2)
    )


def test_s3_listing_structures_are_not_read_by_botocore(
    replay: Callable[[str], Replay], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = replay("s3")
    seed_bucket(s3.reference, "tables", KEYS)
    calls: list[str] = []
    botocore_method = parsers.BaseXMLResponseParser._handle_structure  # type: ignore[attr-defined]

    def counting(self: Any, shape: Any, node: Any) -> Any:
        calls.append(shape.name)
        return botocore_method(self, shape, node)

    monkeypatch.setattr(parsers.BaseXMLResponseParser, "_handle_structure", counting)
    s3.reference.list_objects_v2(Bucket="tables", FetchOwner=True)
    by_botocore = len(calls)
    calls.clear()
    s3.replica.list_objects_v2(Bucket="tables", FetchOwner=True)

    assert by_botocore == 1 + 2 * len(KEYS)  # the page, each object and its owner
    assert calls == []


def test_a_parser_class_with_its_own_xml_reading_is_not_sped_up() -> None:
    class OwnStrings(parsers.RestXMLParser):
        def _handle_string(self, shape: Any, text: Any) -> Any:
            return text

    assert _fastparse._listing_class(parsers.RestXMLParser) is not None
    assert _fastparse._listing_class(OwnStrings) is None


# --------------------------------------------------------------------------------------------
# query (IAM), ec2, json (DynamoDB, CloudWatch Logs), rest-json (EFS, EKS, Lambda)


def test_query_protocol_iam(replay: Callable[[str], Replay], spy: Spy) -> None:
    iam = replay("iam")
    for name in ("alpha", "beta"):
        iam.reference.create_role(RoleName=name, AssumeRolePolicyDocument="{}", Path="/x/")
        iam.reference.create_user(UserName=name)

    roles = iam.both("list_roles")
    iam.both("list_roles", MaxItems=1)
    iam.both("get_role", RoleName="alpha")
    iam.both("list_users")

    assert len(roles["Roles"]) == 2
    assert spy.fast > 0
    assert spy.fallbacks == []


def test_ec2_protocol(replay: Callable[[str], Replay], spy: Spy) -> None:
    ec2 = replay("ec2")
    ec2.reference.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2)
    ec2.reference.create_volume(AvailabilityZone="us-east-1a", Size=1)

    ec2.both("describe_instances")
    ec2.both("describe_volumes")
    ec2.both("describe_vpcs")
    ec2.both("describe_images", Owners=["amazon"], MaxResults=5)

    assert spy.fast > 0
    assert spy.fallbacks == []


def test_json_protocol_dynamodb(replay: Callable[[str], Replay], spy: Spy) -> None:
    dynamodb = replay("dynamodb")
    dynamodb_table(dynamodb.reference, "orders", 30)
    dynamodb.reference.put_item(
        TableName="orders",
        Item={
            "pk": {"S": "é&<"},
            "sk": {"N": "-1.5"},
            "blob": {"B": b"\x00\xff"},
            "set": {"SS": ["a", "b"]},
            "nested": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}},
        },
    )

    dynamodb.both("scan", TableName="orders")
    dynamodb.both("scan", TableName="orders", Limit=7)
    table = dynamodb.both("describe_table", TableName="orders")
    dynamodb.both("list_tables")

    assert isinstance(table["Table"]["CreationDateTime"], datetime.datetime)  # epoch seconds
    assert spy.fast > 0
    assert spy.fallbacks == []


def test_json_protocol_cloudwatch_logs(replay: Callable[[str], Replay]) -> None:
    logs = replay("logs")
    log_stream(logs.reference, "/app", "main", 25)

    logs.both("describe_log_groups")
    logs.both("describe_log_streams", logGroupName="/app")
    logs.both("filter_log_events", logGroupName="/app", limit=10)
    logs.both("get_log_events", logGroupName="/app", logStreamName="main")


def test_rest_json_protocol(aws: Aws, replay: Callable[[str], Replay], spy: Spy) -> None:
    efs = replay("efs")
    efs.reference.create_file_system(CreationToken="one", Tags=[{"Key": "k", "Value": "é"}])
    eks = replay("eks")
    eks.reference.create_cluster(
        name="cluster",
        roleArn="arn:aws:iam::123456789012:role/r",
        resourcesVpcConfig={},
    )
    role = aws("iam").create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("f.py", "def handler(event, context): pass")
    lambda_ = replay("lambda")
    lambda_.reference.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="f.handler",
        Code={"ZipFile": archive.getvalue()},
    )

    systems = efs.both("describe_file_systems")
    cluster = eks.both("describe_cluster", name="cluster")
    lambda_.both("list_functions")
    lambda_.both("get_function", FunctionName="f")

    assert isinstance(systems["FileSystems"][0]["CreationTime"], datetime.datetime)
    assert isinstance(cluster["cluster"]["createdAt"], datetime.datetime)
    assert spy.fast > 0
    assert spy.fallbacks == []


def test_error_responses_are_parsed_alike(replay: Callable[[str], Replay]) -> None:
    s3 = replay("s3")
    dynamodb = replay("dynamodb")

    def error_of(client: Any, operation: str, **params: Any) -> Any:
        with pytest.raises(client.exceptions.ClientError) as raised:
            getattr(client, operation)(**params)
        return raised.value.response

    assert_identical(
        error_of(s3.reference, "list_objects_v2", Bucket="missing"),
        error_of(s3.replica, "list_objects_v2", Bucket="missing"),
    )
    assert_identical(
        error_of(dynamodb.reference, "scan", TableName="missing"),
        error_of(dynamodb.replica, "scan", TableName="missing"),
    )


# --------------------------------------------------------------------------------------------
# Timestamps: every format the fast path reads or refuses, against botocore, in several zones


def outcome(call: Callable[[Any], Any], value: Any) -> Any:
    """What ``call(value)`` returns, or the type and message of what it raises."""
    try:
        return call(value)
    except Exception as exc:  # botocore's own error, whichever it is
        return (type(exc), str(exc))


def assert_same_outcome(value: Any) -> None:
    expected = outcome(botocore_parse_timestamp, value)
    actual = outcome(_fastparse.parse_timestamp, value)
    if isinstance(expected, datetime.datetime):
        assert isinstance(actual, datetime.datetime), (value, actual)
        assert same_datetime(expected, actual), (value, expected, actual)
    else:
        assert actual == expected, value


two = st.integers(0, 99).map("{:02d}".format)
iso_8601 = st.builds(
    "{}-{}-{}{}{}:{}:{}{}{}".format,
    st.integers(0, 9999).map("{:04d}".format),
    st.integers(1, 12).map("{:02d}".format) | two,
    st.integers(1, 28).map("{:02d}".format) | st.integers(28, 31).map(str) | two,
    st.sampled_from(["T", "T", "T", "T", "t", " "]),
    st.integers(0, 23).map("{:02d}".format) | two,
    st.integers(0, 59).map("{:02d}".format) | two,
    st.integers(0, 59).map("{:02d}".format) | two,
    st.one_of(
        st.just(""), st.just("."), st.text("0123456789", min_size=1, max_size=12).map(".{}".format)
    ),
    st.one_of(
        st.sampled_from(["Z", "Z", "z", "", "+00:00", "-00:00", "+0000", "UTC", " GMT", "+02"]),
        st.builds(
            "{}{}{}{}".format,
            st.sampled_from("+-"),
            st.one_of(st.integers(0, 14).map("{:02d}".format), two),
            st.sampled_from([":", ":", ""]),
            st.one_of(st.sampled_from(["00", "30", "45"]), two),
        ),
    ),
)
rfc_822 = st.builds(
    "{}, {} {} {} {}:{}:{} {}".format,
    st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "Xyz"]),
    st.one_of(st.integers(1, 31).map("{:02d}".format), st.integers(0, 40).map(str)),
    st.sampled_from(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "may"]
    ),
    st.integers(1, 9999).map("{:04d}".format),
    st.one_of(st.integers(0, 23).map("{:02d}".format), two),
    st.one_of(st.integers(0, 59).map("{:02d}".format), two),
    st.one_of(st.integers(0, 59).map("{:02d}".format), two),
    st.sampled_from(["GMT", "GMT", "UTC", "+0000", "-0500", "EST", "gmt"]),
)
epoch = st.one_of(
    st.integers(-(10**11), 10**11),
    st.floats(-1e11, 1e11),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.integers(0, 2**31).map(str),
    st.booleans(),
)
timestamps = st.one_of(iso_8601, rfc_822, epoch, st.text(max_size=30))


@needs_tzset
@pytest.mark.filterwarnings("ignore::dateutil.parser.UnknownTimezoneWarning")
@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=300, deadline=None)
@given(value=timestamps)
@example(value="2024-05-01T12:00:00.000Z")
@example(value="2024-05-01T12:00:00.1234567Z")
@example(value="2024-05-01T12:00:00+05:30")
@example(value="2024-05-01T12:00:00-0000")
@example(value="2024-02-30T12:00:00Z")
@example(value="2024-05-01T24:00:00Z")
@example(value="0001-01-01T00:00:00Z")
@example(value="2024-05-01T12:00:00+24:00")
@example(value="Wed, 01 May 2024 12:00:00 GMT")
@example(value="Mon, 31 Feb 2024 12:00:00 GMT")
@example(value=1714564800)
@example(value=1714564800.25)
@example(value=float("nan"))
@example(value=10**20)
@example(value="٢٠٢٤-05-01T12:00:00Z")
@example(value="")
def test_timestamps_are_parsed_as_botocore_does(zone: str, value: Any) -> None:
    with time_zone(zone):
        assert_same_outcome(value)


wire_datetimes = st.datetimes(
    min_value=datetime.datetime(100, 1, 1), max_value=datetime.datetime(9999, 12, 30)
)


def iso_text(moment: datetime.datetime, digits: int, zone: str) -> str:
    fraction = (
        f".{moment.microsecond:06d}{'7' * max(digits - 6, 0)}"[: digits + 1] if digits else ""
    )
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}{fraction}{zone}"


wire_timestamps = st.one_of(
    st.builds(
        iso_text,
        wire_datetimes,
        st.integers(0, 9),
        st.one_of(
            st.sampled_from(["Z", "+00:00", "-0000"]),
            st.builds(
                "{}{:02d}{}{:02d}".format,
                st.sampled_from("+-"),
                st.integers(0, 23),
                st.sampled_from([":", ""]),
                st.integers(0, 59),
            ),
        ),
    ),
    wire_datetimes.map(
        lambda moment: f"{moment:%a, %d %b} {moment.year:04d} {moment:%H:%M:%S} GMT"
    ),
    st.integers(-(10**10), 10**10),
    st.floats(-1e10, 1e10),
)


@needs_tzset
@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=200, deadline=None)
@given(value=wire_timestamps)
@example(value="2024-05-01T12:00:00.000Z")
@example(value="Wed, 01 May 2024 12:00:00 GMT")
@example(value=1714564800.125)
def test_the_wire_formats_aws_sends_take_the_fast_path(zone: str, value: Any) -> None:
    fallbacks: list[Any] = []
    with (
        time_zone(zone),
        mock.patch.object(_fastparse, "botocore_parse_timestamp", fallbacks.append),
    ):
        actual = _fastparse.parse_timestamp(value)
        expected = botocore_parse_timestamp(value)

    assert fallbacks == []
    assert same_datetime(expected, actual), (value, expected, actual)


def test_a_format_the_fast_path_does_not_read_goes_to_botocore(spy: Spy) -> None:
    parsed = _fastparse.parse_timestamp("2024-05-01 12:00:00")

    assert parsed == datetime.datetime(2024, 5, 1, 12)
    assert spy.fallbacks == ["2024-05-01 12:00:00"]


# --------------------------------------------------------------------------------------------
# Scope: one client, reversible, guarded


def test_another_client_of_the_same_session_keeps_botocores_parsing(spy: Spy) -> None:
    session = boto3.session.Session()
    fast = pagewalk.fast_parsing(canned_client_of(session))
    other = canned_client_of(session)

    other.list_objects_v2(Bucket="canned")
    assert spy.fast == 0
    fast.list_objects_v2(Bucket="canned")
    assert spy.fast == 3


def canned_client_of(session: Any) -> Any:
    client = session.client(
        "s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        headers = {"content-type": "application/xml", "x-amz-request-id": "R"}
        return AWSResponse(request.url, 200, headers, _Body(CANNED_LISTING))

    client.meta.events.register("before-send", answer)
    return client


def test_false_restores_botocores_parsing_and_true_twice_changes_nothing(spy: Spy) -> None:
    client = canned_client(CANNED_LISTING)
    factory = client._endpoint._response_parser_factory

    assert pagewalk.fast_parsing(client) is client
    fast_factory = client._endpoint._response_parser_factory
    pagewalk.fast_parsing(client)
    assert client._endpoint._response_parser_factory is fast_factory
    client.list_objects_v2(Bucket="canned")
    assert spy.fast == 3

    assert pagewalk.fast_parsing(client, False) is client
    assert client._endpoint._response_parser_factory is factory
    client.list_objects_v2(Bucket="canned")
    assert spy.fast == 3
    pagewalk.fast_parsing(client, enabled=False)  # already off: nothing to do
    assert client._endpoint._response_parser_factory is factory


def test_a_botocore_without_the_factory_attribute_keeps_its_parsing_with_a_warning(
    spy: Spy,
) -> None:
    client = canned_client(CANNED_LISTING)
    endpoint = client._endpoint
    factory = endpoint.__dict__.pop("_response_parser_factory")

    class RenamedFactoryEndpoint(type(endpoint)):  # type: ignore[misc]
        """The endpoint of a botocore that keeps its parser factory under another name."""

        @property
        def _response_parser_factory(self) -> Any:
            return self.parser_factory

    endpoint.__class__ = RenamedFactoryEndpoint
    endpoint.parser_factory = factory

    with pytest.warns(RuntimeWarning, match="keeps botocore's parsing"):
        assert pagewalk.fast_parsing(client) is client
    actual = client.list_objects_v2(Bucket="canned")

    assert endpoint.parser_factory is factory
    assert_identical(canned_client(CANNED_LISTING).list_objects_v2(Bucket="canned"), actual)
    assert spy.fast == 0


def test_a_botocore_whose_factory_keeps_its_defaults_elsewhere_keeps_its_parsing(
    monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    def create_parser(self: Any, protocol_name: str) -> Any:
        return parsers.PROTOCOL_PARSERS[protocol_name](**self.defaults_of_the_future)

    client = canned_client(CANNED_LISTING)
    factory = client._endpoint._response_parser_factory
    monkeypatch.setattr(parsers.ResponseParserFactory, "create_parser", create_parser)
    factory.defaults_of_the_future = factory.__dict__.pop("_defaults")

    with pytest.warns(RuntimeWarning, match="_defaults"):
        pagewalk.fast_parsing(client)
    client.list_objects_v2(Bucket="canned")

    assert client._endpoint._response_parser_factory is factory
    assert spy.fast == 0


def test_a_parser_factory_that_is_not_botocores_is_left_alone(spy: Spy) -> None:
    class OwnFactory(parsers.ResponseParserFactory):
        pass

    client = canned_client(CANNED_LISTING)
    client._endpoint._response_parser_factory = OwnFactory()

    with pytest.warns(RuntimeWarning, match="OwnFactory"):
        pagewalk.fast_parsing(client)
    client.list_objects_v2(Bucket="canned")

    assert type(client._endpoint._response_parser_factory) is OwnFactory
    assert spy.fast == 0


def test_a_timestamp_parser_set_on_the_session_is_kept(spy: Spy) -> None:
    session = boto3.session.Session()
    session._session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=str
    )
    client = pagewalk.fast_parsing(canned_client_of(session))

    page = client.list_objects_v2(Bucket="canned")

    assert page["Contents"][0]["LastModified"] == "2024-05-01T12:00:00.000Z"
    assert spy.fast == 0


def test_fast_parsing_of_something_else_than_a_client_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not function"):
        pagewalk.fast_parsing(lambda: None)


def test_enabling_never_warns_on_this_botocore() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pagewalk.fast_parsing(canned_client(CANNED_LISTING))


# --------------------------------------------------------------------------------------------
# aiobotocore


def test_aiobotocore_clients_parse_alike(
    moto: MotoServer, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiobotocore")
    from aiobotocore.awsrequest import AioAWSResponse

    from .drivers import aio_client_factory

    create = aio_client_factory(moto.url)
    s3_sync = moto.client("s3")
    seed_bucket(s3_sync, "async", KEYS, versioned=True)
    dynamodb_table(moto.client("dynamodb"), "async", 10)

    async def both(service: str, operation: str, **params: Any) -> tuple[Any, Any]:
        async with create(service) as reference, create(service) as replica:
            replay = Replay(reference, pagewalk.fast_parsing(replica), AioAWSResponse)
            expected = await getattr(reference, operation)(**params)
            actual = await getattr(replay.replica, operation)(**params)
            return expected, actual

    async def run() -> None:
        for service, operation, params in [
            ("s3", "list_objects_v2", {"Bucket": "async", "FetchOwner": True}),
            ("s3", "list_object_versions", {"Bucket": "async"}),
            ("s3", "list_objects_v2", {"Bucket": "async", "Delimiter": "/"}),
            ("dynamodb", "describe_table", {"TableName": "async"}),
            ("dynamodb", "scan", {"TableName": "async"}),
        ]:
            expected, actual = await both(service, operation, **params)
            assert_identical(expected, actual)

    calls: list[str] = []
    botocore_method = parsers.BaseXMLResponseParser._handle_structure  # type: ignore[attr-defined]

    def counting(self: Any, shape: Any, node: Any) -> Any:
        calls.append(type(self).__name__)
        return botocore_method(self, shape, node)

    monkeypatch.setattr(parsers.BaseXMLResponseParser, "_handle_structure", counting)
    asyncio.run(run())

    assert spy.fast > 0
    assert spy.fallbacks == []
    assert set(calls) == {"AioRestXMLParser"}  # the replicas' S3 listings were read by tables


# --------------------------------------------------------------------------------------------
# Command line


def test_the_command_line_parses_fast_unless_told_not_to(
    capsys: pytest.CaptureFixture[str], moto: MotoServer, spy: Spy
) -> None:
    seed_bucket(moto.client("s3"), "cli", KEYS)
    argv = ["s3", "list-objects-v2", "Bucket=cli", "--items", "--endpoint-url", moto.url]

    assert main(argv) == 0
    fast_lines = capsys.readouterr().out.splitlines()
    assert spy.fast == len(KEYS)

    assert main([*argv, "--no-fast-parsing"]) == 0
    botocore_lines = capsys.readouterr().out.splitlines()
    assert spy.fast == len(KEYS)
    assert fast_lines == botocore_lines
