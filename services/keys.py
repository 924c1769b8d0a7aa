"""The embedded mode's API keys: from the environment, or generated once and kept."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

from shared.config import Settings
from shared.web.auth import Principal, StaticKeyStore

KEY_FILE = "keys.json"


@dataclass(frozen=True)
class EmbeddedKeys:
    write: str
    read: str

    def store(self) -> StaticKeyStore:
        return StaticKeyStore(
            {
                self.write: Principal("write-key", frozenset({"write"})),
                self.read: Principal("read-key", frozenset({"read", "alerts"})),
            }
        )


def embedded_keys(settings: Settings) -> EmbeddedKeys:
    """Keys from JOURNEYMAP_WRITE_KEY / JOURNEYMAP_READ_KEY, else the data folder's."""
    path = settings.data_dir / KEY_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    generated = {
        "write": stored.get("write") or "jm_write_" + secrets.token_urlsafe(24),
        "read": stored.get("read") or "jm_read_" + secrets.token_urlsafe(24),
    }
    if generated != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(generated, file)
    return EmbeddedKeys(
        write=settings.write_key.get_secret_value() if settings.write_key else generated["write"],
        read=settings.read_key.get_secret_value() if settings.read_key else generated["read"],
    )
