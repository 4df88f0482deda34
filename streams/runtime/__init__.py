"""The Faust runtime: everything that runs inside a worker process. The patches to Faust
and the batching agent loop (``faust_fixes``: the one module that touches Faust's
internals, and refuses a Faust it was not tested with), the topic class
(``faust_topic``), sends from the hot paths (``sending``), the dead-letter topic
(``deadletter``), local state and the topics a worker needs (``local_state``,
``worker_topics``), metrics and health (``metrics``, ``health``), the saga's wiring
(``saga_wiring``, ``choreography_wiring``) and the read side's agents (``projections``).

It may import ``processors``, ``sinks``, ``streams.adapters`` and ``streams.config``; never
operations or entry points (``streams.ops``, ``streams.cli``, ``streams.web``). The app
itself is composed by ``streams.bootstrap``.
"""
