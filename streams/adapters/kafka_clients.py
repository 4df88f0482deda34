"""The one place that says how to reach Kafka: the connection arguments of each client
library, taken from ``Settings`` (bootstrap servers and ``settings.kafka_security``).

- :func:`kafka_python_config`: kafka-python's ``KafkaAdminClient``, ``KafkaProducer``,
  ``KafkaConsumer`` (the CLI, the replay, the tests);
- :func:`aiokafka_config`: aiokafka's clients created directly (the benchmarks);
- :func:`faust_broker_config`: the Faust app's ``broker`` and ``broker_credentials``.

A refused login looks like an unreachable broker to kafka-python: it retries until its
bootstrap timeout and then says only "Unable to bootstrap". So before the first
kafka-python client of a process that authenticates, :func:`check_credentials` asks the
broker once and turns a refusal into one line naming the address and the mechanism.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from streams.config.settings import Settings

# The probe's wait for a broker that accepts the connection but does not answer.
PROBE_TIMEOUT_MS = 5000


class KafkaUnavailable(RuntimeError):
    """The broker named by KAFKA_BOOTSTRAP_SERVERS does not answer, or refuses us."""


class KafkaRefused(KafkaUnavailable):
    """The broker answers but refuses the credentials or the security protocol."""


def bootstrap_list(settings: Settings) -> list[str]:
    """``host:port`` of each server in KAFKA_BOOTSTRAP_SERVERS (``kafka://`` allowed)."""
    servers = [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]
    return [s.split("://", 1)[1] if "://" in s else s for s in servers]


def kafka_python_config(settings: Settings) -> dict[str, Any]:
    """``bootstrap_servers`` and the security arguments of a kafka-python client."""
    security = settings.kafka_security
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_list(settings),
        "security_protocol": security.protocol,
    }
    if security.uses_sasl:
        config.update(
            sasl_mechanism=security.mechanism,
            sasl_plain_username=security.sasl_username,
            sasl_plain_password=security.sasl_password,
        )
        if security.mechanism.startswith("SCRAM"):
            # kafka-python warns of "credentials in the clear" on every SCRAM login without
            # TLS, but SCRAM never sends the password; the warning would follow every command.
            logging.getLogger("kafka.net.sasl.scram").setLevel(logging.ERROR)
    if security.uses_ssl:
        config.update(
            ssl_cafile=security.ssl_cafile or None,
            ssl_certfile=security.ssl_certfile or None,
            ssl_keyfile=security.ssl_keyfile or None,
            ssl_password=security.ssl_key_password or None,
            ssl_check_hostname=security.ssl_check_hostname,
        )
    check_credentials(settings)
    return config


def aiokafka_config(settings: Settings) -> dict[str, Any]:
    """``bootstrap_servers`` and the security arguments of an aiokafka client."""
    return {"bootstrap_servers": bootstrap_list(settings), **_aiokafka_security(settings)}


def _aiokafka_security(settings: Settings) -> dict[str, Any]:
    security = settings.kafka_security
    config: dict[str, Any] = {"security_protocol": security.protocol}
    if security.uses_sasl:
        config.update(
            sasl_mechanism=security.mechanism,
            sasl_plain_username=security.sasl_username,
            sasl_plain_password=security.sasl_password,
        )
    if security.uses_ssl:
        config["ssl_context"] = security.ssl_context()
    return config


def faust_broker_config(settings: Settings) -> dict[str, Any]:
    """``broker`` and ``broker_credentials`` for ``faust.App``.

    Faust's URL scheme names the transport (``kafka://``, aiokafka), never the security
    protocol: TLS and SASL come from the credentials. Each server is a URL of its own,
    since Faust reads ``kafka://a:1,b:2`` as a single host.
    """
    import faust  # imported late: only the worker needs it

    security = settings.kafka_security
    credentials: Any = None
    if security.uses_sasl:
        credentials = faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password,
            ssl_context=security.ssl_context(),
            mechanism=security.mechanism,
        )
    elif security.uses_ssl:
        credentials = faust.SSLCredentials(security.ssl_context())
    return {
        "broker": [f"kafka://{server}" for server in bootstrap_list(settings)],
        "broker_credentials": credentials,
    }


def refused_message(settings: Settings, reason: str) -> str:
    servers = ",".join(bootstrap_list(settings))
    security = settings.kafka_security
    what = (
        "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        if "uthentication" in reason
        else "check KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_MECHANISM against the listener"
    )
    return f"Kafka at {servers} refused the connection ({security.describe()}): {reason}; {what}"


_checked: set[tuple] = set()
_checked_lock = threading.Lock()


def check_credentials(settings: Settings) -> None:
    """Log in to the first bootstrap server once per process and settings; raise
    :class:`KafkaRefused` with one line when it refuses the credentials or protocol.

    Plaintext needs no check, an unreachable broker is left to the client's own error,
    and inside a running event loop (the worker) the check is skipped: it would block it.
    """
    security = settings.kafka_security
    if security.protocol == "PLAINTEXT":
        return
    key = (settings.kafka_bootstrap_servers, security)
    with _checked_lock:
        if key in _checked:
            return
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop()
        return
    reason = asyncio.run(_probe(settings))
    if reason is not None:
        raise KafkaRefused(refused_message(settings, reason))
    with _checked_lock:
        _checked.add(key)


async def _probe(settings: Settings) -> str | None:
    """Why the first bootstrap server refuses us, or None (accepted, or unreachable)."""
    from aiokafka import errors
    from aiokafka.conn import create_conn

    host, _, port = bootstrap_list(settings)[0].rpartition(":")
    quiet = logging.getLogger("aiokafka")
    previous, quiet.level = quiet.level, logging.CRITICAL  # the reason is reported by us
    try:
        conn = await create_conn(
            host.strip("[]"),
            int(port),
            client_id="orderflow-login-check",
            request_timeout_ms=PROBE_TIMEOUT_MS,
            **_aiokafka_security(settings),
        )
    except (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError) as exc:
        return f"authentication failed ({_first_line(exc)})"
    except (errors.IllegalSaslStateError, errors.UnsupportedSaslMechanismError) as exc:
        return f"the listener does not accept this SASL mechanism ({type(exc).__name__})"
    except OSError as exc:  # ssl.SSLError is an OSError, but it means a TLS refusal
        return f"TLS handshake failed ({exc})" if _is_tls(exc) else None
    except Exception:  # noqa: BLE001 - timeouts and the rest: the client will report it
        return None
    finally:
        quiet.level = previous
    conn.close()
    return None


def _is_tls(exc: BaseException) -> bool:
    import ssl

    return isinstance(exc, ssl.SSLError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix("[Error 58] SaslAuthenticationFailed: ")
