"""A probe workflow whose payloads travel under every serialization context a claim's do.

An ordinary activity, a local activity, an Update and the workflow's own input and result: each
payload is encoded and decoded under its command's context (``tests/test_sandbox.py`` compares
the contexts the SDK's runner and the project's give). Imports only the standard library and
``temporalio``, so the sandbox imports it afresh cheaply.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
def shout(text: str) -> str:
    """``text`` in upper case (the ordinary and the local activity)."""
    return text.upper()


@workflow.defn
class ContextProbeWorkflow:
    """Runs :func:`shout` as an activity and as a local activity, waits for one :meth:`add` Update,
    and returns the three texts joined."""

    def __init__(self) -> None:
        self.added: list[str] = []

    @workflow.run
    async def run(self, text: str) -> str:
        one = await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=30))
        two = await workflow.execute_local_activity(
            shout, text + "!", start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: bool(self.added))
        return " ".join([one, two, *self.added])

    @workflow.update
    async def add(self, text: str) -> int:
        """Adds ``text``; answers how many were added."""
        self.added.append(text)
        return len(self.added)
