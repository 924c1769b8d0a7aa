"""Friction rules: pure evaluation of touchpoints and timers into alert signals."""
