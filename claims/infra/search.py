"""Custom search attributes of claim workflows (no personal data in any of them).

They make claims findable in the Temporal web UI and through visibility queries, e.g.
``ClaimCounty = '宁乡市' AND SlaState = 'breached' AND ExecutionStatus = 'Running'``.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("ClaimStage")
COUNTY = SearchAttributeKey.for_keyword("ClaimCounty")
TOWNSHIP = SearchAttributeKey.for_keyword("ClaimTownship")
HANDLER = SearchAttributeKey.for_keyword("AssignedHandler")
GREEN_CHANNEL = SearchAttributeKey.for_bool("GreenChannel")
SLA_DEADLINE = SearchAttributeKey.for_datetime("SlaDeadline")
SLA_STATE = SearchAttributeKey.for_keyword("SlaState")

ALL = (STAGE, COUNTY, TOWNSHIP, HANDLER, GREEN_CHANNEL, SLA_DEADLINE, SLA_STATE)

# Type names as the Temporal CLI's --search-attribute flag spells them.
CLI_TYPES = {
    "ClaimStage": "Keyword",
    "ClaimCounty": "Keyword",
    "ClaimTownship": "Keyword",
    "AssignedHandler": "Keyword",
    "GreenChannel": "Bool",
    "SlaDeadline": "Datetime",
    "SlaState": "Keyword",
}
