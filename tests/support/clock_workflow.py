"""A probe workflow that reads the wall clock (non-deterministic): the sandbox must refuse it.

Kept in a module of its own that imports only the standard library and ``temporalio``, so
the sandbox can import it afresh cheaply (``tests/test_sandbox.py``).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn
class ClockReadingWorkflow:
    """Returns ``datetime.now()`` as text: refused inside the sandbox, allowed in a passed-through module."""

    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()
