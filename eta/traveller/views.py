"""Traveller pages: start, the application journey, save and resume, confirmation, status."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, format_date, format_datetime, get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.wrappers import Response

from eta.applications import lookup as status_lookup
from eta.applications.reasons import appeal_text, describe
from eta.applications.submission import (
    DraftGone,
    Submitted,
    eligible_nationalities,
    exempt_nationalities,
    submit_draft,
    submitted_draft,
)
from eta.extensions import configured_limit, db, limiter
from eta.identity.faces import FaceModelError
from eta.mail import OutgoingMail, send
from eta.models import Application, ApplicationDraft, ApplicationStatus, InformationRequest
from eta.screening.mrz import mrz_name_parts
from eta.timeutil import utcnow
from eta.traveller import journey, photo
from eta.traveller.forms import (
    PAGE_FORMS,
    QuestionForm,
    SaveForm,
    StatusForm,
    SubmitForm,
    journey_errors,
)
from eta.traveller.journey import PAGE_BY_SLUG, PAGES, Page
from eta.traveller.review import review_offer
from eta.web.i18n import localise_digits, service_name
from eta.web.links import information_token
from eta.web.urls import public_url

blueprint = Blueprint("traveller", __name__)
log = logging.getLogger(__name__)

RESUME_SALT = "eta.traveller.resume"
SESSION_DRAFT = "draft"
SESSION_REFERENCE = "submitted_reference"


def _draft_days() -> int:
    """How long a journey is kept unsubmitted, with its resume link (ETA_DRAFT_DAYS)."""
    return int(current_app.config["ETA_DRAFT_DAYS"])


def _language() -> str:
    return str(get_locale() or "en")


@blueprint.get("/")
def start() -> str:
    """The start page: what an ETA is, who needs one, the fee, and how long it takes."""
    config = current_app.config
    return render_template(
        "traveller/start.html",
        country=journey.localised_country(config["ETA_COUNTRY"]),
        fee=config["ETA_FEE"],
        payment=config["ETA_FEE_PAYMENT"],
    )


# ---- drafts -------------------------------------------------------------------------------


def _current_draft() -> ApplicationDraft | None:
    token = session.get(SESSION_DRAFT)
    if not token:
        return None
    draft = db.session.scalar(select(ApplicationDraft).where(ApplicationDraft.token == token))
    if draft is None or draft.application_id is not None or _expired(draft):
        session.pop(SESSION_DRAFT, None)
        return None
    return draft


def _expired(draft: ApplicationDraft) -> bool:
    expires = draft.expires_at
    if expires.tzinfo is None:  # SQLite returns naive UTC
        expires = expires.replace(tzinfo=dt.UTC)
    return expires <= utcnow()


def _new_draft() -> ApplicationDraft:
    draft = ApplicationDraft(
        token=secrets.token_urlsafe(32),
        expires_at=utcnow() + dt.timedelta(days=_draft_days()),
        language=_language(),
        data={"form": {}},
    )
    db.session.add(draft)
    db.session.commit()
    session[SESSION_DRAFT] = draft.token
    return draft


def _answers(draft: ApplicationDraft) -> dict[str, str]:
    return dict((draft.data or {}).get("form", {}))


def _save_answers(draft: ApplicationDraft, answers: dict[str, str]) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    draft.data = {**(draft.data or {}), "form": answers}
    draft.language = _language()
    db.session.commit()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESUME_SALT)


def _not_for_eta(answers: dict[str, str]) -> Response | None:
    """Where a nationality that cannot apply goes: no ETA needed, or a visa needed instead."""
    nationality = answers.get("nationality")
    if not nationality:
        return None
    if nationality in exempt_nationalities():
        return redirect(url_for("traveller.not_needed"))
    if nationality not in eligible_nationalities():
        return redirect(url_for("traveller.not_eligible"))
    return None


def _render_page(form: QuestionForm, errors: dict[str, list[str]], returning: bool) -> str:
    page = form.page
    previous = journey.previous_page(page)
    if returning:
        back = url_for("traveller.check_answers")
    elif previous is not None:
        back = url_for("traveller.question", slug=previous.slug)
    else:
        back = url_for("traveller.start")
    return render_template(
        "traveller/question.html",
        page=page,
        form=form,
        errors=errors,
        ids={q.path: q.id for q in page.questions},
        back=back,
        returning=returning,
        step=PAGES.index(page) + 1,
        steps=len(PAGES),
    )


@blueprint.get("/apply")
def apply() -> Response:
    """Begin (or continue) an application: the first question page."""
    if _current_draft() is None:
        _new_draft()
    return redirect(url_for("traveller.question", slug=PAGES[0].slug))


@blueprint.route("/apply/<slug>", methods=["GET", "POST"])
def question(slug: str) -> Response | str:
    """One page of questions: shows what was typed, checks it, and moves on."""
    form_class = PAGE_FORMS.get(slug)
    if form_class is None:
        abort(404)
    draft = _current_draft() or _new_draft()
    answers = _answers(draft)
    returning = request.values.get("return") == "check"
    if request.method == "GET":
        form = form_class.for_answers(answers)
        # Only a page someone has attempted shows its problems (?validate, from Check answers).
        errors = form.check() if request.args.get("validate") else {}
        return _render_page(form, errors, returning)

    form = form_class(answers=answers)
    answers.update(form.answers())
    _save_answers(draft, answers)
    if "save" in request.form:
        return redirect(url_for("traveller.save", page=slug))
    elsewhere = _not_for_eta(answers) if slug == "passport" else None
    if elsewhere is not None:
        return elsewhere
    errors = form.check()
    if errors:
        return _render_page(form, errors, returning)
    following = journey.next_page(form.page)
    if returning:
        return redirect(url_for("traveller.check_answers"))
    if following is None:
        return redirect(photo.after_questions())
    return redirect(url_for("traveller.question", slug=following.slug))


@blueprint.get("/apply/not-eligible")
def not_eligible() -> str:
    """Nationalities that cannot use an ETA: they need a visa instead."""
    draft = _current_draft()
    nationality = _answers(draft).get("nationality") if draft else None
    return render_template(
        "traveller/not_eligible.html",
        nationality=journey.localised_country(nationality),
        back=url_for("traveller.question", slug="passport"),
    )


@blueprint.get("/apply/no-eta-needed")
def not_needed() -> str:
    """Nationalities exempt from the ETA (the country's own citizens and partners): no ETA."""
    draft = _current_draft()
    nationality = _answers(draft).get("nationality") if draft else None
    return render_template(
        "traveller/not_needed.html",
        nationality=journey.localised_country(nationality),
        back=url_for("traveller.question", slug="passport"),
    )


def _summary_rows(answers: dict[str, str], data: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of Check your answers: label, value, and the page its Change link returns to."""
    payload = journey.payload_from_form(answers, _language())

    def row(label: str, value: str, slug: str, anchor: str) -> dict[str, Any]:
        return {
            "label": label,
            "value": value,
            "href": url_for("traveller.question", slug=slug) + "?return=check#" + anchor,
        }

    # What the passport's MRZ prints, made from the Latin name (the one the token carries).
    surname_mrz, given_mrz = mrz_name_parts(
        data.get("surname_mrz") or "", data.get("given_names_mrz") or ""
    )
    names_mrz = surname_mrz.replace(" ", "<") + "<<" + given_mrz.replace(" ", "<")
    sexes = dict(journey.SEX_OPTIONS)
    answers_text = []
    for key in journey.BACKGROUND_LABELS:
        flag = payload["answers"][key]
        text = _("Yes") if flag else _("No") if flag is False else ""
        if flag and answers.get(f"answers.{key}_details"):
            text += " – " + answers[f"answers.{key}_details"]
        answers_text.append((journey.BACKGROUND_LABELS[key], text, key))
    rows = [
        row(
            _("Nationality"),
            journey.localised_country(answers.get("nationality")),
            "passport",
            "nationality",
        ),
        row(
            _("Country that issued your passport"),
            journey.localised_country(answers.get("passport.issuing_country")),
            "passport",
            "passport-issuing-country",
        ),
        row(_("Passport number"), data.get("passport_number") or "", "passport", "passport-number"),
        row(
            _("Issue date"),
            journey.display_date(payload["passport"]["issue_date"]),
            "passport",
            "passport-issue-date",
        ),
        row(
            _("Expiry date"),
            journey.display_date(payload["passport"]["expiry_date"]),
            "passport",
            "passport-expiry-date",
        ),
        row(_("Given names"), answers.get("given_names", ""), "personal", "given-names"),
        row(_("Surname"), answers.get("surname", ""), "personal", "surname"),
    ]
    if data.get("latin_given_names") or data.get("latin_surname"):
        rows.append(
            row(
                _("Name in Latin letters"),
                f"{data.get('latin_given_names') or ''} {data.get('latin_surname') or ''}".strip(),
                "personal",
                "latin-given-names",
            )
        )
    rows += [
        row(
            _("Names as printed in the machine-readable zone of your passport"),
            names_mrz,
            "personal",
            "surname",
        ),
        row(_("Sex"), str(sexes.get(answers.get("sex", ""), "")), "personal", "sex"),
        row(
            _("Date of birth"),
            journey.display_date(payload["date_of_birth"]),
            "personal",
            "date-of-birth",
        ),
        row(_("Place of birth"), answers.get("place_of_birth", ""), "personal", "place-of-birth"),
        row(_("Email address"), answers.get("email", ""), "contact", "email"),
        row(_("Phone number"), answers.get("phone", ""), "contact", "phone"),
        row(
            _("Home address"),
            ", ".join(
                v
                for v in (
                    answers.get("home_address.line1"),
                    answers.get("home_address.line2"),
                    answers.get("home_address.city"),
                    answers.get("home_address.postcode"),
                    journey.localised_country(answers.get("home_address.country")),
                )
                if v
            ),
            "address",
            "home-address-line1",
        ),
        row(_("Occupation"), answers.get("occupation", ""), "occupation", "occupation"),
        row(
            _("Purpose of your journey"),
            str(journey.PURPOSE_LABELS.get(answers.get("travel.purpose", ""), "")),
            "travel",
            "travel-purpose",
        ),
        row(
            _("Arrival date"),
            journey.display_date(payload["travel"]["intended_arrival"]),
            "travel",
            "travel-intended-arrival",
        ),
    ]
    for label, text, key in answers_text:
        rows.append(row(str(label), text, "background", journey.field_id(f"answers.{key}")))
    return rows


@blueprint.route("/apply/check", methods=["GET", "POST"])
def check_answers() -> Response | str:
    """Check your answers, with a Change link per row; submitting sends the application."""
    token = session.get(SESSION_DRAFT)
    draft = _current_draft()
    if draft is None:
        # Sent twice (a double click, or Back and submit again): the first one's confirmation.
        earlier = submitted_draft(token) if token and request.method == "POST" else None
        if earlier is not None:
            return _confirm(earlier)
        return redirect(url_for("traveller.apply"))
    answers = _answers(draft)
    shared, problems = journey_errors(answers)
    for slug in problems:
        # The first page with a problem, showing it; Continue there comes back here.
        elsewhere = _not_for_eta(answers) if slug == "passport" else None
        if elsewhere is not None:
            return elsewhere
        # A page never attempted (a resumed draft, say) opens plainly, without
        # "There is a problem" for questions nobody has answered yet.
        attempted = any(answers.get(name) for name in journey.form_names(PAGE_BY_SLUG[slug]))
        shown = "?validate=1&return=check" if attempted else "?return=check"
        return redirect(url_for("traveller.question", slug=slug) + shown)
    if photo.missing(draft):
        return redirect(url_for("traveller.photo") + "?return=check")
    data = shared.data
    form = SubmitForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template(
            "traveller/check_answers.html",
            form=form,
            rows=_summary_rows(answers, data) + photo.summary_rows(draft),
            back=url_for("traveller.photo")
            if photo.enabled()
            else url_for("traveller.question", slug=PAGES[-1].slug),
            fee=current_app.config["ETA_FEE"],
        )
    try:
        accepted = photo.for_submission(draft)
    except photo.Retake:
        return redirect(url_for("traveller.photo") + "?return=check")
    except FaceModelError:
        log.exception("the photo quality gate could not run at submission")
        abort(503)
    try:
        submitted = submit_draft(draft.token, data, photo=accepted)
    except DraftGone:
        session.pop(SESSION_DRAFT, None)
        return redirect(url_for("traveller.apply"))
    return _confirm(submitted)


def _confirm(submitted: Submitted) -> Response:
    session.pop(SESSION_DRAFT, None)
    session[SESSION_REFERENCE] = submitted.reference
    return redirect(url_for("traveller.confirmation"))


photo.register(blueprint, _current_draft, _new_draft, PAGES[-1].slug)


@blueprint.get("/apply/confirmation")
def confirmation() -> Response | str:
    """The application is sent: its reference, and what happens next."""
    reference = session.get(SESSION_REFERENCE)
    if not reference:
        return redirect(url_for("traveller.start"))
    return render_template("traveller/confirmation.html", reference=reference)


# ---- save and come back later -------------------------------------------------------------


@blueprint.route("/apply/save", methods=["GET", "POST"])
@limiter.limit(configured_limit("ETA_SAVE_RATE_LIMIT"), methods=["POST"])
def save() -> Response | str:
    """Save and come back later: email a signed link that resumes the journey for 30 days."""
    draft = _current_draft()
    if draft is None:
        return redirect(url_for("traveller.apply"))
    answers = _answers(draft)
    came_from = _save_asked_from()
    form = SaveForm(data={"email": answers.get("email", "")})
    if form.validate_on_submit():
        link = public_url("traveller.resume", token=_serializer().dumps(draft.token))
        try:
            _send_resume_link(form.email.data, link, draft.expires_at)
        except OSError:
            log.warning("resume link for draft %s could not be sent", draft.id)
            form.email.errors.append(_("We could not send the email. Try again later."))
        else:
            return render_template("traveller/saved.html", email=form.email.data)
    errors = {"email": [str(m) for m in form.email.errors]} if form.email.errors else {}
    return render_template(
        "traveller/save.html",
        form=form,
        errors=errors,
        back=url_for("traveller.question", slug=came_from.slug),
        came_from=came_from.slug,
    )


def _save_asked_from() -> Page:
    """The journey's page "save and come back later" was asked from: the back link's target.

    Never the Referer (another site's address, or a javascript: URL): the request only names a
    page of the journey, and a name the journey does not have falls back to its first page.
    """
    return PAGE_BY_SLUG.get(request.args.get("page", ""), PAGES[0])


def _send_resume_link(email: str, link: str, expires: dt.datetime) -> None:
    config = current_app.config
    with force_locale(_language()):
        context = {"link": link, "days": _draft_days(), "service_name": service_name()}
        mail = OutgoingMail(
            to=email,
            subject=_("Continue your ETA application"),
            text=render_template("emails/resume.txt", **context),
            html=render_template("emails/resume.html", **context),
            language=_language(),
        )
    send(mail, mail_url=config["ETA_MAIL_URL"], sender=config["ETA_MAIL_SENDER"])


@blueprint.get("/apply/resume/<token>")
def resume(token: str) -> Response | str:
    """Open a saved application from the emailed link (signed; valid for 30 days)."""
    try:
        draft_token = _serializer().loads(token, max_age=_draft_days() * 24 * 3600)
    except BadSignature:
        return render_template("traveller/resume_expired.html"), 410  # type: ignore[return-value]
    draft = db.session.scalar(select(ApplicationDraft).where(ApplicationDraft.token == draft_token))
    if draft is None or draft.application_id is not None or _expired(draft):
        return render_template("traveller/resume_expired.html"), 410  # type: ignore[return-value]
    session[SESSION_DRAFT] = draft.token
    return redirect(url_for("traveller.check_answers"))


# ---- status ---------------------------------------------------------------------------------


NEXT_STEPS = {
    ApplicationStatus.SUBMITTED: "submitted",
    ApplicationStatus.SCREENING: "submitted",
    ApplicationStatus.REFERRED: "referred",
    ApplicationStatus.INFO_REQUESTED: "info_requested",
    ApplicationStatus.REVOKED: "revoked",
}


def _open_questions(application: Application) -> dict[str, Any] | None:
    """The officer's unanswered questions, the last day to answer and the link to answer them.

    Shown on the status page too, so a traveller whose email was lost can still answer: the
    page is only reached with the reference, passport number and date of birth.
    """
    if application.status != ApplicationStatus.INFO_REQUESTED:
        return None
    info = db.session.scalars(
        select(InformationRequest)
        .where(
            InformationRequest.application_id == application.id,
            InformationRequest.answered_at.is_(None),
        )
        .order_by(InformationRequest.id.desc())
        .limit(1)
    ).first()
    if info is None:
        return None
    days = int(current_app.config["ETA_INFORMATION_DAYS"])
    return {
        "questions": info.questions,
        "answer_by": localise_digits(
            format_date((info.created_at + dt.timedelta(days=days)).date(), "long")
        ),
        "link": url_for("information.respond", token=information_token(info.id)),
    }


@blueprint.route("/status", methods=["GET", "POST"])
@limiter.limit(configured_limit("ETA_STATUS_RATE_LIMIT"), methods=["POST"])
def status() -> str:
    """Check an application: reference, passport number and date of birth → status and timeline."""
    form = StatusForm()
    application = None
    not_found = False
    if form.validate_on_submit():
        birth_date = journey.iso_date(form.date_of_birth.data)
        if birth_date is not None:
            application = status_lookup.find_application(
                form.reference.data, form.passport_number.data, birth_date
            )
        not_found = application is None
    if application is None:
        return render_template(
            "traveller/status.html",
            form=form,
            errors=form.errors_by_field(),
            not_found=not_found,
        )
    reason = appeal = None
    if application.status in status_lookup.DECIDED_WITH_REASON:
        reason = describe(status_lookup.reason_code(application))
        appeal = appeal_text() if application.status == ApplicationStatus.REFUSED else None
    authorisation = status_lookup.authorisation_of(application)
    return render_template(
        "traveller/status_result.html",
        application=application,
        events=[
            {
                "status": event.to_status,
                "at": status_lookup.aware(event.at).isoformat(),
                "shown": localise_digits(
                    format_datetime(status_lookup.aware(event.at), "d MMMM y, HH:mm")
                ),
            }
            for event in application.events
        ],
        authorisation=authorisation,
        valid_until=(
            localise_digits(
                format_date(dt.datetime.fromisoformat(authorisation["valid_until"]).date(), "long")
            )
            if authorisation
            else None
        ),
        questions=_open_questions(application),
        reason=reason,
        appeal=appeal,
        next_step=NEXT_STEPS.get(ApplicationStatus(application.status)),
        review=review_offer(application),
    )
