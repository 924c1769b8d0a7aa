"""API keys from configuration: the environment, or the data folder's key file.

`journeymap up` generates the key file on first start; separate processes read the
environment (or the same key file when they share the data folder).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

from shared.config import Settings
from shared.errors import JourneymapError
from shared.web.auth import Principal, StaticKeyStore

KEY_FILE = "keys.json"


class KeysMissing(JourneymapError):
    pass


@dataclass(frozen=True)
class ConfiguredKeys:
    write: str
    read: str
    alerts: str

    def store(self) -> StaticKeyStore:
        return StaticKeyStore(
            {
                self.write: Principal("write-key", frozenset({"write"})),
                self.read: Principal("read-key", frozenset({"read"})),
                # On-call staff: read the maps and alerts, acknowledge and resolve alerts.
                self.alerts: Principal("alerts-key", frozenset({"read", "alerts"})),
            }
        )


def configured_keys(settings: Settings, *, generate: bool) -> ConfiguredKeys:
    """JOURNEYMAP_WRITE_KEY / JOURNEYMAP_READ_KEY, else the key file (made if `generate`)."""
    path = settings.data_dir / KEY_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if generate:
        wanted = {
            name: stored.get(name) or f"jm_{name}_{secrets.token_urlsafe(24)}"
            for name in ("write", "read", "alerts")
        }
        if wanted != stored:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                json.dump(wanted, file)
            stored = wanted
    configured = {
        "write": settings.write_key,
        "read": settings.read_key,
        "alerts": settings.alerts_key,
    }
    keys = {
        name: secret.get_secret_value() if secret else stored.get(name)
        for name, secret in configured.items()
    }
    missing = [f"JOURNEYMAP_{name.upper()}_KEY" for name, key in keys.items() if not key]
    if missing:
        raise KeysMissing(
            f"no API keys: set {', '.join(missing)} (or run `journeymap up` once to create {path})"
        )
    return ConfiguredKeys(
        write=keys["write"] or "", read=keys["read"] or "", alerts=keys["alerts"] or ""
    )
