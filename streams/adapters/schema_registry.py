"""A client of the Confluent Schema Registry API, and the subject names orderflow uses.

``SCHEMA_REGISTRY_URL`` is the API's base URL as Confluent's clients take it: for Apicurio
Registry (the local stack's) ``http://host:port/apis/ccompat/v7``; for Confluent's own
registry its root. A user and password in the URL are sent as HTTP basic auth and never
shown (:func:`streams.config.redact.redact_url`).

Subjects follow Confluent's RecordNameStrategy: one subject per record, named by its full
name (``orderflow.orders.events.OrderCreated``). Each orderflow topic carries several
record types, and each record evolves on its own under its own compatibility policy
(``schemas/compatibility.json``), which is what a subject per record expresses; with
TopicNameStrategy every topic would need one union schema, and adding a version of one
event would be a new version of all of them. Confluent's serializers take
``subject.name.strategy=record_subject_name_strategy`` (Java:
``io.confluent.kafka.serializers.subject.RecordNameStrategy``).

The standard library's HTTP client is enough for the handful of calls made (each schema
id is looked up once per process, see ``streams.adapters.codec``).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, to_parsing_canonical_form

from streams.adapters.codec import AvroCodec, UnknownSchemaId
from streams.adapters.schema_store import SchemaStore, SchemaVersion, crc64_avro
from streams.config.redact import redact_url
from streams.config.settings import Settings

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# Confluent's error codes (the JSON body's error_code) that mean "no such thing".
SUBJECT_NOT_FOUND = 40401
SCHEMA_NOT_FOUND = 40403
VERSION_NOT_FOUND = 40402


class RegistryUnavailable(RuntimeError):
    """The registry does not answer, or answers with something that is not its API; the
    message names the (redacted) address and what to do."""


class SchemasUnregistered(RuntimeError):
    """A worker's schemas are not all in the registry, or the registry does not answer."""


