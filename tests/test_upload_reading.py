"""service/upload_reading.py: an upload is read in chunks and refused as soon as it is over."""

import io

import pytest

from service.errors import ProblemError
from service.upload_reading import CHUNK, read_within


class Counting(io.BytesIO):
    """A file that counts the bytes handed out."""

    handed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.handed += len(data)
        return data


def _over() -> ProblemError:
    return ProblemError(413, "too-large", "over")


def _empty() -> ProblemError:
    return ProblemError(422, "empty", "empty")


def test_a_file_up_to_the_limit_is_read_whole() -> None:
    data = bytes(range(256)) * 1000
    assert read_within(io.BytesIO(data), len(data), _over, _empty) == data


def test_a_file_over_the_limit_is_refused_after_one_chunk_past_it() -> None:
    file = Counting(b"x" * (10 * CHUNK))
    with pytest.raises(ProblemError) as info:
        read_within(file, CHUNK + 1, _over, _empty)
    assert info.value.status == 413
    assert file.handed == 2 * CHUNK  # not the 10 chunks the file holds


def test_an_empty_file_is_the_empty_problem() -> None:
    with pytest.raises(ProblemError) as info:
        read_within(io.BytesIO(b""), 10, _over, _empty)
    assert info.value.status == 422
