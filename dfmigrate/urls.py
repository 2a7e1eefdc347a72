"""Database URL helpers. Messages never show a password: pass URLs through ``mask`` first."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_SECRET_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword"})
# key=value connection strings ("host=x password=secret dbname=y"), values possibly quoted.
_KV_SECRET = re.compile(r"\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def is_postgres_url(url: str) -> bool:
    return url.split(":", 1)[0].lower() in ("postgres", "postgresql")


def url_dialect(url: str) -> str | None:
    """The dialect a database URL names, or None for a scheme dfmigrate does not know."""
    scheme = url.split(":", 1)[0].lower().split("+", 1)[0]
    return {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite",
            "mysql": "mysql", "mariadb": "mysql"}.get(scheme)


def mask(url: str) -> str:
    """``url`` with any password replaced by ``***`` (URL userinfo, query parameters, or a
    libpq key=value string). Anything unparsable is masked wholesale rather than leaked."""
    if "://" not in url:
        return _KV_SECRET.sub(lambda m: f"{m.group(1)}=***", url)
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostinfo = netloc.rpartition("@")
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":***"
            netloc = f"{userinfo}@{hostinfo}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, "***" if k.lower() in _SECRET_KEYS else v) for k, v in pairs], safe="*")
        if (netloc, query) == (parts.netloc, parts.query):
            return url  # nothing secret; urlunsplit would also drop the empty host of sqlite:///x
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return f"{url.split('://', 1)[0]}://***"


def database_name(url: str) -> str | None:
    """The database a URL names (its path), or None when it names none."""
    path = unquote(urlsplit(url).path.lstrip("/"))
    return path or None


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database (used for scratch databases)."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "dbname"]
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(database, safe=""), urlencode(pairs), parts.fragment))
