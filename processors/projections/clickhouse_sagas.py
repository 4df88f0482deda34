"""ClickHouse projection of saga timelines: every ``SagaStepRecorded`` becomes one
``saga_steps`` row (see ``sinks.clickhouse_schema``), merged into the ClickHouse sink's
dispatch table next to the order handlers. A redelivered record collapses in the
ReplacingMergeTree (same order, saga, step, attempt and outcome)."""

from __future__ import annotations

from processors.projections.clickhouse_orders import Handler, Row
from processors.projections.position import SourceEvent
from streams.messages import Record

SAGA_STEP_COLUMNS: tuple[str, ...] = (
    "order_id",
    "saga_id",
    "step",
    "command",
    "outcome",
    "reason",
    "at",
    "attempt",
    "event_id",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
)


def record_saga_step(event: SourceEvent) -> list[Row]:
    """One step record: what happened to which step of which saga, and when. The saga's
    state after the record is kept in ``outcome`` for the terminal ``saga`` step."""
    body = event.body
    values = (
        body["order_id"],
        body["saga_id"],
        body["step"],
        body.get("command") or "",
        body["outcome"],
        body.get("reason") or "",
        int(body["occurred_at"]),
        int(body.get("attempt") or 0),
        body["event_id"],
        event.topic,
        event.partition,
        event.offset,
    )
    return [
        Row("saga_steps", SAGA_STEP_COLUMNS, values, (event.topic, event.partition, event.offset))
    ]


HANDLERS: dict[str, Handler] = {Record.SAGA_STEP_RECORDED: record_saga_step}
