"""Saga analytics on ClickHouse ``saga_steps``: outcomes and failure rate per step."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from sinks.clickhouse_queries import _rows


def saga_step_stats(client: Client, db: str) -> list[dict]:
    """Per step: commands sent, answers by outcome, and the failure rate (failed or
    given up / answered or given up). The ``saga`` step counts how sagas ended."""
    return _rows(
        client,
        """SELECT step,
                  countIf(outcome = 'sent') AS sent,
                  countIf(outcome = 'succeeded') AS succeeded,
                  countIf(outcome = 'failed') AS failed,
                  countIf(outcome = 'timed_out') AS timed_out,
                  countIf(outcome = 'needs_attention') AS needs_attention,
                  countIf(outcome = 'order_cancelled') AS order_cancelled,
                  countIf(outcome = 'completed') AS completed,
                  countIf(outcome = 'compensated') AS compensated,
                  round(if(succeeded + failed + needs_attention = 0, 0,
                           (failed + needs_attention) / (succeeded + failed + needs_attention)),
                        4) AS failure_rate
           FROM {db:Identifier}.saga_steps FINAL
           GROUP BY step ORDER BY step""",
        db=db,
    )
