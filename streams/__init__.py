"""Everything around the domain, in layers whose imports point inwards (pyproject.toml's
import contracts; docs/architecture.md has the picture):

- entry points: ``cli`` (``orderflow``), ``app`` (the worker's Faust app, composed by
  ``build_worker_app``), ``web`` (the worker's HTTP views);
- ``bootstrap``: the composition root, a process's codec and clients built once;
- ``ops``: stack, replay, verify, lag, tail, consumer groups, demo, the supervisor;
- ``runtime``: Faust, its patches and the agent loop with its error policy, the saga's and
  the read side's wiring;
- ``adapters``: Avro codec and schema store, Kafka clients and admin, log readers;
- ``config``: settings, topics, clock, time parsing, redaction, logs;
- ``messages``: ``Message`` and the ``Record`` registry, all the domain imports of it.

Each may import the ones below it, ``processors`` and ``sinks``; nothing imports upwards.
"""
