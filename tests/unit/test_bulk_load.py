"""The seed's bulk writer stores exactly what SQLAlchemy's own conversions would store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import Date, DateTime, Time
from sqlalchemy.dialects import sqlite

from directory.bulk_load import _bind_processor

VALUES: list[Any] = [None, datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 12, 31, 23, 59, 59, 999999),
                     datetime(999, 1, 1), datetime(2026, 1, 2, tzinfo=UTC), date(2026, 2, 3), date(5, 6, 7),
                     time(9), time(23, 59, 58, 12)]


@pytest.mark.parametrize("column_type", [DateTime(), Date(), Time()])
def test_the_fast_date_conversions_write_sqlalchemy_s_text(column_type: Any) -> None:
    dialect = sqlite.dialect()
    impl = column_type.dialect_impl(dialect)
    own, fast = impl.bind_processor(dialect), _bind_processor(impl, dialect)
    assert fast is not own  # the fast one is in use for the default storage format
    for value in VALUES:
        try:
            expected = own(value)
        except TypeError:
            with pytest.raises(TypeError):
                fast(value)
            continue
        assert fast(value) == expected, value


def test_a_column_of_repeated_values_converts_each_distinct_value_once() -> None:
    from directory.bulk_load import _converted

    calls: list[Any] = []

    def process(value: Any) -> str:
        calls.append(value)
        return f"<{value}>"

    values = [time(9), time(9), time(18), None, time(9), time(18)]
    assert _converted(process, values) == [process(v) for v in values]
    calls.clear()
    _converted(process, values)
    assert sorted(calls, key=str) == sorted([time(9), time(18), None], key=str)


def test_a_column_of_mostly_distinct_or_unhashable_values_converts_each_value() -> None:
    from directory.bulk_load import _converted

    distinct = [datetime(2026, 1, 1, 0, m) for m in range(5)]
    assert _converted(str, distinct) == list(map(str, distinct))
    unhashable = [{"a": 1}, {"a": 1}, {"a": 1}]
    assert _converted(len, unhashable) == [1, 1, 1]
