"""Every threshold, window and severity of the friction rules (DESIGN.md section 4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from shared.domain.alerts import Severity

CHECKOUT_ABANDONED = "checkout_abandoned"
REPEATED_SUPPORT = "repeated_support"
DETRACTOR = "detractor"
NEGATIVE_SENTIMENT = "negative_sentiment"
ERROR_TOUCHPOINT = "error_touchpoint"
STAGE_STALLED = "stage_stalled"
SYSTEMIC_FRICTION = "systemic_friction"

RULES = (
    CHECKOUT_ABANDONED,
    REPEATED_SUPPORT,
    DETRACTOR,
    NEGATIVE_SENTIMENT,
    ERROR_TOUCHPOINT,
    STAGE_STALLED,
    SYSTEMIC_FRICTION,
)


@dataclass(frozen=True)
class FrictionRules:
    checkout_type: str = "checkout_started"
    checkout_abandon_after: timedelta = timedelta(minutes=30)
    checkout_severity: Severity = Severity.WARNING

    support_contacts: int = 3
    support_window: timedelta = timedelta(days=7)
    support_channels_for_critical: int = 3
    support_severity: Severity = Severity.WARNING
    support_critical_severity: Severity = Severity.CRITICAL

    detractor_nps_max: int = 6
    detractor_csat_max: int = 2
    detractor_severity: Severity = Severity.WARNING

    negative_sentiment_max: float = -0.6
    # A later touchpoint at least this positive clears the alert.
    negative_sentiment_clear_min: float = 0.0
    negative_sentiment_severity: Severity = Severity.WARNING

    error_burst: int = 3
    error_window: timedelta = timedelta(hours=1)
    error_severity: Severity = Severity.WARNING
    error_burst_severity: Severity = Severity.CRITICAL

    stall_after: Mapping[str, timedelta] = field(
        default_factory=lambda: {
            "consideration": timedelta(days=14),
            "decision": timedelta(days=2),
        }
    )
    stall_severity: Severity = Severity.INFO

    systemic_customers: int = 10
    systemic_window: timedelta = timedelta(hours=1)
    systemic_severity: Severity = Severity.CRITICAL

    # Timers fire when the partition's event time, minus this, passes their due time.
    allowed_lateness: timedelta = timedelta(minutes=5)
    # After an alert is resolved, the same alert is held off for this long.
    cooldown: timedelta = timedelta(minutes=10)
    # An alert raised by an event older than this (a backfill, a replay) is recorded
    # and shown, flagged `backfill`, but not delivered: on-call is not paged for history.
    page_within: timedelta = timedelta(hours=24)
