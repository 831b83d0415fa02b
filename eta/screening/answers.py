"""The background-answers check: any "yes" to a background question refers the application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUESTIONS: dict[str, str] = {
    "criminal_conviction": "a criminal conviction",
    "previous_refusal": "a previous refusal of entry or of a visa",
    "removed_or_deported": "having been removed or deported",
    "conflict_zone_travel": "travel to a conflict zone",
}
DETAILS_SUFFIX = "_details"


@dataclass(frozen=True, slots=True)
class AnswerFinding:
    """One "yes" answer: the question's key and a sentence for the officer."""

    question: str
    explanation: str


def check_answers(answers: dict[str, Any]) -> list[AnswerFinding]:
    """A finding for every background question answered "yes", with the details given."""
    findings = []
    for question, value in sorted(answers.items()):
        if question.endswith(DETAILS_SUFFIX) or value is not True:
            continue
        topic = QUESTIONS.get(question, question.replace("_", " "))
        details = answers.get(question + DETAILS_SUFFIX)
        sentence = f"Answered yes about {topic}"
        if isinstance(details, str) and details.strip():
            sentence += f": {details.strip()}"
        findings.append(AnswerFinding(question, sentence))
    return findings
