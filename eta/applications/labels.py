"""The words an application's coded answers are shown in, to travellers and officers alike."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from eta.applications.validation import BACKGROUND_QUESTIONS, PURPOSES

SEX_OPTIONS = (("F", _l("Female")), ("M", _l("Male")), ("X", _l("Unspecified (X)")))
PURPOSE_LABELS: dict[str, LazyString] = {
    "tourism": _l("Tourism or visiting family and friends"),
    "business": _l("Business"),
    "family": _l("Joining family"),
    "transit": _l("Transit to another country"),
    "study": _l("Short course of study"),
    "medical": _l("Medical treatment"),
    "other": _l("Something else"),
}
YES_NO = (("yes", _l("Yes")), ("no", _l("No")))
BACKGROUND_LABELS: dict[str, LazyString] = {
    "criminal_conviction": _l("Have you ever been convicted of a criminal offence in any country?"),
    "previous_refusal": _l(
        "Have you ever been refused a visa, or refused entry at the border, of this country?"
    ),
    "removed_or_deported": _l("Have you ever been removed or deported from any country?"),
    "conflict_zone_travel": _l(
        "Have you travelled to a war or conflict zone in the last 10 years?"
    ),
}
# The form, the officers' case page and the rules must agree on the codes.
assert set(PURPOSE_LABELS) == set(PURPOSES)  # noqa: S101
assert set(BACKGROUND_LABELS) == set(BACKGROUND_QUESTIONS)  # noqa: S101


def answer_rows(answers: dict[str, object] | None) -> list[tuple[str, str]]:
    """The background questions as (question, "Yes – details" / "No") rows, in the form's order."""
    yes_no = dict(YES_NO)
    rows = []
    for key, question in BACKGROUND_LABELS.items():
        flag = (answers or {}).get(key)
        text = str(yes_no["yes"] if flag else yes_no["no"]) if isinstance(flag, bool) else ""
        details = (answers or {}).get(f"{key}_details")
        if flag and details:
            text += f" – {details}"
        rows.append((str(question), text))
    return rows
