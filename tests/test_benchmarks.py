"""The benchmarks still run and report what docs/performance.md reads from them (no figure is judged
here: speed targets live in the benchmarks, not in tests)."""

from bench import lifecycle, scale
from bench.floor import SHAPE
from bench.people import STEPS
from bench.stack import Stack


async def test_the_lifecycle_benchmark_reports_the_api_beside_the_floor():
    async with Stack.started() as stack:
        report = await lifecycle.measure(stack.api_url, stack.temporal_address, stack.tokens, cases=2,
                                         concurrency=1, pids=stack.pids())
    assert set(report["api"]["ms"]) == {"file", *(path for path, *_ in STEPS)}
    assert set(report["sdk"]["ms"]) == set(SHAPE)
    assert all(entry["n"] == 2 for entry in report["api"]["ms"].values())
    assert report["api"]["cases_per_second"] > 0 and report["sdk"]["cases_per_second"] > 0
    assert set(report["update_round_trip"]["ratio_by_step"]) == {path for path, *_ in STEPS}
    api_phase = report["processes"]["api_phase"]
    assert set(api_phase) == {"api", "worker", "temporal", "postgres", "bench"}
    assert all(api_phase[p]["cpu_seconds"] > 0 and api_phase[p]["peak_rss_mib"] > 0 for p in api_phase if p != "bench")
    # The SDK phase's own process runs the floor's worker: its CPU counts towards the floor's cost per case.
    assert report["processes"]["sdk_phase"]["bench"]["cpu_seconds"] > 0
    cpu = report["cpu_seconds_per_case"]
    assert cpu["api"] > cpu["sdk"] > 0 and cpu["ratio_when_cpu_bound"] == round(cpu["sdk"] / cpu["api"], 2)


async def test_the_scale_benchmark_seeds_and_measures_each_size():
    report = await scale.main_async([4, 8], requests=3)
    assert [r["cases"] for r in report["results"]] == [4, 8]
    for result in report["results"]:
        assert {f"list_{name}_ms" for name in scale.LISTINGS} <= set(result)
        assert result["get_case_ms"]["n"] == 3 and result["referrals_stuck_seconds"] > 0
        assert result["worker_rss_mib"] > 0
    assert "get_case_ms" in report["growth_p99_first_to_last"]
