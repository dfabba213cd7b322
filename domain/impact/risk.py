"""Explainable risk score of a change: named factors, each with weight and contribution."""

from __future__ import annotations

from domain.change.request import ChangeRequest, Priority
from domain.impact.report import ImpactedObject, ImpactKind, RiskAssessment, RiskFactor, RiskLevel

# (name, weight): a factor's contribution is weight * value, value in 0..1.
WEIGHTS: dict[str, float] = {
    "safety_critical": 30.0,
    "regulated_part": 15.0,
    "plants_affected": 10.0,
    "wip_and_stock_value": 15.0,
    "critical_orders": 10.0,
    "fai_required": 10.0,
    "emergency_priority": 10.0,
}
LEVELS: list[tuple[float, RiskLevel]] = [
    (60.0, RiskLevel.critical),
    (35.0, RiskLevel.high),
    (15.0, RiskLevel.medium),
    (0.0, RiskLevel.low),
]
VALUE_AT_RISK_SCALE = 250_000.0  # money at risk that counts as the full factor


def level_for(score: float) -> RiskLevel:
    for threshold, level in LEVELS:
        if score >= threshold:
            return level
    return RiskLevel.low


def score_risk(
    request: ChangeRequest,
    objects: list[ImpactedObject],
    plants: list[str],
    *,
    safety_critical: bool,
    regulated: bool,
    fai_required: bool,
) -> RiskAssessment:
    """Score the change from its impact; every factor says why it applies."""
    value_at_risk = sum(o.value for o in objects if o.kind == ImpactKind.inventory)
    critical_orders = [
        o for o in objects if o.kind == ImpactKind.production_order and "critical" in o.flags
    ]
    raw: list[tuple[str, float, str]] = [
        (
            "safety_critical",
            1.0 if safety_critical else 0.0,
            "a safety-critical part or characteristic is touched"
            if safety_critical
            else "no safety-critical part or characteristic touched",
        ),
        (
            "regulated_part",
            1.0 if regulated else 0.0,
            "a regulated or customer-controlled part is touched"
            if regulated
            else "no regulated part touched",
        ),
        (
            "plants_affected",
            min(len(plants), 5) / 5.0,
            f"{len(plants)} plant(s) affected: {', '.join(plants) or 'none'}",
        ),
        (
            "wip_and_stock_value",
            min(value_at_risk / VALUE_AT_RISK_SCALE, 1.0),
            f"stock at the old revision worth {value_at_risk:,.2f}",
        ),
        (
            "critical_orders",
            min(len(critical_orders), 3) / 3.0,
            f"{len(critical_orders)} critical open production order(s) affected",
        ),
        (
            "fai_required",
            1.0 if fai_required else 0.0,
            "first-article inspection required" if fai_required else "no first-article inspection",
        ),
        (
            "emergency_priority",
            1.0 if request.priority == Priority.emergency else 0.0,
            f"priority {request.priority.value}",
        ),
    ]
    factors = [
        RiskFactor(
            name=name,
            weight=WEIGHTS[name],
            value=round(value, 4),
            contribution=round(WEIGHTS[name] * value, 2),
            explanation=explanation,
        )
        for name, value, explanation in raw
    ]
    score = round(sum(f.contribution for f in factors), 2)
    return RiskAssessment(score=score, level=level_for(score), factors=factors)
