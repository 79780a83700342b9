"""What ``pagewalk ... --items --checkpoint FILE`` costs per printed line, as ratios.

    python benchmarks/cli_checkpoint.py               # checkpoint files in the current directory
    python benchmarks/cli_checkpoint.py --dir /some/fs --pages 5 --page-size 1000

The command line's printing loop runs over in-memory pages (no network, no parsing), so only
its own work is measured: one JSON line per item written and flushed to ``os.devnull``, and the
checkpoint file. Contenders, each a median over alternating repetitions, as ratios against a
hand-written ``json.dumps`` + write + flush loop over the same items:

- no ``--checkpoint``;
- ``--checkpoint`` as shipped: the file is replaced at every page end and at most once a second
  within a page, and once more on the way out;
- the file replaced after every item (what exactness under SIGKILL would cost).

Replacing a file (temporary file + ``os.replace``) costs far more on a disk file system than on
tmpfs (ext4 flushes the data of a file renamed over another), so give ``--dir`` the file system
your checkpoints will live on.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pagewalk
from pagewalk import _cli
from pagewalk._cli_checkpoint import CheckpointFile

SPEC = pagewalk.TokenSpec("NextToken", "NextToken", result_key="Items")


def make_pages(pages: int, page_size: int) -> list[dict[str, Any]]:
    when = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    result = []
    for number in range(pages):
        items = [
            {
                "Key": f"logs/2024/05/01/app-{number * page_size + index:08d}.json.gz",
                "LastModified": when,
                "ETag": '"9b2cf535f27731c974343645a3985328"',
                "Size": 12345,
                "StorageClass": "STANDARD",
            }
            for index in range(page_size)
        ]
        page: dict[str, Any] = {"Items": items}
        if number < pages - 1:
            page["NextToken"] = f"token-{number + 1}"
        result.append(page)
    return result


def canned_method(pages: list[dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    by_token = {None: pages[0], **{f"token-{n}": page for n, page in enumerate(pages) if n}}

    def list_things(**params: Any) -> dict[str, Any]:
        return by_token[params.get("NextToken")]

    return list_things


def run_cli(pages: list[dict[str, Any]], directory: str, interval: float | None) -> float:
    walk = pagewalk.items(canned_method(pages), token_spec=SPEC, retry_policy=None)
    store = None
    if interval is not None:
        store = CheckpointFile(os.path.join(directory, "walk.json"), interval=interval)
    with open(os.devnull, "w", encoding="utf-8") as out, open(os.devnull, "w") as err:
        started = time.perf_counter()
        with walk:
            _cli._print_walk(walk, True, out, err, store, _cli._Signals())
        return time.perf_counter() - started


def run_baseline(pages: list[dict[str, Any]]) -> float:
    def default(value: Any) -> Any:
        return value.isoformat()

    with open(os.devnull, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        for page in pages:
            for item in page["Items"]:
                out.write(json.dumps(item, default=default, separators=(",", ":")) + "\n")
                out.flush()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".", help="where the checkpoint files go")
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pages = make_pages(args.pages, args.page_size)
    count = args.pages * args.page_size
    contenders: dict[str, Callable[[str], float]] = {
        "hand-written loop (baseline)": lambda _: run_baseline(pages),
        "pagewalk --items": lambda d: run_cli(pages, d, None),
        "pagewalk --items --checkpoint (shipped)": lambda d: run_cli(pages, d, 1.0),
        "checkpoint replaced after every item": lambda d: run_cli(pages, d, 0.0),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".pagewalk-bench-") as directory:
        for _ in range(args.repeats):
            for name, contender in contenders.items():
                times[name].append(contender(directory))
    print(f"{count:,} items in {args.pages} pages; Python {sys.version.split()[0]}")
    baseline = statistics.median(times["hand-written loop (baseline)"])
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"  {name:42s} {median / baseline:8.2f}x   {median / count * 1e6:8.1f} us/item")


if __name__ == "__main__":
    main()
