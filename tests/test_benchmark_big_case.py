"""The big case benchmark (bench/big_case.py), scaled down on a stack of its own: it still reports what
docs/performance.md reads from it (no figure is judged here)."""

import pytest

from bench import big_case
from bench.floor import STEPS

SMOKE = big_case.Size(evidence=6, people=3, statements=4, supplements=2, corrections=1, subjects=2, packet_versions=2)
SMALL = big_case.Size(evidence=1, people=1, statements=1, supplements=1, corrections=1, subjects=2, packet_versions=2)

# The case continues as new sooner than Temporal would suggest it, and once quiet for 0.2 s (the suite's quiet period),
# so that the report's account of it is read.
RUNS = {
    "big_case": lambda: big_case.main_async(
        SMOKE, reads_n=5, small_cases=1, small=SMALL, continue_after_events=150, quiet_seconds=0.2
    )
}


def _timed(entry: dict, n: int) -> None:
    assert entry["n"] == n and 0 < entry["p50"] <= entry["p99"] <= entry["max"], entry


@pytest.mark.stack_run("big_case")
async def test_the_big_case_benchmark_reports_steps_reads_packets_history_and_memory(report):
    assert report["size"] == big_case.asdict(SMOKE) and report["small_case"]["cases"] == 1

    steps = report["steps_ms"]
    # Every step of the lifecycle, the filing and each growing one, measured on both cases.
    assert {
        "file",
        "evidence",
        "people",
        "supplements",
        "held-subject-review",
        *STEPS,
    } == set(steps)  # STEPS: the lifecycle's steps, bench/floor.py's names
    for operation, entry in steps.items():
        assert entry["big"]["n"] >= 1 and entry["small"]["n"] >= 1, operation
        assert entry["ratio"] == round(entry["big"]["p50"] / entry["small"]["p50"], 2)
    _timed(steps["evidence"]["big"], 6)
    _timed(steps["people"]["big"], 3)
    _timed(steps["supplements"]["big"], 2)

    reads = report["reads"]
    _timed(reads["api_case_read_ms"], 5)
    _timed(reads["desk_case_page_ms"], 5)
    assert reads["api_bytes"] > 0 and reads["desk_bytes"] > 0

    # Two packet versions: at the approval, and when the held subject was referred.
    versions = report["packet"]["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["made_by"] for v in versions] == ["command-approval", "held-subject-review"]
    for version in versions:
        assert version["docx_bytes"] > 0 and version["render_seconds"] > 0
        assert version["word_and_pdf_seconds"] >= version["render_seconds"] > 0
        assert version["stored_seconds_after_the_answer"] >= 0
        assert (version["pdf_bytes"] is None) is (not report["pdf"])

    runs = report["history"]["runs"]
    assert report["continue_after_events"] == 150 and report["history"]["continued_as_new"] is True
    assert len(runs) > 1 and all(run["events"] > 0 and run["bytes"] > 0 for run in runs)
    for run, following in zip(runs, runs[1:]):
        # Each run but the last handed the case on; the next one started with what it carried.
        handed = run["continued_as_new"]
        assert handed["input_bytes"] == following["started_input_bytes"] > 0
        assert handed["of_the_2mb_limit"] == round(handed["input_bytes"] / big_case.PAYLOAD_LIMIT, 4)
        assert handed["after"] in report["steps_ms"] and handed["after_operations"] > 0
        assert handed["operations_until_2mb_at_that_rate"] > 0
    assert "continued_as_new" not in runs[-1]
    payloads = report["payloads"]
    assert 0 < payloads["largest_payload_bytes"] <= payloads["largest_event_bytes"]
    assert payloads["largest_payload_bytes"] == max(run["largest_payload"]["bytes"] for run in runs)
    assert payloads["continue_as_new_input_bytes"] == [run["continued_as_new"]["input_bytes"] for run in runs[:-1]]
    carried = payloads["carried_estimate"]
    assert carried["audit_events"] > 0 and carried["case_may_grow_times"] > 1 and carried["parts"]
    # A run hands on the case and its chain's head, whatever the length of its trail: the first handover and the last
    # differ by what the case gained between them, far less than the events recorded meanwhile.
    handed = payloads["continue_as_new_input_bytes"]
    assert handed[-1] - handed[0] < carried["audit_events_json_bytes"] / 2

    memory = report["worker_rss"]
    assert memory["samples"] > 0 and memory["peak_mib"] >= memory["at_start_mib"] > 0
    assert memory["with_children_peak_mib"] >= memory["peak_mib"]

    assert all(isinstance(target["ok"], bool) for target in report["targets"].values())


def test_a_lifecycle_steps_p50_is_over_the_big_cases_and_the_last_tenth_is_each_cases_own():
    first = big_case.Timings(seconds={"legal-review": [0.2], "evidence": [0.1] * 18 + [0.4, 0.4]})
    second = big_case.Timings(seconds={"legal-review": [0.4], "evidence": [0.2] * 18 + [0.6, 0.6]})
    small = big_case.Timings(seconds={"legal-review": [0.15, 0.15], "evidence": [0.1]})

    steps = big_case._steps([first, second], small)

    assert steps["legal-review"]["big"] == {"n": 2, "p50": 300.0, "p99": 400.0, "max": 400.0}
    assert steps["legal-review"]["ratio"] == 2.0 and "big_last_tenth" not in steps["legal-review"]
    assert steps["evidence"]["big"]["n"] == 40 and steps["evidence"]["big"]["p50"] == 200.0
    # The last two of each case's twenty: not the second case's last four.
    assert steps["evidence"]["big_last_tenth"] == {"n": 4, "p50": 500.0, "p99": 600.0, "max": 600.0}
