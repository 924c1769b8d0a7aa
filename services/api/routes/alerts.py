"""Friction alerts: list, inspect with deliveries, acknowledge, resolve."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from services.api import alert_queries, models, presenters, queries
from services.api.context import ApiContext
from shared.db import alert_store
from shared.db.engine import driver_connection
from shared.domain.alerts import (
    AlertStatus,
    InvalidTransition,
    Severity,
    Transition,
    acknowledge,
    resolve,
)
from shared.domain.friction.config import RULES
from shared.schemas.alert_event import AlertView, alert_view
from shared.web.auth import Principal, require_scope
from shared.web.cursor import cursor_int, cursor_time, decode_cursor, encode_cursor
from shared.web.problems import BIGINT_MAX, declared
from shared.web.timerange import check_range

AlertId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
NOT_FOUND = declared(404, why={404: "No alert with this id"})


CONFLICT = "The alert is not in a state that allows this"


def alerts_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["alerts"])
    reader = Annotated[Principal, Depends(require_scope(ctx.keys, "read"))]
    responder = Annotated[Principal, Depends(require_scope(ctx.keys, "alerts"))]
    base_url = ctx.settings.base_url

    @router.get("/alerts", response_model=models.AlertPage, summary="Alerts, newest first")
    async def list_alerts(
        _: reader,
        status_: Annotated[list[AlertStatus] | None, Query(alias="status")] = None,
        severity: Annotated[list[Severity] | None, Query()] = None,
        rule: Annotated[list[str] | None, Query()] = None,
        customer_id: Annotated[str | None, Query(max_length=200)] = None,
        product_id: Annotated[str | None, Query(max_length=200)] = None,
        type_: Annotated[
            str | None,
            Query(alias="type", max_length=200, description="A triggering touchpoint's type"),
        ] = None,
        channel: Annotated[
            str | None, Query(max_length=200, description="A triggering touchpoint's channel")
        ] = None,
        since: Annotated[
            datetime | None, Query(alias="from", description="last seen at or after (ISO 8601)")
        ] = None,
        until: Annotated[
            datetime | None, Query(alias="to", description="last seen before (ISO 8601)")
        ] = None,
        cursor: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> models.AlertPage:
        unknown = set(rule or ()) - set(RULES)
        if unknown:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"unknown rule(s) {sorted(unknown)}; known: {list(RULES)}",
            )
        check_range(since, until)
        after = None
        if cursor is not None:
            last_seen, alert_id = decode_cursor(cursor, cursor_time, cursor_int)
            after = (last_seen, alert_id)
        where = alert_queries.AlertFilter(
            status=[s.value for s in status_ or ()],
            severity=[s.value for s in severity or ()],
            rule=rule or (),
            customer_id=customer_id,
            product_id=product_id,
            since=since,
            until=until,
            touch_type=type_,
            touch_channel=channel,
        )
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            found = await alert_queries.list_alerts(conn, where, after=after, limit=limit + 1)
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            last = page[-1]
            next_cursor = encode_cursor(last.last_seen.isoformat(), last.id)
        return models.AlertPage(
            alerts=[alert_view(a, base_url) for a in page], next_cursor=next_cursor
        )

    @router.get(
        "/alerts/{alert_id}",
        response_model=models.AlertDetail,
        summary="One alert with its deliveries and their attempts",
        responses=NOT_FOUND,
    )
    async def get_alert(alert_id: AlertId, _: reader) -> models.AlertDetail:
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            alert = await alert_queries.get_alert(conn, alert_id)
            if alert is None:
                raise _not_found(alert_id)
            actions = await alert_queries.actions(conn, alert_id)
            deliveries = await alert_queries.deliveries(conn, alert_id=alert_id)
            triggered_by = await queries.touchpoints_by_id(conn, list(alert.touchpoints))
        return models.AlertDetail(
            **alert_view(alert, base_url).model_dump(),
            actions=actions,
            deliveries=deliveries,
            triggered_by=[presenters.timeline_entry(t) for t in triggered_by],
        )

    async def act(
        alert_id: int,
        principal: Principal,
        body: models.AlertAction,
        action: Callable[..., Transition],
    ) -> AlertView:
        now = ctx.clock.now()
        async with ctx.engine.begin() as sa_conn:
            conn = await driver_connection(sa_conn)
            alert = await alert_store.lock_alert(conn, alert_id)
            if alert is None:
                raise _not_found(alert_id)
            try:
                transition = action(alert, body.by or principal.key_name, body.note, now)
            except InvalidTransition as error:
                raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
            stored = await alert_store.store_transition(
                conn,
                transition,
                notifiers=ctx.settings.notifiers,
                base_url=base_url,
                now=now,
            )
        return alert_view(stored, base_url)

    conflict = declared(404, 409, why={404: "No alert with this id", 409: CONFLICT})

    @router.post(
        "/alerts/{alert_id}/acknowledge",
        response_model=AlertView,
        summary="Someone is on it (needs the alerts scope)",
        responses=conflict,
    )
    async def acknowledge_alert(
        alert_id: AlertId, principal: responder, body: models.AlertAction | None = None
    ) -> AlertView:
        return await act(alert_id, principal, body or models.AlertAction(), acknowledge)

    @router.post(
        "/alerts/{alert_id}/resolve",
        response_model=AlertView,
        summary="Close it (needs the alerts scope); notifiers are told",
        responses=conflict,
    )
    async def resolve_alert(
        alert_id: AlertId, principal: responder, body: models.AlertAction | None = None
    ) -> AlertView:
        return await act(alert_id, principal, body or models.AlertAction(), resolve)

    @router.get(
        "/deliveries",
        response_model=models.DeliveryPage,
        summary="Recent alert deliveries, e.g. ?status=failed",
    )
    async def list_deliveries(
        _: reader,
        status_: Annotated[
            str | None, Query(alias="status", pattern="^(pending|delivered|failed)$")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> models.DeliveryPage:
        async with ctx.engine.connect() as sa_conn:
            conn = await driver_connection(sa_conn)
            found = await alert_queries.deliveries(conn, status=status_, limit=limit)
        return models.DeliveryPage(deliveries=found)

    return router


def _not_found(alert_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no alert with id {alert_id}")
