"""The carrier desk's forms (Flask-WTF): staff sign-in, and the check-in page's controls.

The check-in page's passport and token forms are sent by its script as JSON to
`/carrier/check` (or checked in the browser), where the carrier API's own rules
(`eta.carrier.service.parse_passenger`) judge them: these classes give them their fields,
labels and CSRF token, so the page and the API agree on names.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


def _strip_lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class DeskForm(FlaskForm):
    """The base of the desk's forms: errors listed for the GOV.UK error summary."""

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) for every error, in the page's order."""
        return [
            (field.id, str(message))
            for field in self
            if field.name != "csrf_token"
            for message in field.errors
        ]


class SignInForm(DeskForm):
    """Staff sign-in: email address and password."""

    email = StringField(
        _l("Email address"),
        [DataRequired(_l("Enter your email address")), Length(max=200)],
        filters=[_strip_lower],
    )
    password = PasswordField(
        _l("Password"), [DataRequired(_l("Enter your password")), Length(max=1000)]
    )


class SignOutForm(DeskForm):
    """Sign out (here, or on every device): the CSRF token only."""


class TokenForm(DeskForm):
    """The authorisation code pasted from a departure control system (checked in the browser)."""

    token = TextAreaField(
        _l("Authorisation code"), [DataRequired(_l("Paste the authorisation code"))]
    )


class PassportForm(DeskForm):
    """A passport typed at the desk (sent as JSON to the check endpoint)."""

    passport_number = StringField(_l("Passport number"), [DataRequired()])
    issuing_country = StringField(_l("Issuing country"), [DataRequired(), Length(max=3)])
    date_of_birth = StringField(_l("Date of birth (optional)"))
