"""What a form's POST keeps for the page it redirects to (POST → 303 → GET), in memory.

One job: the supervisor's bulk reassignment and a batch payment answer 303 and show their
per-claim results on the next page; the session cookie holds only a random key to them. The
console runs one process (``claims web``), so this process's memory is enough: at most
``cap`` sets (the oldest dropped first), each readable for ``ttl`` seconds and only by the
staff member who made it.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar


class Owned(Protocol):
    """A kept set: who made it (staff id) and when (``time.monotonic()`` seconds)."""

    @property
    def staff_id(self) -> str: ...

    @property
    def at(self) -> float: ...


T = TypeVar("T", bound=Owned)


class KeptForRedirect(Generic[T]):
    """Sets of results by random key, capped at ``cap`` sets and ``ttl`` seconds.

    Args:
        cap: most sets kept at once.
        ttl: seconds a set stays readable.
    """

    def __init__(self, cap: int, ttl: float) -> None:
        self.cap, self.ttl = cap, ttl
        self._sets: OrderedDict[str, T] = OrderedDict()

    def keep(self, kept: T) -> str:
        """Keep one set; answers its random key (URL-safe, 22 characters)."""
        self._drop_old()
        key = secrets.token_urlsafe(16)
        self._sets[key] = kept
        while len(self._sets) > self.cap:
            self._sets.popitem(last=False)
        return key

    def find(self, key: object, staff_id: str) -> T | None:
        """The set kept under ``key`` for ``staff_id``; None when unknown, expired or another's."""
        self._drop_old()
        kept = self._sets.get(key) if isinstance(key, str) else None
        return kept if kept is not None and kept.staff_id == staff_id else None

    def _drop_old(self) -> None:
        limit = time.monotonic() - self.ttl
        while self._sets and next(iter(self._sets.values())).at < limit:
            self._sets.popitem(last=False)
