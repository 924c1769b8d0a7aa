"""API keys: configured ones (environment) and managed ones (database, `journeymap keys`).

`journeymap up` creates a key in the database for each role (write, read, alerts)
that the environment does not configure, the first time it starts on a data folder,
and keeps it in clear in `keys.json` there (mode 0600) so the local walk-through can
use it; the database holds only its hash. Generated keys allow no browser origin:
a site that sends from the browser gets its own key with `--origin`.
"""

from __future__ import annotations

import json
import os
import secrets

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import Settings
from shared.db.key_store import DatabaseKeyStore, create_key, list_keys, revoke_key
from shared.web.auth import ChainedKeyStore, KeyStore, Principal, StaticKeyStore

KEY_FILE = "keys.json"

# What each role's key may do: an alerts key is for on-call staff.
ROLE_SCOPES = {
    "write": frozenset({"write"}),
    "read": frozenset({"read"}),
    "alerts": frozenset({"read", "alerts"}),
}


def configured_secrets(settings: Settings) -> dict[str, SecretStr]:
    """The roles whose key the environment (or configuration file) gives."""
    given = {"write": settings.write_key, "read": settings.read_key, "alerts": settings.alerts_key}
    return {role: secret for role, secret in given.items() if secret is not None}


def configured_keys(settings: Settings) -> StaticKeyStore:
    origins = frozenset(settings.write_key_origins)
    return StaticKeyStore(
        {
            secret.get_secret_value(): Principal(
                f"{role}-key",
                ROLE_SCOPES[role],
                allowed_origins=origins if role == "write" else frozenset(),
            )
            for role, secret in configured_secrets(settings).items()
        }
    )


def build_key_store(settings: Settings, engine: AsyncEngine) -> KeyStore:
    return ChainedKeyStore(configured_keys(settings), DatabaseKeyStore(engine))


async def local_keys(settings: Settings, engine: AsyncEngine) -> dict[str, str]:
    """The data folder's key for each role the environment leaves out, created if missing."""
    needed = [role for role in ROLE_SCOPES if role not in configured_secrets(settings)]
    path = settings.data_dir / KEY_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [role for role in needed if role not in stored]
    if missing:
        # A role missing from the file means its key is lost: revoke it, make a new one.
        prefixes = tuple(f"local-{role}-" for role in missing)
        for key in await list_keys(engine):
            if key.name.startswith(prefixes) and key.revoked_at is None:
                await revoke_key(engine, key.name)
        suffix = secrets.token_hex(3)
        for role in missing:
            stored[role] = await create_key(
                engine, f"local-{role}-{suffix}", sorted(ROLE_SCOPES[role])
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(stored, file)
    return {role: stored[role] for role in needed}
