"""Watchlists in the database: imports as atomic versions, manual entries, the in-memory index.

A source (UN, OFAC, a national list, manual entries) has versions; screening uses each source's
active version. An import writes a whole new version and switches the source to it in one
transaction, so screening never sees half a list. Entries of superseded versions are deleted
unless a screening hit cites them (that evidence must outlive the list), so re-importing the same
file leaves one copy of each entry in use. Manual edits are copy-on-write too: each change makes a
new version, which is what a screening run records it was checked against.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from eta import audit
from eta.countries import to_alpha3
from eta.documents import normalise_document_number
from eta.models import (
    LostStolenDocument,
    ScreeningHit,
    WatchlistEntry,
    WatchlistSource,
    WatchlistVersion,
)
from eta.models.base import SessionLike
from eta.screening.lists.importers import (
    parse_date_of_birth,
    parse_ofac_csv,
    parse_simple_csv,
    parse_un_xml,
)
from eta.screening.lost_stolen import (
    confusable_key,
    parse_lost_stolen_csv,
)
from eta.screening.types import BirthDate, DatePrecision, TravelDocument, WatchlistPerson
from eta.screening.watchlist import WatchlistIndex

FORMATS: dict[str, Callable[[Path], Iterator[WatchlistPerson]]] = {
    "un-xml": parse_un_xml,
    "ofac-csv": parse_ofac_csv,
    "csv": parse_simple_csv,
}
MANUAL_FORMAT = "manual"
BATCH_SIZE = 1000

Progress = Callable[[int], None]


class WatchlistError(ValueError):
    """A watchlist operation that cannot be done; the message is for the operator or officer."""


# ---- conversions -------------------------------------------------------------------------------


def birth_date_json(date: BirthDate) -> dict[str, str]:
    """A birth date as stored in WatchlistEntry.birth_dates."""
    return {
        "earliest": date.earliest.isoformat(),
        "latest": date.latest.isoformat(),
        "precision": date.precision.value,
    }


def entry_row(person: WatchlistPerson) -> dict[str, Any]:
    """Column values of a WatchlistEntry for an imported person (version_id added by the caller)."""
    return {
        "source_key": person.key[:64],
        "primary_name": (person.names[0] if person.names else "")[:500],
        "names": list(person.names),
        "birth_dates": [birth_date_json(b) for b in person.birth_dates],
        "nationalities": list(person.nationalities),
        "sex": person.sex,
        "documents": [{"number": d.number, "country": d.country} for d in person.documents],
        "remarks": person.remarks or None,
    }


def entry_person(entry: WatchlistEntry) -> WatchlistPerson:
    """The matcher's view of a stored entry."""
    return WatchlistPerson(
        key=entry.source_key,
        names=list(entry.names or [entry.primary_name]),
        birth_dates=[
            BirthDate(
                dt.date.fromisoformat(b["earliest"]),
                dt.date.fromisoformat(b["latest"]),
                DatePrecision(b["precision"]),
            )
            for b in entry.birth_dates or []
        ],
        nationalities=list(entry.nationalities or []),
        sex=entry.sex,
        documents=[TravelDocument(d["number"], d.get("country")) for d in entry.documents or []],
        remarks=entry.remarks or "",
    )


# ---- sources and versions ----------------------------------------------------------------------


def _source(session: SessionLike, name: str, fmt: str) -> WatchlistSource:
    source = session.scalar(select(WatchlistSource).where(WatchlistSource.name == name))
    if source is None:
        source = WatchlistSource(name=name, format=fmt)
        session.add(source)
        session.flush()
    elif source.format != fmt:
        raise WatchlistError(
            f"source {name} holds {source.format} data, not {fmt}: use another source name"
        )
    return source


def _new_version(
    session: SessionLike, source: WatchlistSource, file_name: str | None, sha256: str | None
) -> WatchlistVersion:
    number = (
        session.scalar(
            select(func.max(WatchlistVersion.number)).where(WatchlistVersion.source_id == source.id)
        )
        or 0
    ) + 1
    version = WatchlistVersion(
        source_id=source.id,
        number=number,
        state="importing",
        file_name=file_name,
        file_sha256=sha256,
    )
    session.add(version)
    session.flush()
    return version


