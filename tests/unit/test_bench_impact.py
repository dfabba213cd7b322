"""The impact benchmark runs end to end at a small size and its answers agree with networkx.
(Its speed and memory targets are judged by `make bench-impact`, not here.)"""

from __future__ import annotations

from bench.impact import run


def test_benchmark_runs_and_results_agree(capsys) -> None:
    result = run(parts=4000, plants=3, leaves=20, seed=5)
    assert result["results_equal"] is True
    for key in (
        "where_used_worst_ms",
        "where_used_worst_speedup_vs_networkx",
        "where_used_median_ms",
        "assessment_typical_ms",
        "index_build_s",
        "index_memory_ratio_vs_networkx",
    ):
        assert result[key] > 0, key
    assert "worst-case where-used" in capsys.readouterr().out
