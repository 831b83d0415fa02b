"""This deployment's PDF signing certificate (ETA_PDF_SIGNING_*), and signing a document with it."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app

from eta.issuance.pdfsign import PdfSigningError, PdfSigningIdentity, load_identity, sign_pdf

log = logging.getLogger(__name__)

_lock = threading.Lock()
_identities: dict[tuple[str, str, str | None], tuple[Any, PdfSigningIdentity]] = {}
_warned_unsigned = threading.Event()


def _paths(config: Mapping[str, Any]) -> tuple[Path, Path, Path | None]:
    chain = config.get("ETA_PDF_SIGNING_CHAIN")
    return (
        Path(str(config["ETA_PDF_SIGNING_CERT"])),
        Path(str(config["ETA_PDF_SIGNING_KEY"])),
        Path(str(chain)) if chain else None,
    )


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def load_configured(config: Mapping[str, Any]) -> PdfSigningIdentity | None:
    """The signing identity ``config`` names; None outside production when it has none.

    Raises PdfSigningError when the files are there but unusable, and in production when
    configured files are missing. None when no certificate is configured at all.
    """
    if not config.get("ETA_PDF_SIGNING_CERT"):
        return None  # production without a certificate: unsigned, said at start-up
    cert, key, chain = _paths(config)
    if config.get("ETA_ENV") != "production" and not (cert.is_file() and key.is_file()):
        return None
    if chain is not None and not chain.is_file() and config.get("ETA_ENV") != "production":
        chain = None  # the development default, before `eta keys pdf-certificate` wrote it
    return load_identity(cert, key, chain, config.get("ETA_PDF_SIGNING_KEY_PASSPHRASE"))


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to start production (ConfigurationError, one line) with an unusable certificate.

    Without one configured, production starts and says, as an error, that PDFs are unsigned.
    """
    from config import ConfigurationError

    if not config.get("ETA_PDF_SIGNING_CERT"):
        log.error(
            "ETA_PDF_SIGNING_CERT and ETA_PDF_SIGNING_KEY are not set: authorisation PDFs are "
            "issued without a signature a border guard can check (docs/issuance.md)"
        )
        return
    try:
        load_configured(config)
    except PdfSigningError as error:
        raise ConfigurationError(str(error)) from None


def signing_identity() -> PdfSigningIdentity | None:
    """The app's signing identity, loaded once and again whenever one of its files changes
    (a renewed certificate is picked up without a restart).
    """
    config = current_app.config
    if not config.get("ETA_PDF_SIGNING_CERT"):
        return None
    cert, key, chain = _paths(config)
    name = (str(cert), str(key), str(chain) if chain else None)
    stamp = (_stamp(cert), _stamp(key), _stamp(chain))
    with _lock:
        cached = _identities.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        identity = load_configured(config)
        if identity is None:
            _identities.pop(name, None)
            return None
        _identities[name] = (stamp, identity)
        return identity


def sign_document(pdf: bytes, reason: str | None = None) -> bytes:
    """``pdf`` signed with the app's certificate; unsigned (and a warning, once per process)
    outside production when no certificate is configured.
    """
    identity = signing_identity()
    if identity is None:
        if not _warned_unsigned.is_set():
            _warned_unsigned.set()
            log.warning(
                "authorisation PDFs are issued unsigned: no PDF signing certificate at "
                "ETA_PDF_SIGNING_CERT (run `eta keys pdf-certificate`; docs/issuance.md)"
            )
        return pdf
    return sign_pdf(pdf, identity, reason)
