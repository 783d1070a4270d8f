"""The claim workflow's ``workflow.patched`` calls, and the patch that stands for all of them.

Every ``workflow.patched(id)`` a new run passes records a marker in its history, and the SDK
upserts the ``TemporalChangeVersion`` search attribute with every patch seen so far (a list
that grows with each one). A claim passed through ten patches recorded ten markers and ten
upserts, about 9 KB of its history, for decisions that are the same for every claim started
today.

``LEAN_HISTORY`` is asked once, first thing in ``ClaimWorkflow.run``. A claim started with it
takes every earlier patch's new path without asking (no marker, no upsert); a claim started
before it replays as recorded, asking each patch where it was asked then. The same patch also
marks what else a lean history leaves out (``ClaimWorkflow``: the workflow's result is a
``StepResult``, the decision is archived by a local activity, search attributes are upserted
only when they change).

Ids used with :func:`patched` keep their meaning in histories recorded before
``LEAN_HISTORY``; a change after it needs its own id, asked with ``workflow.patched`` itself.
"""

from __future__ import annotations

from temporalio import workflow

LEAN_HISTORY = "lean-history"
"""``workflow.patched`` id (issue 18): claims started before it asked each earlier patch and
recorded the whole ``ClaimState`` twice when they ended (the ``archive_decision`` input and
the workflow's result)."""


def patched(patch_id: str) -> bool:
    """``workflow.patched(patch_id)``, or True without a marker in a lean claim.

    Reads the running workflow's ``lean_history`` attribute (``ClaimWorkflow`` sets it from
    ``workflow.patched(LEAN_HISTORY)`` before anything else runs); a workflow without it asks
    the patch itself.

    Args:
        patch_id: a patch recorded before ``LEAN_HISTORY`` (``workflows.claim``'s constants,
            ``local-short-steps``).

    Returns:
        True for the new path (a lean claim, a new run, or a history that recorded the patch).
    """
    if getattr(workflow.instance(), "lean_history", False):
        return True
    return workflow.patched(patch_id)
