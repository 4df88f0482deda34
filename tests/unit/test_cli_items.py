"""``parse_item``: an order line typed on the command line, within the order bounds."""

from __future__ import annotations

import click
import pytest

from processors.orders import limits
from streams.cli.orders import parse_item

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        ("SKU-1:2:12.50", {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250}),
        ("S:1:0.01", {"sku": "S", "quantity": 1, "unit_price_cents": 1}),
        ("S:1000000:10000000", {"sku": "S", "quantity": 10**6, "unit_price_cents": 10**9}),
        ("S:3:1.5", {"sku": "S", "quantity": 3, "unit_price_cents": 150}),
        ("S:3:2E+1", {"sku": "S", "quantity": 3, "unit_price_cents": 2000}),
    ],
)
def test_lines_within_the_bounds(raw, line):
    assert parse_item(raw) == line


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("SKU-1:2", "is not SKU:QTY:PRICE"),
        (":2:1", "is not SKU:QTY:PRICE"),
        ("S" * 65 + ":1:1", "SKU has 65 characters; at most 64"),
        ("S:x:1", "QTY must be an integer"),
        ("S:2.5:1", "QTY must be an integer"),
        ("S:Infinity:1", "QTY must be an integer"),
        ("S:" + "9" * 5000 + ":1", "QTY must be an integer"),
        ("S:0:1", "QTY must be 1 to 1,000,000"),
        ("S:1000001:1", "QTY must be 1 to 1,000,000"),
        ("S:1:abc", "PRICE must be a number"),
        ("S:1:Infinity", "PRICE must be 0.01 to 10,000,000.00"),
        ("S:1:-Infinity", "PRICE must be 0.01"),
        ("S:1:NaN", "PRICE must be 0.01"),
        ("S:1:sNaN", "PRICE must be 0.01"),
        ("S:1:1e30", "PRICE must be 0.01"),
        ("S:1:1e999999999", "PRICE must be 0.01"),
        ("S:1:10000000.01", "PRICE must be 0.01"),
        ("S:1:0", "PRICE must be 0.01"),
        ("S:1:1.005", "PRICE has more than two decimals"),
        ("S:1:1." + "0" * 40 + "1", "PRICE has more than two decimals"),
    ],
)
def test_lines_beyond_the_bounds_are_refused_naming_the_item(raw, says):
    with pytest.raises(click.BadParameter) as info:
        parse_item(raw)
    message = info.value.format_message()
    assert says in message
    assert repr(raw[:40])[:-1] in message and len(message) < 200


def test_the_bounds_are_those_of_the_domain():
    top = f"S:{limits.MAX_QUANTITY}:{limits.MAX_UNIT_PRICE_CENTS / 100:.2f}"
    assert parse_item(top)["unit_price_cents"] == limits.MAX_UNIT_PRICE_CENTS
