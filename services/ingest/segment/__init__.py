"""The Segment-compatible HTTP tracking API: messages in, touchpoints out."""
