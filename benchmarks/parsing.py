"""Fast parsing: CPU per canned page with botocore's parsing vs ``pagewalk.fast_parsing``.

    python benchmarks/parsing.py           # the full run (about a minute on 2 cores)
    python benchmarks/parsing.py --quick   # smoke mode: seconds; figures not meaningful

Sections (medians over alternating rounds; every figure is a ratio to botocore's parsing,
measured in the same run):

parse      CPU time to parse one canned response, the way botocore's endpoint does it (a parser
           from the client's endpoint factory, ``parser.parse(response, output_shape)``), for every
           protocol: S3 ListObjectsV2 (1,000 keys) and ListObjectVersions (1,000 versions and
           delete markers), DynamoDB Scan (1,000 items), IAM ListRoles (query), EC2
           DescribeVolumes (ec2), EFS DescribeFileSystems (rest-json).
call       CPU time of a walk of whole ``list_objects_v2`` / ``scan`` calls on clients answered
           in-process (serialising, signing, parsing): what a walk pays per page.
threads    keys per second of one process walking canned 1,000-key S3 pages with 8 threads, each
           with its own client, before and after ``fast_parsing``; wall time.

Targets: the S3 ListObjectsV2 page parses in <= 0.30x of botocore's CPU (stretch <= 0.20x), and
no protocol is slower (<= 1.05x, the noise of this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore
import canned
import run

import pagewalk

REGION = "us-east-1"


@dataclass(frozen=True)
class Sizes:
    rounds: int
    call_pages: int
    thread_pages: int
    thread_rounds: int


FULL = Sizes(rounds=15, call_pages=3, thread_pages=6, thread_rounds=3)
QUICK = Sizes(rounds=2, call_pages=1, thread_pages=1, thread_rounds=1)


# -- canned responses of every protocol -------------------------------------------------------


def s3_versions_page(versions: int) -> bytes:
    """A ListObjectVersions page: ``versions`` versions, every tenth key also a delete marker."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>bench</Name><Prefix></Prefix><KeyMarker></KeyMarker>"
        "<VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>"
        "<IsTruncated>false</IsTruncated>"
    ]
    owner = (
        "<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner>"
    )
    for index in range(versions):
        key = f"data/{index // 2:09d}.json"
        stamp = f"2024-05-01T12:{index % 60:02d}:{index % 59:02d}.000Z"
        if index % 10 == 9:
            parts.append(
                f"<DeleteMarker><Key>{key}</Key><VersionId>v{index}</VersionId>"
                f"<IsLatest>true</IsLatest><LastModified>{stamp}</LastModified>{owner}"
                "</DeleteMarker>"
            )
        else:
            parts.append(
                f"<Version><Key>{key}</Key><VersionId>v{index}</VersionId>"
                f"<IsLatest>{'true' if index % 2 else 'false'}</IsLatest>"
                f"<LastModified>{stamp}</LastModified>"
                "<ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag>"
                f"<Size>{100 + index}</Size><StorageClass>STANDARD</StorageClass>{owner}"
                "</Version>"
            )
    parts.append("</ListVersionsResult>")
    return "".join(parts).encode()


def iam_roles_page(roles: int) -> bytes:
    members = "".join(
        f"<member><Path>/</Path><RoleName>role-{index}</RoleName><RoleId>AROA{index:017d}</RoleId>"
        f"<Arn>arn:aws:iam::123456789012:role/role-{index}</Arn>"
        f"<CreateDate>2024-05-01T12:00:{index % 60:02d}.079958Z</CreateDate>"
        "<AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument>"
        f"<MaxSessionDuration>3600</MaxSessionDuration></member>"
        for index in range(roles)
    )
    return (
        '<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult>'
        f"<IsTruncated>false</IsTruncated><Roles>{members}</Roles></ListRolesResult>"
        "<ResponseMetadata><RequestId>R</RequestId></ResponseMetadata></ListRolesResponse>"
    ).encode()


