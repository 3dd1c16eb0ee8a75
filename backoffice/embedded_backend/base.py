"""PostgreSQL in the embedded server: the first connection starts it (backoffice.embedded).

The settings of an ``embedded://`` database have no HOST, because where the server listens (its
Unix socket directory) is only known once it runs. This backend fills it in when it connects, so
importing the settings, ``manage.py check`` or ``collectstatic`` start nothing. A HOST in the
settings wins (tests point one at a socket that does not exist).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.backends.postgresql import base, client

from backoffice import embedded


class DatabaseClient(client.DatabaseClient):
    """``manage.py dbshell`` on the embedded server's socket."""

    @classmethod
    def settings_to_cmd_args_env(
        cls, settings_dict: dict[str, Any], parameters: Iterable[str]
    ) -> tuple[list[str], dict[str, str] | None]:
        if not settings_dict.get("HOST"):
            server = embedded.server_of(settings_dict)
            settings_dict = {**settings_dict, "HOST": server.socket_dir, "PORT": server.port or ""}
        return super().settings_to_cmd_args_env(settings_dict, parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if not params.get("host"):
            server = embedded.server_of(self.settings_dict)
            params["host"] = server.socket_dir
            if server.port:
                params["port"] = server.port
        return params
