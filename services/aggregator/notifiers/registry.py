"""Build the configured notifiers."""

from __future__ import annotations

from collections.abc import Sequence

from services.aggregator.notifiers.alertmanager import AlertmanagerNotifier
from services.aggregator.notifiers.base import Notifier
from services.aggregator.notifiers.pagerduty import PagerDutyNotifier
from services.aggregator.notifiers.slack import SlackNotifier
from services.aggregator.notifiers.webhook import WebhookNotifier
from shared.config import NotifierSettings


def build_notifier(settings: NotifierSettings) -> Notifier:
    timeout = settings.timeout_seconds
    if settings.kind == "webhook":
        secret = settings.secret.get_secret_value() if settings.secret else None
        return WebhookNotifier(settings.name, settings.url, secret, timeout)
    if settings.kind == "slack":
        return SlackNotifier(settings.name, settings.url, timeout)
    if settings.kind == "pagerduty":
        if settings.routing_key is None:
            raise ValueError(f"notifier {settings.name!r}: pagerduty needs a routing_key")
        return PagerDutyNotifier(
            settings.name, settings.url, settings.routing_key.get_secret_value(), timeout
        )
    return AlertmanagerNotifier(settings.name, settings.url, timeout)


def build_notifiers(settings: Sequence[NotifierSettings]) -> dict[str, Notifier]:
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise ValueError(f"notifier names must be unique: {names}")
    return {s.name: build_notifier(s) for s in settings}
