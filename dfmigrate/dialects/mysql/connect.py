"""Opening a MySQL or MariaDB connection from a ``mysql://`` / ``mariadb://`` URL (asyncmy)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from dfmigrate.errors import SourceError
from dfmigrate.urls import mask

DEFAULT_PORT = 3306


def connect_kwargs(url: str) -> dict[str, Any]:
    """asyncmy.connect() arguments for ``url``: host, port, user, password, database, and the
    ``unix_socket``/``charset`` query parameters."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise SourceError(f"bad MySQL URL {mask(url)}: {exc}") from None
    query = dict(parse_qsl(parts.query))
    unknown = set(query) - {"unix_socket", "charset"}
    if unknown:
        raise SourceError(f"MySQL URL {mask(url)}: unknown parameter(s) {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": port,
        "user": unquote(parts.username) if parts.username else "root",
        "password": unquote(parts.password) if parts.password else "",
        "charset": query.get("charset", "utf8mb4"),
        "autocommit": True,
    }
    database = unquote(parts.path.lstrip("/"))
    if database:
        kwargs["db"] = database
    if "unix_socket" in query:
        kwargs["unix_socket"] = query["unix_socket"]
    return kwargs


async def connect(url: str, timeout: float = 10, scripts: bool = False, **options: Any) -> Any:
    """An asyncmy connection in autocommit mode (MySQL DDL commits implicitly anyway);
    ``scripts``: one ``execute`` may hold several statements (a ``.sql`` file); ``options``: more
    asyncmy.connect() arguments (``client_flag`` is combined with the one ``scripts`` sets)."""
    import asyncmy

    if scripts:
        from asyncmy.constants import CLIENT

        options["client_flag"] = options.get("client_flag", 0) | CLIENT.MULTI_STATEMENTS
    return await asyncmy.connect(connect_timeout=int(timeout), **connect_kwargs(url), **options)
