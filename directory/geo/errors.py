"""Why a place could not be turned into coordinates, in words a user can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from directory.errors import DomainError, InvalidParameter

if TYPE_CHECKING:
    from directory.geo.place import Place

FIELD = "place"
HINT = 'Try a city, "City, State" or a ZIP code.'


class InvalidPlaceQuery(InvalidParameter):
    """The place text is empty or too long to be a place."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field=FIELD)


class InvalidCoordinates(InvalidParameter):
    """The text is a latitude/longitude pair outside the globe."""

    def __init__(self, lat: float, lon: float) -> None:
        super().__init__(
            f"{lat:g}, {lon:g} is not on the map: latitude must be between -90 and 90 "
            "and longitude between -180 and 180.",
            field=FIELD,
        )
        self.lat = lat
        self.lon = lon


class PlaceNotFound(DomainError):
    """No place in the gazetteer matches the text."""

    code = "place_not_found"

    def __init__(self, text: str) -> None:
        super().__init__(f'We could not find "{text}". {HINT}', field=FIELD)
        self.text = text


class PlaceAmbiguous(DomainError):
    """Several comparable places match the text; the user has to pick one."""

    code = "place_ambiguous"

    def __init__(self, text: str, candidates: list[Place]) -> None:
        shown = "; ".join(place.label for place in candidates[:3])
        super().__init__(
            f'"{text}" matches several places, e.g. {shown}. Add a state or country.',
            field=FIELD,
            candidates=[{"label": place.label, "lat": place.lat, "lon": place.lon} for place in candidates],
        )
        self.text = text
        self.candidates = candidates
