""".npy files read and written in parts: a row, sorted rows, or an array saved chunk by
chunk. A reduce over millions of documents reads exactly the rows it needs, with plain
reads instead of memory maps, so its memory is what it asked for."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np


def header(handle: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a C-order .npy file; leaves `handle` at the first value."""
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
        np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(handle)
    assert not fortran, "arrays are saved in C order"
    return shape, dtype


def shape(path: Path) -> tuple[int, ...]:
    with open(path, "rb") as handle:
        return header(handle)[0]


def read_row(path: Path, row: int, out: np.ndarray) -> None:
    """Row `row` of a 2-D .npy file into `out`, with one seek and one read."""
    with open(path, "rb") as handle:
        shape, dtype = header(handle)
        assert dtype == out.dtype and shape[1] == len(out), f"{path}: unexpected {shape}"
        handle.seek(row * shape[1] * dtype.itemsize, 1)
        if handle.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise OSError(f"{path}: truncated")


def read_rows(path: Path, rows: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Sorted rows of a 2-D .npy file, read in sequential chunks of `chunk` rows."""
    with open(path, "rb") as handle:
        shape, dtype = header(handle)
        data_start = handle.tell()
        width = shape[1] * dtype.itemsize
        out = np.empty((len(rows), shape[1]), dtype=dtype)
        block = rows // chunk
        cuts = np.flatnonzero(np.diff(block, prepend=-1))
        for low, high in zip(cuts, [*cuts[1:], len(rows)], strict=True):
            first = int(block[low]) * chunk
            count = min(chunk, shape[0] - first)
            handle.seek(data_start + first * width)
            values = np.fromfile(handle, dtype=dtype, count=count * shape[1])
            out[low:high] = values.reshape(count, shape[1])[rows[low:high] - first]
        return out


def save_rows(path: Path, chunks: list[np.ndarray], row_shape: tuple[int, ...],
               dtype: type) -> None:
    """np.save of the row-wise concatenation of `chunks`, without building it."""
    shape = (sum(len(c) for c in chunks), *row_shape)
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": shape})
        for chunk in chunks:
            handle.write(np.ascontiguousarray(chunk, dtype=dtype).data)
