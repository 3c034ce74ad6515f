"""A bounded, thread-safe cache of model plans: what planning a model on meta yields (its meta
twin, how to build it, its module tree), keyed by everything the plan depends on.

Planning an architecture costs more than a small model's whole run (resnet18: building it on
meta and walking it with hooks took ~100 ms of a 180 ms request) and depends only on the
request's model, the input's shape and dtype, the mode, the computation's dtype and the limits,
so equal requests plan once. A plan is only read after it is made: callers must not change it.
Only plans that succeeded are kept, so a refused request is refused again, with the same
problem, every time.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PLANS = 32


class PlanCache(Generic[T]):
    """The `MAX_PLANS` plans used last, by key."""

    def __init__(self, size: int = MAX_PLANS) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, T] = OrderedDict()
        self.lock = threading.Lock()

    def planned(self, key: Hashable, plan: Callable[[], T]) -> T:
        """The plan under `key`, made by `plan()` the first time (outside the lock: two threads
        may both make it; either result is the same)."""
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
                return hit
        made = plan()
        with self.lock:
            self.items[key] = made
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return made

    def clear(self) -> None:
        """Forget every plan (tests)."""
        with self.lock:
            self.items.clear()
