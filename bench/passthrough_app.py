"""A minimal Faust app for ``bench.faust_ceiling``: one agent copying bytes from a source
topic to a sink topic, key and value untouched (no decode).

    PASSTHROUGH_APP_ID=... PASSTHROUGH_SOURCE=... PASSTHROUGH_SINK=... \\
        python -m faust -A bench.passthrough_app worker -l warn

Configured only from the environment (``bench.faust_ceiling.worker_env`` writes it):
``PASSTHROUGH_GUARANTEE`` (at_least_once | exactly_once), ``PASSTHROUGH_MODE`` (each:
``stream.events()`` one send at a time | batch: ``stream.take_events(N, within=0.5)``),
``PASSTHROUGH_BATCH`` (N), ``PASSTHROUGH_PARTITIONS``, ``PASSTHROUGH_COMMIT_INTERVAL``,
``PASSTHROUGH_WEB_PORT``, ``PASSTHROUGH_DATADIR`` and ``KAFKA_BOOTSTRAP_SERVERS``. The rest
is set as ``streams/app.py`` sets it. Nothing of orderflow is imported (no ``faust_fixes``,
Faust alone) except in the modes ``fenced`` and ``fenced-fast`` (orderflow's batch loop,
``topic.send`` or ``streams.runtime.sending.send_encoded``). On its first message the agent logs
``FIRST_MESSAGE_AT <epoch s>``.
"""

from __future__ import annotations

import logging
import os
import time

import faust

from streams.adapters.kafka_clients import faust_broker_config
from streams.config.settings import Settings

FIRST_MESSAGE = "FIRST_MESSAGE_AT"
log = logging.getLogger(__name__)
env = os.environ
MODE = env.get("PASSTHROUGH_MODE", "each")
BATCH = int(env.get("PASSTHROUGH_BATCH", "500"))
PARTITIONS = int(env.get("PASSTHROUGH_PARTITIONS", "4"))

app = faust.App(
    env["PASSTHROUGH_APP_ID"],
    **faust_broker_config(Settings.from_env()),  # the broker and its SASL/TLS credentials
    topic_partitions=PARTITIONS,
    topic_replication_factor=1,
    processing_guarantee=env.get("PASSTHROUGH_GUARANTEE", "at_least_once"),
    broker_commit_interval=float(env.get("PASSTHROUGH_COMMIT_INTERVAL", "0.5")),
    consumer_auto_offset_reset="earliest",
    web_host="127.0.0.1",
    web_port=int(env.get("PASSTHROUGH_WEB_PORT", "6066")),
    web_in_thread=False,
    autodiscover=False,
    datadir=env.get("PASSTHROUGH_DATADIR", "passthrough-data"),
)


def _raw_topic(name: str) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=PARTITIONS,
    )


source = _raw_topic(env["PASSTHROUGH_SOURCE"])
sink = _raw_topic(env["PASSTHROUGH_SINK"])


def _first_message() -> None:
    log.warning("%s %.6f", FIRST_MESSAGE, time.time())


if MODE == "each":

    @app.agent(source)
    async def passthrough(stream: faust.StreamT) -> None:
        first = True
        async for event in stream.events():
            if first:
                first = False
                _first_message()
            await sink.send(key=event.key, value=event.value)

elif MODE == "batch":

    @app.agent(source)
    async def passthrough(stream: faust.StreamT) -> None:
        first = True
        async for batch in stream.take_events(BATCH, within=0.5):
            if first:
                first = False
                _first_message()
            for event in batch:
                await sink.send(key=event.key, value=event.value)

elif MODE in ("fenced", "fenced-fast"):
    # orderflow's own loop (``handle_in_batches`` with every fix installed), sending with
    # ``topic.send`` (fenced) or ``streams.runtime.sending.send_encoded`` (fenced-fast): the two
    # differ only in the send path.
    from streams.runtime import faust_fixes
    from streams.runtime.sending import send_encoded

    faust_fixes.install()
    sink_name = sink.get_topic_name()

    first_batch = [True]

    async def send_batch(batch) -> None:
        if first_batch[0]:
            first_batch[0] = False
            _first_message()
        for event in batch:
            faust_fixes.make_current(event)
            if MODE == "fenced":
                await sink.send(key=event.key, value=event.value)
            else:
                await send_encoded(app, sink_name, event.key, event.value)

    @app.agent(source)
    async def passthrough(stream: faust.StreamT) -> None:
        await faust_fixes.handle_in_batches(stream, send_batch, faust_fixes.Batching(BATCH, 0.5))

else:
    raise SystemExit(f"PASSTHROUGH_MODE must be each, batch, fenced or fenced-fast, got {MODE!r}")
