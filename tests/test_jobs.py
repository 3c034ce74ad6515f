"""The job limiter: slots, a bounded queue, 503 with Retry-After, deadlines."""

import anyio
import pytest

from service.errors import ProblemError
from service.jobs import JobLimiter, check_deadline, default_slots


def test_default_slots() -> None:
    import os

    import torch

    assert default_slots(torch.device("cpu")) == (os.cpu_count() or 1)


def test_queue_full_is_503_and_counted() -> None:
    rejected: list[str] = []
    limiter = JobLimiter(slots=1, queue=1, timeout_s=5, on_reject=rejected.append)
    outcomes: list[str] = []

    async def job(hold: anyio.Event) -> None:
        try:
            async with limiter.slot():
                outcomes.append("ran")
                await hold.wait()
        except ProblemError as err:
            assert err.status == 503
            assert err.headers["Retry-After"] == "1"
            outcomes.append(err.slug)

    async def main() -> None:
        hold = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(job, hold)
            await anyio.sleep(0.01)
            tg.start_soon(job, hold)  # waits in the queue
            await anyio.sleep(0.01)
            tg.start_soon(job, hold)  # queue full
            await anyio.sleep(0.01)
            assert (limiter.running, limiter.waiting) == (1, 1)
            hold.set()

    anyio.run(main)
    assert sorted(outcomes) == ["queue-full", "ran", "ran"]
    assert rejected == ["queue-full"]
    assert (limiter.running, limiter.waiting) == (0, 0)


def test_waiting_past_the_deadline_is_503() -> None:
    limiter = JobLimiter(slots=1, queue=4, timeout_s=0.05)

    async def main() -> str:
        hold = anyio.Event()

        async def holder() -> None:
            async with limiter.slot():
                await hold.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            await anyio.sleep(0.01)
            try:
                async with limiter.slot():
                    return "ran"
            except ProblemError as err:
                return err.slug
            finally:
                hold.set()
        return "unreachable"

    assert anyio.run(main) == "deadline-exceeded"


def test_check_deadline_inside_and_outside_a_slot() -> None:
    check_deadline("anything")  # no deadline outside a slot
    limiter = JobLimiter(slots=1, queue=0, timeout_s=0.01)

    async def main() -> None:
        async with limiter.slot():
            await anyio.sleep(0.03)
            with pytest.raises(ProblemError) as err:
                check_deadline("the backward pass")
            assert "before the backward pass" in err.value.detail

    anyio.run(main)