def ec2_volumes_page(volumes: int) -> bytes:
    items = "".join(
        f"<item><volumeId>vol-{index:017x}</volumeId><size>8</size>"
        "<availabilityZone>us-east-1a</availabilityZone><status>in-use</status>"
        f"<createTime>2024-05-01T12:00:{index % 60:02d}.000Z</createTime>"
        "<attachmentSet><item>"
        f"<volumeId>vol-{index:017x}</volumeId><instanceId>i-{index:017x}</instanceId>"
        "<device>/dev/sda1</device><status>attached</status>"
        "<attachTime>2024-05-01T12:00:00.000Z</attachTime>"
        "<deleteOnTermination>true</deleteOnTermination></item></attachmentSet>"
        "<volumeType>gp3</volumeType><encrypted>false</encrypted></item>"
        for index in range(volumes)
    )
    return (
        '<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>R</requestId><volumeSet>{items}</volumeSet></DescribeVolumesResponse>"
    ).encode()


def efs_file_systems_page(systems: int) -> bytes:
    return json.dumps(
        {
            "FileSystems": [
                {
                    "OwnerId": "123456789012",
                    "CreationToken": f"token-{index}",
                    "FileSystemId": f"fs-{index:08x}",
                    "CreationTime": 1714564800.0 + index,
                    "LifeCycleState": "available",
                    "NumberOfMountTargets": 0,
                    "SizeInBytes": {"Value": 6144, "Timestamp": 1714564800 + index},
                    "PerformanceMode": "generalPurpose",
                    "Encrypted": False,
                    "ThroughputMode": "bursting",
                    "Tags": [{"Key": "Name", "Value": f"fs {index}"}],
                }
                for index in range(systems)
            ]
        }
    ).encode()


@dataclass(frozen=True)
class Case:
    label: str
    service: str
    operation: str
    body: bytes
    content_type: str


def cases() -> list[Case]:
    return [
        Case(
            "S3 ListObjectsV2, 1,000 keys (rest-xml)",
            "s3",
            "ListObjectsV2",
            canned.s3_pages(1, 1000)[0],
            "application/xml",
        ),
        Case(
            "S3 ListObjectVersions, 1,000 (rest-xml)",
            "s3",
            "ListObjectVersions",
            s3_versions_page(1000),
            "application/xml",
        ),
        Case(
            "DynamoDB Scan, 1,000 items (json)",
            "dynamodb",
            "Scan",
            canned.dynamodb_pages(1, 1000)[0],
            "application/x-amz-json-1.0",
        ),
        Case(
            "IAM ListRoles, 200 roles (query)", "iam", "ListRoles", iam_roles_page(200), "text/xml"
        ),
        Case(
            "EC2 DescribeVolumes, 200 (ec2)",
            "ec2",
            "DescribeVolumes",
            ec2_volumes_page(200),
            "text/xml",
        ),
        Case(
            "EFS DescribeFileSystems, 200 (rest-json)",
            "efs",
            "DescribeFileSystems",
            efs_file_systems_page(200),
            "application/json",
        ),
    ]


def client_for(service: str) -> Any:
    return boto3.session.Session().client(
        service,
        region_name=REGION,
        aws_access_key_id="benchmark",
        aws_secret_access_key="benchmark",
        config=canned.NO_RETRIES,
    )


def parse_one(client: Any, case: Case) -> Callable[[], object]:
    """Parse ``case`` as the client's endpoint would: a new parser from its factory, then parse."""
    model = client.meta.service_model
    operation = model.operation_model(case.operation)
    factory = client._endpoint._response_parser_factory
    headers = {"content-type": case.content_type, "x-amz-request-id": "BENCHMARK"}

    def parse() -> object:
        response = {
            "body": case.body,
            "headers": headers,
            "status_code": 200,
            "context": {"operation_name": case.operation},
        }
        return factory.create_parser(model.resolved_protocol).parse(
            response, operation.output_shape
        )

    return parse


# -- sections -------------------------------------------------------------------------------------


