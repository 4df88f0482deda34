"""How the Kafka clients authenticate and encrypt: SASL and TLS settings from the environment.

Read once with the rest of :class:`streams.config.settings.Settings` (``settings.kafka_security``);
``streams.adapters.kafka_clients`` turns them into the keyword arguments of each client library.

=========================  ==========  ==================================================
variable                   default     meaning
=========================  ==========  ==================================================
KAFKA_SECURITY_PROTOCOL    PLAINTEXT   PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
KAFKA_SASL_MECHANISM       PLAIN       PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_*)
KAFKA_SASL_USERNAME        (none)      the SASL user (required with SASL_*)
KAFKA_SASL_PASSWORD        (none)      its password (required with SASL_*)
KAFKA_SSL_CAFILE           (system)    PEM file of the CAs to trust (SSL, SASL_SSL)
KAFKA_SSL_CERTFILE         (none)      PEM client certificate, for brokers requiring one
KAFKA_SSL_KEYFILE          (none)      PEM private key of that certificate
KAFKA_SSL_KEY_PASSWORD     (none)      password of the private key, if it has one
KAFKA_SSL_CHECK_HOSTNAME   true        false: accept a certificate for another host name
=========================  ==========  ==================================================
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class KafkaSecurityError(ValueError):
    """A Kafka security setting cannot be used; the message names the variable."""


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE + _FALSE:
        raise KafkaSecurityError(f"{name} must be true or false, got {raw!r}")
    return raw in _TRUE


@dataclass(frozen=True)
class KafkaSecurity:
    """The security protocol, SASL mechanism and credentials, and TLS files of every
    Kafka client. Passwords stay out of ``repr`` so a logged ``Settings`` shows none."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_key_password: str = field(default="", repr=False)
    ssl_check_hostname: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str]) -> KafkaSecurity:
        protocol = (env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").strip().upper()
        if protocol not in PROTOCOLS:
            raise KafkaSecurityError(
                f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, got {protocol!r}"
            )
        security = cls(
            protocol=protocol,
            sasl_mechanism=(env.get("KAFKA_SASL_MECHANISM") or "").strip().upper(),
            sasl_username=env.get("KAFKA_SASL_USERNAME") or "",
            sasl_password=env.get("KAFKA_SASL_PASSWORD") or "",
            ssl_cafile=env.get("KAFKA_SSL_CAFILE") or "",
            ssl_certfile=env.get("KAFKA_SSL_CERTFILE") or "",
            ssl_keyfile=env.get("KAFKA_SSL_KEYFILE") or "",
            ssl_key_password=env.get("KAFKA_SSL_KEY_PASSWORD") or "",
            ssl_check_hostname=_flag(env, "KAFKA_SSL_CHECK_HOSTNAME", True),
        )
        security.validate()
        return security

    def validate(self) -> None:
        """Refuse combinations a client would only fail on later, with a vaguer error."""
        if self.uses_sasl:
            if self.mechanism not in MECHANISMS:
                raise KafkaSecurityError(
                    f"KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}, "
                    f"got {self.sasl_mechanism!r}"
                )
            if not self.sasl_username or not self.sasl_password:
                raise KafkaSecurityError(
                    f"KAFKA_SECURITY_PROTOCOL={self.protocol} needs KAFKA_SASL_USERNAME and "
                    "KAFKA_SASL_PASSWORD"
                )
        elif self.sasl_mechanism or self.sasl_username or self.sasl_password:
            # Credentials that would silently go unused are a misconfiguration.
            raise KafkaSecurityError(
                "KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL is "
                f"{self.protocol}; set it to SASL_PLAINTEXT or SASL_SSL"
            )
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise KafkaSecurityError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def mechanism(self) -> str:
        """The SASL mechanism, PLAIN when unset (Kafka's own default)."""
        return self.sasl_mechanism or "PLAIN"

    def describe(self) -> str:
        """For messages: ``SASL_PLAINTEXT, SCRAM-SHA-256 as user 'orderflow'`` (no secret)."""
        if not self.uses_sasl:
            return self.protocol
        return f"{self.protocol}, {self.mechanism} as user {self.sasl_username!r}"

    def jaas_config(self, extra: str = "") -> str:
        """The Java ``sasl.jaas.config`` line of these credentials (the broker's and the
        Kafka tools' alike); ``extra`` adds options, such as a PLAIN broker's user list."""
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if self.mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        user, password = self.sasl_username, self.sasl_password
        return f'{module} required username="{user}" password="{password}"{extra};'

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values no output may show (see ``streams.config.redact``)."""
        return tuple(s for s in (self.sasl_password, self.ssl_key_password) if s)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the async clients (aiokafka, Faust); None without TLS."""
        if not self.uses_ssl:
            return None
        context = ssl.create_default_context(cafile=self.ssl_cafile or None)
        if self.ssl_certfile:
            context.load_cert_chain(
                self.ssl_certfile, self.ssl_keyfile, password=self.ssl_key_password or None
            )
        if not self.ssl_check_hostname:
            context.check_hostname = False
        return context
