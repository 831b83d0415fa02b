"""The domain model: every table eta keeps, one module per aggregate."""

from eta.models.application import (
    Actor,
    Application,
    ApplicationDraft,
    ApplicationEvent,
    ApplicationStatus,
    Decision,
    DecisionKind,
    DecisionState,
    InformationRequest,
    ReviewOutcome,
    ReviewRequest,
)
from eta.models.audit import AuditCheckpoint, AuditEvent, AuditLogState, AuditTreeNode
from eta.models.authorisation import Authorisation, RevocationListVersion
from eta.models.base import Base
from eta.models.chip import ApplicationChip, CscaCertificate
from eta.models.idempotency import IdempotencyKey
from eta.models.identity import ApplicationPhoto, FaceTemplateChange
from eta.models.outbox import OutboxMessage
from eta.models.partners import (
    PartnerFeed,
    PartnerFeedEntry,
    PartnerRevocation,
    PartnerRevocationList,
)
from eta.models.people import (
    Carrier,
    CarrierApiKey,
    CarrierQuery,
    CarrierUser,
    Officer,
    Role,
    StaffSession,
)
from eta.models.rules import RiskRule, RiskRuleVersion
from eta.models.screening import CheckName, RunOutcome, ScreeningHit, ScreeningRun
from eta.models.watchlist import (
    LostStolenDocument,
    WatchlistEntry,
    WatchlistSource,
    WatchlistVersion,
)

__all__ = [
    "Actor",
    "Application",
    "ApplicationChip",
    "ApplicationDraft",
    "ApplicationEvent",
    "ApplicationPhoto",
    "ApplicationStatus",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditLogState",
    "AuditTreeNode",
    "Authorisation",
    "Base",
    "Carrier",
    "CarrierApiKey",
    "CarrierQuery",
    "CarrierUser",
    "CheckName",
    "CscaCertificate",
    "Decision",
    "DecisionKind",
    "DecisionState",
    "FaceTemplateChange",
    "IdempotencyKey",
    "InformationRequest",
    "LostStolenDocument",
    "Officer",
    "OutboxMessage",
    "PartnerFeed",
    "PartnerFeedEntry",
    "PartnerRevocation",
    "PartnerRevocationList",
    "ReviewOutcome",
    "ReviewRequest",
    "RevocationListVersion",
    "RiskRule",
    "RiskRuleVersion",
    "Role",
    "RunOutcome",
    "ScreeningHit",
    "ScreeningRun",
    "StaffSession",
    "WatchlistEntry",
    "WatchlistSource",
    "WatchlistVersion",
]
