"""The engine's typed errors: what a caller may catch, each with a stable code.

One job: name every failure a person can meet, so that the command line, the web console and
the benches branch on the type and the ``code`` (and translate by the code), never on the
message text. The lowest layer: imports nothing from the project, and every other layer may
raise these.

Codes are lower-case dotted words (``stage.not_allowed``, ``role.not_allowed``,
``claim.not_found``); ``params`` holds the values a translated message needs (strings and
numbers only, so they survive a Temporal failure's details).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ClaimsError(Exception):
    """Base of the engine's errors.

    Attributes:
        code: stable machine-readable reason (``"claim.not_found"``); callers branch on it.
        params: values for a translated message (str/int/float/bool only).
        message: the English message, also ``str(error)``.
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, params: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = dict(params or {})


class InputError(ClaimsError, ValueError):
    """An input refused where it entered: ``field`` names it (``"policy_numbers[0]"``)."""

    code = "input.invalid"

    def __init__(self, field: str, message: str, *, code: str | None = None, params: Mapping[str, Any] | None = None):
        super().__init__(f"{field}: {message}", code=code, params={"field": field, **dict(params or {})})
        self.field = field


class NotAllowed(ClaimsError, PermissionError):
    """The actor's role or scope does not allow the operation (outside the workflow's validators,
    e.g. loading a calendar is a supervisor's)."""

    code = "role.not_allowed"


class ClaimNotFound(ClaimsError, LookupError):
    """No claim with this number (or none the actor may see: the console answers 404 for both)."""

    code = "claim.not_found"

    def __init__(self, claim_number: str, message: str | None = None):
        super().__init__(
            message or f"no claim {claim_number!r}: check the claim number",
            params={"claim_number": claim_number},
        )
        self.claim_number = claim_number


class StepRejected(ClaimsError):
    """The claim refused a step: a validator (stage, role, assignment, scope, authority limit,
    input) or a step that lost a race. ``step`` is the registry name (``"pay"``)."""

    code = "step.rejected"

    def __init__(self, step: str, message: str, *, code: str | None = None, params: Mapping[str, Any] | None = None):
        super().__init__(message, code=code, params={"step": step, **dict(params or {})})
        self.step = step


class Unavailable(ClaimsError, RuntimeError):
    """A service the operation needs (Temporal, the store) did not answer; nothing was changed
    unless the message says otherwise."""

    code = "service.unavailable"