def _insert_entries(
    session: SessionLike,
    version: WatchlistVersion,
    rows: Iterable[dict[str, Any]],
    progress: Progress | None,
) -> int:
    batch: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    count = 0
    for row in rows:
        # A file may repeat an identifier; keep every row, distinguished, rather than lose one.
        key = row["source_key"]
        if key in seen:
            seen[key] += 1
            row = {**row, "source_key": f"{key}#{seen[key]}"[:64]}
        else:
            seen[key] = 1
        batch.append({**row, "version_id": version.id})
        if len(batch) >= BATCH_SIZE:
            session.execute(insert(WatchlistEntry), batch)
            count += len(batch)
            batch = []
            if progress is not None:
                progress(count)
    if batch:
        session.execute(insert(WatchlistEntry), batch)
        count += len(batch)
        if progress is not None:
            progress(count)
    return count


def _activate(session: SessionLike, source: WatchlistSource, version: WatchlistVersion) -> None:
    """Switch the source to `version`; purge superseded entries no hit refers to."""
    previous_ids = session.scalars(
        select(WatchlistVersion.id).where(
            WatchlistVersion.source_id == source.id, WatchlistVersion.id != version.id
        )
    ).all()
    if previous_ids:
        cited = select(ScreeningHit.watchlist_entry_id).where(
            ScreeningHit.watchlist_entry_id.is_not(None)
        )
        session.execute(
            delete(WatchlistEntry)
            .where(WatchlistEntry.version_id.in_(previous_ids), WatchlistEntry.id.not_in(cited))
            .execution_options(synchronize_session=False)
        )
        for old in session.scalars(
            select(WatchlistVersion).where(WatchlistVersion.id.in_(previous_ids))
        ):
            if old.state == "active":
                old.state = "superseded"
    version.state = "active"
    source.active_version_id = version.id


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_watchlist(
    session: SessionLike,
    *,
    source: str,
    fmt: str,
    path: str | Path,
    actor: str,
    progress: Progress | None = None,
) -> WatchlistVersion:
    """Import a list file as a new version of `source` and make it active, in one transaction.

    `fmt` is un-xml, ofac-csv or csv. On any error nothing changes and the error is raised
    (an ImportFormatError names the bad line). `progress(n)` is called as entries are written.
    """
    if fmt not in FORMATS:
        raise WatchlistError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    file = Path(path)
    if not file.is_file():
        raise WatchlistError(f"no such file: {file}")
    name = source.strip()
    if not name:
        raise WatchlistError("a source needs a name")
    try:
        record = _source(session, name, fmt)
        version = _new_version(session, record, file.name[:255], _sha256(file))
        count = _insert_entries(
            session, version, (entry_row(p) for p in FORMATS[fmt](file)), progress
        )
        version.entry_count = count
        _activate(session, record, version)
        audit.record(
            session,
            "watchlist.imported",
            actor=actor,
            object_type="watchlist_version",
            object_id=version.id,
            details={"source": name, "version": version.number, "entries": count},
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return version


# ---- manual entries ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManualPerson:
    """What an officer types for a manual entry."""

    full_name: str
    date_of_birth: str | dt.date | None = None
    nationality: str | None = None
    sex: str | None = None
    passport_number: str | None = None


def _manual_row(key: str, person: ManualPerson) -> dict[str, Any]:
    name = " ".join(person.full_name.split())
    if not name:
        raise WatchlistError("Enter a full name")
    birth_dates: list[BirthDate] = []
    if isinstance(person.date_of_birth, dt.date):
        birth_dates.append(BirthDate.exact(person.date_of_birth))
    elif person.date_of_birth and person.date_of_birth.strip():
        try:
            birth_dates.append(parse_date_of_birth(person.date_of_birth))
        except ValueError:
            raise WatchlistError(
                "Date of birth must be a year (YYYY) or a date (YYYY-MM-DD)"
            ) from None
    nationalities: list[str] = []
    if person.nationality and person.nationality.strip():
        code = to_alpha3(person.nationality.strip())
        if code is None:
            raise WatchlistError(f"Nationality {person.nationality!r} is not a known country")
        nationalities.append(code)
    sex = (person.sex or "").strip().upper() or None
    if sex not in (None, "F", "M", "X"):
        raise WatchlistError("Sex must be F, M or X")
    documents = []
    if person.passport_number and normalise_document_number(person.passport_number):
        documents.append(
            TravelDocument(
                normalise_document_number(person.passport_number),
                nationalities[0] if nationalities else None,
            )
        )
    return entry_row(
        WatchlistPerson(
            key=key,
            names=[name],
            birth_dates=birth_dates,
            nationalities=nationalities,
            sex=sex if sex != "X" else None,
            documents=documents,
        )
    )


def _copy_on_write(
    session: SessionLike,
    source_name: str,
    *,
    actor: str,
    action: str,
    change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    fmt: str = MANUAL_FORMAT,
) -> WatchlistVersion:
    """Make a new version of a source from its active entries as changed by `change`."""
    try:
        record = _source(session, source_name, fmt)
        rows: list[dict[str, Any]] = []
        if record.active_version_id is not None:
            for entry in session.scalars(
                select(WatchlistEntry)
                .where(WatchlistEntry.version_id == record.active_version_id)
                .order_by(WatchlistEntry.id)
            ):
                rows.append(
                    {
                        "source_key": entry.source_key,
                        "primary_name": entry.primary_name,
                        "names": entry.names,
                        "birth_dates": entry.birth_dates,
                        "nationalities": entry.nationalities,
                        "sex": entry.sex,
                        "documents": entry.documents,
                        "remarks": entry.remarks,
                    }
                )
        rows = change(rows)
        version = _new_version(session, record, None, None)
        version.entry_count = _insert_entries(session, version, rows, None)
        _activate(session, record, version)
        audit.record(
            session,
            action,
            actor=actor,
            object_type="watchlist_version",
            object_id=version.id,
            details={"source": source_name, "version": version.number},
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return version


def _entry_in_active(session: SessionLike, version: WatchlistVersion, key: str) -> WatchlistEntry:
    entry = session.scalar(
        select(WatchlistEntry).where(
            WatchlistEntry.version_id == version.id, WatchlistEntry.source_key == key
        )
    )
    assert entry is not None  # noqa: S101  (just written in this version)
    return entry


def add_manual_entry(
    session: SessionLike,
    *,
    source: str,
    full_name: str,
    date_of_birth: str | dt.date | None,
    nationality: str | None,
    sex: str | None,
    passport_number: str | None,
    actor: str,
) -> WatchlistEntry:
    """Add a person to a manual list (created on first use) as a new version of it."""
    person = ManualPerson(full_name, date_of_birth, nationality, sex, passport_number)
    existing = session.scalar(select(WatchlistSource).where(WatchlistSource.name == source))
    if existing is not None and existing.format != MANUAL_FORMAT:
        raise WatchlistError(f"{source} is an imported list: add entries to a manual list")
    key = f"M-{dt.datetime.now(dt.UTC).strftime('%Y%m%d%H%M%S%f')}"
    row = _manual_row(key, person)
    version = _copy_on_write(
        session,
        source,
        actor=actor,
        action="watchlist.entry_added",
        change=lambda rows: [*rows, row],
    )
    return _entry_in_active(session, version, key)


def _active_entry(session: SessionLike, entry_id: int) -> tuple[WatchlistEntry, WatchlistSource]:
    entry = session.get(WatchlistEntry, entry_id)
    if entry is None:
        raise WatchlistError("No such watchlist entry")
    version = session.get(WatchlistVersion, entry.version_id)
    assert version is not None  # noqa: S101  (foreign key)
    source = session.get(WatchlistSource, version.source_id)
    assert source is not None  # noqa: S101  (foreign key)
    if source.active_version_id != entry.version_id:
        raise WatchlistError("This entry belongs to an older version of its list")
    return entry, source


def edit_manual_entry(
    session: SessionLike,
    entry_id: int,
    *,
    full_name: str,
    date_of_birth: str | dt.date | None,
    nationality: str | None,
    sex: str | None,
    passport_number: str | None,
    actor: str,
) -> WatchlistEntry:
    """Change a manual entry; returns the entry as it stands in the list's new version."""
    entry, source = _active_entry(session, entry_id)
    if source.format != MANUAL_FORMAT:
        raise WatchlistError(f"{source.name} is an imported list: re-import it to change it")
    key = entry.source_key
    row = _manual_row(
        key, ManualPerson(full_name, date_of_birth, nationality, sex, passport_number)
    )
    version = _copy_on_write(
        session,
        source.name,
        actor=actor,
        action="watchlist.entry_edited",
        change=lambda rows: [row if r["source_key"] == key else r for r in rows],
    )
    return _entry_in_active(session, version, key)


def remove_entry(session: SessionLike, entry_id: int, *, actor: str) -> WatchlistVersion:
    """Take an entry off its list (any list); returns the list's new active version."""
    entry, source = _active_entry(session, entry_id)
    key = entry.source_key
    return _copy_on_write(
        session,
        source.name,
        actor=actor,
        action="watchlist.entry_removed",
        change=lambda rows: [r for r in rows if r["source_key"] != key],
        fmt=source.format,
    )


# ---- the index screening uses ------------------------------------------------------------------


@dataclass
class LoadedWatchlists:
    """Every active entry in one index, with each list's version and each entry's source."""

    index: WatchlistIndex
    versions: dict[str, int]  # source name -> active version number
    sources: dict[int, str]  # entry id -> source name
    state: tuple[tuple[int, int | None], ...]


_cache: dict[str, LoadedWatchlists] = {}
_cache_lock = threading.Lock()


# Run before every screening: built once, since building a statement costs more than running it.
# Which version of each source is active: asked before every screening (see active_watchlists).
ACTIVE_STATE_QUERY = select(WatchlistSource.id, WatchlistSource.active_version_id).order_by(
    WatchlistSource.id
)


def _active_state(
    session: SessionLike, rows: Sequence[Any] | None = None
) -> tuple[tuple[int, int | None], ...]:
    if rows is None:
        rows = session.execute(ACTIVE_STATE_QUERY).all()
    return tuple((row[0], row[1]) for row in rows)


def _build(session: SessionLike, state: tuple[tuple[int, int | None], ...]) -> LoadedWatchlists:
    index = WatchlistIndex()
    versions: dict[str, int] = {}
    sources: dict[int, str] = {}
    active = {version_id for _, version_id in state if version_id is not None}
    for version in session.scalars(
        select(WatchlistVersion).where(WatchlistVersion.id.in_(active))
    ).all():
        source = session.get(WatchlistSource, version.source_id)
        assert source is not None  # noqa: S101  (foreign key)
        versions[source.name] = version.number
        for entry in session.scalars(
            select(WatchlistEntry)
            .where(WatchlistEntry.version_id == version.id)
            .order_by(WatchlistEntry.id)
            .execution_options(yield_per=2000)
        ):
            index.add(entry.id, entry_person(entry))
            sources[entry.id] = source.name
    return LoadedWatchlists(index, versions, sources, state)


def active_watchlists(
    session: SessionLike, *, state_rows: Sequence[Any] | None = None
) -> LoadedWatchlists:
    """The index of every source's active version; rebuilt only when an active version changed.

    Cached per process (and database), so a worker pays the build once per list change.
    `state_rows` are the rows of ACTIVE_STATE_QUERY when the caller read them already.
    """
    bind = session.get_bind()
    key = str(bind.engine.url if isinstance(bind, Connection) else bind.url)
    state = _active_state(session, state_rows)
    cached = _cache.get(key)
    if cached is not None and cached.state == state:
        return cached
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None or cached.state != state:
            cached = _cache[key] = _build(session, state)
            # The index is most of a worker's objects and lives until the next list change:
            # moved out of the cyclic collector's reach, it is not walked again at every full
            # collection (it holds no reference cycles; reference counting frees it when the
            # next version replaces it).
            gc.freeze()
    return cached


def forget_cached_watchlists() -> None:
    """Drop every cached index, for a database emptied or restored under a running process.

    The cache knows a list change by its (source id, version id) pairs; a database emptied and
    filled again (a restored backup, a test's clean slate) can hand out the same ids again.
    """
    with _cache_lock:
        _cache.clear()


# ---- lost and stolen documents -----------------------------------------------------------------


def import_lost_stolen(
    session: SessionLike,
    path: str | Path,
    *,
    source: str,
    actor: str,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Add the documents of a lost/stolen CSV (country,number[,reported_on,reference]).

    Documents already listed are left as they are. Returns (added, already listed). All or
    nothing: a bad row raises ImportFormatError and nothing is written.
    """
    added = 0
    known = 0
    try:
        seen: set[tuple[str, str]] = set()
        for record in parse_lost_stolen_csv(Path(path)):
            pair = (record.country, record.number)
            exists = pair in seen or (
                session.scalar(
                    select(LostStolenDocument.id).where(
                        LostStolenDocument.issuing_country == record.country,
                        LostStolenDocument.number_normalised == record.number,
                    )
                )
                is not None
            )
            if exists:
                known += 1
                continue
            seen.add(pair)
            session.add(
                LostStolenDocument(
                    issuing_country=record.country,
                    number_normalised=record.number,
                    confusable_key=confusable_key(record.number),
                    reported_on=record.reported_on,
                    source=source[:50],
                    reference=record.reference or None,
                )
            )
            added += 1
            if progress is not None and added % BATCH_SIZE == 0:
                session.flush()
                progress(added)
        audit.record(
            session,
            "lost_stolen.imported",
            actor=actor,
            details={"source": source, "added": added, "already_listed": known},
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return added, known


# ---- demo data ---------------------------------------------------------------------------------

SAMPLE_WATCHLIST = Path(__file__).resolve().parents[1] / "data" / "sample_watchlist.csv"
SHARED_WATCHLISTS = Path(__file__).resolve().parents[4] / "shared" / "data" / "watchlists"
DEMO_LISTS = (
    ("UN", "un-xml", "un_consolidated_2026-02-27.xml"),
    ("OFAC", "ofac-csv", "ofac_sdn_2024-05-03.csv"),
)


def _import_unless_current(session: SessionLike, source: str, fmt: str, path: Path) -> str:
    record = session.scalar(select(WatchlistSource).where(WatchlistSource.name == source))
    if record is not None and record.active_version_id is not None:
        active = session.get(WatchlistVersion, record.active_version_id)
        if active is not None and active.file_sha256 == _sha256(path):
            return f"  {source:<10} version {active.number} ({active.entry_count:,} entries)"
    version = import_watchlist(session, source=source, fmt=fmt, path=path, actor="demo")
    return f"  {source:<10} version {version.number} ({version.entry_count:,} entries)"


def load_demo_watchlists(session: SessionLike, shared: Path = SHARED_WATCHLISTS) -> list[str]:
    """Import the sample watchlists (the real UN and OFAC files when ../shared/data is there,
    else the small built-in sample); a file already active is not imported again."""
    lines = ["Watchlists:"]
    found = [(s, f, shared / name) for s, f, name in DEMO_LISTS if (shared / name).is_file()]
    if not found:
        found = [("SAMPLE", "csv", SAMPLE_WATCHLIST)]
    for source, fmt, path in found:
        lines.append(_import_unless_current(session, source, fmt, path))
    return lines
