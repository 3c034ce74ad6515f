"""A limiter for torch jobs: a few run at once, a bounded queue waits, the rest get 503.

Sized to the device (1 per GPU on CUDA, the CPU cores on CPU) unless configured. Waiting
happens on the event loop, not in a worker thread. Each job gets a deadline: the time it may
wait for a slot, and which the run checks between phases.
"""

import contextvars
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import torch

from service.errors import ProblemError

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "layerscope_deadline", default=None
)


def default_slots(device: torch.device) -> int:
    """Jobs to run at once on `device`: one per GPU, or one per CPU core."""
    if device.type == "cuda":
        return max(1, torch.cuda.device_count())
    return max(1, os.cpu_count() or 1)


def check_deadline(phase: str) -> None:
    """Raise 503 if the current request's deadline has passed (call between torch phases)."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise ProblemError(
            503,
            "deadline-exceeded",
            f"the request ran past its deadline before {phase}; retry with smaller shapes",
            title="Deadline exceeded",
            headers={"Retry-After": "1"},
            limit="deadline",
        )


class JobLimiter:
    """Counts running and waiting jobs; refuses past the queue bound or the deadline."""

    def __init__(
        self,
        slots: int,
        queue: int,
        timeout_s: float,
        on_reject: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.slots = slots
        self.queue = queue
        self.timeout_s = timeout_s
        self.on_reject = on_reject
        self.running = 0
        self.waiting = 0
        self._semaphore: anyio.Semaphore | None = None

    def _busy(self, reason: str, detail: str) -> ProblemError:
        self.on_reject(reason)
        return ProblemError(
            503,
            reason,
            detail,
            title="Service busy",
            headers={"Retry-After": "1"},
        )  # counted by on_reject already, so no `limit` here

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one job slot for the duration of the block (with the request's deadline set)."""
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.slots)
        deadline = time.monotonic() + self.timeout_s
        if self.running >= self.slots and self.waiting >= self.queue:
            raise self._busy(
                "queue-full",
                f"{self.running} jobs are running and {self.waiting} waiting, the most this "
                "service queues; retry after a second",
            )
        self.waiting += 1
        try:
            with anyio.fail_after(self.timeout_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise self._busy(
                "deadline-exceeded",
                f"no job slot came free within {self.timeout_s:g} s; retry later",
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        token = _deadline.set(deadline)
        try:
            yield
        finally:
            _deadline.reset(token)
            self.running -= 1
            self._semaphore.release()
