"""SoftHSM2 tokens for the tests of the PKCS#11 key backend (Debian's softhsm2).

SoftHSM reads SOFTHSM2_CONF (which names its token directory) once, when a process first
initialises the library, and sees only the tokens there then: one token directory per test
session, set before any test touches PKCS#11, holds every token the session makes. Keyrings
in different directories share a token safely, since a keyring's manifest names its keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = os.environ.get("ETA_PKCS11_MODULE") or "/usr/lib/softhsm/libsofthsm2.so"
# In CI (.ci/run exports ETA_REQUIRE_SOFTHSM=1, and CI=true) a missing SoftHSM fails the HSM
# tests instead of skipping them, as a missing Chromium fails the browser tests.
REQUIRE_SOFTHSM = os.environ.get("ETA_REQUIRE_SOFTHSM") == "1" or os.environ.get("CI") == "true"
# Set by `make pytest-hsm`: the issuance and audit suites run with ETA_KEYS_BACKEND=pkcs11.
BACKEND = os.environ.get("ETA_TEST_KEYS_BACKEND", "file")
PIN = "2468-test-user-pin"
SO_PIN = "1357-test-so-pin"


@dataclass(frozen=True)
class SoftToken:
    """An initialised SoftHSM token: the module to load, the token's label, its user PIN."""

    module: str
    label: str
    pin: str
    conf: Path

    def settings(self) -> dict[str, str]:
        """The configuration (and environment) that points eta at this token."""
        return {
            "ETA_KEYS_BACKEND": "pkcs11",
            "ETA_PKCS11_MODULE": self.module,
            "ETA_PKCS11_TOKEN_LABEL": self.label,
            "ETA_PKCS11_PIN": self.pin,
        }


def softhsm_util() -> str:
    """softhsm2-util's path; skips (or fails, in CI) when SoftHSM2 is not installed."""
    util = shutil.which("softhsm2-util")
    if util is None or not os.path.exists(MODULE):
        message = (
            f"PKCS#11 tests skipped: SoftHSM2 not found (softhsm2-util, {MODULE}). Install it "
            "with `apt-get install softhsm2` (Debian) to run them."
        )
        if REQUIRE_SOFTHSM:
            pytest.fail(message.replace("skipped", "required in CI"))
        pytest.skip(message)
    return util


def init_token(directory: Path, label: str) -> SoftToken:
    """A fresh token ``label`` in the token directory of ``directory``'s SoftHSM config.

    Sets SOFTHSM2_CONF in this process's environment (worker subprocesses inherit it).
    """
    util = softhsm_util()
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    if not conf.exists():
        conf.write_text(
            f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n",
            encoding="utf-8",
        )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    return SoftToken(MODULE, label, PIN, conf)
