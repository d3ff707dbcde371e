"""The orjson provider writes what Flask's default JSON provider writes (directory/jsonio.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from directory.jsonio import OrjsonProvider


@dataclasses.dataclass
class _Point:
    lat: float
    lon: float


def _apps() -> tuple[Flask, Flask]:
    ours, theirs = Flask("ours"), Flask("theirs")
    ours.json = OrjsonProvider(ours)
    return ours, theirs


VALUES: list[Any] = [
    {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "x", "y": "é ☃ 中"}},
    {"when": datetime(2026, 12, 2, 1, 30, tzinfo=UTC), "day": date(2026, 12, 2)},
    {"point": _Point(42.36, -71.06), "id": uuid.UUID(int=7), "amount": Decimal("12.50")},
    {"html": Markup("<b>bold</b>"), "tuple": (1, "two")},
    {2: "int key", 1: "another"},
    [],
    "text",
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_json_as_flasks_default(value: Any) -> None:
    ours, theirs = _apps()
    with ours.test_request_context():
        mine = jsonify(value)
    with theirs.test_request_context():
        default = jsonify(value)
    assert json.loads(mine.get_data()) == json.loads(default.get_data())
    assert mine.mimetype == default.mimetype == "application/json"
    assert mine.get_data().endswith(b"\n")
    assert ours.json.dumps(value) == ours.json.dumps(value)  # deterministic
    assert json.loads(ours.json.dumps(value)) == json.loads(theirs.json.dumps(value))


def test_keys_are_sorted_like_the_default() -> None:
    ours, theirs = _apps()
    value = {"zeta": 1, "alpha": {"y": 1, "b": 2}, "mid": 3}
    assert ours.json.dumps(value).replace(" ", "") == theirs.json.dumps(value).replace(" ", "")
    ours.json.sort_keys = False
    assert list(json.loads(ours.json.dumps(value))) == ["zeta", "alpha", "mid"]


def test_text_is_utf8_and_nan_is_null() -> None:
    ours, _ = _apps()
    with ours.test_request_context():
        body = jsonify({"name": "Zoë", "score": math.nan}).get_data()
    assert "Zoë".encode() in body
    assert json.loads(body) == {"name": "Zoë", "score": None}


def test_debug_responses_are_indented_and_compact_otherwise() -> None:
    ours, _ = _apps()
    with ours.test_request_context():
        assert jsonify({"a": [1]}).get_data() == b'{"a":[1]}\n'
    ours.debug = True
    with ours.test_request_context():
        assert jsonify({"a": [1]}).get_data() == b'{\n  "a": [\n    1\n  ]\n}\n'


def test_standard_library_options_keep_the_standard_library() -> None:
    ours, _ = _apps()
    assert ours.json.dumps({"b": 1, "a": 2}, indent=4) == DefaultJSONProvider(ours).dumps({"b": 1, "a": 2}, indent=4)


def test_unencodable_values_fail_as_with_the_default() -> None:
    ours, theirs = _apps()
    for app in (ours, theirs):
        with app.test_request_context(), pytest.raises(TypeError):
            jsonify({"x": object()})


def test_the_app_uses_it(app: Flask) -> None:
    assert isinstance(app.json, OrjsonProvider)
