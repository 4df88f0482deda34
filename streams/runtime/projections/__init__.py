"""The read side's runtime: the Faust agents that feed the projections (``agents``), the
write loop shared with replay (``writes``: feed, retry while a store is down) and the
search for the events a store refuses (``poison``).

It wires the pure mappings of ``processors.projections`` to the stores of ``sinks``; it
may import both, and neither imports it. ``writes`` and ``poison`` import no Faust, so
replay uses them without the live app.
"""
