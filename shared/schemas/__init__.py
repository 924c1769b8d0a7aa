"""Wire schemas: what crosses a process boundary (HTTP bodies, log records)."""
