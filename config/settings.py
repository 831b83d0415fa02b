"""Build the Flask configuration from defaults and ETA_* environment variables (SPEC §2)."""

from __future__ import annotations

import base64
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "test", "production")

# Nationalities whose citizens travel visa-free and so apply for an ETA. A deployment replaces
# this list with its own (ETA_ELIGIBLE_NATIONALITIES, comma-separated ISO alpha-3 codes).
DEFAULT_ELIGIBLE_NATIONALITIES = (
    "AND,ARG,AUS,AUT,BEL,BGR,BRA,BRN,CAN,CHE,CHL,CRI,CYP,CZE,DEU,DNK,ESP,EST,FIN,FRA,GRC,HRV,"
    "HUN,ISL,ISR,ITA,JPN,KOR,LIE,LTU,LUX,LVA,MCO,MEX,MLT,MYS,NLD,NOR,NZL,PAN,POL,PRT,PRY,ROU,"
    "SGP,SMR,SRB,SVK,SVN,SWE,TWN,URY,USA,VAT,UTO"
)
# Nationalities that need no ETA at all (the issuing country's own citizens, and any agreement
# partners): carriers get NOT_APPLICABLE for them, travellers a page saying so. A nationality
# is eligible or exempt, never both (a configuration error at start-up).
DEFAULT_EXEMPT_NATIONALITIES = "GBR,IRL"

# eta.screening.names.DEFAULT_THRESHOLD, repeated so settings import nothing heavy.
DEFAULT_MATCH_THRESHOLD = 0.71

MAX_REQUEST_BYTES = 1024 * 1024  # 1 MiB: far above any application, small enough to refuse abuse
# A facial photo as sent, decoded: a phone's full-resolution JPEG is 2 to 4 MB.
PHOTO_MAX_BYTES = 5 * 1024 * 1024


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or invalid; the message is one line for the operator."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip().upper() for part in value.split(",") if part.strip())


def _public_url(environ: Mapping[str, str], issuer: str) -> str:
    """ETA_PUBLIC_URL (default: ETA_ISSUER): the one base of every absolute link eta sends."""
    url = (environ.get("ETA_PUBLIC_URL") or issuer).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"ETA_PUBLIC_URL must be an absolute http(s) URL like https://eta.example.gov, "
            f"not {url!r}"
        )
    return url


def _trusted_hosts(environ: Mapping[str, str], production: bool, *urls: str) -> list[str] | None:
    """Host names requests may name (Flask's TRUSTED_HOSTS); None lets any Host in.

    ETA_TRUSTED_HOSTS, comma-separated ("eta.example.gov,.eta.example.gov" for subdomains). In
    production it defaults to the hosts of ETA_PUBLIC_URL and ETA_ISSUER, so a request naming
    another Host is refused (400) instead of being served under a name eta does not own.
    """
    listed = [part.strip().lower() for part in environ.get("ETA_TRUSTED_HOSTS", "").split(",")]
    hosts = [host for host in listed if host]
    if hosts:
        return hosts
    if not production:
        return None
    return sorted({str(urlsplit(url).hostname).lower() for url in urls})


def _secret_key(env_name: str, instance_path: Path, environ: Mapping[str, str]) -> str | None:
    """Return ETA_SECRET_KEY, or in development/test a key generated once into instance/."""
    key = environ.get("ETA_SECRET_KEY")
    if key:
        return key
    if env_name == "production":
        return None
    return _generated_key(instance_path / "secret_key", secrets.token_urlsafe(48))


def _generated_key(key_file: Path, fresh: str) -> str:
    """The key kept in `key_file` (development and test), written once with `fresh` (0600)."""
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (a worker) wrote it a moment ago
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh)
    return fresh


