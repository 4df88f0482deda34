"""Kafka and Faust plumbing and the entry points: settings, the Faust app and its wiring
(``app``, ``saga_app``), topics, the Avro codec and schema store, the patches to Faust
(``faust_fixes``), the read side's runtime (``projection_runtime``), replay, operations
(stack, verify, lag, tail) and the CLI and HTTP views. It may import ``processors`` and
``sinks``. Of it, the pure domain imports only ``messages``; the feature agents in
``processors`` import the runtime helpers they run on (codec, dead letters, ``faust_fixes``,
``sending``), and ``sinks`` the settings and redaction their clients need.
"""
