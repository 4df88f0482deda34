"""Operations: the work behind the commands an operator runs. The local stack
(``stack``), replay from a time into shadow read models (``replay``), ``verify``, consumer
lag (``lag``), reading any topic (``tail``), the demo (``demo``, ``demo_saga``), Kafka's
own tools (``kafka_tools``) and the process supervisor of ``orderflow worker``
(``supervisor``).

It may import the runtime's Faust-free parts, the adapters, ``sinks``, ``processors`` and
``streams.config``; never the entry points (``streams.cli``, ``streams.web``).
"""
