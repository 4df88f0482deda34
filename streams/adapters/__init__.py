"""Adapters to Kafka and Avro that know their technology, not the pipeline: the Avro codec
and schema store (``codec``, ``schema_store``, ``upcasters``, ``schema_registry``), the
Kafka clients' connection settings and topic administration (``kafka_clients``,
``admin``, ``consumer_groups``, ``reachability``), and short-lived readers and writers of
the logs (``eventlog``, ``writeside``, ``readside``, ``client``).

It may import ``streams.config`` and ``streams.messages``, never the runtime, operations or
entry points. The stores' adapters (Redis, ClickHouse) live in ``sinks/``.
"""
