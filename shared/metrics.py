"""Prometheus metrics. One registry per composition root, so tests can build many apps."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.ingest_events = Counter(
            "journeymap_ingest_events",
            "Events received by ingest, by outcome and reason.",
            ["outcome", "reason"],
            registry=r,
        )
        self.ingest_request_seconds = Histogram(
            "journeymap_ingest_request_seconds",
            "Time to answer an ingest request, including the durable log append.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ingest_log_pending = Gauge(
            "journeymap_ingest_log_pending_events",
            "Events handed to the event log and not yet acknowledged (bounded).",
            registry=r,
        )
        self.aggregator_batches = Counter(
            "journeymap_aggregator_batches",
            "Batches the aggregator processed, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.aggregator_events = Counter(
            "journeymap_aggregator_events",
            "Log records the aggregator consumed, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.journey_rebuilds = Counter(
            "journeymap_aggregator_journey_rebuilds",
            "Journeys rebuilt from all their touchpoints because a late event arrived.",
            registry=r,
        )
        self.identity_merges_refused = Counter(
            "journeymap_identity_merges_refused",
            "Identify or alias calls that would have merged two known customers.",
            registry=r,
        )
        self.aggregator_batch_seconds = Histogram(
            "journeymap_aggregator_batch_seconds",
            "Time to process one batch, from read to commit.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.event_to_map_seconds = Histogram(
            "journeymap_event_to_map_latency_seconds",
            "From the server receiving an event to its effect being committed in the maps.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.alerts_raised = Counter(
            "journeymap_alerts_raised",
            "Friction alerts opened, by rule and severity.",
            ["rule", "severity"],
            registry=r,
        )
        self.alerts_backfilled = Counter(
            "journeymap_alerts_backfilled",
            "Alerts raised by events older than the paging horizon: recorded, not delivered.",
            ["rule"],
            registry=r,
        )
        self.alerts_active = Gauge(
            "journeymap_alerts_active",
            "Alerts open or acknowledged, by status (refreshed by the dispatcher).",
            ["status"],
            registry=r,
        )
        self.timers_pending = Gauge(
            "journeymap_timers_pending",
            "Friction timers armed and not yet fired or cancelled.",
            registry=r,
        )
        self.deliveries = Counter(
            "journeymap_alert_deliveries",
            "Alert delivery attempts, by notifier and outcome.",
            ["notifier", "outcome"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "journeymap_alert_delivery_latency_seconds",
            "From an alert change to its successful delivery, by notifier.",
            ["notifier"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "journeymap_aggregator_consumer_lag",
            "Log records not yet in the maps, per partition.",
            ["partition"],
            registry=r,
        )
        self.offset_gap = Gauge(
            "journeymap_aggregator_offset_gap",
            "Stopped partitions: records between the stored offset and the log "
            "(kind past_end, before_start or out_of_range); see `journeymap offsets`.",
            ["partition", "kind"],
            registry=r,
        )
