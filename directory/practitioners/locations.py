"""A listing's practice locations, their weekly hours and dated exceptions, edited by its owner (or an admin)."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from directory.accounts.policy import roles_required
from directory.clock import utcnow
from directory.errors import InvalidParameter
from directory.practitioners.hours import WEEKDAYS, upcoming_exceptions
from directory.practitioners.location_forms import (
    ConfirmForm,
    ExceptionForm,
    LocationForm,
    RemoveExceptionForm,
    WeekForm,
)
from directory.practitioners.location_service import (
    LocationEdit,
    add_exception,
    location_of,
    parse_spans,
    pin_was_typed,
    remove_exception,
    remove_location,
    save_location,
    set_week,
)
from directory.practitioners.manage import owned_listing
from directory.practitioners.models import Location, Practitioner
from directory.practitioners.views import map_settings
from directory.web import run_action

bp = Blueprint("practitioner_locations", __name__)


@bp.route("/practitioners/<slug>/locations", methods=["GET", "POST"])
@roles_required("practitioner", "admin")
def locations(slug: str) -> Any:
    """List the listing's locations and add one (placed from the gazetteer by postal code, else city and state)."""
    practitioner = owned_listing(slug)
    form = LocationForm()
    page = partial(render_template, "practitioners/locations.html", practitioner=practitioner, form=form)
    if not form.validate_on_submit():
        return page(), 400 if form.errors else 200
    return run_action(lambda: save_location(current_user, practitioner, _edit_from(form)), rerender=page, form=form,
                      success=_saved, redirect_to=url_for(".locations", slug=practitioner.slug))


@bp.route("/practitioners/<slug>/locations/<int:location_id>", methods=["GET", "POST"])
@roles_required("practitioner", "admin")
def location(slug: str, location_id: int) -> Any:
    """Edit one location: its address and pin, its week of hours and its dated exceptions."""
    practitioner = owned_listing(slug)
    loc = location_of(practitioner, location_id)
    form = _address_form(loc) if request.method == "GET" else LocationForm()
    page = partial(_location_page, practitioner, loc, form=form)
    if not form.validate_on_submit():
        return page(), 400 if form.errors else 200
    return run_action(lambda: save_location(current_user, practitioner, _edit_from(form), loc), rerender=page,
                      form=form, success=_saved, redirect_to=_here(practitioner, loc))


