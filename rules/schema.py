"""Shared schema pieces of the terms files: the strict, frozen model base and the id patterns.

Every model read from a terms file refuses unknown fields (a misspelt field is an error, never
ignored) and is immutable once loaded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ClauseId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64)]
"""A clause id: lower-case dotted words, e.g. ``benefit.accidental_death`` (at most 64 characters)."""

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]
"""A code: one lower-case word, e.g. a product code or a circumstance (``drink_driving``)."""


class TermsModel(BaseModel):
    """Base of every model read from a terms file: unknown fields refused, frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)
