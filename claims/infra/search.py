"""Custom search attributes of claim workflows (no personal data in any of them).

They make claims findable in the Temporal web UI and through visibility queries, e.g.
``ClaimCounty = '宁乡市' AND SlaState = 'breached' AND ExecutionStatus = 'Running'``.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("ClaimStage")
COUNTY = SearchAttributeKey.for_keyword("ClaimCounty")
TOWNSHIP = SearchAttributeKey.for_keyword("ClaimTownship")
HANDLER = SearchAttributeKey.for_keyword("AssignedHandler")
GREEN_CHANNEL = SearchAttributeKey.for_bool("GreenChannel")
SLA_DEADLINE = SearchAttributeKey.for_datetime("SlaDeadline")
SLA_STATE = SearchAttributeKey.for_keyword("SlaState")

ALL = (STAGE, COUNTY, TOWNSHIP, HANDLER, GREEN_CHANNEL, SLA_DEADLINE, SLA_STATE)


def _cli_type(indexed: int) -> str:
    """``INDEXED_VALUE_TYPE_KEYWORD`` → ``Keyword``, as the CLI's ``--search-attribute`` spells it."""
    return IndexedValueType.Name(indexed).removeprefix("INDEXED_VALUE_TYPE_").title()


CLI_TYPES: dict[str, str] = {key.name: _cli_type(key.indexed_value_type) for key in ALL}
"""Name → type as the Temporal CLI's ``--search-attribute NAME=TYPE`` flag spells it
(``ClaimStage`` → ``Keyword``, ``GreenChannel`` → ``Bool``, ``SlaDeadline`` → ``Datetime``)."""


async def register_search_attributes(client: Client) -> None:
    """Register every attribute of :data:`ALL` in the client's namespace (operator service).

    For a server started without them: the time-skipping test server takes none at start, and
    a cluster's operator registers them once. The embedded dev server gets them on its
    command line instead (``claims.infra.temporal.dev_server_command``).

    Raises:
        temporalio.service.RPCError: the server refused (e.g. an attribute already registered
            with another type).
    """
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL},
        )
    )
