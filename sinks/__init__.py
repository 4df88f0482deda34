"""Redis and ClickHouse: the read models' writers (batched, idempotent), their schemas and
their queries. A writer knows its store and takes the write types of
``processors.projections`` (the interface it offers is ``processors.projections.sink``);
it imports neither the runtime (Faust, the app) nor the entry points.
"""
