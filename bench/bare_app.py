"""The baseline for ingest: the same server stack, reading the body and answering 202."""

from fastapi import FastAPI, Request, Response

from shared.web.service import NO_TELEMETRY

# As lean as journeymap's own apps: no OpenTelemetry hooks.
app = FastAPI(telemetry=NO_TELEMETRY)


@app.post("/v1/events")
async def accept(request: Request) -> Response:
    await request.body()
    return Response(b'{"accepted":1}', status_code=202, media_type="application/json")
