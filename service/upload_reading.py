"""Reading an uploaded file within a byte limit, in chunks, so an oversized file is refused
after `limit` bytes rather than held whole."""

from collections.abc import Callable
from typing import BinaryIO

from service.errors import ProblemError

CHUNK = 64 * 1024


def read_within(
    file: BinaryIO,
    limit: int,
    too_large: Callable[[], ProblemError],
    empty: Callable[[], ProblemError],
) -> bytes:
    """The bytes of `file`, read in chunks: `too_large()` is raised as soon as more than `limit`
    bytes came, `empty()` when none did."""
    parts: list[bytes] = []
    total = 0
    while chunk := file.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise too_large()
        parts.append(chunk)
    if total == 0:
        raise empty()
    return b"".join(parts)
