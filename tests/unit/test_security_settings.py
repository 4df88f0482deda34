"""Kafka security settings, the arguments each client library gets from them, and masking
secrets in URLs and log lines."""

from __future__ import annotations

import logging

import faust
import pytest

from streams.adapters.kafka_clients import aiokafka_config, faust_broker_config, kafka_python_config
from streams.config import redact
from streams.config.settings import Settings, SettingsError

pytestmark = pytest.mark.unit

SCRAM = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1,kafka://127.0.0.2:2",
    "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
    "KAFKA_SASL_MECHANISM": "scram-sha-256",
    "KAFKA_SASL_USERNAME": "orderflow",
    "KAFKA_SASL_PASSWORD": "pw-unit-1",
}


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    settings = Settings.from_env({})
    assert kafka_python_config(settings) == {
        "bootstrap_servers": ["127.0.0.1:19092"],
        "security_protocol": "PLAINTEXT",
    }
    assert faust_broker_config(settings)["broker_credentials"] is None


def test_sasl_settings_reach_every_client_library(monkeypatch: pytest.MonkeyPatch) -> None:
    # The login check needs a broker; its own test is an integration test.
    monkeypatch.setattr("streams.adapters.kafka_clients.check_credentials", lambda settings: None)
    settings = Settings.from_env(SCRAM)
    sync = kafka_python_config(settings)
    assert sync["bootstrap_servers"] == ["127.0.0.1:1", "127.0.0.2:2"]
    assert (sync["security_protocol"], sync["sasl_mechanism"]) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-256",
    )
    assert (sync["sasl_plain_username"], sync["sasl_plain_password"]) == ("orderflow", "pw-unit-1")
    assert aiokafka_config(settings)["sasl_plain_password"] == "pw-unit-1"
    broker = faust_broker_config(settings)
    assert broker["broker"] == ["kafka://127.0.0.1:1", "kafka://127.0.0.2:2"]
    credentials = broker["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == "SCRAM-SHA-256" and credentials.password == "pw-unit-1"


def test_tls_gives_an_ssl_context_to_the_async_clients() -> None:
    settings = Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL"})
    context = aiokafka_config(settings)["ssl_context"]
    assert context.check_hostname  # verified by default
    assert isinstance(faust_broker_config(settings)["broker_credentials"], faust.SSLCredentials)
    loose = Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CHECK_HOSTNAME": "0"})
    assert aiokafka_config(loose)["ssl_context"].check_hostname is False


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({**SCRAM, "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
        ({**SCRAM, "KAFKA_SASL_PASSWORD": ""}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SASL_USERNAME": "u"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SSL_CHECK_HOSTNAME": "maybe"}, "KAFKA_SSL_CHECK_HOSTNAME"),
    ],
)
def test_unusable_settings_are_refused_naming_the_variable(env, names) -> None:
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_settings_repr_shows_no_kafka_password() -> None:
    assert "pw-unit-1" not in repr(Settings.from_env(SCRAM))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://app:pw@host:6380/1", "rediss://app:***@host:6380/1"),
        ("https://default:pw@ch.example:8443/db", "https://default:***@ch.example:8443/db"),
        ("http://ch:8123/?user=u&password=pw", "http://ch:8123/?user=u&password=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("chdb:///tmp/data/clickhouse", "chdb:///tmp/data/clickhouse"),
    ],
)
def test_redact_url_hides_only_the_password(url: str, shown: str) -> None:
    assert redact.redact_url(url) == shown


def test_every_secret_of_the_settings_is_masked_in_log_lines(caplog) -> None:
    Settings.from_env(
        {
            **SCRAM,
            "KAFKA_SASL_PASSWORD": "pw-sasl-2",
            "REDIS_URL": "redis://u:pw%2Fredis-3@127.0.0.1:1/0",
            "CLICKHOUSE_URL": "https://u:pw-ch-4@ch:8443/",
        }
    )
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(redact.SecretFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("connecting %s and %s", "redis://u:pw%2Fredis-3@x", "pw/redis-3")
        try:
            raise RuntimeError("login pw-sasl-2 refused at https://u:pw-ch-4@ch")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text
    for secret in ("pw-sasl-2", "pw%2Fredis-3", "pw/redis-3", "pw-ch-4"):
        assert secret not in text
    assert text.count(redact.MASK) >= 4
