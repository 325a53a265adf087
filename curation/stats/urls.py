"""Host names from a URL column, with Arrow string kernels only.

A regular expression (`extract_regex`) costs several times more per URL, and a Python
scalar passed to a kernel (`list_element(x, 0)`) makes pyarrow import pandas on first use,
a cost paid in every worker process; elements are taken by list offsets instead."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.stats.measure import bools, numbers


def domains(urls: pa.Array) -> pa.Array:
    """Host names of URLs, lower-cased, without scheme, user, port or a leading `www.`;
    null where there is none. String kernels only (a regex costs several times more)."""
    if pa.types.is_dictionary(urls.type):
        urls = urls.cast(pa.string())
    rest = _last(pc.split_pattern(urls, "://", max_splits=1))  # drop a scheme
    rest = pc.if_else(pc.starts_with(rest, "//"), pc.utf8_slice_codeunits(rest, 2), rest)
    for separator in ("/", "?", "#"):
        rest = _first(rest, separator)
    user = pc.match_substring(rest, "@")
    if pc.any(user).as_py():
        rest = pc.if_else(user, _last(pc.split_pattern(rest, "@")), rest)
    rest = pc.utf8_lower(_first(rest, ":"))
    rest = pc.if_else(pc.starts_with(rest, "www."), pc.utf8_slice_codeunits(rest, 4), rest)
    empty = np.nan_to_num(numbers(pc.binary_length(rest))) == 0
    return pc.if_else(bools(empty), pa.nulls(len(rest), rest.type), rest) if empty.any() \
        else rest


def _first(strings: pa.Array, separator: str) -> pa.Array:
    """The part of each string before the first `separator` (all of it if none)."""
    return _element(pc.split_pattern(strings, separator, max_splits=1), last=False)


def _last(lists: pa.Array) -> pa.Array:
    return _element(lists, last=True)


def _element(lists: pa.Array, last: bool) -> pa.Array:
    """The first or last element of each list (null for a null or empty list), taken by
    offsets: no Python scalar crosses into Arrow (see `measure.numbers`)."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    offsets = numbers(lists.offsets)  # index into lists.values, also when sliced
    index = offsets[1:] - 1 if last else offsets[:-1]
    missing = offsets[1:] <= offsets[:-1]
    if lists.null_count:
        missing |= numbers(lists.is_null()).astype(bool)
    if missing.all():
        return pa.nulls(len(index), lists.type.value_type)
    values = lists.values.take(pa.Array.from_buffers(
        pa.int64(), len(index),
        [None, pa.py_buffer(np.where(missing, 0, index).astype(np.int64))]))
    return pc.if_else(bools(missing), pa.nulls(len(index), values.type), values) \
        if missing.any() else values
