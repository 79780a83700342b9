"""Hardening of walking: what a hostile or unlucky caller does must not lose, repeat or leak.

A failed or closed walk never looks complete when iterated again, a parallel scan stops fanning out
at its first fatal error, ``pages(max_items=...)`` is exact whatever the result key, a checkpoint
taken at a token loop never repeats an item, the loop guard's memory does not grow with token
length, and a walk iterated from two threads at once says so.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

import pagewalk
from pagewalk import TokenSpec

SPEC = TokenSpec("NextToken", "NextToken", result_key="Items")


def client_error(code: str = "AccessDenied") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "Scan")


# --------------------------------------------------------------------------------------------
# 5. A parallel scan stops fanning out at its first fatal error


class FailingScan:
    """A Segment/TotalSegments scan of two pages per segment whose segment 0 is denied."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = True
        self._lock = threading.Lock()

    def scan(self, *, Segment: int, TotalSegments: int, NextToken: str | None = None) -> Any:
        with self._lock:
            self.calls += 1
        if Segment == 0 and self.failing:
            raise client_error()
        page = int(NextToken or 0)
        response: dict[str, Any] = {"Items": [f"{Segment}/{page}"]}
        if page == 0:
            response["NextToken"] = "1"
        return response


def test_parallel_scan_sends_few_requests_after_a_fatal_error() -> None:
    fake = FailingScan()
    walk = pagewalk.parallel_items(
        fake.scan, total_segments=1000, max_workers=4, token_spec=SPEC, retry_policy=None
    )
    seen: list[str] = []
    with pytest.raises(ClientError):
        seen.extend(walk)
    # The failing request and at most one more per worker for the pages that completed before
    # the failure was seen: never the 1,000 segments' first pages.
    assert fake.calls <= 8
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert checkpoint.items == len(seen)
    # Nothing is lost: resuming (segment 0 now answers) completes every segment exactly once.
    fake.failing = False
    rest = pagewalk.parallel_items(
        fake.scan, total_segments=1000, token_spec=SPEC, resume_from=checkpoint.to_json()
    )
    everything = seen + list(rest)
    assert sorted(everything) == sorted(f"{s}/{p}" for s in range(1000) for p in range(2))

