"""The collector paused for a snapshot's count, and as it was afterwards, whatever happened meanwhile."""

import gc

import pytest

from referrals import heap


def test_the_collector_is_paused_meanwhile_and_running_again_after():
    assert gc.isenabled()
    with heap.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_runs_again_after_a_failure():
    with pytest.raises(RuntimeError), heap.paused():
        raise RuntimeError("the count failed")
    assert gc.isenabled()


def test_a_collector_paused_before_stays_paused():
    gc.disable()
    try:
        with heap.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # whoever paused it first starts it again
    finally:
        gc.enable()
