"""Property tests of the walking core: any page layout, token shape and limit.

The service here is a plain function that serves a fixed list of pages (some empty), with its
continuation token in one of three shapes: a string, a DynamoDB-style dict with a binary part,
or a two-part token whose second part is sometimes absent. Whatever the layout, the limits and
where the caller stops, walking and resuming from checkpoints (through JSON) must give every
item exactly once, in order, with one request per page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import pagewalk
from pagewalk import Checkpoint, TokenSpec

SPECS = {
    "string": TokenSpec("NextToken", "NextToken", "Items", "Limit"),
    "dict": TokenSpec("ExclusiveStartKey", "LastEvaluatedKey", "Items", "Limit"),
    "multi": TokenSpec(
        ("KeyMarker", "VersionMarker"), ("NextKeyMarker", "NextVersionMarker"), "Items"
    ),
}


def encode(shape: str, index: int) -> dict[str, Any]:
    """The response members that point at page ``index``."""
    if shape == "string":
        return {"NextToken": f"token-{index}"}
    if shape == "dict":
        return {
            "LastEvaluatedKey": {
                "pk": {"S": f"p{index}"},
                "raw": {"B": bytes([index % 256, 0, 255])},
            }
        }
    members = {"NextKeyMarker": f"key-{index}"}
    if index % 2:
        members["NextVersionMarker"] = f"v{index}"
    return members


def decode(shape: str, params: dict[str, Any]) -> int:
    """The page index the request asks for (0 without a token)."""
    if shape == "string":
        return int(params["NextToken"].split("-")[1]) if "NextToken" in params else 0
    if shape == "dict":
        if "ExclusiveStartKey" not in params:
            return 0
        key = params["ExclusiveStartKey"]
        index = int(key["pk"]["S"][1:])
        assert key["raw"]["B"] == bytes([index % 256, 0, 255]), "binary token part was mangled"
        return index
    if "KeyMarker" not in params:
        assert "VersionMarker" not in params
        return 0
    index = int(params["KeyMarker"].split("-")[1])
    assert ("VersionMarker" in params) == bool(index % 2), "a missing token part was sent"
    return index


class Service:
    """Serves ``layout`` (a list of pages of items) and counts requests."""

    def __init__(self, layout: list[list[int]], shape: str) -> None:
        self.layout = layout
        self.shape = shape
        self.requests = 0

    def __call__(self, **params: Any) -> dict[str, Any]:
        self.requests += 1
        index = decode(self.shape, params)
        response: dict[str, Any] = {"Items": list(self.layout[index])}
        if index + 1 < len(self.layout):
            response.update(encode(self.shape, index + 1))
        return response


def layouts() -> st.SearchStrategy[list[list[int]]]:
    sizes = st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=10)

    def build(page_sizes: list[int]) -> list[list[int]]:
        pages, next_item = [], 0
        for size in page_sizes:
            pages.append(list(range(next_item, next_item + size)))
            next_item += size
        return pages

    return sizes.map(build)


Walker = Callable[..., "pagewalk.Walk[Any]"]


@settings(max_examples=300, deadline=None)
@given(
    layout=layouts(),
    shape=st.sampled_from(sorted(SPECS)),
    mode=st.sampled_from(["items", "pages"]),
    max_items=st.none() | st.integers(min_value=0, max_value=12),
    max_pages=st.none() | st.integers(min_value=1, max_value=4),
    stop_after=st.none() | st.integers(min_value=1, max_value=8),
)
def test_walking_and_resuming_yields_every_item_once_in_order(
    layout: list[list[int]],
    shape: str,
    mode: str,
    max_items: int | None,
    max_pages: int | None,
    stop_after: int | None,
) -> None:
    expected = [item for page in layout for item in page]
    service = Service(layout, shape)
    walker: Walker = pagewalk.items if mode == "items" else pagewalk.pages
    got: list[int] = []
    checkpoint: Checkpoint | None = None
    for round_number in range(200):
        walk = walker(
            service,
            token_spec=SPECS[shape],
            max_items=max_items if max_items != 0 or round_number == 0 else None,
            max_pages=max_pages,
            resume_from=checkpoint.to_json() if checkpoint is not None else None,
        )
        requests_before = service.requests
        for taken, output in enumerate(walk, 1):
            got.extend([output] if mode == "items" else output["Items"])
            if stop_after is not None and taken >= stop_after:
                break
        walk.close()
        assert service.requests - requests_before == walk.stats.pages == walk.stats.requests
        if max_pages is not None:
            assert walk.stats.pages <= max_pages
        checkpoint = walk.checkpoint
        if checkpoint is None:
            break
        assert checkpoint.items == len(got)
        assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    assert checkpoint is None, "the walk never finished"
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(layout=layouts(), shape=st.sampled_from(sorted(SPECS)), max_items=st.integers(0, 30))
def test_max_items_is_exact_in_both_modes(
    layout: list[list[int]], shape: str, max_items: int
) -> None:
    expected = [item for page in layout for item in page][:max_items]
    items = list(
        pagewalk.items(Service(layout, shape), token_spec=SPECS[shape], max_items=max_items)
    )
    pages = list(
        pagewalk.pages(Service(layout, shape), token_spec=SPECS[shape], max_items=max_items)
    )
    assert items == expected
    assert [item for page in pages for item in page["Items"]] == expected


@settings(max_examples=100, deadline=None)
@given(layout=layouts(), shape=st.sampled_from(sorted(SPECS)), prefetch=st.integers(1, 3))
def test_prefetch_changes_nothing_but_timing(
    layout: list[list[int]], shape: str, prefetch: int
) -> None:
    expected = [item for page in layout for item in page]
    service = Service(layout, shape)
    walk = pagewalk.items(service, token_spec=SPECS[shape], prefetch_pages=prefetch)
    assert list(walk) == expected
    assert service.requests == len(layout)
    assert walk.checkpoint is None
