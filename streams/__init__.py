"""Kafka and Faust plumbing and the entry points: settings, the Faust app and its wiring
(``app``, ``saga_app``), topics, the Avro codec and schema store, the patches to Faust
(``faust_fixes``), the read side's runtime (``projection_runtime``), replay, operations
(stack, verify, lag, tail) and the CLI and HTTP views. It may import ``processors`` and
``sinks``; they import only its pure parts (``messages``, settings for the clients).
"""
