"""The services' input refusals whose message is already worded for a person.

One job: :class:`Refused`, an ``InputError`` whose message names its own field or file
(``"line 3: not valid CSV"``, ``"--county: '\\'' is not allowed ..."``), so ``str(error)`` is
that message as it is, while ``field`` still says which input was refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from claims.errors import InputError


class Refused(InputError):
    """An input refused with a message that already names what was wrong.

    Args:
        field: the input refused (``file``, ``county``, a dotted model field).
        text: the whole message, shown as it is (``InputError`` would prefix the field).
    """

    def __init__(self, field: str, text: str, *, params: Mapping[str, str | int] | None = None) -> None:
        super().__init__(field, text, params=params)
        self.message, self.args = text, (text,)
