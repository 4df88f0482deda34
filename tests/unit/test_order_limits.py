"""The bounds of ``processors.orders.limits``: ``decide`` accepts every order up to them
and rejects anything beyond with a stable code; the largest accepted order fits Int64
and every Kafka record it makes stays far below the broker's message limit."""

from __future__ import annotations

from dataclasses import replace

import pytest
from faust.serializers import codecs
from faust.utils import json as faust_json

from processors.inventory import domain as inventory
from processors.orders import limits
from processors.orders.domain import CommandRejected, decide, evolve, fold
from processors.orders.handling import command_result, handle, snapshot_of
from sinks.clickhouse_queries import _plain
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.messages import Message

pytestmark = pytest.mark.unit

NOW = 1_700_000_000_000
WIDE = "\U0001f600"  # 4 bytes in UTF-8: the longest character a string bound can hold


def wide(n: int) -> str:
    return WIDE * n


def line(sku="SKU-1", quantity=1, price=100) -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price_cents": price}


def command(name: str, ident: str = "order-1", **fields) -> Message:
    return Message(
        name,
        {
            "command_id": f"cmd-{name}-1",
            "order_id": ident,
            "expected_version": None,
            "issued_at": NOW,
            "correlation_id": "corr-1",
            **fields,
        },
    )


def create(items=None, user_id="user-1", currency="EUR", **envelope) -> Message:
    cmd = command("CreateOrder", items=items or [line()], user_id=user_id, currency=currency)
    return Message(cmd.name, {**cmd.body, **envelope})


def largest_create() -> Message:
    """The largest order ``decide`` accepts: every bound reached, every character wide."""
    ids = {name: wide(limits.MAX_ID_CHARS) for name in limits.ID_FIELDS}
    items = [
        line(
            f"{n:03d}" + wide(limits.MAX_SKU_CHARS - 3),
            limits.MAX_QUANTITY,
            limits.MAX_UNIT_PRICE_CENTS,
        )
        for n in range(limits.MAX_LINES)
    ]
    return create(items, user_id=wide(limits.MAX_ID_CHARS), **ids)


def rejected(state, cmd: Message) -> CommandRejected:
    with pytest.raises(CommandRejected) as info:
        decide(state, cmd, NOW)
    return info.value


def created():
    return fold(decide(None, create(), NOW))


# Accepted up to the bounds -----------------------------------------------------------


def test_the_largest_order_is_accepted_and_its_total_fits_int64():
    [event] = decide(None, largest_create(), NOW)
    assert event["total_cents"] == limits.MAX_ORDER_TOTAL_CENTS == 10**17
    assert limits.MAX_ORDER_TOTAL_CENTS <= limits.INT64_MAX
    # A realistic day of such orders summed in Int128 (the analytics queries) is safe.
    assert 10**9 * limits.MAX_ORDER_TOTAL_CENTS < 2**127 - 1


def test_the_bounds_themselves_are_accepted():
    items = [line("S", limits.MIN_QUANTITY, limits.MIN_UNIT_PRICE_CENTS)] * limits.MAX_LINES
    [event] = decide(None, create(items, currency="USD"), NOW)
    assert event["total_cents"] == limits.MAX_LINES
    state = fold([event])
    cancel = command("CancelOrder", reason="x" * limits.MAX_REASON_CHARS)
    assert decide(state, cancel, NOW)[0].name == "OrderCancelled"
    confirmed = evolve(state, decide(state, command("ConfirmOrder"), NOW)[0])
    ship = command("ShipOrder", tracking_number="T" * limits.MAX_TRACKING_NUMBER_CHARS)
    assert decide(confirmed, ship, NOW)[0].name == "OrderShipped"