def bench_parse(sizes: Sizes) -> None:
    print(f"[a] parse: CPU time per canned response, {sizes.rounds} rounds")
    for case in cases():
        botocore_parse = parse_one(client_for(case.service), case)
        fast_parse = parse_one(pagewalk.fast_parsing(client_for(case.service)), case)
        if botocore_parse() != fast_parse():
            raise AssertionError(f"{case.label}: fast parsing gave another result")
        times = run.alternate(
            {"botocore's parsing": botocore_parse, "fast_parsing": fast_parse},
            sizes.rounds,
            time.process_time,
        )
        run.report(case.label, times, "botocore's parsing")
        value, noise = run.ratio(times, "fast_parsing", "botocore's parsing")
        if case.operation == "ListObjectsV2":
            run.verdict("<= 0.30x of botocore's CPU", value, noise, 0.30, at_most=True)
            run.verdict("stretch: <= 0.20x", value, noise, 0.20, at_most=True)
        else:
            run.verdict("no slower than botocore", value, noise, 1.05, at_most=True)


def bench_call(sizes: Sizes) -> None:
    pages = sizes.call_pages
    print(
        f"[b] call: CPU time per walk of {pages} canned pages (whole client calls: serialising, "
        f"signing, parsing), {sizes.rounds} rounds"
    )
    plain_s3, fast_s3 = canned.canned_s3(pages), pagewalk.fast_parsing(canned.canned_s3(pages))
    plain_db = canned.canned_dynamodb(pages)
    fast_db = pagewalk.fast_parsing(canned.canned_dynamodb(pages))

    def walk(method: Callable[..., Any], **params: Any) -> Callable[[], object]:
        return lambda: sum(1 for _ in pagewalk.pages(method, **params))

    for label, plain, fast in (
        (
            "S3 ListObjectsV2 walk, 1,000 keys a page",
            walk(plain_s3.list_objects_v2, Bucket=canned.BUCKET),
            walk(fast_s3.list_objects_v2, Bucket=canned.BUCKET),
        ),
        (
            "DynamoDB Scan walk, 1,000 items a page",
            walk(plain_db.scan, TableName=canned.TABLE),
            walk(fast_db.scan, TableName=canned.TABLE),
        ),
    ):
        times = run.alternate(
            {"botocore's parsing": plain, "fast_parsing": fast}, sizes.rounds, time.process_time
        )
        run.report(label, times, "botocore's parsing")
        value, noise = run.ratio(times, "fast_parsing", "botocore's parsing")
        run.verdict("no slower than botocore", value, noise, 1.05, at_most=True)


def bench_threads(sizes: Sizes) -> None:
    pages, workers = sizes.thread_pages, 8
    keys = pages * 1000 * workers
    print(
        f"[c] threads: {workers} threads in one process, each walking {pages} canned 1,000-key "
        f"S3 pages; wall time, {sizes.thread_rounds} rounds"
    )

    def listing(fast: bool) -> Callable[[], object]:
        clients = [canned.canned_s3(pages) for _ in range(workers)]
        if fast:
            clients = [pagewalk.fast_parsing(client) for client in clients]

        def walk_all() -> int:
            counts = [0] * workers

            def walk(index: int) -> None:
                for page in pagewalk.pages(clients[index].list_objects_v2, Bucket=canned.BUCKET):
                    counts[index] += len(page["Contents"])

            threads = [threading.Thread(target=walk, args=(index,)) for index in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if sum(counts) != keys:
                raise AssertionError(f"{sum(counts)} keys listed, {keys} expected")
            return sum(counts)

        return walk_all

    times = run.alternate(
        {"botocore's parsing": listing(False), "fast_parsing": listing(True)},
        sizes.thread_rounds,
    )
    medians = run.report("", times, "botocore's parsing", unit="s")
    for name, median in medians.items():
        print(f"    {name:<34} {keys / median:12,.0f} keys/s")
    speedup, noise = run.ratio(times, "botocore's parsing", "fast_parsing")
    print(f"    fast_parsing lists {speedup:.2f}x the keys per second (±{noise:.1%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke test, not figures"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    run.JUDGED = not args.quick
    print(
        f"pagewalk {pagewalk.__version__} parsing benchmark "
        f"({'quick' if args.quick else 'full'} mode): Python {platform.python_version()}, "
        f"botocore {botocore.__version__}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at the start"
    )
    print("  times are medians ± half their interquartile range; ratios are medians of per-round")
    print("  ratios to botocore's parsing, measured in this run")
    bench_parse(sizes)
    bench_call(sizes)
    bench_threads(sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
