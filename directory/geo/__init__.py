"""Turn a place the user typed into coordinates, offline; sample places for demos."""

from directory.geo.errors import (
    InvalidCoordinates,
    InvalidPlaceQuery,
    PlaceAmbiguous,
    PlaceNotFound,
)
from directory.geo.gazetteer import resolve_place
from directory.geo.place import Place, PlaceKind
from directory.geo.sampling import sample_places
from directory.geo.suggest import suggest_places

__all__ = [
    "InvalidCoordinates",
    "InvalidPlaceQuery",
    "Place",
    "PlaceAmbiguous",
    "PlaceKind",
    "PlaceNotFound",
    "resolve_place",
    "sample_places",
    "suggest_places",
]
