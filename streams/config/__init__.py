"""Configuration and what every layer shares about input and output: the settings read
from the environment (``settings``, ``saga_settings``, ``kafka_security``, ``roles``), the
topics declared as plain data (``topics``), times typed by a user (``timeparse``),
keeping secrets out of output (``redact``) and log records that stay readable (``logs``).

It imports nothing of orderflow above it: no adapter, runtime, operation or entry point.
"""
