"""URL converters: an id in a path is bounded to the id columns' range before any query sees it."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

# Every id column is INTEGER (PostgreSQL int4); SQLite cannot even bind a Python int past 2**63.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` for database ids: 1 to MAX_ID; any other number matches no route (a 404)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False, **kwargs: Any) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed, **kwargs)
