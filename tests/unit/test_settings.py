"""Worker tuning settings: defaults, overrides, and values refused with the variable named."""

from __future__ import annotations

import pytest

from streams.config.settings import Settings, SettingsError


def test_producer_linger_defaults_to_10_ms_and_can_be_turned_off() -> None:
    assert Settings.from_env({}).producer_linger_ms == 10.0
    assert Settings.from_env({"ORDERFLOW_PRODUCER_LINGER_MS": "0"}).producer_linger_ms == 0.0


def test_a_negative_producer_linger_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="ORDERFLOW_PRODUCER_LINGER_MS"):
        Settings.from_env({"ORDERFLOW_PRODUCER_LINGER_MS": "-1"})


def test_a_connect_timeout_of_zero_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="ORDERFLOW_KAFKA_CONNECT_TIMEOUT"):
        Settings.from_env({"ORDERFLOW_KAFKA_CONNECT_TIMEOUT": "0"})
