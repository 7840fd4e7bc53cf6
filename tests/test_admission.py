"""Deadline-aware admission on its own: the service estimate fitted from fake batch durations,
and the decisions it leads to (no clock, no threads, no sleeps)."""

from __future__ import annotations

import math
import random

import pytest

from fastpitch_tpu.server.admission import Admission, Backlog, ServiceEstimate


def fed(fixed: float, per_char: float, sizes: list[int], jobs: int = 4) -> ServiceEstimate:
    est = ServiceEstimate()
    for chars in sizes:
        est.observe(jobs, chars, fixed + per_char * chars)
    return est


def test_nothing_is_predicted_before_a_batch_is_measured() -> None:
    est = ServiceEstimate()
    assert not est.measured and est.chars_per_second(16) == 0.0
    admission = Admission(16, estimate=est)
    assert admission.expected_wait(Backlog(200, 20_000), 1, 100) is None
    decision = admission.decide(Backlog(200, 20_000), 1, 100, budget_s=0.001)
    assert decision.admit and decision.expected_s is None


def test_both_parts_are_recovered_from_batches_of_different_sizes() -> None:
    est = fed(0.2, 0.001, [100, 400, 1600, 800, 200, 1200] * 3)
    fixed, per_char = est.parts
    assert fixed == pytest.approx(0.2, rel=1e-6)
    assert per_char == pytest.approx(0.001, rel=1e-6)
    assert est.batch_seconds(1000) == pytest.approx(1.2)


def test_batches_of_one_size_give_a_time_proportional_to_the_characters() -> None:
    est = fed(0.2, 0.001, [1000] * 10)
    assert est.parts == (0.0, pytest.approx(0.0012))
    assert est.batch_seconds(1000) == pytest.approx(1.2)  # exact where it was measured


def test_noisy_durations_still_predict_the_usual_batch() -> None:
    rng = random.Random(3)
    est = ServiceEstimate()
    for _ in range(300):
        chars = rng.randint(200, 1600)
        est.observe(8, chars, (0.1 + 0.002 * chars) * rng.uniform(0.9, 1.1))
    assert est.batch_seconds(900) == pytest.approx(0.1 + 0.002 * 900, rel=0.1)
    assert est.chars_per_job == pytest.approx(900 / 8, rel=0.1)


def test_the_spread_measures_how_far_off_the_predictions_were() -> None:
    assert fed(0.2, 0.001, [100, 400, 1600, 800] * 5).spread == pytest.approx(0.0, abs=1e-9)
    rng = random.Random(5)
    est = ServiceEstimate()
    for _ in range(400):  # the same batch, its time 1 s or 1.5 s at random
        est.observe(4, 400, rng.choice([1.0, 1.5]))
    # Predicting about 1.25 s, each batch is off by about a fifth.
    assert est.spread == pytest.approx(0.2, abs=0.05)


def test_a_wandering_pace_makes_admission_more_careful() -> None:
    steady = fed(0.0, 0.01, [100, 400, 1000] * 10)
    wandering = ServiceEstimate()
    for chars in [100, 400, 1000] * 10:
        wandering.observe(4, chars, 0.01 * chars * (1.5 if chars == 400 else 0.75))
    backlog = Backlog(queued_jobs=4, queued_chars=900)
    for est, admitted in ((steady, True), (wandering, False)):
        expected = Admission(4, headroom=1.0, estimate=est).expected_wait(backlog, 1, 100)
        assert expected is not None and 7.0 < expected < 13.0
        decision = Admission(4, headroom=1.0, estimate=est).decide(backlog, 1, 100, 15.0)
        assert decision.admit is admitted
    assert Admission(4, headroom=1.0, caution=0.0, estimate=wandering).decide(
        backlog, 1, 100, 15.0).admit


def test_the_estimate_follows_a_lasting_change_and_forgets_the_old_pace() -> None:
    est = fed(0.0, 0.001, [500, 1000] * 20)
    for _ in range(60):
        est.observe(4, 1000, 3.0)  # three times slower from now on
    assert est.batch_seconds(1000) == pytest.approx(3.0, rel=0.1)


def test_one_stall_moves_the_estimate_by_a_bounded_amount() -> None:
    est = fed(0.0, 0.001, [1000] * 20)
    est.observe(4, 1000, 120.0)  # a compile or a pause of the process
    assert est.batch_seconds(1000) < 1.0 * 4
    for _ in range(40):
        est.observe(4, 1000, 1.0)
    assert est.batch_seconds(1000) == pytest.approx(1.0, rel=0.05)


def test_a_first_batch_of_no_measurable_time_does_not_pin_the_estimate() -> None:
    est = ServiceEstimate()
    est.observe(1, 100, 0.0)
    for _ in range(60):
        est.observe(1, 100, 1.0)
    assert est.batch_seconds(100) == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize(("jobs", "chars", "seconds"),
                         [(0, 100, 1.0), (2, 0, 1.0), (2, 100, -1.0), (2, 100, math.nan)])
def test_meaningless_observations_are_ignored(jobs: int, chars: int, seconds: float) -> None:
    est = ServiceEstimate()
    est.observe(jobs, chars, seconds)
    assert not est.measured