@bp.post("/practitioners/<slug>/locations/<int:location_id>/remove")
@roles_required("practitioner", "admin")
def remove(slug: str, location_id: int) -> Any:
    """Remove a location and its hours (the last one too: the listing then leaves radius search)."""
    practitioner = owned_listing(slug)
    loc = location_of(practitioner, location_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return run_action(lambda: remove_location(current_user, practitioner, loc),
                      success="The location is removed.", redirect_to=url_for(".locations", slug=practitioner.slug))


@bp.post("/practitioners/<slug>/locations/<int:location_id>/hours")
@roles_required("practitioner", "admin")
def hours(slug: str, location_id: int) -> Any:
    """Replace the location's weekly hours; overlapping or reversed ranges are refused with nothing saved."""
    practitioner = owned_listing(slug)
    loc = location_of(practitioner, location_id)
    week_form = WeekForm()
    page = partial(_location_page, practitioner, loc, week_form=week_form)
    if not week_form.validate_on_submit():
        return page(), 400
    return run_action(lambda: set_week(current_user, loc, _week_from(week_form)), rerender=page, form=week_form,
                      success="The hours are saved; search shows them within seconds.",
                      redirect_to=_here(practitioner, loc))


@bp.post("/practitioners/<slug>/locations/<int:location_id>/exceptions")
@roles_required("practitioner", "admin")
def exceptions(slug: str, location_id: int) -> Any:
    """Set one date's hours: closed all day, or open only at the hours given."""
    practitioner = owned_listing(slug)
    loc = location_of(practitioner, location_id)
    form = ExceptionForm()
    page = partial(_location_page, practitioner, loc, exception_form=form)
    if not form.validate_on_submit() or form.on_date.data is None:
        return page(), 400
    on_date = form.on_date.data
    return run_action(lambda: add_exception(current_user, loc, on_date, parse_spans(form.hours.data or "", "hours"),
                                            form.note.data or ""),
                      rerender=page, form=form, success=f"The hours of {on_date:%-d %B %Y} are saved.",
                      redirect_to=_here(practitioner, loc))


@bp.post("/practitioners/<slug>/locations/<int:location_id>/exceptions/remove")
@roles_required("practitioner", "admin")
def remove_exception_view(slug: str, location_id: int) -> Any:
    """Remove one date's exception; the weekly hours apply that day again."""
    practitioner = owned_listing(slug)
    loc = location_of(practitioner, location_id)
    form = RemoveExceptionForm()
    if not form.validate_on_submit() or form.on_date.data is None:
        raise InvalidParameter("Choose the date whose exception to remove.", field="on_date")
    on_date = form.on_date.data
    return run_action(lambda: remove_exception(current_user, loc, on_date),
                      success="The exception is removed.", redirect_to=_here(practitioner, loc))


def _location_page(practitioner: Practitioner, loc: Location, *, form: LocationForm | None = None,
                   week_form: WeekForm | None = None, exception_form: ExceptionForm | None = None) -> str:
    """Render one location's page with its three forms (any passed in keep the user's input and errors)."""
    if week_form is None:
        week_form = WeekForm(formdata=None)
        for day in range(7):
            spans = [f"{h.opens:%H:%M}-{h.closes:%H:%M}" for h in loc.hours if h.weekday == day]
            getattr(week_form, f"day_{day}").data = ", ".join(spans)
    return render_template("practitioners/location.html", practitioner=practitioner, loc=loc,
                           form=form or _address_form(loc), week_form=week_form,
                           exception_form=exception_form or ExceptionForm(formdata=None),
                           remove_form=RemoveExceptionForm(formdata=None), confirm_form=ConfirmForm(), weekdays=WEEKDAYS, map=map_settings(),
                           upcoming=upcoming_exceptions(loc.exceptions, loc.timezone, utcnow(), days=366))


def _address_form(loc: Location) -> LocationForm:
    """Return the address form filled from the location; the coordinates only when the pin was typed.

    A pin the gazetteer placed is left out, so that a corrected postal code places the location again.
    """
    form = LocationForm(obj=loc, formdata=None)
    if not pin_was_typed(loc):
        form.latitude.data = form.longitude.data = None
    return form


def _edit_from(form: LocationForm) -> LocationEdit:
    """Return the validated form as the service's input."""
    return LocationEdit(
        name=form.name.data or "", address_line1=form.address_line1.data or "",
        address_line2=form.address_line2.data or "", city=form.city.data or "", region=form.region.data or "",
        postal_code=form.postal_code.data or "", country=form.country.data or "", phone=form.phone.data or "",
        booking_url=form.booking_url.data or "", latitude=form.latitude.data, longitude=form.longitude.data)


def _week_from(form: WeekForm) -> dict[int, list[Any]]:
    """Return the week's ranges per weekday, each day's text parsed and checked."""
    return {day: parse_spans(getattr(form, f"day_{day}").data or "", f"day_{day}") for day in range(7)}


def _saved(loc: Location) -> tuple[str, str]:
    """Say where the location was placed, or warn that it waits for an admin."""
    if loc.placed:
        return f"The location is saved, pinned at {loc.latitude:.4f}, {loc.longitude:.4f} ({loc.timezone}).", "success"
    return ("The location is saved, but we could not find this address on our map. It is not shown on the map or "
            "in radius search until it is placed: check the postal code and city, or type its coordinates. An admin "
            "has been asked to look at it."), "warning"


def _here(practitioner: Practitioner, loc: Location) -> str:
    """Return the location page's address."""
    return url_for(".location", slug=practitioner.slug, location_id=loc.id)
