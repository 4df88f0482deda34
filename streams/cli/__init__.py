"""The ``orderflow`` command line (``main``): one module per command group, each a thin
layer over ``streams.ops`` and the adapters, handed the process's services
(``context``: ``streams.bootstrap``). Bad arguments exit 2 with one line; a failure exits 1
with one line naming what to do."""