def test_expected_wait_counts_the_running_batch_and_the_batches_ahead() -> None:
    admission = Admission(4, estimate=fed(0.5, 0.01, [100, 400, 200, 800]))
    # Idle device, empty queue: the request's own batch.
    assert admission.expected_wait(Backlog(), 1, 100) == pytest.approx(1.5)
    # 6 queued (two batches with the new one: 0.5 each), 600 characters ahead plus 100 own,
    # and a batch of 300 characters (3.5 s) running for 1 s.
    backlog = Backlog(queued_jobs=6, queued_chars=600, running_jobs=4, running_chars=300,
                      running_for=1.0)
    assert admission.expected_wait(backlog, 1, 100) == pytest.approx(2.5 + 2 * 0.5 + 7.0)
    # A running batch past its prediction is counted as about to end.
    late = Backlog(running_jobs=1, running_chars=100, running_for=10.0)
    assert admission.expected_wait(late, 1, 100) == pytest.approx(1.5)


def test_a_request_that_would_miss_its_deadline_is_refused_with_a_retry_time() -> None:
    admission = Admission(4, headroom=1.0, estimate=fed(0.0, 0.01, [100, 400, 1000]))
    backlog = Backlog(queued_jobs=20, queued_chars=2000)  # 20 s of work ahead
    assert admission.decide(backlog, 1, 100, budget_s=60).admit
    refused = admission.decide(backlog, 1, 100, budget_s=15)
    assert not refused.admit and refused.expected_s == pytest.approx(21.0)
    assert refused.retry_after_s == 6  # 21 s of work against 15 s: ready in 6 s


def test_the_headroom_keeps_a_share_of_the_time_left_in_reserve() -> None:
    admission = Admission(4, headroom=0.5, estimate=fed(0.0, 0.01, [100, 400, 1000]))
    backlog = Backlog(queued_jobs=4, queued_chars=900)  # 10 s with the new request
    assert not admission.decide(backlog, 1, 100, budget_s=15).admit
    assert admission.decide(backlog, 1, 100, budget_s=20.5).admit


def test_with_nothing_ahead_a_request_is_admitted_whatever_the_estimate() -> None:
    admission = Admission(4, estimate=fed(0.0, 1.0, [100, 400]))  # 100 s per request
    assert admission.decide(Backlog(), 1, 100, budget_s=1).admit
    busy = Backlog(running_jobs=1, running_chars=100)
    assert not admission.decide(busy, 1, 100, budget_s=1).admit


def test_several_requests_are_judged_together() -> None:
    admission = Admission(2, headroom=1.0, estimate=fed(1.0, 0.0, [100, 100]))
    backlog = Backlog(queued_jobs=1, queued_chars=50)
    assert admission.decide(backlog, 1, 50, budget_s=1).admit  # one batch of two
    assert not admission.decide(backlog, 3, 150, budget_s=1).admit  # two batches


def test_retry_after_is_whole_seconds_within_bounds() -> None:
    slow = Admission(4, default_retry_s=2, estimate=fed(0.0, 10.0, [100, 200]))
    refused = slow.decide(Backlog(queued_jobs=100, queued_chars=100_000), 1, 10, budget_s=1)
    assert refused.retry_after_s == Admission.MAX_RETRY_AFTER_S
    fast = Admission(4, default_retry_s=2, estimate=fed(0.0, 1e-5, [100, 200]))
    assert fast.drain_retry_after(Backlog(queued_jobs=8, queued_chars=800)) == 2
    assert Admission(4, default_retry_s=3).drain_retry_after(Backlog(5, 500)) == 3


def test_a_full_queue_is_told_when_the_running_batch_ends() -> None:
    admission = Admission(4, estimate=fed(0.0, 0.01, [100, 1000]))
    running = Backlog(queued_jobs=10, queued_chars=1000, running_jobs=4, running_chars=500,
                      running_for=1.2)
    assert admission.drain_retry_after(running) == 4  # 5 s batch, 1.2 s done
    idle = Backlog(queued_jobs=10, queued_chars=1000)
    # Nothing running: one batch of the usual requests (4 × the mean chars per job).
    assert admission.drain_retry_after(idle) == math.ceil(
        admission.estimate.batch_seconds(4 * admission.estimate.chars_per_job))


def test_service_rate_of_full_batches() -> None:
    est = ServiceEstimate()
    for jobs in (2, 4, 8, 4):  # 100 characters a request, 1 s a batch of any size
        est.observe(jobs, 100 * jobs, 1.0)
    assert est.chars_per_second(16) == pytest.approx(1600.0)
    # Time proportional to the characters (one batch size seen): the rate measured there.
    assert fed(0.0, 0.01, [400, 400]).chars_per_second(16) == pytest.approx(100.0)


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ServiceEstimate(decay=1.0)
    with pytest.raises(ValueError):
        Admission(0)
    with pytest.raises(ValueError):
        Admission(4, headroom=0.0)
    with pytest.raises(ValueError):
        Admission(4, caution=-1.0)
