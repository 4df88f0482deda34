"""What each Faust table holds, as ``faust -A streams.app tables`` shows it."""

from __future__ import annotations

TABLE_HELP = {
    "order_by_id": "Order aggregate state by order id (the write side's memory)",
    "outcome_by_command": "Outcome by command id: a redelivered command gets the same answer",
    "saga_by_order": "Fulfilment saga state and timeline by order id",
    "observer_waiting": "Choreography: replies the observer read before their OrderCreated",
    "payment_by_order": "Payment participant ledger by order id",
    "stock_by_sku": "Units available by SKU (one partition: stock is decided in one place)",
    "inventory_by_order": "Inventory reservations by order id",
    "shipment_by_order": "Shipping participant ledger by order id",
}
