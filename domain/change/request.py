"""The change request: what a change file (YAML or JSON) and `POST /api/changes` carry."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from domain.change.revisions import is_after, is_valid_revision

CHANGE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"
PART_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
OBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # routings, equipment, serials, lots
PLANT_PATTERN = r"^[A-Z0-9]{2,8}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$"
USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
REVISION_PATTERN = r"^([A-Z]{1,3}|[0-9]{1,6})$"
MAX_DESCRIPTION = 2000
MAX_REQUEST_BYTES = 128 * 1024
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
_PLANT_CODE = re.compile(PLANT_PATTERN)


class ChangeType(StrEnum):
    part_revision = "part_revision"
    process_change = "process_change"
    equipment_change = "equipment_change"
    system_release = "system_release"


class Priority(StrEnum):
    standard = "standard"
    normal = "normal"
    emergency = "emergency"


class EffectivityType(StrEnum):
    asap = "asap"
    date = "date"
    serial = "serial"
    lot = "lot"
    use_up = "use_up"


class Effectivity(BaseModel):
    """When the new revision takes effect on the shop floor."""

    model_config = ConfigDict(extra="forbid")

    type: EffectivityType = EffectivityType.asap
    date: datetime | None = Field(
        default=None, description="With a timezone (e.g. 2026-12-01T06:00:00Z); kept in UTC."
    )
    serial: str | None = Field(default=None, pattern=OBJECT_ID_PATTERN)
    lot: str | None = Field(default=None, pattern=OBJECT_ID_PATTERN)

    @field_validator("date")
    @classmethod
    def _aware_and_plausible(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                "needs a timezone, e.g. 2026-12-01T06:00:00Z or 2026-12-01T07:00:00+01:00"
            )
        value = value.astimezone(UTC)
        if not EARLIEST <= value <= LATEST:
            raise ValueError(f"{value:%Y-%m-%d} is not a plausible effectivity date (2000-2100)")
        return value

    @model_validator(mode="after")
    def _needs_its_value(self) -> Effectivity:
        needed = {
            EffectivityType.date: ("date", self.date),
            EffectivityType.serial: ("serial", self.serial),
            EffectivityType.lot: ("lot", self.lot),
        }
        if self.type in needed:
            name, value = needed[self.type]
            if value in (None, ""):
                raise ValueError(f"effectivity type '{self.type}' needs '{name}'")
        return self


class ChangeItem(BaseModel):
    """One part whose revision changes."""

    model_config = ConfigDict(extra="forbid")

    part: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": PART_PATTERN})
    from_revision: str = Field(json_schema_extra={"pattern": REVISION_PATTERN})
    to_revision: str = Field(json_schema_extra={"pattern": REVISION_PATTERN})
    interchangeable: bool = Field(
        default=True,
        description="Form, fit and function preserved: parents keep their revision.",
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION)

    @field_validator("part")
    @classmethod
    def _part_number(cls, value: str) -> str:
        if not re.match(PART_PATTERN, value):
            raise ValueError(
                f"'{value[:80]}' is not a part number (letters, digits, '.', '_', '-'; "
                "starting with a letter or digit; up to 64)"
            )
        return value

    @field_validator("from_revision", "to_revision")
    @classmethod
    def _revision_label(cls, value: str) -> str:
        if not is_valid_revision(value):
            raise ValueError(f"'{value[:20]}' is not a revision label (letters like 'C' or digits)")
        return value

    @model_validator(mode="after")
    def _forward_only(self) -> ChangeItem:
        if not is_after(self.to_revision, self.from_revision):
            raise ValueError(
                f"to_revision '{self.to_revision}' must come after from_revision "
                f"'{self.from_revision}' for part {self.part}"
            )
        return self


class OperationChange(BaseModel):
    """A process change to one operation of a plant's routing (takt/standard time, work center)."""

    model_config = ConfigDict(extra="forbid")

    plant: str = Field(pattern=PLANT_PATTERN)
    routing: str = Field(pattern=OBJECT_ID_PATTERN)
    op_no: int = Field(ge=0, le=99999)
    std_time_min: float | None = Field(default=None, gt=0, le=100000)
    work_center: str | None = Field(default=None, pattern=OBJECT_ID_PATTERN)
    new_process: bool = Field(default=False, description="A new manufacturing process (FAI).")
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class EquipmentChange(BaseModel):
    """New or changed equipment in a plant (and the NC programs that run on it)."""

    model_config = ConfigDict(extra="forbid")

    plant: str = Field(pattern=PLANT_PATTERN)
    equipment: str = Field(pattern=OBJECT_ID_PATTERN)
    new_equipment: bool = False
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class SystemRelease(BaseModel):
    """A release of a plant system (MES, QMS, ...) to the plants of the change."""

    model_config = ConfigDict(extra="forbid")

    system: Literal["PLM", "ERP", "MES", "QMS", "LMS"]
    version: str = Field(pattern=VERSION_PATTERN)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


