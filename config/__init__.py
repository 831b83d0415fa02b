"""Settings for eta: defaults, ETA_* environment overrides, and per-environment rules."""

from config.settings import ConfigurationError, load_settings

__all__ = ["ConfigurationError", "load_settings"]
