"""Which database failures are worth retrying."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

# SQLSTATE classes and codes that say "try again", not "this is wrong".
_TRANSIENT_STATE_PREFIXES = ("08", "53", "57P")
_TRANSIENT_STATES = {"40001", "40P01", "55P03"}


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_transient_db_error(error: BaseException) -> bool:
    """True when the database may well do the same work if asked again later."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        return is_transient_db_error(error.orig) if error.orig is not None else False
    if isinstance(error, asyncpg.DataError):
        return False  # an argument that cannot be encoded: retrying changes nothing
    if isinstance(error, (OSError, TimeoutError, asyncpg.InterfaceError)):
        return True
    state = _sqlstate(error)
    if state is None:
        return False
    return state in _TRANSIENT_STATES or state.startswith(_TRANSIENT_STATE_PREFIXES)


def is_data_error(error: BaseException) -> bool:
    """True when the database refused the data itself (a value it cannot store)."""
    if isinstance(error, DBAPIError):
        return error.orig is not None and is_data_error(error.orig)
    if isinstance(error, asyncpg.DataError | OverflowError):
        return True
    state = _sqlstate(error)
    return state is not None and state.startswith(("22", "54"))
