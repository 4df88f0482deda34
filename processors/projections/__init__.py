"""The read models as pure mappings: an event with its log position in, Redis updates and
ClickHouse rows out (``redis_orders``, ``clickhouse_orders``, ``clickhouse_sagas``),
``project`` walking them into a store writer (``sink.Sink``), and the write pipeline's
pure scheduling (``pipeline``). No Faust, no client: the runtime that feeds them lives in
``streams.runtime.projections``.
"""
