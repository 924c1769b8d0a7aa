"""The floor for ingest: the bare endpoint plus a durable acknowledgement.

It reads the body, splits a batch into its events, appends them to the embedded log
with journeymap's group-commit writer and answers 202 once they are committed: no
keys, validation, limits or metrics. What a durable answer costs on this server stack,
so no ingest that answers only after its events are stored can beat it.
"""

import contextlib
import os
from collections.abc import AsyncIterator

import orjson
from fastapi import FastAPI, Request, Response

from shared.db.engine import create_engine
from shared.log.interface import LogEntry
from shared.log.postgres import PostgresLogWriter
from shared.web.service import NO_TELEMETRY


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_engine(os.environ["JOURNEYMAP_DATABASE_URL"], pool_size=2)
    app.state.writer = PostgresLogWriter(engine)
    await app.state.writer.start()
    try:
        yield
    finally:
        await app.state.writer.stop()
        await engine.dispose()


app = FastAPI(telemetry=NO_TELEMETRY, lifespan=lifespan)


@app.post("/v1/events")
async def accept(request: Request) -> Response:
    body = await request.body()
    doc = orjson.loads(body)
    events = doc.get("batch", [doc])
    entries = [
        LogEntry(key=event["customer_id"].encode(), value=orjson.dumps(event)) for event in events
    ]
    await request.app.state.writer.append(entries)
    return Response(
        b'{"accepted":%d}' % len(entries), status_code=202, media_type="application/json"
    )
