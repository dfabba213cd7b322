"""bench/report.py's ceiling: the most the lifecycle's throughput ratio could be, were the
orchestration as cheap as bare's, from the CPU each side's processes spent per item."""

from __future__ import annotations

from bench.report import ceiling


def figures(**over: float) -> dict:
    r = {
        "cpu_s_per_change": 0.40,
        "cpu_s_per_bare": 0.10,
        "temporal_server_cpu_s_per_change": 0.20,
        "temporal_server_cpu_s_per_bare": 0.10,
        "throughput_changes_per_s": 3.0,
        "throughput_bare_per_s": 9.0,
        "cpu_s_per_change_by_process": {
            "central worker": 0.25,
            "plant workers": 0.03,
            "simulator": 0.06,
            "API and driver": 0.06,
        },
        "cpu_s_per_bare_by_process": {"bare worker": 0.08, "driver": 0.02},
    }
    r.update(over)
    return r


def test_the_ceiling_counts_the_simulator_and_the_api_net_of_the_bare_driver() -> None:
    got = ceiling(figures(), cores=2)
    # bare 0.2 CPU-s per item; extra work 0.06 (simulator) + 0.04 (API beyond the driver)
    assert got["throughput_ceiling_vs_bare"] == round(0.2 / 0.3, 2)
    assert got["throughput_ceiling_vs_bare_systems_elsewhere"] == round(0.2 / 0.24, 2)
    assert got["cpu_busy_fraction"] == 0.9  # 0.6 CPU-s per change at 3 per s on 2 cores
    assert got["bare_cpu_busy_fraction"] == 0.9  # 0.2 CPU-s per bare workflow at 9 per s


def test_an_api_cheaper_than_the_bare_driver_adds_nothing() -> None:
    by_process = {"simulator": 0.0, "API and driver": 0.01}
    got = ceiling(figures(cpu_s_per_change_by_process=by_process), cores=2)
    assert got["throughput_ceiling_vs_bare"] == 1.0
