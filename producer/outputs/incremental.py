"""Incremental runs: reuse the hash of a file whose size and mtime are unchanged since a previous output.

The previous output (`--index OLD.sqlite`, .csv or .jsonl) is looked up by path; the producer compares each
walked file's size and mtime (whole seconds, as the worker recorded them) with its record: a local file's
from one stat (only in incremental runs), an `s3://` object's from the listing (Size and LastModified,
producer/listed.py; no request per object). Only new or changed files are sent to the workers.

A CSV, JSON lines or Parquet index is copied, streamed, into a scratch SQLite file (in the temporary folder, removed on
close) and looked up there by its path index, like a SQLite index: the producer's memory stays flat whatever
the size of the previous output (a dict of 10 million records would take gigabytes).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from producer.listed import size_and_mtime
from producer.outputs.formats import Record, output_format, write_records
from producer.outputs.reader import SqliteOutput, read_records
from tasks.errors import ConfigError
from tasks.image.algos import algo_bytes, parse_algos


class Index:
    """path -> the Record of each file a previous run hashed with the same algorithms and hash size."""

    def __init__(self, path: str, algo: str, hash_size: int):
        if not os.path.isfile(path):
            raise ConfigError(f"index {path!r} does not exist")
        self.algos = parse_algos(algo)
        self.hex_lens = [2 * algo_bytes(a, hash_size) for a in self.algos]
        self._output: SqliteOutput | None = None
        self._scratch: str | None = None
        if output_format(path) == ".sqlite":
            self._output = SqliteOutput(path)
            meta = self._output.meta()
            if meta.get("algo") != ",".join(self.algos) or meta.get("hash_size") != str(hash_size):
                self._output.close()
                raise ConfigError(f"index {path!r} holds {meta.get('algo')}/{meta.get('hash_size')} hashes, "
                                  f"this run asks for {','.join(self.algos)}/{hash_size}")
        else:  # csv/jsonl/parquet carry no metadata: each record's columns and hash lengths are checked as copied
            self._scratch = tempfile.mkdtemp(prefix="hashfleet-index-")
            try:
                scratch = os.path.join(self._scratch, "index.sqlite")
                write_records(scratch, filter(self._complete, read_records(path)),
                              {"algo": ",".join(self.algos), "hash_size": str(hash_size)})
                self._output = SqliteOutput(scratch)
            except BaseException:
                self.close()
                raise

    def _complete(self, r: Record) -> bool:
        hexes = (r.hash, *r.more)
        return (r.size is not None and r.mtime is not None and len(hexes) == len(self.algos)
                and [len(h) for h in hexes] == self.hex_lens)

    def lookup(self, path: str) -> Record | None:
        record = self._output.record_of(path)
        return record if record is not None and self._complete(record) else None

    def unchanged(self, path: str) -> Record | None:
        """The index's record of `path` when the file or object still has that size and mtime, else None."""
        known = self.lookup(path)
        if known is None:
            return None
        return known if size_and_mtime(path) == (known.size, known.mtime) else None

    def close(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
