"""What every command shares: ``--version``, and how money, order lines and times read."""

from __future__ import annotations

import importlib.metadata

import pytest

from streams.cli.output import items_text, money, readable, when
from tests.support import orderflow

pytestmark = pytest.mark.unit


def test_version_is_the_installed_package_version():
    done = orderflow(None, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"orderflow {importlib.metadata.version('orderflow')}\n"


def test_help_documents_exit_codes_and_the_price_unit():
    assert "2 a usage error" in orderflow(None, "--help").stdout
    create_help = orderflow(None, "orders", "create", "--help").stdout
    assert "SKU-1:2:19.99 is 2 x 19.99" in " ".join(create_help.split())


def test_money_items_and_times_read_as_people_read_them():
    assert money(123456, "EUR") == "1,234.56 EUR" and money(5) == "0.05"
    assert money(str(2**70)) == f"{2**70 // 100:,}.{2**70 % 100:02d}"  # exact, no float
    line = {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1999}
    assert items_text([line], "EUR") == "2 x SKU-1 at 19.99 EUR"
    assert when(1_767_225_600_000) == "2026-01-01T00:00:00.000+00:00" and when(None) == ""
    order = {"total_cents": 3998, "currency": "EUR", "created_at": 0, "reason": None}
    assert readable(order) == {"total": "39.98 EUR", "currency": "EUR", "created_at": "",
                               "reason": ""}  # fmt: skip
