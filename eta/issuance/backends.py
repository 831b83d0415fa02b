"""Which key store a keyring uses: files beside its manifest, or a PKCS#11 token (ETA_KEYS_BACKEND).

The PKCS#11 code (and its library) is imported only when the configuration asks for it, so a
deployment on the file backend needs no PKCS#11 module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eta.issuance.keys import FileKeyStore, KeyPurpose, Keyring, KeyStore

FILE = "file"
PKCS11 = "pkcs11"
BACKENDS = (FILE, PKCS11)


def backend_name(config: Mapping[str, Any]) -> str:
    """The configured backend (``file`` when unset)."""
    return str(config.get("ETA_KEYS_BACKEND") or FILE)


def key_store(config: Mapping[str, Any], path: Path, purpose: KeyPurpose) -> KeyStore:
    """The key store of the keyring in ``path`` for ``purpose``, as the configuration says."""
    if backend_name(config) == PKCS11:
        from eta.issuance.hsm import Pkcs11KeyStore, Pkcs11Settings

        settings = Pkcs11Settings(
            module=str(config["ETA_PKCS11_MODULE"]),
            token_label=str(config["ETA_PKCS11_TOKEN_LABEL"]),
            pin=str(config["ETA_PKCS11_PIN"]),
        )
        return Pkcs11KeyStore(settings, purpose)
    return FileKeyStore(path)


def open_keyring(config: Mapping[str, Any], path: Path, purpose: KeyPurpose) -> Keyring:
    """The keyring whose manifest is in ``path``, its keys where the configuration says."""
    return Keyring.load(path, purpose, key_store(config, path, purpose))


def cache_key(config: Mapping[str, Any], path: str) -> str:
    """What a per-process keyring cache is keyed by: the directory and where its keys are."""
    if backend_name(config) == PKCS11:
        return f"{path}|pkcs11|{config['ETA_PKCS11_MODULE']}|{config['ETA_PKCS11_TOKEN_LABEL']}"
    return path
