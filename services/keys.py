"""API keys: configured ones (environment) and managed ones (database, `journeymap keys`).

`journeymap up` creates a write, a read and an alerts key in the database the first
time it starts on a data folder, and keeps them in clear in `keys.json` there (mode
0600) so the local walk-through can use them; the database holds only their hashes.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings
from shared.db.key_store import DatabaseKeyStore, create_key, list_keys, revoke_key
from shared.web.auth import ChainedKeyStore, KeyStore, Principal, StaticKeyStore

KEY_FILE = "keys.json"

# What each configured key may do: an alerts key is for on-call staff.
CONFIGURED_SCOPES = {
    "write": frozenset({"write"}),
    "read": frozenset({"read"}),
    "alerts": frozenset({"read", "alerts"}),
}


def configured_keys(settings: Settings) -> StaticKeyStore:
    configured = {
        "write": settings.write_key,
        "read": settings.read_key,
        "alerts": settings.alerts_key,
    }
    return StaticKeyStore(
        {
            secret.get_secret_value(): Principal(
                f"{name}-key", CONFIGURED_SCOPES[name], allowed_origins=frozenset({"*"})
            )
            for name, secret in configured.items()
            if secret is not None
        }
    )


def build_key_store(settings: Settings, engine: AsyncEngine) -> KeyStore:
    return ChainedKeyStore(configured_keys(settings), DatabaseKeyStore(engine))


@dataclass(frozen=True)
class LocalKeys:
    write: str
    read: str
    alerts: str


async def local_keys(settings: Settings, engine: AsyncEngine) -> LocalKeys:
    """The data folder's keys, created in the database on first use."""
    path = settings.data_dir / KEY_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        if {"write", "read", "alerts"} <= stored.keys():
            return LocalKeys(**{name: stored[name] for name in ("write", "read", "alerts")})
    # A lost key file means lost keys: revoke the old local ones, make new ones.
    for key in await list_keys(engine):
        if key.name.startswith("local-") and key.revoked_at is None:
            await revoke_key(engine, key.name)
    suffix = secrets.token_hex(3)
    created = {
        name: await create_key(
            engine, f"local-{name}-{suffix}", sorted(scopes), allowed_origins=["*"]
        )
        for name, scopes in CONFIGURED_SCOPES.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(created, file)
    return LocalKeys(**created)
