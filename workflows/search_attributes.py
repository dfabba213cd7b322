"""The custom search attributes changeflow sets: one registry for worker, server and tests."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

CHANGE_TYPE = SearchAttributeKey.for_keyword("ChangeType")
CHANGE_STAGE = SearchAttributeKey.for_keyword("ChangeStage")
RISK_LEVEL = SearchAttributeKey.for_keyword("RiskLevel")
PLANTS = SearchAttributeKey.for_keyword_list("Plants")
REQUESTER = SearchAttributeKey.for_keyword("Requester")

ALL_KEYS = [CHANGE_TYPE, CHANGE_STAGE, RISK_LEVEL, PLANTS, REQUESTER]


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {PLANTS.name: "KeywordList"}
    flags = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={kinds.get(key.name, 'Keyword')}"]
    return flags


def indexed_types() -> dict[str, IndexedValueType.ValueType]:
    """For operator_service.add_search_attributes (the time-skipping test server needs it)."""
    return {
        key.name: (
            IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
            if key is PLANTS
            else IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        )
        for key in ALL_KEYS
    }
