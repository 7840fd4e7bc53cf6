"""Deadline-aware admission: whether a new request can be answered before its deadline, judged
from what the device has been measured to take.

Each batcher (one per voice) keeps a :class:`ServiceEstimate`: the seconds one device batch
takes, modelled as ``fixed + per_char × characters`` and fitted by least squares over the
batches it has run, older batches weighing exponentially less. The fixed part is what a batch
costs whatever it holds (most of a GPU's time), the per-character part what grows with the text
(most of a CPU's). :meth:`Admission.expected_wait` turns the work queued ahead of a request (and
the batch on the device) into the seconds until that request would be done;
:meth:`Admission.decide` admits it when that fits its deadline, and otherwise says when to retry.

Nothing here reads a clock: callers pass the times, so tests drive it with fake ones.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

__all__ = ["Admission", "Backlog", "Decision", "ServiceEstimate"]


class ServiceEstimate:
    """Seconds per device batch as ``fixed + per_char × chars``, by exponentially weighted
    least squares over the batches observed (``decay``: the weight left to a batch after each
    newer one). Safe to observe from the device thread while another thread predicts."""

    def __init__(self, decay: float = 0.95, clamp: float = 4.0) -> None:
        if not 0.0 < decay < 1.0 or clamp <= 1.0:
            raise ValueError("decay must be in (0, 1) and clamp above 1")
        self.decay = decay
        self.clamp = clamp
        self._lock = threading.Lock()
        self._sums = [0.0] * 5  # weight, x, y, x², xy (x: characters, y: seconds)
        self._chars_per_job = 0.0
        self._error2 = 0.0
        self.batches = 0
        """Batches observed so far."""
        self._parts = (0.0, 0.0)

    @property
    def measured(self) -> bool:
        """At least one batch has been observed (before that nothing is predicted)."""
        return self.batches > 0

    @property
    def parts(self) -> tuple[float, float]:
        """(fixed seconds per batch, seconds per character)."""
        return self._parts

    def batch_seconds(self, chars: float) -> float:
        fixed, per_char = self._parts
        return fixed + per_char * chars

    @property
    def spread(self) -> float:
        """How far off the predictions of the batches have been: the root mean square of
        (measured / predicted − 1), weighted as the batches are (0 until three are observed)."""
        return math.sqrt(self._error2)

    def observe(self, jobs: int, chars: int, seconds: float) -> None:
        """A batch of ``jobs`` requests holding ``chars`` characters took ``seconds``."""
        if jobs < 1 or chars < 1 or not math.isfinite(seconds) or seconds < 0:
            return
        with self._lock:
            expected = self.batch_seconds(chars)
            if self.batches and expected > 0:
                # One stall (a compile, the process paused) must not make the server refuse
                # work for minutes: a batch counts at most ``clamp`` times its prediction. A
                # lasting change still comes through, the prediction moving each batch.
                seconds = min(max(seconds, expected / self.clamp), expected * self.clamp)
                # From the third batch on: two are needed to tell the two parts apart, and the
                # first predictions' errors are the model's, not the device's.
                if self.batches >= 2:
                    miss = (seconds / expected - 1.0) ** 2
                    self._error2 = (miss if self.batches == 2
                                    else self.decay * self._error2 + (1 - self.decay) * miss)
            d = self.decay
            w, x, y, xx, xy = self._sums
            self._sums = [d * w + 1, d * x + chars, d * y + seconds, d * xx + chars * chars,
                          d * xy + chars * seconds]
            per_job = chars / jobs
            self._chars_per_job = (per_job if not self.batches
                                   else d * self._chars_per_job + (1 - d) * per_job)
            self.batches += 1
            self._parts = self._fit()

    def _fit(self) -> tuple[float, float]:
        w, x, y, xx, xy = self._sums
        mean_x, mean_y = x / w, y / w
        var = xx / w - mean_x * mean_x
        # Only batches of clearly different sizes tell the two parts apart; otherwise (and
        # when the line would cost less than nothing somewhere) time is taken as proportional
        # to the characters, which predicts batches like the ones seen equally well.
        if var > (0.1 * mean_x) ** 2:
            slope = (xy / w - mean_x * mean_y) / var
            fixed = mean_y - slope * mean_x
            if slope >= 0 and fixed >= 0:
                return fixed, slope
            if slope < 0:
                return mean_y, 0.0
        return 0.0, y / x

    def chars_per_second(self, max_batch: int) -> float:
        """Characters per second in full batches of requests of the usual length (0 before
        any measurement): the service rate."""
        chars = max_batch * self._chars_per_job
        seconds = self.batch_seconds(chars)
        return chars / seconds if seconds > 0 else 0.0

    @property
    def chars_per_job(self) -> float:
        """The usual length of a request (characters, weighted as the batches are)."""
        return self._chars_per_job


@dataclass(frozen=True)
class Backlog:
    """The work ahead of a new request on one device."""

    queued_jobs: int = 0
    queued_chars: int = 0
    running_jobs: int = 0
    """Requests in the batch on the device now (0: idle)."""
    running_chars: int = 0
    running_for: float = 0.0
    """Seconds since that batch began."""

    @property
    def empty(self) -> bool:
        return self.queued_jobs == 0 and self.running_jobs == 0


@dataclass(frozen=True)
class Decision:
    admit: bool
    expected_s: float | None
    """Seconds until the request would be done (None before any measurement)."""
    retry_after_s: int
    """For a refusal: when the work ahead will have drained enough (whole seconds, ≥ 1)."""


class Admission:
    """Admits a request when the work ahead of it and its own fit ``headroom`` of its time
    left, the expected time raised by ``caution`` times the estimate's :attr:`spread
    <ServiceEstimate.spread>`. Requests are taken in order in batches of up to ``max_batch``."""

    MAX_RETRY_AFTER_S = 300

    def __init__(self, max_batch: int, *, headroom: float = 0.85, caution: float = 2.0,
                 estimate: ServiceEstimate | None = None, default_retry_s: int = 1) -> None:
        if max_batch < 1 or not 0.0 < headroom <= 1.0 or caution < 0:
            raise ValueError("max_batch must be positive, headroom in (0, 1], caution >= 0")
        self.max_batch = max_batch
        # Below 1: what the estimate cannot see (the mix of texts ahead changing, the HTTP
        # work around the device) is paid from this share, not by a 504.
        self.headroom = headroom
        # Where the device's pace wanders (other work on the machine, texts whose cost the
        # characters do not tell), the wait is judged that much longer: a request admitted
        # on a quiet moment still makes its deadline when the pace drops.
        self.caution = caution
        self.estimate = estimate or ServiceEstimate()
        self.default_retry_s = default_retry_s

    def expected_wait(self, backlog: Backlog, jobs: int = 1, chars: int = 0) -> float | None:
        """Seconds until ``jobs`` new requests of ``chars`` characters in all, queued behind
        ``backlog``, would be done (None before any measurement)."""
        est = self.estimate
        if not est.measured:
            return None
        fixed, per_char = est.parts
        running = 0.0
        if backlog.running_jobs:
            running = max(0.0, est.batch_seconds(backlog.running_chars) - backlog.running_for)
        batches = -(-(backlog.queued_jobs + jobs) // self.max_batch)
        return running + batches * fixed + per_char * (backlog.queued_chars + chars)

    def decide(self, backlog: Backlog, jobs: int, chars: int, budget_s: float) -> Decision:
        """Admit ``jobs`` requests of ``chars`` characters with ``budget_s`` seconds left?

        Admitted at once with nothing ahead (there is no sooner chance to serve them, and it
        is how the estimate learns) and before any measurement (the queue limit alone holds)."""
        expected = self.expected_wait(backlog, jobs, chars)
        if expected is None or backlog.empty:
            return Decision(True, expected, 0)
        judged = expected * (1.0 + self.caution * self.estimate.spread)
        if judged <= self.headroom * budget_s:
            return Decision(True, expected, 0)
        return Decision(False, expected, self._seconds(judged - self.headroom * budget_s))

    def drain_retry_after(self, backlog: Backlog) -> int:
        """For a full queue: when one batch will have left it (the running one, or the next)."""
        est = self.estimate
        if not est.measured:
            return self.default_retry_s
        wait = est.batch_seconds(est.chars_per_job * min(self.max_batch, backlog.queued_jobs))
        if backlog.running_jobs:
            wait = max(0.0, est.batch_seconds(backlog.running_chars) - backlog.running_for)
        return self._seconds(wait)

    def _seconds(self, wait: float) -> int:
        # Rounded up, but rounding noise of the fit (1e-16 s) does not add a second.
        whole = math.ceil(wait - 1e-6)
        return int(min(self.MAX_RETRY_AFTER_S, max(self.default_retry_s, whole)))