def test_the_sagas_longest_cancel_reason_is_accepted():
    """The saga cancels an out-of-stock order with the inventory's reason, which lists
    every short SKU: for the largest order that reason must be within the bound."""
    items = [{"sku": i["sku"], "quantity": i["quantity"]} for i in largest_create()["items"]]
    reserve = Message(
        "ReserveInventory",
        {
            "command_id": "c",
            "order_id": "o",
            "saga_id": "s",
            "idempotency_key": "s:reserve",
            "attempt": 1,
            "issued_at": NOW,
            "correlation_id": "c",
            "items": items,
        },
    )
    failed = inventory.decide({"version": 0}, reserve, NOW, lambda sku: 0)
    assert failed.name == "InventoryReservationFailed"
    cancel = command("CancelOrder", reason=failed["reason"])
    assert decide(created(), cancel, NOW)[0]["reason"] == failed["reason"]


# Rejected beyond them ----------------------------------------------------------------

BEYOND = [
    ("too_many_items", create([line()] * (limits.MAX_LINES + 1)), "at most 100 lines"),
    ("too_many_items", create([line()] * 54_000), "this one has 54,000"),
    ("bad_quantity", create([line(quantity=0)]), "quantity of line 1 (SKU-1) is 0"),
    ("bad_quantity", create([line(quantity=limits.MAX_QUANTITY + 1)]), "1 to 1,000,000"),
    ("bad_quantity", create([line(quantity=2**32)]), "4294967296"),
    ("bad_quantity", create([line(quantity=True)]), "True"),
    ("bad_price", create([line(price=0)]), "unit_price_cents of line 1 (SKU-1) is 0"),
    ("bad_price", create([line(price=limits.MAX_UNIT_PRICE_CENTS + 1)]), "1 to 1,000,000,000"),
    ("bad_price", create([line(), line("B", price=2**63 - 1)]), "line 2 (B)"),
    ("bad_field", create([line(sku="")]), "sku of line 1 must not be empty"),
    ("bad_field", create([line(sku="S" * 65)]), "sku of line 1 has 65 characters; at most 64"),
    ("bad_field", create(user_id=""), "user_id must not be empty"),
    ("bad_field", create(user_id="  "), "user_id must not be empty"),
    ("bad_field", create(user_id="u" * 129), "user_id has 129 characters; at most 128"),
    ("bad_field", create(currency=""), "currency must be an ISO-4217 code"),
    ("bad_field", create(currency="eur"), "not 'eur'"),
    ("bad_field", create(currency="EURO"), "3 capital letters"),
    ("bad_field", create(order_id="o" * 129), "order_id has 129 characters"),
    ("bad_field", create(command_id="c" * 129), "command_id has 129 characters"),
    ("bad_field", create(command_id=""), "command_id must not be empty"),
    ("bad_field", create(order_id=" "), "order_id must not be empty"),
    ("bad_field", create(correlation_id=" "), "correlation_id must not be empty"),
    ("bad_field", create(correlation_id="c" * 129), "correlation_id has 129 characters"),
]


@pytest.mark.parametrize(("code", "cmd", "says"), BEYOND)
def test_a_create_beyond_a_bound_is_rejected_naming_field_and_limit(code, cmd, says):
    error = rejected(None, cmd)
    assert error.code == code
    assert says in error.message
    assert len(error.message) < 200  # the value beyond the bound is never copied back


@pytest.mark.parametrize(
    ("cmd", "says"),
    [
        (command("CancelOrder", reason=""), "reason must not be empty"),
        (command("CancelOrder", reason="r" * 10_001), "reason has 10,001 characters"),
        (command("ShipOrder", tracking_number=""), "tracking_number must not be empty"),
        (command("ShipOrder", tracking_number="T" * 65), "at most 64 allowed"),
        (command("ConfirmOrder", "o" * 129), "order_id has 129 characters"),
    ],
)
def test_other_commands_beyond_a_bound_are_rejected(cmd, says):
    state = fold(decide(None, create(), NOW))
    state = replace(state, status="confirmed") if cmd.name == "ShipOrder" else state
    error = rejected(state, cmd)
    assert error.code == "bad_field" and says in error.message


