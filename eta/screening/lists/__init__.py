"""Watchlists and lost/stolen document lists: importers (formats) and the store (versions)."""

from typing import Any

__all__ = [
    "DEMO_LISTS",
    "MANUAL_FORMAT",
    "SAMPLE_WATCHLIST",
    "SHARED_WATCHLISTS",
    "LoadedWatchlists",
    "ManualPerson",
    "WatchlistError",
    "active_watchlists",
    "add_manual_entry",
    "birth_date_json",
    "edit_manual_entry",
    "entry_person",
    "entry_row",
    "import_lost_stolen",
    "import_watchlist",
    "load_demo_watchlists",
    "remove_entry",
]


def __getattr__(name: str) -> Any:
    """The store's public names, imported on first use (PEP 562).

    Lazily, because the store imports the checks' modules (lost_stolen), which import the
    importers of this package: an eager import here would make that a cycle.
    """
    if name in __all__:
        from eta.screening.lists import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
