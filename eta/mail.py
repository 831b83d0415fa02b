"""Sending email through ETA_MAIL_URL: smtp://host:port (production) or file://dir of .eml files."""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit


class MailConfigurationError(ValueError):
    """ETA_MAIL_URL names a transport eta does not know."""


@dataclass(frozen=True)
class OutgoingMail:
    """One message to one person, as plain text and (optionally) HTML."""

    to: str
    subject: str
    text: str
    html: str | None = None
    language: str = "en"


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The MIME message for `mail`: text/plain, with an text/html alternative when given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "eta.invalid")
    # Automated messages: no out-of-office replies, please.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    # After the body: set_content() drops any Content-* header set before it.
    message["Content-Language"] = mail.language
    return message


def send(mail: OutgoingMail, *, mail_url: str, sender: str, timeout: float = 10.0) -> None:
    """Deliver `mail` through the transport named by `mail_url` (smtp:// or file://)."""
    message = build_message(mail, sender)
    parts = urlsplit(mail_url)
    if parts.scheme == "smtp":
        with smtplib.SMTP(parts.hostname or "127.0.0.1", parts.port or 25, timeout=timeout) as smtp:
            smtp.send_message(message)
        return
    if parts.scheme == "file":
        # file:///abs/dir and file://relative/dir are both accepted.
        directory = Path(parts.netloc + parts.path) if parts.netloc else Path(parts.path)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{uuid.uuid4().hex}.eml"
        target.write_bytes(bytes(message))
        return
    raise MailConfigurationError(f"ETA_MAIL_URL must be smtp:// or file://, not {parts.scheme!r}")
