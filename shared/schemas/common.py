"""Field types shared by the wire schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

# PostgreSQL text cannot hold U+0000; JSON writes it as this escape. Events holding it
# are refused at ingest and dead-lettered by the aggregator.
NUL_ESCAPE = b"\\u0000"

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def storable(value: str) -> str:
    """Text PostgreSQL can store: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored; remove it")
    try:
        value.encode()
    except UnicodeEncodeError as error:
        raise ValueError("is not valid Unicode text (a lone surrogate)") from error
    return value


StorableText = Annotated[str, AfterValidator(storable)]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,99}$")]
Channel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,49}$")]
# When it happened, by the client's clock. `occurred_at` is accepted too: the maps
# return touchpoints with that name, and a client may post back what it read.
EventTime = Annotated[
    AwareDatetime | None,
    Field(
        validation_alias=AliasChoices("timestamp", "occurred_at"),
        description="When it happened, by the client's clock (server time if absent); "
        "`occurred_at` is accepted as another name.",
    ),
]
Sentiment = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
NpsScore = Annotated[int, Field(ge=0, le=10)]
CsatScore = Annotated[int, Field(ge=1, le=5)]
Revenue = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=18, decimal_places=6)]


class TouchpointFields(BaseModel):
    """What a touchpoint says about who, which product and how it felt, on every wire."""

    customer_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    product_id: Identifier | None = None
    sentiment: Sentiment | None = None
    nps: NpsScore | None = None
    csat: CsatScore | None = None
    revenue: Revenue | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_identity(self) -> Self:
        if self.customer_id is None and self.anonymous_id is None:
            raise ValueError("give customer_id or anonymous_id")
        return self
