"""Where alert changes are delivered: Alertmanager, PagerDuty, Slack, signed webhooks."""
