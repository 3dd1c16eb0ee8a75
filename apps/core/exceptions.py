from __future__ import annotations


class PlatformWriteError(Exception):
    """Raised whenever anything in the back-office tries to write to the platform's database.

    The fix is never to catch it: call the owning service's HTTP API instead.
    """

    def __init__(self, what: str, *, schema: str | None = None) -> None:
        from backoffice.platform_schemas import BY_NAME

        owner = BY_NAME[schema].owner if schema in BY_NAME else "the owning service"
        super().__init__(
            f"{what} refused: the back-office never writes the platform's database. "
            f"Writes go through {owner}'s HTTP API, which validates, writes and audits them."
        )