def test_an_empty_correlation_id_only_leaves_the_command_untraced():
    assert decide(None, create(correlation_id=""), NOW)[0]["correlation_id"] == ""


def test_bounds_are_checked_before_the_state():
    """A command beyond a bound is rejected for that, whatever the order's state."""
    assert rejected(created(), create(user_id="")).code == "bad_field"  # not duplicate_order
    assert rejected(None, command("CancelOrder", reason="")).code == "bad_field"


def test_an_outcome_is_not_remembered_when_its_ids_are_beyond_the_bounds():
    too_long = handle(None, create(command_id="c" * 129), NOW, snapshot_every=0)
    assert too_long.result["status"] == "rejected" and not too_long.remember
    other = handle(None, create(currency="eur"), NOW, snapshot_every=0)
    assert other.result["reason_code"] == "bad_field" and other.remember


# Every record of the largest order fits Kafka -----------------------------------------


def _records() -> dict[str, tuple[bytes, bytes]]:
    """(key, value) of every record the largest order can make, as written."""
    codec = AvroCodec(SchemaStore.load())
    cmd = largest_create()
    key = cmd["order_id"].encode()
    [created_event] = decide(None, cmd, NOW)
    state = evolve(None, created_event)
    cancel = command("CancelOrder", reason=wide(limits.MAX_REASON_CHARS))
    cancel = Message(cancel.name, {**cancel.body, "order_id": cmd["order_id"]})
    [cancelled] = decide(state, cancel, NOW)
    # Pessimistic: both optional strings at their bounds at once.
    worst = replace(
        evolve(state, cancelled), tracking_number=wide(limits.MAX_TRACKING_NUMBER_CHARS)
    )
    result = command_result(cmd, NOW, version=1, event_ids=[created_event["event_id"]])
    rejected_result = command_result(
        cmd, NOW, version=None, rejected=CommandRejected("bad_field", "x" * 200)
    )

    def table(k: str, value: dict) -> tuple[bytes, bytes]:
        # Faust tables write keys and values with its JSON codec (orjson when installed).
        return codecs.dumps("json", k), codecs.dumps("json", value)

    return {
        "CreateOrder": (key, codec.encode(cmd)),
        "OrderCreated": (key, codec.encode(created_event)),
        "CancelOrder": (key, codec.encode(cancel)),
        "OrderCancelled": (key, codec.encode(cancelled)),
        "OrderSnapshot": (key, codec.encode(snapshot_of(worst, NOW))),
        "CommandResult": (key, codec.encode(result)),
        "CommandResult rejected": (key, codec.encode(rejected_result)),
        "order_by_id": table(cmd["order_id"], worst.to_dict()),
        "outcome_by_command": table(cmd["command_id"], rejected_result.body),
    }


def test_every_record_of_the_largest_order_is_far_below_the_message_limit():
    records = _records()
    sizes = {name: len(k) + len(v) for name, (k, v) in records.items()}
    # The order really is large (a 4-byte character per character), so the check bites.
    assert sizes["CreateOrder"] > limits.MAX_LINES * limits.MAX_SKU_CHARS * 4
    assert sizes["order_by_id"] > limits.MAX_REASON_CHARS * 4
    too_big = {n: s for n, s in sizes.items() if s > limits.MAX_MESSAGE_BYTES // 10}
    assert not too_big, f"records above a tenth of {limits.MAX_MESSAGE_BYTES}: {too_big}"


def test_a_sum_beyond_64_bits_is_served_as_an_exact_string():
    """The worker's HTTP API encodes analytics with orjson, which refuses integers
    beyond 64 bits: such a sum (revenue of ~185 largest orders) goes out as a string."""
    huge = 185 * limits.MAX_ORDER_TOTAL_CENTS
    assert _plain(limits.INT64_MAX) == limits.INT64_MAX
    body = faust_json.loads(faust_json.dumps({"revenue_cents": _plain(huge)}))
    assert int(body["revenue_cents"]) == huge
