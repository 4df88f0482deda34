"""Keeping passwords out of every output: URLs shown without theirs, log lines masked.

Secrets live in ``REDIS_URL`` and ``CLICKHOUSE_URL`` (``scheme://user:password@host``)
and in ``KAFKA_SASL_PASSWORD``. Messages that name a service show :func:`redact_url`
of its address; as a net under everything else (a library's error quoting a URL, a
repr in a traceback), :class:`SecretFilter` masks every secret the process's settings
hold in every log record. ``Settings.from_env`` registers them with :func:`remember`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry a secret in the URLs redis-py and clickhouse-connect accept.
SECRET_PARAMS = frozenset({"password", "passwd", "pwd", "secret", "token", "access_token"})

_secrets: set[str] = set()
_lock = threading.Lock()


def redact_url(url: str) -> str:
    """``url`` with its password (and secret query parameters) replaced by ``***``;
    the user name stays, as it helps to tell which account was used."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_secrets(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if has_password else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in SECRET_PARAMS for key, _ in pairs):
            masked = [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs]
            query = urlencode(masked, safe="*/")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # unsplit would rewrite some URLs (chdb:///dir becomes chdb:/dir)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> tuple[str, ...]:
    """The password of ``url`` and its secret query parameters, as written and decoded."""
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        found += [v for k, v in parse_qsl(parts.query) if k.lower() in SECRET_PARAMS]
    except ValueError:
        return ()
    return tuple({variant for s in found if s for variant in (s, unquote(s))})


def remember(secrets: Iterable[str]) -> None:
    """Add secrets that :func:`mask_secrets` and :class:`SecretFilter` hide from now on."""
    new = {variant for s in secrets if s for variant in (s, quote(s, safe=""))}
    with _lock:
        _secrets.update(new)


def mask_secrets(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every remembered secret (or those given) replaced by ``***``."""
    with _lock:
        known = set(_secrets) if secrets is None else set(secrets)
    # Longest first: a secret containing another one is masked whole.
    for secret in sorted(known, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """Masks remembered secrets in a record's message and formatted traceback, so no
    handler writes them. It changes the record and never drops one."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """One :class:`SecretFilter` on every handler of ``logger`` (the root logger)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            # First in line: the filters after it (the repeat counter) see masked text.
            handler.filters.insert(0, SecretFilter())
