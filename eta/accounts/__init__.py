"""Accounts: officers, carriers and their API keys, passwords."""

from eta.accounts.manage import (
    API_KEY_PREFIX_LENGTH,
    AccountError,
    NewOfficer,
    create_carrier,
    create_officer,
    hash_api_key,
    new_api_key,
    revoke_api_keys,
)

__all__ = [
    "API_KEY_PREFIX_LENGTH",
    "AccountError",
    "NewOfficer",
    "create_carrier",
    "create_officer",
    "hash_api_key",
    "new_api_key",
    "revoke_api_keys",
]
