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

    def store(self) -> StaticKeyStore:
        return StaticKeyStore(
            {
                self.write: Principal("write-key", frozenset({"write"})),
                self.read: Principal("read-key", frozenset({"read", "alerts"})),
            }
        )


def configured_keys(settings: Settings, *, generate: bool) -> ConfiguredKeys:
    """JOURNEYMAP_WRITE_KEY / JOURNEYMAP_READ_KEY, else the key file (made if `generate`)."""
    path = settings.data_dir / KEY_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if generate:
        wanted = {
            "write": stored.get("write") or "jm_write_" + secrets.token_urlsafe(24),
            "read": stored.get("read") or "jm_read_" + secrets.token_urlsafe(24),
        }
        if wanted != stored:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                json.dump(wanted, file)
            stored = wanted
    write = settings.write_key.get_secret_value() if settings.write_key else stored.get("write")
    read = settings.read_key.get_secret_value() if settings.read_key else stored.get("read")
    if not write or not read:
        raise KeysMissing(
            "no API keys: set JOURNEYMAP_WRITE_KEY and JOURNEYMAP_READ_KEY "
            f"(or run `journeymap up` once to create {path})"
        )
    return ConfiguredKeys(write=write, read=read)