def _item_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return {
            ChangeItem: "part",
            OperationChange: "operation",
            EquipmentChange: "equipment",
            SystemRelease: "release",
        }.get(type(value), "part")
    if isinstance(value, dict):
        if "routing" in value or "op_no" in value:
            return "operation"
        if "equipment" in value:
            return "equipment"
        if "system" in value or "version" in value:
            return "release"
    return "part"


AnyItem = Annotated[
    Annotated[ChangeItem, Tag("part")]
    | Annotated[OperationChange, Tag("operation")]
    | Annotated[EquipmentChange, Tag("equipment")]
    | Annotated[SystemRelease, Tag("release")],
    Discriminator(_item_kind),
]
ITEM_LABELS = {
    "part": "a part revision",
    "operation": "an operation change",
    "equipment": "an equipment change",
    "release": "a system release",
}
ITEM_FOR_TYPE = {
    ChangeType.part_revision: ChangeItem,
    ChangeType.process_change: OperationChange,
    ChangeType.equipment_change: EquipmentChange,
    ChangeType.system_release: SystemRelease,
}


class RolloutOptions(BaseModel):
    """How the change rolls out across plants."""

    model_config = ConfigDict(extra="forbid")

    pilot_plant: str | None = Field(
        default=None,
        pattern=PLANT_PATTERN,
        description="The plant that goes first and is verified before any other "
        "(default: the least affected plant).",
    )


class ChangeRequest(BaseModel):
    """A request to change the product or process, as submitted."""

    model_config = ConfigDict(extra="forbid")

    change_id: str | None = Field(default=None, pattern=CHANGE_ID_PATTERN)
    title: str = Field(min_length=3, max_length=200)
    type: ChangeType
    requested_by: str | None = Field(
        default=None,
        pattern=USER_PATTERN,
        description="A changeflow user's name (default: whoever submits it; naming someone "
        "else: only the roles [approvals] submit_on_behalf lists).",
    )
    reason: str = Field(min_length=1, max_length=4000)
    priority: Priority = Priority.normal
    plants: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Limit the rollout to these plants; default every plant affected.",
        json_schema_extra={"items": {"type": "string", "pattern": PLANT_PATTERN}},
    )
    effectivity: Effectivity = Field(default_factory=Effectivity)
    rollout: RolloutOptions | None = None
    items: list[AnyItem] = Field(min_length=1, max_length=500)

    @field_validator("plants")
    @classmethod
    def _plant_codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("plants, when given, must name at least one plant")
        for code in value:
            if not _PLANT_CODE.match(code):
                raise ValueError(f"'{code}' is not a plant code (2-8 capital letters or digits)")
        if len(set(value)) != len(value):
            raise ValueError("plants lists a plant twice")
        return value

    @model_validator(mode="after")
    def _items_fit_type(self) -> ChangeRequest:
        wanted = ITEM_FOR_TYPE[self.type]
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if not isinstance(item, wanted):
                needed = ITEM_LABELS[_item_kind(wanted.model_construct())].split(" ", 1)[1]
                raise ValueError(
                    f"items.{index} is {ITEM_LABELS[_item_kind(item)]}; a {self.type.value} "
                    f"change needs {needed} items"
                )
            key = item_key(item)
            if key in seen:
                raise ValueError(f"{key} appears twice in items")
            seen.add(key)
        size = len(self.model_dump_json())
        if size > MAX_REQUEST_BYTES:
            raise ValueError(
                f"the change is {size // 1024} KiB; at most {MAX_REQUEST_BYTES // 1024} KiB "
                "(split it into several changes or shorten descriptions)"
            )
        return self

    def part_items(self) -> list[ChangeItem]:
        return [i for i in self.items if isinstance(i, ChangeItem)]


def item_key(item: BaseModel) -> str:
    """What an item changes, as a readable key."""
    if isinstance(item, ChangeItem):
        return f"part {item.part}"
    if isinstance(item, OperationChange):
        return f"operation {item.plant}/{item.routing}/{item.op_no}"
    if isinstance(item, EquipmentChange):
        return f"equipment {item.plant}/{item.equipment}"
    if isinstance(item, SystemRelease):
        return f"system {item.system} {item.version}"
    raise TypeError(type(item))
