"""Fixtures for the traveller room: a real local SMTP server, and compiled catalogues."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]


class CollectingHandler:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp_server(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[CollectingHandler]:
    """A real SMTP server on localhost; the app's ETA_MAIL_URL points at it for the test."""
    handler = CollectingHandler()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "ETA_MAIL_URL", f"smtp://127.0.0.1:{port}")
    yield handler
    controller.stop()


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues() -> None:
    """Compile the .po catalogues (make does it in the build; a bare pytest run may not have)."""
    for po in (ROOT / "eta" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "babel.messages.frontend",
                    "compile",
                    "--use-fuzzy",
                    "-i",
                    str(po),
                    "-o",
                    str(mo),
                ],
                check=True,
                capture_output=True,
            )