def _photo_key(env_name: str, instance_path: Path, environ: Mapping[str, str]) -> str | None:
    """ETA_PHOTO_KEY (32 bytes, base64), or in development/test one generated into instance/.

    Production has no default: without the variable, photos are not accepted (a photo in an
    application is a field error) and ETA_PHOTO_REQUIRED is a configuration error.
    """
    key = environ.get("ETA_PHOTO_KEY", "").strip()
    if not key and env_name != "production":
        key = _generated_key(
            instance_path / "photo_key",
            base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        )
    if not key:
        return None
    padded = key + "=" * (-len(key) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError(
            "ETA_PHOTO_KEY must be 32 random bytes in base64 (see docs/operations.md)"
        )
    return key


def _flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """ETA_* variable `name` as on/off: 1, true, yes, on or 0, false, no, off (any case)."""
    text = environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be on or off (1 or 0), not {text!r}")


def _photo_settings(
    env_name: str, instance_path: Path, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The facial photo: its key, limits, the quality gate's thresholds, the face match."""
    key = _photo_key(env_name, instance_path, environ)
    required = _flag(environ, "ETA_PHOTO_REQUIRED")
    if required and key is None:
        raise ConfigurationError("ETA_PHOTO_REQUIRED is on but ETA_PHOTO_KEY is not set")
    max_bytes = _whole_number(environ, "ETA_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES)
    return {
        "ETA_PHOTO_KEY": key,
        # Off: a photo is optional (the web journey has no photo page yet); on: the API
        # refuses an application without one.
        "ETA_PHOTO_REQUIRED": required,
        # Limits on the photo as sent: decoded bytes, pixels, the shorter side; and the longest
        # side of the re-encoded copy eta keeps, and of the copy faces are looked for on.
        "ETA_PHOTO_MAX_BYTES": max_bytes,
        "ETA_PHOTO_MAX_PIXELS": _whole_number(environ, "ETA_PHOTO_MAX_PIXELS", 24_000_000),
        "ETA_PHOTO_MIN_SIDE": _whole_number(environ, "ETA_PHOTO_MIN_SIDE", 300),
        "ETA_PHOTO_STORED_SIDE": _whole_number(environ, "ETA_PHOTO_STORED_SIDE", 1024),
        "ETA_PHOTO_DETECT_SIDE": _whole_number(environ, "ETA_PHOTO_DETECT_SIDE", 640),
        # The applications API's own body limit: the usual one plus a base64 photo.
        "ETA_APPLICATION_MAX_BYTES": _whole_number(
            environ, "ETA_APPLICATION_MAX_BYTES", MAX_REQUEST_BYTES + (max_bytes + 2) // 3 * 4
        ),
        # The quality gate (eta.identity.quality; figures in docs/screening.md).
        "ETA_PHOTO_MIN_EYE_DISTANCE": _number(environ, "ETA_PHOTO_MIN_EYE_DISTANCE", 50.0),
        "ETA_PHOTO_MIN_FACE_WIDTH": _number(environ, "ETA_PHOTO_MIN_FACE_WIDTH", 0.2),
        "ETA_PHOTO_MAX_FACE_WIDTH": _number(environ, "ETA_PHOTO_MAX_FACE_WIDTH", 0.8),
        "ETA_PHOTO_MAX_OFF_CENTRE": _number(environ, "ETA_PHOTO_MAX_OFF_CENTRE", 0.2),
        "ETA_PHOTO_MARGIN": _number(environ, "ETA_PHOTO_MARGIN", 0.15),
        "ETA_PHOTO_MAX_YAW": _number(environ, "ETA_PHOTO_MAX_YAW", 0.25),
        "ETA_PHOTO_MAX_ROLL_DEGREES": _number(environ, "ETA_PHOTO_MAX_ROLL_DEGREES", 12.0),
        "ETA_PHOTO_MIN_BRIGHTNESS": _number(environ, "ETA_PHOTO_MIN_BRIGHTNESS", 45.0),
        "ETA_PHOTO_MAX_BRIGHTNESS": _number(environ, "ETA_PHOTO_MAX_BRIGHTNESS", 215.0),
        "ETA_PHOTO_MAX_CLIPPED": _number(environ, "ETA_PHOTO_MAX_CLIPPED", 0.15),
        "ETA_PHOTO_MIN_CONTRAST": _number(environ, "ETA_PHOTO_MIN_CONTRAST", 18.0),
        "ETA_PHOTO_MIN_SHARPNESS": _number(environ, "ETA_PHOTO_MIN_SHARPNESS", 40.0),
        "ETA_PHOTO_MAX_SHADOW": _number(environ, "ETA_PHOTO_MAX_SHADOW", 0.3),
        # Face 1:N (screening's `face` check): the largest distance between two templates
        # taken as the same face (dlib's own figure is 0.6; docs/screening.md has ours).
        "ETA_FACE_MATCH_THRESHOLD": _number(environ, "ETA_FACE_MATCH_THRESHOLD", 0.55),
        # The 1:N index (docs/screening.md): exact search below ETA_FACE_INDEX_ANN_FROM
        # templates, IVF cells above it, NPROBE cells searched; rebuilt from the database
        # every REBUILD_HOURS besides following the template changes.
        "ETA_FACE_INDEX_ANN_FROM": _whole_number(environ, "ETA_FACE_INDEX_ANN_FROM", 50_000),
        "ETA_FACE_INDEX_NPROBE": _whole_number(environ, "ETA_FACE_INDEX_NPROBE", 64),
        "ETA_FACE_INDEX_REBUILD_HOURS": _number(environ, "ETA_FACE_INDEX_REBUILD_HOURS", 24.0),
        # The passport chip (eta.chip): each file's decoded size at most (a DG2 is 15-100 KB),
        # and the 1:1 match of the photo against the chip's face: the largest distance taken
        # as the same person (dlib's figure 0.6; a chip image is small and compressed).
        "ETA_CHIP_MAX_BYTES": _whole_number(environ, "ETA_CHIP_MAX_BYTES", 256 * 1024),
        "ETA_CHIP_FACE_THRESHOLD": _number(environ, "ETA_CHIP_FACE_THRESHOLD", 0.6),
    }


def _destination(environ: Mapping[str, str]) -> str:
    """ETA_COUNTRY, upper case; a one-line configuration error unless it is three letters."""
    text = environ.get("ETA_COUNTRY", "UTO").strip().upper()
    if not (len(text) == 3 and text.isascii() and text.isalpha()):
        raise ConfigurationError(f"ETA_COUNTRY must be an ISO 3166-1 alpha-3 code, not {text!r}")
    return text


def _fee(environ: Mapping[str, str]) -> dict[str, str]:
    """ETA_FEE and ETA_FEE_PAYMENT, both or neither: a fee is never shown without how to pay."""
    fee = environ.get("ETA_FEE", "").strip()
    payment = environ.get("ETA_FEE_PAYMENT", "").strip()
    if bool(fee) != bool(payment):
        raise ConfigurationError(
            "ETA_FEE and ETA_FEE_PAYMENT go together: the amount, and how travellers pay it"
        )
    return {"ETA_FEE": fee, "ETA_FEE_PAYMENT": payment}


def _exempt_nationalities(environ: Mapping[str, str]) -> tuple[str, ...]:
    """ETA_EXEMPT_NATIONALITIES, refused when it shares a code with the eligible list."""
    eligible = _csv(environ.get("ETA_ELIGIBLE_NATIONALITIES", DEFAULT_ELIGIBLE_NATIONALITIES))
    exempt = _csv(environ.get("ETA_EXEMPT_NATIONALITIES", DEFAULT_EXEMPT_NATIONALITIES))
    both = sorted(set(eligible) & set(exempt))
    if both:
        raise ConfigurationError(
            f"{', '.join(both)} in both ETA_ELIGIBLE_NATIONALITIES and ETA_EXEMPT_NATIONALITIES: "
            "a nationality either applies for an ETA or needs none"
        )
    return exempt


def _sentinels(environ: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    """ETA_REDIS_SENTINELS (`host:port,host:port`) as (host, port) pairs; empty when unset."""
    pairs = []
    for part in environ.get("ETA_REDIS_SENTINELS", "").split(","):
        if not part.strip():
            continue
        host, _colon, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(
                f"ETA_REDIS_SENTINELS must list host:port pairs, comma-separated, not {part!r}"
            )
        pairs.append((host.strip("[]"), int(port)))
    return tuple(pairs)


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    """ETA_* variable `name` as a whole number of at least 1 (see `_integer`)."""
    value = _integer(environ, name, default)
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, not {value}")
    return value


def _default_origin(issuer: str) -> str:
    """The audit log's origin: the issuer without its scheme, then /audit (`eta.example/audit`)."""
    host = issuer.split("://", 1)[-1].rstrip("/")
    return f"{host}/audit".replace(" ", "")


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    """ETA_* variable `name` as a whole number (`default` when unset or empty).

    Anything else is a ConfigurationError naming the variable, in one line.
    """
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {text!r}") from None


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    """ETA_* variable `name` as a decimal number; a ConfigurationError in one line otherwise."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {text!r}") from None


def _non_negative(environ: Mapping[str, str], name: str, default: float) -> float:
    """ETA_* variable `name` as a number of at least 0 (see `_number`)."""
    value = _number(environ, name, default)
    if not (value >= 0 and math.isfinite(value)):  # NaN and infinity included
        raise ConfigurationError(f"{name} must be a number of 0 or more, not {value}")
    return value


def _arabic_digits(environ: Mapping[str, str]) -> str:
    """ETA_ARABIC_DIGITS: "latn" (0-9, CLDR's default for Arabic) or "arab" (Arabic-Indic)."""
    value = environ.get("ETA_ARABIC_DIGITS", "latn").strip().lower() or "latn"
    if value not in ("latn", "arab"):
        raise ConfigurationError(f"ETA_ARABIC_DIGITS must be latn or arab, not {value!r}")
    return value


LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_format(environ: Mapping[str, str]) -> str:
    """ETA_LOG_FORMAT: json (one JSON object per line, the default) or text."""
    text = environ.get("ETA_LOG_FORMAT", "json").strip().lower() or "json"
    if text not in LOG_FORMATS:
        raise ConfigurationError(f"ETA_LOG_FORMAT must be json or text, not {text!r}")
    return text


def _log_level(environ: Mapping[str, str]) -> str:
    """ETA_LOG_LEVEL: DEBUG, INFO (the default), WARNING or ERROR."""
    text = environ.get("ETA_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if text not in LOG_LEVELS:
        raise ConfigurationError(
            f"ETA_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {text!r}"
        )
    return text


KEYS_BACKENDS = ("file", "pkcs11")
DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"  # Debian's softhsm2


def _keys_backend(environ: Mapping[str, str]) -> dict[str, str]:
    """ETA_KEYS_BACKEND (file, the default, or pkcs11) and, for pkcs11, the token to use.

    pkcs11 needs ETA_PKCS11_TOKEN_LABEL and ETA_PKCS11_PIN (the user PIN) in every
    environment: a missing one would otherwise surface as a failed login on the first
    signature, in a worker, long after start-up.
    """
    backend = environ.get("ETA_KEYS_BACKEND", "file").strip().lower() or "file"
    if backend not in KEYS_BACKENDS:
        raise ConfigurationError(
            f"ETA_KEYS_BACKEND must be one of {', '.join(KEYS_BACKENDS)}, not {backend!r}"
        )
    settings = {
        "ETA_KEYS_BACKEND": backend,
        "ETA_PKCS11_MODULE": environ.get("ETA_PKCS11_MODULE") or DEFAULT_PKCS11_MODULE,
        "ETA_PKCS11_TOKEN_LABEL": environ.get("ETA_PKCS11_TOKEN_LABEL", "").strip(),
        "ETA_PKCS11_PIN": environ.get("ETA_PKCS11_PIN", ""),
    }
    if backend == "pkcs11":
        for name in ("ETA_PKCS11_TOKEN_LABEL", "ETA_PKCS11_PIN"):
            if not settings[name]:
                raise ConfigurationError(f"ETA_KEYS_BACKEND is pkcs11 but {name} is not set")
    return settings


def _pdf_signing_settings(
    production: bool, keys_dir: Path, environ: Mapping[str, str]
) -> dict[str, Any]:
    """Where the certificate, key and chain that sign the authorisation PDF are (PAdES).

    Production without a certificate and key still starts (SPEC §2 lists what it refuses
    to start without) but says at start-up, as an error, that its PDFs are unsigned: a border
    guard cannot tell those from a forgery (docs/issuance.md). Elsewhere they default to the
    development chain `eta keys pdf-certificate` writes into ETA_KEYS_DIR/pdf; without it PDFs
    are issued unsigned, with a warning in the log.
    """
    cert = environ.get("ETA_PDF_SIGNING_CERT", "").strip()
    key = environ.get("ETA_PDF_SIGNING_KEY", "").strip()
    chain = environ.get("ETA_PDF_SIGNING_CHAIN", "").strip()
    if bool(cert) != bool(key):
        raise ConfigurationError(
            "ETA_PDF_SIGNING_CERT and ETA_PDF_SIGNING_KEY go together: set both, or neither "
            "(docs/issuance.md)"
        )
    development = keys_dir / "pdf"
    if not cert and not key and not production:
        cert, key = str(development / "signing-cert.pem"), str(development / "signing-key.pem")
        chain = chain or str(development / "chain.pem")
    return {
        "ETA_PDF_SIGNING_CERT": cert,
        "ETA_PDF_SIGNING_KEY": key,
        "ETA_PDF_SIGNING_CHAIN": chain or None,
        "ETA_PDF_SIGNING_KEY_PASSPHRASE": environ.get("ETA_PDF_SIGNING_KEY_PASSPHRASE") or None,
        # The organisation named in the development chain's certificates (an agency's own
        # certificate names it already); unset: ETA_SERVICE_NAME.
        "ETA_PDF_SIGNING_ORGANISATION": environ.get("ETA_PDF_SIGNING_ORGANISATION", "").strip()
        or None,
        # Where `eta keys pdf-certificate` writes the development chain.
        "ETA_PDF_DEVELOPMENT_DIR": str(development),
    }


def load_settings(instance_path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the Flask config mapping for the environment named by ETA_ENV.

    Production refuses unsafe defaults (no secret key, SQLite, embedded Redis) with a
    ConfigurationError whose message says why in one line.
    """
    environ = os.environ if environ is None else environ
    env_name = environ.get("ETA_ENV", "development").strip().lower()
    if env_name not in ENVIRONMENTS:
        raise ConfigurationError(
            f"ETA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env_name!r}"
        )
    production = env_name == "production"

    database_url = environ.get("ETA_DATABASE_URL") or f"sqlite:///{instance_path / 'eta.db'}"
    redis_url = environ.get("ETA_REDIS_URL") or None
    sentinels = _sentinels(environ)
    secret_key = _secret_key(env_name, instance_path, environ)

    if production:
        if not secret_key:
            raise ConfigurationError("ETA_SECRET_KEY is not set: production needs a secret key")
        if database_url.startswith("sqlite"):
            raise ConfigurationError("ETA_DATABASE_URL is SQLite: production needs PostgreSQL")
        if not redis_url and not sentinels:
            raise ConfigurationError(
                "neither ETA_REDIS_URL nor ETA_REDIS_SENTINELS is set: "
                "production needs a real Redis"
            )

    issuer = environ.get("ETA_ISSUER", "http://127.0.0.1:5000").rstrip("/")
    public_url = _public_url(environ, issuer)
    keys_dir = Path(environ.get("ETA_KEYS_DIR") or instance_path / "keys")
    mail_url = environ.get("ETA_MAIL_URL") or f"file://{instance_path / 'outbox'}"

    retry_after = _whole_number(environ, "ETA_RETRY_AFTER_SECONDS", 5)
    settings = {
        "ETA_ENV": env_name,
        "TESTING": env_name == "test",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Test a pooled connection before each use (a round trip per checkout). On for the web
        # app; the worker turns it off (eta worker, see eta.cli): there a dropped connection
        # fails one job, which RQ retries, and the pool is invalidated for the next.
        "ETA_DATABASE_PRE_PING": True,
        "ETA_REDIS_URL": redis_url,
        # Through Redis Sentinel when set (host:port,host:port): the master named
        # ETA_REDIS_SENTINEL_MASTER, database ETA_REDIS_SENTINEL_DB; ETA_REDIS_URL is then unused.
        "ETA_REDIS_SENTINELS": sentinels,
        "ETA_REDIS_SENTINEL_MASTER": environ.get("ETA_REDIS_SENTINEL_MASTER", "").strip() or "eta",
        "ETA_REDIS_SENTINEL_DB": _integer(environ, "ETA_REDIS_SENTINEL_DB", 0),
        "ETA_ISSUER": issuer,
        # Every absolute link (emails, status_url, Location, download links) starts here, never
        # at the request's Host header, which the client chooses.
        "ETA_PUBLIC_URL": public_url,
        "TRUSTED_HOSTS": _trusted_hosts(environ, production, public_url, issuer),
        "ETA_KEYS_DIR": str(keys_dir),
        # Where the private signing keys live: files in ETA_KEYS_DIR, or a PKCS#11 token (an
        # HSM) that generates them and never lets them out; the manifest stays in ETA_KEYS_DIR.
        **_keys_backend(environ),
        "ETA_MAIL_URL": mail_url,
        "ETA_MAIL_SENDER": environ.get("ETA_MAIL_SENDER", "eta@example.gov"),
        "ETA_SERVICE_NAME": environ.get("ETA_SERVICE_NAME", "Electronic Travel Authorisation"),
        # The country travellers apply to visit (ICAO 9303 / ISO 3166-1 alpha-3; UTO, the ICAO
        # specimen state, until a deployment sets its own), named on the start page.
        "ETA_COUNTRY": _destination(environ),
        # The fee and how it is paid, shown on the start page only when both are set: eta has
        # no payment step, so a deployment says where the fee is paid (or charges none).
        **_fee(environ),
        "ETA_ELIGIBLE_NATIONALITIES": _csv(
            environ.get("ETA_ELIGIBLE_NATIONALITIES", DEFAULT_ELIGIBLE_NATIONALITIES)
        ),
        "ETA_EXEMPT_NATIONALITIES": _exempt_nationalities(environ),
        "ETA_DECISION_HOURS": _integer(environ, "ETA_DECISION_HOURS", 96),
        # Days a traveller has to answer an officer's questions before the case returns to the
        # officers' queue unanswered (the link stops taking answers then too).
        "ETA_INFORMATION_DAYS": _integer(environ, "ETA_INFORMATION_DAYS", 21),
        # Days after a refusal within which the traveller may ask for it to be reviewed
        # (once per refusal; the request sends the case back to the officers' queue).
        "ETA_REVIEW_WINDOW_DAYS": _whole_number(environ, "ETA_REVIEW_WINDOW_DAYS", 28),
        "ETA_VALIDITY_YEARS": _integer(environ, "ETA_VALIDITY_YEARS", 2),
        "ETA_STUCK_AFTER_SECONDS": _integer(environ, "ETA_STUCK_AFTER_SECONDS", 300),
        # How often the sweeper looks for applications stuck that long (workers.periodic).
        "ETA_SWEEP_SECONDS": _whole_number(environ, "ETA_SWEEP_SECONDS", 60),
        # Watchlist name-match threshold (screening); the shipped default is measured in docs/.
        "ETA_MATCH_THRESHOLD": _number(environ, "ETA_MATCH_THRESHOLD", DEFAULT_MATCH_THRESHOLD),
        # Longest a screening check's database statement may run (PostgreSQL statement_timeout)
        # before the check counts as failed and the application is referred: far below the
        # screening job's timeout (180 s), so a locked table refers instead of hanging the job.
        "ETA_CHECK_TIMEOUT_SECONDS": _number(environ, "ETA_CHECK_TIMEOUT_SECONDS", 5.0),
        "ETA_RETENTION_DAYS": _integer(environ, "ETA_RETENTION_DAYS", 5 * 365),
        # How long an unsubmitted web journey (and its emailed resume link) is kept.
        "ETA_DRAFT_DAYS": _integer(environ, "ETA_DRAFT_DAYS", 30),
        # How long an API client's Idempotency-Key answers a retry with the first answer.
        "ETA_IDEMPOTENCY_HOURS": _integer(environ, "ETA_IDEMPOTENCY_HOURS", 24),
        # The audit log: a checkpoint signed this often (seconds) while events arrive, and the
        # log's name in them (C2SP tlog-checkpoint origin; by default the issuer's host + /audit).
        "ETA_AUDIT_CHECKPOINT_SECONDS": _whole_number(environ, "ETA_AUDIT_CHECKPOINT_SECONDS", 5),
        "ETA_AUDIT_ORIGIN": environ.get("ETA_AUDIT_ORIGIN")
        or _default_origin(environ.get("ETA_ISSUER", "http://127.0.0.1:5000")),
        # Partner agencies (docs/partners.md): our id in the trust list (needed to publish our
        # lost/stolen feed), and where the list in use is kept (the anchor's public JWKS is
        # pinned beside it, as trust-anchor.jwks).
        "ETA_PARTNER_ID": environ.get("ETA_PARTNER_ID", "").strip(),
        "ETA_TRUST_LIST": environ.get("ETA_TRUST_LIST") or str(instance_path / "trust-list.jws"),
        # A partner's signed revocation list signed longer ago than this is refused as stale
        # (`eta partner revocations import`); ours is signed again at least this often, so the
        # copies partners fetch stay fresh.
        "ETA_PARTNER_REVOCATIONS_MAX_AGE_SECONDS": _whole_number(
            environ, "ETA_PARTNER_REVOCATIONS_MAX_AGE_SECONDS", 24 * 3600
        ),
        "ETA_REVOCATIONS_RESIGN_SECONDS": _whole_number(
            environ, "ETA_REVOCATIONS_RESIGN_SECONDS", 3600
        ),
        # Unset: every language that has a catalogue in eta/translations (see eta/web/i18n.py).
        "ETA_LANGUAGES": _csv(environ.get("ETA_LANGUAGES", "")),
        # Digits of dates and counts on Arabic pages, emails and PDFs (eta/web/i18n.py).
        "ETA_ARABIC_DIGITS": _arabic_digits(environ),
        # How a refused traveller asks for a review (unset: the translated default text).
        "ETA_APPEAL_TEXT": environ.get("ETA_APPEAL_TEXT", ""),
        # The officers' dashboard window, and how many recent applications a rule's dry run
        # replays.
        "ETA_DASHBOARD_DAYS": _whole_number(environ, "ETA_DASHBOARD_DAYS", 30),
        "ETA_RULE_DRY_RUN_SIZE": _whole_number(environ, "ETA_RULE_DRY_RUN_SIZE", 2000),
        # The dashboard's staffing plan (eta/officer/staffing.py): minutes of officer time one
        # referred case takes, and the hours one officer on the rota gives the queue per day
        # (a 7.5-hour working day by default; lower it for meetings, training and leave).
        "ETA_CASE_MINUTES": _non_negative(environ, "ETA_CASE_MINUTES", 20.0),
        "ETA_ROTA_HOURS_PER_OFFICER_PER_DAY": _non_negative(
            environ, "ETA_ROTA_HOURS_PER_OFFICER_PER_DAY", 7.5
        ),
        # Reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto to believe (0: none).
        # Behind one nginx or load balancer: 1. Without it every per-address rate limit would
        # count the proxy's address, so one busy hour would lock out every traveller.
        "ETA_TRUSTED_PROXIES": _integer(environ, "ETA_TRUSTED_PROXIES", 0),
        # The public statistics page shows no count below this, nor a median over fewer cases:
        # small cells could point at a person (statistical disclosure control).
        "ETA_STATS_MIN_COUNT": _whole_number(environ, "ETA_STATS_MIN_COUNT", 10),
        # Rate limits per client address (flask-limiter syntax), shared across processes
        # through Redis: the applications API, the status API and page, the emailed resume
        # link ("save and come back later") and the public /verify page.
        "ETA_APPLY_RATE_LIMIT": environ.get("ETA_APPLY_RATE_LIMIT", "30/minute;300/hour"),
        "ETA_STATUS_API_RATE_LIMIT": environ.get("ETA_STATUS_API_RATE_LIMIT", "20/minute;200/hour"),
        "ETA_STATUS_RATE_LIMIT": environ.get("ETA_STATUS_RATE_LIMIT", "10/minute;100/hour"),
        "ETA_SAVE_RATE_LIMIT": environ.get("ETA_SAVE_RATE_LIMIT", "10/hour"),
        "ETA_VERIFY_RATE_LIMIT": environ.get("ETA_VERIFY_RATE_LIMIT", "30/minute"),
        # Per API key (by key id, counted once the key is known to be valid).
        "ETA_CARRIER_RATE_LIMIT": environ.get("ETA_CARRIER_RATE_LIMIT", "600/minute"),
        # Per client address: requests refused with 401 (no, malformed or unknown key). Once
        # over, an address gets 429 for keys this process has not yet seen, before any database
        # query, so guessing keys costs the attacker a window, not the database a query each.
        "ETA_CARRIER_INVALID_KEY_RATE_LIMIT": environ.get(
            "ETA_CARRIER_INVALID_KEY_RATE_LIMIT", "20/minute;100/hour"
        ),
        # Sign-in attempts per client address (both officer steps; the carrier desk's form), on
        # top of each account's lock-out: one password sprayed over many accounts locks none.
        "ETA_OFFICER_SIGN_IN_RATE_LIMIT": environ.get(
            "ETA_OFFICER_SIGN_IN_RATE_LIMIT", "20/minute;200/hour"
        ),
        "ETA_CARRIER_SIGN_IN_RATE_LIMIT": environ.get(
            "ETA_CARRIER_SIGN_IN_RATE_LIMIT", "20/minute"
        ),
        # Staff sessions (eta.accounts.sessions): ended after this long without a request (idle)
        # and this long after sign-in whatever happens (absolute), for officers and for carrier
        # check-in staff alike.
        "ETA_OFFICER_IDLE_SECONDS": _whole_number(environ, "ETA_OFFICER_IDLE_SECONDS", 15 * 60),
        "ETA_OFFICER_ABSOLUTE_SECONDS": _whole_number(
            environ, "ETA_OFFICER_ABSOLUTE_SECONDS", 8 * 3600
        ),
        "ETA_CARRIER_IDLE_SECONDS": _whole_number(environ, "ETA_CARRIER_IDLE_SECONDS", 15 * 60),
        "ETA_CARRIER_ABSOLUTE_SECONDS": _whole_number(
            environ, "ETA_CARRIER_ABSOLUTE_SECONDS", 8 * 3600
        ),
        # Ended staff sessions (signed out, idle, expired) are deleted this many days after
        # they ended by the daily `prune-staff-sessions` job; their audit events stay.
        "ETA_STAFF_SESSION_RETENTION_DAYS": _whole_number(
            environ, "ETA_STAFF_SESSION_RETENTION_DAYS", 90
        ),
        # Lock-out (eta.accounts.lockout), per account: after FAILURES wrong passwords (or
        # officer codes) in a row the account is locked for FIRST seconds, doubled by each
        # further failure up to MAX seconds. Officers: 5, 1 minute doubling to 1 hour;
        # carrier staff: 5, 15 minutes.
        "ETA_OFFICER_LOCKOUT_FAILURES": _whole_number(environ, "ETA_OFFICER_LOCKOUT_FAILURES", 5),
        "ETA_OFFICER_LOCKOUT_FIRST_SECONDS": _whole_number(
            environ, "ETA_OFFICER_LOCKOUT_FIRST_SECONDS", 60
        ),
        "ETA_OFFICER_LOCKOUT_MAX_SECONDS": _whole_number(
            environ, "ETA_OFFICER_LOCKOUT_MAX_SECONDS", 3600
        ),
        "ETA_CARRIER_LOCKOUT_FAILURES": _whole_number(environ, "ETA_CARRIER_LOCKOUT_FAILURES", 5),
        "ETA_CARRIER_LOCKOUT_FIRST_SECONDS": _whole_number(
            environ, "ETA_CARRIER_LOCKOUT_FIRST_SECONDS", 15 * 60
        ),
        "ETA_CARRIER_LOCKOUT_MAX_SECONDS": _whole_number(
            environ, "ETA_CARRIER_LOCKOUT_MAX_SECONDS", 15 * 60
        ),
        # While the database is unreachable, carrier verification answers tokens from the last
        # carrier state it loaded (revocations, keys) for at most this many seconds; after that,
        # and for whatever needs the database (passports), a 503 with Retry-After, never a 500.
        "ETA_CARRIER_STALE_STATE_SECONDS": _number(
            environ, "ETA_CARRIER_STALE_STATE_SECONDS", 60.0
        ),
        "ETA_CARRIER_RETRY_AFTER_SECONDS": _whole_number(
            environ, "ETA_CARRIER_RETRY_AFTER_SECONDS", retry_after
        ),
        # When the database or Redis is unreachable (a restart, a failover), every page and API
        # route answers 503 with this Retry-After (seconds): never a 500, never a hang.
        "ETA_RETRY_AFTER_SECONDS": retry_after,
        # PostgreSQL only (libpq's connect_timeout, the server's statement_timeout, set on every
        # connection of the app's engines; 0 turns the statement limit off): a database that is
        # unreachable or stuck fails a request within seconds instead of holding it (and its
        # gunicorn worker) until the proxy gives up. Migrations run without the statement limit.
        "ETA_DATABASE_CONNECT_TIMEOUT_SECONDS": _whole_number(
            environ, "ETA_DATABASE_CONNECT_TIMEOUT_SECONDS", 5
        ),
        "ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS": _non_negative(
            environ, "ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS", 30.0
        ),
        # Monitoring (docs/operations.md): GET /metrics answers only a bearer of this token
        # (404 while unset); logs are JSON lines (or "text" for a terminal) at this level.
        "ETA_METRICS_TOKEN": environ.get("ETA_METRICS_TOKEN", "").strip() or None,
        "ETA_LOG_FORMAT": _log_format(environ),
        "ETA_LOG_LEVEL": _log_level(environ),
        **_photo_settings(env_name, instance_path, environ),
        **_pdf_signing_settings(production, keys_dir, environ),
        # Requests
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        "MAX_FORM_MEMORY_SIZE": MAX_REQUEST_BYTES,
        # Cookies: Secure everywhere but plain-HTTP development and tests.
        "SESSION_COOKIE_NAME": "__Host-eta" if production else "eta_session",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # The carrier desk's cookie outlives a browser restart, never its server-side session.
        "PERMANENT_SESSION_LIFETIME": _whole_number(
            environ, "ETA_CARRIER_ABSOLUTE_SECONDS", 8 * 3600
        ),
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": 3600 * 4,
        # Rate limits live in Redis so every gunicorn worker shares them; when Redis is down the
        # limiter lets requests through rather than failing a traveller's submission.
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # The limiter's own Redis client, bounded as eta's (eta.redis_connection.connect): a
        # Redis that stops answering costs a request seconds, never a hang.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    }
    return settings
