"""CSV that a spreadsheet opens as data, never as formulas: every CSV the back-office writes
goes through ``writer`` here (or ``neutralise`` for one cell).

The OWASP CSV-injection rule: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is evaluated by Excel, LibreOffice and Google Sheets, so it is prefixed with a single quote,
which they show as text. A platform row or a username typed at the login page can hold anything.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet will show it as text; anything but a string is left as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with every cell neutralised; same ``writerow``/``writerows``."""

    def __init__(self, target: Any, **options: Any) -> None:
        self._writer = csv.writer(target, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows([neutralise(cell) for cell in row] for row in rows)


def writer(target: Any, **options: Any) -> SafeWriter:
    return SafeWriter(target, **options)
