"""Field types shared by the wire schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,99}$")]
Channel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,49}$")]
Sentiment = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
NpsScore = Annotated[int, Field(ge=0, le=10)]
CsatScore = Annotated[int, Field(ge=1, le=5)]
Revenue = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=18, decimal_places=6)]