class RegistryRefused(RuntimeError):
    """The registry answered with an error (an incompatible schema, a refused login):
    ``status`` and Confluent's ``error_code`` say which."""

    def __init__(self, message: str, status: int, error_code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


def subject_name(sv: SchemaVersion) -> str:
    """The subject of a record (RecordNameStrategy): its full name."""
    return full_name(sv.schema)


def full_name(schema: dict[str, Any]) -> str:
    """``namespace.name`` of a record schema (the name alone when it holds a dot)."""
    name = schema["name"]
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def schema_text(sv: SchemaVersion) -> str:
    """The schema as orderflow registers it: the .avsc as written (docs and logical types
    included, for other tools), as compact JSON."""
    return json.dumps(sv.schema, separators=(",", ":"))


class SchemaRegistryClient:
    """The few calls of the Confluent API that orderflow makes, with one timeout each."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"SCHEMA_REGISTRY_URL must be an http:// or https:// URL, got {redact_url(url)!r}"
            )
        self.shown = redact_url(url)
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._auth = None
        if parts.username is not None:
            user_info = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._auth = "Basic " + base64.b64encode(user_info.encode()).decode()
        self.timeout_s = timeout_s

    # The calls ----------------------------------------------------------------------

    def schema_by_id(self, schema_id: int) -> str | None:
        """The schema text registered under ``schema_id``, or None when there is none."""
        found = self._call("GET", f"/schemas/ids/{schema_id}", missing=(SCHEMA_NOT_FOUND,))
        return None if found is None else found["schema"]

    def lookup(self, subject: str, schema: str) -> int | None:
        """The id of ``schema`` when it is registered under ``subject``, else None."""
        found = self._call(
            "POST",
            f"/subjects/{quote(subject, safe='')}",
            {"schema": schema},
            missing=(SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND),
        )
        return None if found is None else int(found["id"])

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` (the same schema again: its existing id)."""
        answer = self._call(
            "POST", f"/subjects/{quote(subject, safe='')}/versions", {"schema": schema}
        )
        return int(answer["id"])

    def set_compatibility(self, subject: str, level: str) -> None:
        """Set the compatibility level the registry enforces for ``subject``."""
        self._call("PUT", f"/config/{quote(subject, safe='')}", {"compatibility": level})

    def subjects(self) -> list[str]:
        return list(self._call("GET", "/subjects"))

    # HTTP ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        missing: tuple[int, ...] = (),
    ) -> Any:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE},
        )
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            code, message = _error_of(exc)
            if exc.code == 404 and (code in missing or (code is None and missing)):
                return None
            raise RegistryRefused(
                f"schema registry at {self.shown} refused {method} {path}: "
                f"HTTP {exc.code}{f' (error {code})' if code else ''}: {message}",
                exc.code,
                code,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryUnavailable(
                f"schema registry at {self.shown} does not answer ({reason}): start it "
                "(`orderflow stack up --registry`) or check SCHEMA_REGISTRY_URL"
            ) from None
        except ValueError:
            raise RegistryUnavailable(
                f"schema registry at {self.shown} answered {method} {path} with something "
                "that is not JSON: is SCHEMA_REGISTRY_URL the Confluent API's base URL "
                "(for Apicurio: http://host:port/apis/ccompat/v7)?"
            ) from None


def _error_of(exc: urllib.error.HTTPError) -> tuple[int | None, str]:
    """Confluent's ``error_code`` and ``message`` of an error answer, when it has them."""
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("error_code")
    return (code if isinstance(code, int) else None), str(body.get("message") or exc.reason)


class RegistryIds:
    """Schema ids <-> the store's versions, each asked of the registry once per process.

    An id's schema is matched to a version of the store by its Parsing Canonical Form
    fingerprint, so docs, logical types and whitespace do not matter, and whoever
    registered it (``orderflow schemas register``, a Confluent serializer registering its
    own copy) the same version is found. An id that is no version of the store is
    remembered as such: a flood of messages with a bad id costs one request.
    """

    def __init__(self, client: SchemaRegistryClient, store: SchemaStore) -> None:
        self.client = client
        self.store = store
        self._versions: dict[int, SchemaVersion | str] = {}
        self._ids: dict[bytes, int] = {}

    def version_of(self, schema_id: int) -> SchemaVersion:
        known = self._versions.get(schema_id)
        if known is None:
            known = self._versions[schema_id] = self._look_up(schema_id)
        if isinstance(known, str):
            raise UnknownSchemaId(known)
        return known

    def _look_up(self, schema_id: int) -> SchemaVersion | str:
        text = self.client.schema_by_id(schema_id)
        if text is None:
            return (
                f"unknown schema id {schema_id}: the schema registry at {self.client.shown} "
                "has no such schema"
            )
        try:
            parsed = parse_schema(json.loads(text), named_schemas={})
            fp = crc64_avro(to_parsing_canonical_form(parsed))
        except (ValueError, TypeError, KeyError, SchemaParseException) as exc:
            return f"schema id {schema_id} is not an Avro schema orderflow can read: {exc}"
        sv = self.store.by_fingerprint(fp)
        if sv is None:
            name = parsed.get("name", "?") if isinstance(parsed, dict) else "?"
            return (
                f"schema id {schema_id} ({name}, fingerprint {fp.hex()}) is no version of a "
                "record in schemas/"
            )
        self._ids.setdefault(sv.fingerprint, schema_id)
        return sv

    def id_of(self, sv: SchemaVersion) -> int:
        schema_id = self._ids.get(sv.fingerprint)
        if schema_id is None:
            schema_id = self.client.lookup(subject_name(sv), schema_text(sv))
            if schema_id is None:
                raise UnknownSchemaId(
                    f"not registered under subject {subject_name(sv)} in the schema registry at "
                    f"{self.client.shown}: run `orderflow schemas register`"
                )
            self._ids[sv.fingerprint] = schema_id
            # The registry matched our text under the record's subject: the id is sv.
            self._versions.setdefault(schema_id, sv)
        return schema_id

    def missing(self, versions: list[SchemaVersion]) -> list[SchemaVersion]:
        """Those of ``versions`` the registry does not have (their ids are kept)."""
        absent = []
        for sv in versions:
            try:
                self.id_of(sv)
            except UnknownSchemaId:
                absent.append(sv)
        return absent


def registry_codec(settings: Settings, store: SchemaStore | None = None) -> AvroCodec:
    """The codec for ``settings``: Confluent's wire format with the registry at
    ``SCHEMA_REGISTRY_URL`` when it is set, else single-object encoding (both read)."""
    store = store or SchemaStore.load()
    if not settings.schema_registry_url:
        return AvroCodec(store)
    client = SchemaRegistryClient(settings.schema_registry_url)
    return AvroCodec(store, registry=RegistryIds(client, store))


def ensure_registered(codec: AvroCodec) -> None:
    """With a registry: look up the id of every version ``codec`` writes (one request
    each, kept for the process's life), raising ``SchemasUnregistered`` naming what is
    missing. A worker calls it before it consumes anything, so an unregistered schema
    stops it at start instead of dead-lettering every message it would write."""
    if not isinstance(codec.registry, RegistryIds):
        return
    ids = codec.registry
    try:
        missing = ids.missing([codec.reader(name) for name in codec.store.names()])
    except (RegistryUnavailable, RegistryRefused) as exc:
        raise SchemasUnregistered(str(exc)) from None
    if missing:
        shown = ", ".join(f"{subject_name(sv)} v{sv.version}" for sv in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise SchemasUnregistered(
            f"{len(missing)} schemas are not registered in the schema registry at "
            f"{ids.client.shown} ({shown}{more}): run `orderflow schemas register`"
        )
