"""Query-string parameters of the verification API, validated like the search API's."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm

from directory.errors import InvalidParameter
from directory.practitioners.forms import WholeNumberField
from directory.routing import MAX_ID

MAX_CHAIN_PAGE = 1000
MAX_STATEMENTS_PAGE = 50


class _ParameterForm(FlaskForm):
    """A GET form: no CSRF, each parameter at most once, the first error raised as InvalidParameter."""

    class Meta:
        csrf = False  # reading changes nothing

    def checked(self) -> _ParameterForm:
        """Return the form when every parameter is valid; raise InvalidParameter naming the first bad one."""
        valid = self.validate()
        for field in self:
            if len(field.raw_data or ()) > 1:
                raise InvalidParameter(f"{field.name} was given {len(field.raw_data)} times; give it once",
                                       field=field.name)
        if not valid:
            name, messages = next(iter(self.errors.items()))
            raise InvalidParameter(str(messages[0]), field=name)
        return self

    def value(self, name: str) -> Any:
        """Return a field's value, or its default when the parameter was given blank."""
        field = self[name]
        return field.default if field.data is None else field.data


class ChainPageForm(_ParameterForm):
    """`after` (the last sequence already read) and `limit` of a chain page."""

    after = WholeNumberField("After sequence", "after", 0, MAX_ID, default=0)
    limit = WholeNumberField("Limit", "limit", 1, MAX_CHAIN_PAGE, default=MAX_CHAIN_PAGE // 2)


class StatementsPageForm(_ParameterForm):
    """`page`, `per_page` and `since` (a statement number) of the signed heads."""

    page = WholeNumberField("Page", "page", 1, 10000, default=1)
    per_page = WholeNumberField("Per page", "per_page", 1, MAX_STATEMENTS_PAGE, default=10)
    since = WholeNumberField("Since statement", "since", 0, MAX_ID, default=None)
