"""The worker's Faust app, composed from the process's services (``streams.bootstrap``):
topics, tables, agents and views, wired in one place.

Run a worker as Faust users expect::

    faust -A streams.app worker -l info      # or: orderflow worker

Faust finds the app as this module's ``app``, built on first access from the environment
(``__getattr__`` below): importing the module builds nothing. ``orderflow worker`` calls
``build_worker_app`` with the services it made. The feature code in ``processors/``
receives the topics, tables and codec as arguments.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, cast

import faust

from processors.orders.agent import build_order_agent
from streams.adapters.kafka_clients import faust_broker_config
from streams.adapters.schema_registry import SchemasUnregistered, ensure_registered
from streams.bootstrap import Services, bootstrap
from streams.config import logs
from streams.config import topics as specs
from streams.runtime import faust_topic
from streams.runtime.deadletter import DeadLetters
from streams.runtime.faust_fixes import Batching
from streams.runtime.faust_fixes import install as install_faust_fixes
from streams.runtime.local_state import discard_unclean_state, mark_clean_shutdown
from streams.runtime.projections.agents import build_projection_agent
from streams.runtime.saga_wiring import SagaWiring
from streams.runtime.table_help import TABLE_HELP
from streams.runtime.worker_topics import TopicsUnavailable, ensure_worker_topics
from streams.web.ops import register_ops_views
from streams.web.queries import register_views
from streams.web.saga import register_saga_views


class Worker(faust.Worker):
    """Faust's worker, with repeated log records rate-limited (``streams.config.logs``):
    Faust replaces the root logger's handlers when it starts, so the filter goes on after.
    It creates the topics it needs first (``streams.runtime.worker_topics``), also when
    started as ``faust -A streams.app worker``, and with a schema registry it refuses to
    start before the schemas it writes are registered (their ids are then known).
    (Named like Faust's own: the name is in every line it logs, ``[^Worker]``.)
    ``build_worker_app`` gives each app a subclass that knows its services (``orderflow``)."""

    orderflow: Services  # not ``services``: mode's Worker keeps the services it starts there
    repeats: logs.RepeatFilter | None = None

    def on_setup_root_logger(self, logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        self.repeats = logs.install(logger)

    async def on_first_start(self) -> None:
        # Before any subscription: Faust itself creates only the changelogs.
        try:
            app = cast(faust.App, self.app)
            await asyncio.to_thread(ensure_worker_topics, self.orderflow.settings, app)
            await asyncio.to_thread(ensure_registered, self.orderflow.codec)
        except (TopicsUnavailable, SchemasUnregistered) as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        await super().on_first_start()

    def on_worker_shutdown(self) -> None:
        if self.repeats is not None:
            self.repeats.flush()  # the repeats still counted, before the process ends
        super().on_worker_shutdown()


def build_worker_app(services: Services) -> faust.App:
    """The Faust app of the agents ``services.settings`` runs (``ORDERFLOW_AGENTS``)."""
    install_faust_fixes()
    settings = services.settings
    codec = services.codec
    batching = Batching(settings.decide_batch_size, settings.decide_batch_seconds)
    # A worker running only some agents (ORDERFLOW_AGENTS) is an app of its own.
    faust_dir = settings.data_dir / "faust" / settings.worker_app_id
    faust_dir.mkdir(parents=True, exist_ok=True)

    app = faust.App(
        settings.worker_app_id,
        # The broker URLs and the SASL/TLS credentials (streams/adapters/kafka_clients.py).
        **faust_broker_config(settings),
        store=settings.store,
        topic_partitions=specs.ORDER_PARTITIONS,
        topic_replication_factor=1,
        # Exactly-once: the aggregate's events, its table changelog and the consumed
        # offsets commit in one Kafka transaction, so a crash never leaves half a decision.
        processing_guarantee=settings.processing_guarantee,
        # Under exactly-once a transaction commits at each commit: this bounds how long the
        # aggregate's events stay invisible to read-committed readers (Faust's default 2.8 s).
        broker_commit_interval=settings.commit_interval,
        producer_linger=settings.producer_linger_ms / 1000,
        # A worker that dies without leaving the group (kill -9) holds its partitions until
        # the session times out; Faust's 60 s default stalls every restart that long.
        broker_session_timeout=settings.session_timeout,
        consumer_auto_offset_reset="earliest",
        web_host=settings.web_host,
        web_bind=settings.web_host,  # Faust binds 0.0.0.0 unless told; web_host only names it
        web_port=settings.web_port,
        # Faust's built-in views serve table contents (saga ledgers, orders) and the cluster
        # layout to anyone who can connect: off unless ORDERFLOW_WEB_DEBUG_VIEWS asks for
        # them. With them off, "/" is Faust's plain {"status": "OK"} index.
        web_tables_enabled=settings.web_debug_views,
        web_router_enabled=settings.web_debug_views,
        web_stats_enabled=settings.web_debug_views,
        web_graph_enabled=settings.web_debug_views,
        web_in_thread=False,
        autodiscover=False,
        datadir=str(faust_dir),
        table_cleanup_interval=30.0,
        Worker=type("Worker", (Worker,), {"orderflow": services}),
        Topic=faust_topic.Topic,  # `faust agents` can name a multi-topic subscription
    )
    # Table writes reach their changelogs through Faust's producer buffer; once it holds
    # more than 100 records the conductor waits for it to drain and logs a WARNING
    # ("producer buffer full"), hundreds of times per catch-up, since one batch of
    # decisions writes up to two records per message. The buffer drains continuously and a
    # commit flushes it first (streams/runtime/faust_fixes.py fix 3); this only lets a
    # whole batch's writes in without a wait.
    app.producer.buffer.max_messages = 4 * settings.decide_batch_size

    # Before any table opens: local RocksDB state survives only a clean shutdown.
    discard_unclean_state(faust_dir, Path(app.conf.tabledir), settings.store)

    @app.on_before_shutdown.connect
    def _record_clean_shutdown(app: faust.App, /, *args: Any, **kwargs: Any) -> None:
        mark_clean_shutdown(faust_dir)

    def topic(spec: specs.TopicSpec) -> faust.TopicT:
        # Values are raw bytes on the wire: agents decode with the Avro codec themselves so
        # a message that fails to decode can go to the dead-letter topic byte for byte.
        return app.topic(
            settings.topic(spec.name),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=spec.partitions,
        )

    def table(name: str) -> faust.Table:
        # Keys and values go through Faust's JSON codec (its default for tables).
        made = app.Table(name, partitions=specs.ORDER_PARTITIONS, help=TABLE_HELP.get(name))
        return cast(faust.Table, made)  # the app's Table class: faust.Table

    order_commands = topic(specs.ORDER_COMMANDS)
    dead_letters = DeadLetters(topic(specs.DEAD_LETTERS))

    if settings.runs("orders"):
        build_order_agent(
            app,
            commands=order_commands,
            events=topic(specs.ORDER_EVENTS),
            results=topic(specs.COMMAND_RESULTS),
            snapshots=topic(specs.ORDER_SNAPSHOTS),
            order_by_id=table("order_by_id"),
            outcome_by_command=table("outcome_by_command"),
            codec=codec,
            dead_letters=dead_letters,
            snapshot_every=settings.snapshot_every,
            batching=batching,
            clock=services.clock,
        )

    if settings.runs("projections"):
        # One subscription for every projected topic (order events and saga timelines).
        projected = app.topic(
            *(settings.topic(spec.name) for spec in specs.PROJECTED_TOPICS),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        build_projection_agent(
            app,
            source=projected,
            codec=codec,
            dead_letters=dead_letters,
            sink_factories=services.sink_factories(),
            settings=settings,
        )

    # The fulfilment saga: participants, orchestrator (or choreography), timer.
    saga = SagaWiring(app, settings, codec, dead_letters, topic, batching, services.clock).build()

    register_views(app, services)
    register_saga_views(app, saga.tables)
    register_ops_views(app, services)
    return app


_app: faust.App | None = None


def __getattr__(name: str) -> Any:
    """``app``, what ``faust -A streams.app`` asks for: built once from the environment,
    on first access."""
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = build_worker_app(bootstrap(worker=True))
    return _app
