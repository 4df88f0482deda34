"""The worker's HTTP views (Faust web), an entry point like the CLI: the query API
(``queries``), operations (``ops``: metrics, health), the saga views (``saga``) and the
checked parameters they share (``params``).

It may import everything below it; nothing below the entry points imports it.
"""
