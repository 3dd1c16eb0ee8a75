"""Start and stop the stand-in on a background thread (tests, the demo, ``manage.py standin``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType

from psycopg.conninfo import make_conninfo
from werkzeug.serving import BaseWSGIServer, make_server

from apps.standin.app import StandinApp
from backoffice import embedded
from backoffice.databases import parse_url


def role_urls(admin_url: str, *, database: str | None = None) -> Callable[[str], str]:
    """Connection strings for any role on the admin URL's server and database (or ``database``).

    The role logs in without a password, which works on servers that trust local connections
    (the embedded one). Against a server that wants passwords, pass your own callable instead.
    An ``embedded://`` URL starts the embedded server if it is not running yet.
    """
    config = parse_url(embedded.resolve(admin_url))

    def url_for(role: str) -> str:
        return make_conninfo(
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            dbname=database or config["NAME"],
            user=role,
        )

    return url_for


@dataclass
class StandinServer:
    """A running stand-in: ``url`` is the base URL, each service lives at ``{url}/{service}``."""

    app: StandinApp
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def service_urls(self, services: Iterable[str]) -> dict[str, str]:
        """``{service: base URL}`` in the shape of ``settings.SERVICE_URLS``."""
        return {name: f"{self.url}/{name}" for name in services}

    def stop(self) -> None:
        """Stop accepting requests, wait for the serving thread and close the database pools."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.app.close()

    def __enter__(self) -> StandinServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_standin(
    *,
    database_url_for_role: Callable[[str], str] | str,
    tokens: Mapping[str, str],
    host: str = "127.0.0.1",
    port: int = 0,
) -> StandinServer:
    """Serve the stand-in on a threaded Werkzeug server in a daemon thread; returns once listening.

    ``database_url_for_role`` maps an owner role (``svc_payments``) to a connection string; a
    plain string is taken as a server URL whose user is replaced by each role (see
    :func:`role_urls`). ``tokens`` maps each service (schema name) to its bearer token. Port 0
    picks a free port: read it back from ``.port`` or ``.url``. Bind to loopback only: the
    control endpoints have no authentication.
    """
    url_for_role = (
        role_urls(database_url_for_role) if isinstance(database_url_for_role, str) else database_url_for_role
    )
    app = StandinApp(database_url_for_role=url_for_role, tokens=tokens)
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"standin:{server.port}", daemon=True)
    thread.start()
    return StandinServer(app=app, server=server, thread=thread)
