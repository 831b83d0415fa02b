"""Every language is complete: each message of the code and templates translated, none fuzzy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "eta" / "translations"
SOURCE_LANGUAGE = "en"  # the messages are written in English: its catalogue may stay empty
CATALOGUES = sorted(
    path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")
)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every message the code and templates use, as `make extract-messages` finds them."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "_n",
            "--no-location",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    with pot.open("rb") as handle:
        return {_key(message.id) for message in read_po(handle) if message.id}


def _translated(string: str | tuple[str, ...]) -> bool:
    """Whether a message has its translation (every plural form, for a plural message)."""
    return all(string) if isinstance(string, tuple) else bool(string)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.mark.parametrize("language", [name for name in CATALOGUES if name != SOURCE_LANGUAGE])
def test_every_message_is_translated_and_none_is_fuzzy(language: str, extracted: set[str]):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    messages = {_key(message.id): message for message in catalogue if message.id}
    missing = sorted(extracted - messages.keys())
    assert not missing, f"{language}: not in the catalogue (run make extract-messages): {missing}"
    untranslated = sorted(key for key in extracted if not _translated(messages[key].string))
    assert not untranslated, f"{language}: untranslated: {untranslated}"
    fuzzy = sorted(key for key in extracted if messages[key].fuzzy)
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
