"""The bounds of an order command: what ``decide`` accepts, and why each number.

Every value an accepted command carries ends up in a Kafka record (command, event,
snapshot, command result, the aggregate's changelog), in Redis and in ClickHouse
columns. The bounds are chosen so that the largest accepted order fits all of them by
a wide margin; a command beyond any bound is rejected by ``decide`` with a stable code
(``too_many_items``, ``bad_quantity``, ``bad_price``, ``bad_field``), never accepted.
The Avro schemas stay as they are (``long``, ``string``): bounds are a rule of the
domain, not of the wire format, and tightening a schema would break old data.

- ``MAX_LINES`` = 100 lines per order: a shopping basket, not a catalogue. With the
  string bounds below the largest order is ~30 KB as Avro or JSON (every character a
  4-byte one), so its command, event, snapshot and table record stay below a tenth of
  Kafka's 1 MiB default message limit (``MAX_MESSAGE_BYTES``).
- Quantity 1..``MAX_QUANTITY`` (10^6) units per line: fits ClickHouse's ``UInt32``
  ``item_quantities`` and Avro ``int`` (CreateOrder v1) with room to spare.
- Unit price 1..``MAX_UNIT_PRICE_CENTS`` (10^9 cents, i.e. 10 million in currency
  units): prices are integer minor units (cents), never fractions.
- Order total: at most ``MAX_ORDER_TOTAL_CENTS`` = 100 * 10^6 * 10^9 = 10^17 cents,
  92 times below Int64's maximum (the Avro ``long`` and ClickHouse ``Int64`` columns),
  so the sum cannot overflow. Sums over many orders (daily revenue) are computed in
  Int128 by the analytics queries (``sinks.clickhouse_queries``).
- Identifiers (``command_id``, ``order_id``, ``correlation_id``, ``user_id``): 1 to
  ``MAX_ID_CHARS`` (128) characters; a UUID is 36. They are keys in Kafka, Redis and
  ClickHouse and repeated in every record of the order. (``correlation_id`` may be
  empty: it only traces, and clients that never set it must not be refused.)
- ``sku``: 1 to ``MAX_SKU_CHARS`` (64) characters per line.
- ``currency``: an ISO-4217 code, three capital letters (EUR, USD).
- Cancel reason: 1 to ``MAX_REASON_CHARS`` (10,000) characters. The saga cancels with
  the reason it compensates for, which for an out-of-stock order lists every short SKU:
  100 SKUs of 64 characters make ~6,600 characters, and must still be accepted.
- Tracking number: 1 to ``MAX_TRACKING_NUMBER_CHARS`` (64) characters; carriers use 10-40.

Lengths count characters (what people type); the byte bounds above assume the worst
case of four UTF-8 bytes per character.
"""

from __future__ import annotations

import re

MAX_LINES = 100
MIN_QUANTITY, MAX_QUANTITY = 1, 1_000_000
MIN_UNIT_PRICE_CENTS, MAX_UNIT_PRICE_CENTS = 1, 1_000_000_000
MAX_ORDER_TOTAL_CENTS = MAX_LINES * MAX_QUANTITY * MAX_UNIT_PRICE_CENTS
INT64_MAX = 2**63 - 1

MAX_ID_CHARS = 128
MAX_SKU_CHARS = 64
MAX_REASON_CHARS = 10_000
MAX_TRACKING_NUMBER_CHARS = 64
CURRENCY = re.compile(r"[A-Z]{3}")

# The smaller of Kafka's defaults: producer max.request.size 1,048,576 and broker
# message.max.bytes 1,048,588. No topic or producer of this project raises it.
MAX_MESSAGE_BYTES = 1_048_576

# Every identifier field of an order command, in the order they are checked.
ID_FIELDS = ("command_id", "order_id", "correlation_id")
