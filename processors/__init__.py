"""The domain and its agents, by feature: the order aggregate (``orders``), the saga
(``saga``), its participants (``payment``, ``inventory``, ``shipping``) and the read
models' pure mappings (``projections``).

The pure modules (``*/domain.py``, ``orders/limits.py``, ``orders/handling.py``, the
saga's ``state``/``decide``/``commands``/``deadlines``/``choreography``, ``idempotency``,
the projection mappings) import no framework, client or store; the ``agent`` modules are
the thin Faust side of a feature and may import ``streams``. Nothing here imports
``sinks`` (pyproject.toml's import contracts).
"""
