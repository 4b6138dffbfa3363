"""Parquet outputs (`-o index.parquet`, needs the optional pyarrow: `pip install 'hashfleet[parquet]'`).

Same columns as the other formats; integers as int64, hashes as hex strings, the job's metadata (algo,
hash_size, job) in the file's key-value metadata. A path that is not valid UTF-8 (Parquet strings must be)
is kept losslessly: `path` shows it with U+FFFD for the bad bytes and `path_raw` holds its exact bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from tasks.errors import ConfigError

#: Rows per Parquet row group written at once: bounded memory for any number of files.
ROW_GROUP = 100_000
#: Columns that hold integers (the rest are strings).
INTEGER_COLUMNS = ("size", "mtime", "quality", "width", "height")


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("Parquet output needs pyarrow: pip install 'hashfleet[parquet]'") from None
    return pa, pq


def write_parquet(path: str, rows: Iterable[tuple], names: tuple[str, ...], meta: dict[str, str]) -> int:
    """Write `rows` (tuples in the order of `names`, path first) in row groups; returns rows written."""
    pa, pq = _pyarrow()
    fields = [pa.field(n, pa.int64() if n in INTEGER_COLUMNS else pa.string()) for n in names]
    schema = pa.schema([*fields, pa.field("path_raw", pa.binary())], metadata=meta)
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= ROW_GROUP:
                count += _write_batch(pa, writer, schema, names, batch)
                batch = []
        count += _write_batch(pa, writer, schema, names, batch)
    return count


def _write_batch(pa, writer, schema, names, batch: list[tuple]) -> int:
    columns = [list(c) for c in zip(*batch, strict=True)] if batch else [[] for _ in names]
    paths = columns[0]
    raw = [None] * len(paths)
    for i, p in enumerate(paths):
        try:
            p.encode("utf-8")
        except UnicodeEncodeError:
            raw[i] = os.fsencode(p)
            paths[i] = raw[i].decode("utf-8", "replace")
    columns = [[None if v == "" and n not in ("path", "error") else v for v in c] for n, c in zip(names, columns,
                                                                                                  strict=True)]
    writer.write_table(pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip([*columns, raw], schema,
                                                                                   strict=True)], schema=schema))
    return len(batch)


def parquet_rows(path: str) -> Iterator[dict]:
    """The rows of a Parquet output as stored, as dicts (None for missing values; `path_raw` holds the
    exact bytes of a path that is not UTF-8, producer/outputs/reader.py decodes it)."""
    _, pq = _pyarrow()
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP):
        yield from batch.to_pylist()
