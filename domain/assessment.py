"""Impact assessment of a part-revision change against a snapshot of the digital thread."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from domain.change_request import ChangeItem, ChangeRequest, ChangeType, EffectivityType
from domain.errors import ChangeRejectedError
from domain.impact import ImpactedObject, ImpactKind, ImpactReport
from domain.revisions import revision_rank
from domain.risk import score_risk
from domain.thread import Part, System, ThreadSnapshot
from domain.where_used import parent_index, where_used

OPEN_ORDER_STATUSES = {"planned", "released", "in_process"}


def validate_against_thread(
    request: ChangeRequest, parts: Mapping[str, Part], plant_codes: Iterable[str]
) -> list[str]:
    """Every problem with the request against what PLM and the plants hold, each naming the
    object; empty when the change can be assessed. `parts` needs only the changed parts."""
    problems: list[str] = []
    if request.type != ChangeType.part_revision:
        problems.append(f"type: change type '{request.type.value}' is not supported yet")
    known = sorted(plant_codes)
    for plant in request.plants or []:
        if plant not in known:
            problems.append(f"plants: plant {plant} does not exist (known: {', '.join(known)})")
    for index, item in enumerate(request.items):
        where = f"items.{index}"
        part = parts.get(item.part)
        if part is None:
            problems.append(f"{where}.part: part {item.part} is not known to PLM")
            continue
        if part.current_revision != item.from_revision:
            problems.append(
                f"{where}.from_revision: part {item.part} is at revision "
                f"{part.current_revision} in PLM, not {item.from_revision}"
            )
        existing = [r.revision for r in part.revisions]
        if item.to_revision in existing:
            problems.append(
                f"{where}.to_revision: revision {item.to_revision} of part {item.part} "
                "already exists"
            )
        elif existing and revision_rank(item.to_revision) < max(map(revision_rank, existing)):
            problems.append(
                f"{where}.to_revision: revision {item.to_revision} of part {item.part} goes "
                f"backwards (latest is {max(existing, key=revision_rank)})"
            )
    return problems


def assess_part_revision(
    change_id: str, request: ChangeRequest, snapshot: ThreadSnapshot
) -> ImpactReport:
    """Everything the change touches, per plant and system, each with the path explaining why."""
    parts = {p.number: p for p in snapshot.parts}
    problems = validate_against_thread(request, parts, (p.code for p in snapshot.plants))
    if problems:
        raise ChangeRejectedError(problems)
    parents = parent_index(snapshot.ebom)
    objects: list[ImpactedObject] = []
    plants_using: set[str] = set()
    safety_critical = False
    regulated = False
    fai_reasons: list[str] = []

    for item in request.items:
        part = parts[item.part]
        safety_critical |= part.safety_critical
        regulated |= part.regulated
        head = f"part {item.part} rev {item.from_revision} -> {item.to_revision}"
        first = len(objects)
        objects.append(
            ImpactedObject(
                kind=ImpactKind.part,
                system=System.PLM,
                key=item.part,
                summary=f"{part.name}: release revision {item.to_revision}",
                path=[head],
                disposition="release new revision",
            )
        )
        ancestors = where_used(item.part, parents)
        ancestor_set = {a.part for a in ancestors}
        objects.extend(_where_used_objects(item, ancestors, parts, head))
        in_scope = _plants_in_scope(request, snapshot, item)
        plants_using |= in_scope
        for plant in sorted(in_scope):
            plant_objects = _plant_objects(request, snapshot, item, plant, ancestor_set, head)
            objects.extend(plant_objects)
            key_chars = [
                o
                for o in plant_objects
                if o.kind == ImpactKind.inspection_plan and "key" in o.flags
            ]
            if key_chars:
                fai_reasons.append(
                    f"{plant}: design change to part {item.part} with key characteristics"
                )
            safety_critical |= any(
                "safety_critical" in o.flags
                for o in plant_objects
                if o.kind == ImpactKind.inspection_plan
            )
        for obj in objects[first:]:
            obj.item = item.part

    plants = sorted(plants_using)
    fai_required = bool(fai_reasons)
    risk = score_risk(
        request,
        objects,
        plants,
        safety_critical=safety_critical,
        regulated=regulated,
        fai_required=fai_required,
    )
    return ImpactReport(
        change_id=change_id,
        items=request.items,
        plants=plants,
        objects=objects,
        risk=risk,
        fai_required=fai_required,
        fai_reasons=fai_reasons,
    )


def _where_used_objects(
    item: ChangeItem, ancestors: list, parts: dict[str, Part], head: str
) -> list[ImpactedObject]:
    """Parents and end items. Interchangeable: first-level parents keep their revision;
    non-interchangeable: every ancestor rolls its revision."""
    found = []
    for entry in ancestors:
        parent = parts.get(entry.part)
        name = parent.name if parent else entry.part
        if item.interchangeable:
            disposition = (
                "no revision change (interchangeable)" if entry.level == 1 else "informational"
            )
        else:
            disposition = "roll revision (non-interchangeable)"
        path = [head] + [f"used in {p} (EBOM)" for p in entry.path[1:]]
        kind = ImpactKind.end_item if entry.end_item else ImpactKind.parent_assembly
        found.append(
            ImpactedObject(
                kind=kind,
                system=System.PLM,
                key=entry.part,
                summary=f"{name} (level {entry.level})",
                path=path,
                disposition=disposition,
            )
        )
    return found


def _plants_in_scope(
    request: ChangeRequest, snapshot: ThreadSnapshot, item: ChangeItem
) -> set[str]:
    using = {
        line.plant
        for line in snapshot.mbom
        if line.component == item.part and line.component_revision == item.from_revision
    }
    if request.plants is None:
        return using
    missing = [p for p in request.plants if p not in using]
    if missing:
        raise ChangeRejectedError(
            [
                f"plants: plant {p} does not use part {item.part} rev {item.from_revision}"
                for p in missing
            ]
        )
    return set(request.plants)


def _plant_objects(
    request: ChangeRequest,
    snapshot: ThreadSnapshot,
    item: ChangeItem,
    plant: str,
    ancestors: set[str],
    head: str,
) -> list[ImpactedObject]:
    part = item.part
    found: list[ImpactedObject] = []
    for line in snapshot.mbom:
        if line.plant == plant and line.component == part:
            found.append(
                ImpactedObject(
                    kind=ImpactKind.mbom_line,
                    system=System.ERP,
                    plant=plant,
                    key=f"{line.parent}/{line.component}",
                    summary=f"MBOM {line.parent} consumes {line.qty:g} x {part} "
                    f"rev {line.component_revision}",
                    path=[head, f"{plant} MBOM of {line.parent} lists {part}"],
                    disposition=f"set component revision to {item.to_revision}",
                )
            )
    touched_ops: dict[tuple[str, int], str] = {}
    for routing in snapshot.routings:
        if routing.plant != plant:
            continue
        for op in routing.operations:
            if part in op.parts:
                touched_ops[(routing.id, op.op_no)] = f"{routing.id} op {op.op_no}"
                found.append(
                    ImpactedObject(
                        kind=ImpactKind.operation,
                        system=System.MES,
                        plant=plant,
                        key=f"{routing.id}/{op.op_no}",
                        summary=f"{op.description} at {op.work_center} ({op.std_time_min:g} min)",
                        path=[head, f"{plant} routing {routing.id} op {op.op_no} consumes {part}"],
                        disposition="review operation",
                    )
                )
    for wi in snapshot.work_instructions:
        if wi.plant != plant:
            continue
        shows = any(ref.part == part for ref in wi.parts)
        op_key = (wi.routing_id, wi.op_no)
        if shows or op_key in touched_ops:
            link = (
                f"work instruction {wi.id} shows {part}"
                if shows
                else f"work instruction {wi.id} covers {touched_ops[op_key]}"
            )
            found.append(
                ImpactedObject(
                    kind=ImpactKind.work_instruction,
                    system=System.MES,
                    plant=plant,
                    key=wi.id,
                    summary=f"{wi.title} (rev {wi.revision}, {wi.status})",
                    path=[head, link],
                    disposition=f"publish revision {wi.revision + 1} for {part} "
                    f"rev {item.to_revision}",
                )
            )
    for plan in snapshot.inspection_plans:
        if plan.plant == plant and plan.part == part:
            flags = []
            if any(c.key for c in plan.characteristics):
                flags.append("key")
            if any(c.safety_critical for c in plan.characteristics):
                flags.append("safety_critical")
            found.append(
                ImpactedObject(
                    kind=ImpactKind.inspection_plan,
                    system=System.QMS,
                    plant=plant,
                    key=plan.id,
                    summary=f"inspection plan rev {plan.revision}, "
                    f"{len(plan.characteristics)} characteristic(s)",
                    path=[head, f"{plant} inspection plan {plan.id} inspects {part}"],
                    disposition=f"revise for {part} rev {item.to_revision}",
                    flags=flags,
                )
            )
    found.extend(_supply_objects(request, snapshot, item, plant, ancestors, head))
    ops = set(touched_ops)
    for qual in snapshot.qualifications:
        if qual.plant == plant and (qual.routing_id, qual.op_no) in ops:
            found.append(
                ImpactedObject(
                    kind=ImpactKind.operator,
                    system=System.LMS,
                    plant=plant,
                    key=f"{qual.operator}@{qual.routing_id}/{qual.op_no}",
                    summary=f"operator {qual.operator} qualified on {qual.routing_id} "
                    f"op {qual.op_no}",
                    path=[
                        head,
                        f"{plant} {touched_ops[(qual.routing_id, qual.op_no)]}",
                        f"operator {qual.operator} is qualified on it",
                    ],
                    disposition="retrain and acknowledge",
                )
            )
    return found


def _supply_objects(
    request: ChangeRequest,
    snapshot: ThreadSnapshot,
    item: ChangeItem,
    plant: str,
    ancestors: set[str],
    head: str,
) -> list[ImpactedObject]:
    part = item.part
    found: list[ImpactedObject] = []
    for order in snapshot.production_orders:
        if order.plant != plant or order.status not in OPEN_ORDER_STATUSES:
            continue
        if order.part == part or order.part in ancestors:
            link = (
                f"order {order.id} builds {part}"
                if order.part == part
                else f"order {order.id} builds {order.part}, which contains {part}"
            )
            found.append(
                ImpactedObject(
                    kind=ImpactKind.production_order,
                    system=System.ERP,
                    plant=plant,
                    key=order.id,
                    summary=f"{order.qty} x {order.part} due {order.due.isoformat()} "
                    f"({order.status})",
                    path=[head, link],
                    disposition="do not disturb: finish at current revision"
                    if order.critical
                    else "disposition at effectivity",
                    flags=["critical"] if order.critical else [],
                )
            )
    use_up = request.effectivity.type == EffectivityType.use_up
    stock: dict[str, float] = defaultdict(float)
    for record in snapshot.inventory:
        if record.plant == plant and record.part == part and record.revision == item.from_revision:
            value = record.qty * record.unit_cost
            stock[record.location] += value
            found.append(
                ImpactedObject(
                    kind=ImpactKind.inventory,
                    system=System.ERP,
                    plant=plant,
                    key=f"{part}/{record.revision}/{record.location}",
                    summary=f"{record.qty:g} on hand at {record.location}, value {value:,.2f}",
                    path=[head, f"{plant} holds {part} rev {record.revision} at {record.location}"],
                    disposition="use up before effectivity" if use_up else "rework or scrap",
                    value=round(value, 2),
                )
            )
    for po in snapshot.purchase_orders:
        if po.plant == plant and po.part == part and po.revision == item.from_revision:
            found.append(
                ImpactedObject(
                    kind=ImpactKind.purchase_order,
                    system=System.ERP,
                    plant=plant,
                    key=po.id,
                    summary=f"{po.qty:g} x {part} rev {po.revision} from {po.supplier} "
                    f"due {po.due.isoformat()}",
                    path=[head, f"{plant} purchase order {po.id} buys {part} rev {po.revision}"],
                    disposition=f"change to rev {item.to_revision} with {po.supplier}",
                )
            )
    return found
