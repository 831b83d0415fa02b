"""The application domain: its lifecycle (states, guards, verbs), submission, validation, look-up.

Views, API handlers, jobs and CLI commands call the verbs re-exported here; none of them sets
an application's status by hand.
"""

from eta.applications.lifecycle import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    TRANSITIONS,
    UNDECIDED,
    Attached,
    LifecycleError,
    RefusalNotConfirmed,
    RefusalPending,
    advance,
    approve,
    expire,
    info_received,
    insert_attached,
    new_reference,
    normalise_reference,
    refer,
    refuse,
    request_info,
    revoke,
    start_screening,
    submit,
    transition,
    unique_reference,
    withdraw,
)

__all__ = [
    "REFERENCE_ALPHABET",
    "REFERENCE_LENGTH",
    "TRANSITIONS",
    "UNDECIDED",
    "Attached",
    "LifecycleError",
    "RefusalNotConfirmed",
    "RefusalPending",
    "advance",
    "approve",
    "expire",
    "info_received",
    "insert_attached",
    "new_reference",
    "normalise_reference",
    "refer",
    "refuse",
    "request_info",
    "revoke",
    "start_screening",
    "submit",
    "transition",
    "unique_reference",
    "withdraw",
]
