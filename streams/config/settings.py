"""Settings: environment variables with local defaults, read once.

Every other module receives a ``Settings`` (or values taken from it) as an argument;
``Settings.from_env()`` is called in one wiring place (the Faust app, the CLI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from streams.config import redact
from streams.config.kafka_security import KafkaSecurity, KafkaSecurityError
from streams.config.roles import ROLES
from streams.config.saga_settings import SagaSettings, parse_agents

DEFAULT_KAFKA = "127.0.0.1:19092"
DEFAULT_REDIS = "redis://127.0.0.1:16379/0"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "orderflow"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orderflow"


def _env_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _env_float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _env_flag(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")


def _saga_fields(env: dict[str, str]) -> dict:
    role = env.get("ORDERFLOW_ROLE") or ""
    role = "" if role == "all" else role  # every agent in one process, as without a role
    if role and role not in ROLES:
        raise SettingsError(
            f"ORDERFLOW_ROLE must be one of {', '.join(ROLES)} or all, got {role!r}"
        )
    try:
        return {
            "saga": SagaSettings.from_env(env),
            "agents": ROLES[role] if role else parse_agents(env.get("ORDERFLOW_AGENTS")),
            "role": role,
        }
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _kafka_security(env: dict[str, str]) -> KafkaSecurity:
    try:
        return KafkaSecurity.from_env(env)
    except KafkaSecurityError as exc:
        raise SettingsError(str(exc)) from None


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Where the services are and how the pipeline behaves.

    ``namespace`` isolates one deployment (or one test) from another: it prefixes
    topic names, the Faust app id, Redis keys and the ClickHouse database.
    """

    kafka_bootstrap_servers: str = DEFAULT_KAFKA
    # KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* (streams/config/kafka_security.py); every
    # Kafka client takes them through streams/adapters/kafka_clients.py.
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    redis_url: str = DEFAULT_REDIS
    clickhouse_url: str = ""
    # SCHEMA_REGISTRY_URL: a Confluent-compatible schema registry; set, values are written
    # in Confluent's wire format (streams/adapters/schema_registry.py). Both framings are read.
    schema_registry_url: str = ""
    data_dir: Path = field(default_factory=_default_data_dir)
    namespace: str = ""
    web_port: int = 6066
    web_host: str = "127.0.0.1"
    # ORDERFLOW_WEB_DEBUG_VIEWS: Faust's own /table/, /router/, /graph/ and statistics
    # views, which serve table contents and internals without authentication.
    web_debug_views: bool = False
    snapshot_every: int = 50
    saga_mode: str = "orchestration"
    batch_size: int = 2000
    batch_seconds: float = 0.5
    # Batches of the agents that decide (aggregate, saga, participants): small waits, since
    # a command's latency includes them.
    decide_batch_size: int = 500
    decide_batch_seconds: float = 0.02
    kafka_version: str = "4.1.1"
    store: str = "memory://"
    processing_guarantee: str = "exactly_once"
    commit_interval: float = 0.5
    # ORDERFLOW_PRODUCER_LINGER_MS: how long a worker's producers wait to fill a batch
    # before a produce request (Kafka's linger.ms; Faust's producer_linger, 0 by default).
    # With none, every event-loop turn ships a small request per transactional producer:
    # 10 ms took the saga's catch-up from ~65 to ~95 orders/s (BENCHMARKS.md).
    producer_linger_ms: float = 10.0
    session_timeout: float = 10.0
    # ORDERFLOW_KAFKA_CONNECT_TIMEOUT: how long a CLI command waits for a bootstrap
    # address to accept a connection before it says Kafka is down.
    kafka_connect_timeout: float = 3.0
    # Downloaded artefacts (the Kafka jars) live outside the work tree and the data dir,
    # so they survive `git clean` and are shared by every data dir and test run.
    cache_dir: Path = field(default_factory=_default_cache_dir)
    # Saga timeouts, retries and participant failure injection (streams/config/saga_settings.py).
    saga: SagaSettings = field(default_factory=SagaSettings)
    # ORDERFLOW_AGENTS: the agent groups this worker runs; empty runs every one.
    agents: tuple[str, ...] = ()
    # ORDERFLOW_ROLE: the role (streams/config/roles.py) this worker process runs, set by the
    # supervisor for its children; it names the agent groups and the consumer group.
    role: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("ORDERFLOW_DATA_DIR") or _default_data_dir()).expanduser()
        saga_mode = env.get("SAGA_MODE", "orchestration")
        if saga_mode not in ("orchestration", "choreography"):
            raise SettingsError(
                f"SAGA_MODE must be 'orchestration' or 'choreography', got {saga_mode!r}"
            )
        guarantee = env.get("ORDERFLOW_PROCESSING_GUARANTEE") or "exactly_once"
        if guarantee not in ("exactly_once", "at_least_once"):
            raise SettingsError(
                "ORDERFLOW_PROCESSING_GUARANTEE must be 'exactly_once' or 'at_least_once', "
                f"got {guarantee!r}"
            )
        namespace = env.get("ORDERFLOW_NAMESPACE", "")
        if namespace and not all(c.isalnum() or c in "_-" for c in namespace):
            raise SettingsError(
                f"ORDERFLOW_NAMESPACE may hold letters, digits, '_' and '-', got {namespace!r}"
            )
        registry_url = env.get("SCHEMA_REGISTRY_URL") or ""
        if registry_url and not registry_url.startswith(("http://", "https://")):
            raise SettingsError(
                "SCHEMA_REGISTRY_URL must be an http:// or https:// URL, got "
                f"{redact.redact_url(registry_url)!r}"
            )
        settings = cls(
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_KAFKA,
            kafka_security=_kafka_security(env),
            redis_url=env.get("REDIS_URL") or DEFAULT_REDIS,
            clickhouse_url=env.get("CLICKHOUSE_URL") or f"chdb://{data_dir / 'clickhouse'}",
            schema_registry_url=registry_url,
            data_dir=data_dir,
            namespace=namespace,
            web_port=_env_int(env, "ORDERFLOW_WEB_PORT", 6066),
            web_host=env.get("ORDERFLOW_WEB_HOST") or "127.0.0.1",
            web_debug_views=_env_flag(env, "ORDERFLOW_WEB_DEBUG_VIEWS"),
            snapshot_every=_env_int(env, "ORDERFLOW_SNAPSHOT_EVERY", 50),
            saga_mode=saga_mode,
            batch_size=_env_int(env, "ORDERFLOW_BATCH_SIZE", 2000),
            batch_seconds=_env_float(env, "ORDERFLOW_BATCH_SECONDS", 0.5),
            decide_batch_size=_env_int(env, "ORDERFLOW_DECIDE_BATCH_SIZE", 500),
            decide_batch_seconds=_env_float(env, "ORDERFLOW_DECIDE_BATCH_SECONDS", 0.02),
            kafka_version=env.get("ORDERFLOW_KAFKA_VERSION") or "4.1.1",
            store=env.get("ORDERFLOW_STORE") or "memory://",
            processing_guarantee=guarantee,
            commit_interval=_env_float(env, "ORDERFLOW_COMMIT_INTERVAL", 0.5),
            producer_linger_ms=_env_float(
                env, "ORDERFLOW_PRODUCER_LINGER_MS", cls.producer_linger_ms
            ),
            session_timeout=_env_float(env, "ORDERFLOW_SESSION_TIMEOUT", 10.0),
            kafka_connect_timeout=_env_float(
                env, "ORDERFLOW_KAFKA_CONNECT_TIMEOUT", cls.kafka_connect_timeout
            ),
            cache_dir=Path(env.get("ORDERFLOW_CACHE_DIR") or _default_cache_dir()).expanduser(),
            **_saga_fields(env),
        )
        if settings.kafka_connect_timeout <= 0:
            raise SettingsError("ORDERFLOW_KAFKA_CONNECT_TIMEOUT must be above 0 seconds")
        if settings.producer_linger_ms < 0:
            raise SettingsError("ORDERFLOW_PRODUCER_LINGER_MS must be 0 or more milliseconds")
        # From here on no log line of this process shows them (streams/config/redact.py).
        redact.remember(settings.secrets)
        return settings

    @property
    def secrets(self) -> tuple[str, ...]:
        """Passwords held by the settings: the Kafka SASL and key passwords and those in
        REDIS_URL, CLICKHOUSE_URL and SCHEMA_REGISTRY_URL."""
        return (
            *self.kafka_security.secrets,
            *redact.url_secrets(self.redis_url),
            *redact.url_secrets(self.clickhouse_url),
            *redact.url_secrets(self.schema_registry_url),
        )

    # Names derived from the namespace -------------------------------------------------

    def topic(self, name: str) -> str:
        """The real Kafka topic name for a logical name such as ``orders.events``."""
        return f"{self.namespace}.{name}" if self.namespace else name

    @property
    def app_id(self) -> str:
        return f"orderflow-{self.namespace}" if self.namespace else "orderflow"

    def runs(self, group: str) -> bool:
        """Whether this worker runs the agent group ``group`` (see ``ORDERFLOW_AGENTS``)."""
        return not self.agents or group in self.agents

    @property
    def worker_app_id(self) -> str:
        """The Faust app id (and consumer group) of this worker: a worker running only some
        agents is its own app, because Faust spreads all of an app's topics over its workers."""
        if self.role:
            return f"{self.app_id}-{self.role}"
        return "-".join((self.app_id, *self.agents)) if self.agents else self.app_id

    @property
    def role_groups(self) -> tuple[str, ...]:
        """The consumer groups of the supervised topology, one per role."""
        return tuple(f"{self.app_id}-{role}" for role in ROLES)

    @property
    def projection_groups(self) -> tuple[str, ...]:
        """The consumer groups whose workers write the read models (either topology)."""
        return (self.app_id, f"{self.app_id}-projections")

    @property
    def redis_prefix(self) -> str:
        return f"orderflow:{self.namespace}:" if self.namespace else "orderflow:"

    @property
    def clickhouse_database(self) -> str:
        return f"orderflow_{self.namespace.replace('-', '_')}" if self.namespace else "orderflow"

    @property
    def uses_embedded_clickhouse(self) -> bool:
        return self.clickhouse_url.startswith("chdb://")

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"
