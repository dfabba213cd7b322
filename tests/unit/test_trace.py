"""Issue 10, traceability rules (pure): the change in force for a unit's component is the last
one cut in at its plant before the unit was completed; a unit built after a cut-in with the old
revision is flagged; one built under a change that completed with deviations is marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.change.trace import BuiltUnit, CutIn, UnitPart, trace_unit, units_around

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def cut(change: str, to: str, hours: int, plant: str = "DET", deviation: bool = False) -> CutIn:
    return CutIn(
        change_id=change,
        plant=plant,
        part="100-200",
        from_revision="B",
        to_revision=to,
        at=T0 + timedelta(hours=hours),
        deviation=deviation,
    )


def unit(serial: str, hours: int, revision: str, plant: str = "DET") -> BuiltUnit:
    return BuiltUnit(
        serial=serial,
        part="200-100",
        plant=plant,
        completed_at=T0 + timedelta(hours=hours),
        components=[UnitPart(part="100-200", revision=revision)],
    )


def test_the_change_in_force_is_the_last_cut_in_before_the_unit() -> None:
    cuts = [cut("ECO-1", "C", 1), cut("ECO-2", "D", 5, deviation=True), cut("ECO-9", "X", 2, "MTY")]
    assert trace_unit(unit("u0", 0, "B"), cuts).components[0].change_id is None
    mid = trace_unit(unit("u1", 3, "C"), cuts).components[0]
    assert (mid.change_id, mid.expected, mid.consistent) == ("ECO-1", "C", True)
    late = trace_unit(unit("u2", 6, "D"), cuts)
    assert late.components[0].change_id == "ECO-2" and late.under_deviation
    stale = trace_unit(unit("u3", 4, "B"), cuts).components[0]  # built after ECO-1 with rev B
    assert not stale.consistent and stale.expected == "C"


def test_a_cut_in_divides_its_plants_units() -> None:
    cuts = [cut("ECO-1", "C", 1)]
    units = [unit("a", 0, "B"), unit("b", 2, "C"), unit("c", 2, "B", plant="MTY")]
    around = units_around(cuts[0], units, cuts)
    assert [t.unit.serial for t in around.before] == ["a"]
    assert [t.unit.serial for t in around.after] == ["b"]


def test_the_simulators_lines_keep_completing_units(tmp_path) -> None:
    import threading
    import time

    from connectors.sim.app import create_app
    from connectors.sim.routes.units import stream_units
    from connectors.sim.store import SimStore

    create_app(tmp_path / "sim.db")  # seeds the demo plants
    store = SimStore(tmp_path / "sim.db")
    stop = threading.Event()
    stream_units(store, 0.05, stop)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(store.all_docs("MES", "DET", "unit")) < 2:
        time.sleep(0.05)
    stop.set()
    units = store.all_docs("MES", "DET", "unit")
    assert len(units) >= 2 and units[0]["components"] and units[0]["documents"]
    assert units[0]["serial"] != units[1]["serial"]
