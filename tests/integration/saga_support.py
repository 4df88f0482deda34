"""What the saga tests share: a worker with failure rules, orders, polling, the log."""

from __future__ import annotations

import collections
import uuid
from pathlib import Path

from streams.adapters.admin import create_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from tests.support import eventually, get_json, read_topic, start_worker, worker_env

TERMINAL = ("completed", "compensated", "needs_attention")
# Failure rules shared by every saga test worker: a price limit, scarce SKUs, an
# unshippable SKU. The scenario follows from the order's contents.
RULES = {
    "PAYMENT_DECLINE_ABOVE_CENTS": "100000",
    "INVENTORY_INITIAL_STOCK": "SKU-OUT=0,SKU-SCARCE=3,*=1000",
    "SHIPPING_UNSHIPPABLE_SKUS": "SKU-BIG",
    "ORDERFLOW_COMMIT_INTERVAL": "0.2",
    "SAGA_TICK_SECONDS": "0.3",
}
SCENARIOS = {
    # name: (sku, quantity, unit price cents, final saga state, final order status)
    "happy": ("SKU-1", 2, 1_250, "completed", "confirmed"),
    "declined": ("SKU-1", 1, 250_000, "compensated", "cancelled"),
    "out_of_stock": ("SKU-OUT", 1, 999, "compensated", "cancelled"),
    "unshippable": ("SKU-BIG", 1, 4_999, "compensated", "cancelled"),
}
codec = AvroCodec(SchemaStore.load())


class SagaWorker:
    """A worker process with its own namespace, and a client sending orders to it."""

    def __init__(self, tmp: Path, name: str = "worker", **extra: str) -> None:
        self.env = worker_env(tmp, **{**RULES, **extra})
        self.settings = Settings.from_env(self.env)
        create_topics(self.settings)
        self.tmp, self.name = tmp, name
        self.worker = start_worker(self.env, tmp, name)
        self.client = CommandClient(self.settings, codec)

    def place(self, order_id: str, sku: str, quantity: int, price: int) -> str:
        line = {"sku": sku, "quantity": quantity, "unit_price_cents": price}
        self.client.send(
            new_command(
                "CreateOrder", order_id, "corr-saga", user_id="u", items=[line], currency="EUR"
            )
        )
        self.client.flush()
        return order_id

    def saga(self, order_id: str) -> dict | None:
        body = get_json(f"{self.settings.web_url}/sagas/{order_id}/")
        return body if body and "saga_id" in body else None

    def wait_final(self, order_id: str, timeout: float = 60) -> dict:
        def final():
            saga = self.saga(order_id)
            return saga if saga and saga["status"] in TERMINAL else None

        return eventually(final, timeout, f"saga of {order_id} to finish")

    def restart(self) -> None:
        self.worker = start_worker(self.env, self.tmp, f"{self.name}-again")

    def close(self) -> None:
        self.client.close()
        self.worker.stop()


def new_order_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def steps(saga: dict) -> list[tuple[str, str]]:
    return [(e["step"], e["outcome"]) for e in saga["timeline"]]


def log_messages(settings: Settings, topic: str) -> list:
    """Every committed message of ``topic``, decoded, with its raw record."""
    return [(codec.decode(r.value), r) for r in read_topic(settings, topic, expect=1, timeout=5)]


def ledger_totals(settings: Settings, order_ids) -> dict:
    """Money and units moved, from the participants' event logs: distinct by event id, so
    a reply repeated for a duplicate command counts once (it is the same reply)."""
    wanted = set(order_ids)
    seen, money, units = set(), collections.Counter(), collections.Counter()
    for topic in ("payments.events", "inventory.events"):
        for message, _ in log_messages(settings, topic):
            if message["order_id"] not in wanted or message["event_id"] in seen:
                continue
            seen.add(message["event_id"])
            if message.name == "PaymentCharged":
                money["charged"] += message["amount_cents"]
            elif message.name == "PaymentRefunded":
                money["refunded"] += message["amount_cents"]
            elif message.name in ("InventoryReserved", "InventoryReleased"):
                sign = 1 if message.name == "InventoryReserved" else -1
                for line in message["items"]:
                    units[line["sku"]] += sign * line["quantity"]
    return {"money": money, "units": +units}
