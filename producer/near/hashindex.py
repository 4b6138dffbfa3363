"""A hashfleet output read back as arrays, for `dupes`, `search` and `report`: the hashed files' paths,
their 64-bit hashes per algorithm, quality, sizes, times and dimensions.

SQLite outputs name their algorithms in `meta` (the primary one is the `hash` column); CSV and JSON lines
carry no metadata, so there only the further algorithms' own columns (`phash`, `phash_centre`) are found.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from producer.outputs.formats import output_format
from producer.outputs.reader import SqliteOutput, further_columns, open_sqlite, read_records, row_columns, stored_path
from tasks.errors import ConfigError
from tasks.image.algos import DEFAULT_ALGOS, algo_bytes, column_name, hash_bytes, parse_algos

#: Hash size the near-duplicate join works on (64-bit hashes, one uint64 each), and its hex length.
JOIN_HASH_SIZE = 8
HEX_DIGITS = 2 * hash_bytes(JOIN_HASH_SIZE)
#: Value of an integer column (quality, size, dimensions) a file does not have.
MISSING = -1
#: Row ids per SQLite query when paths are read for a few files (SQLite's default variable limit is 32766).
SQLITE_PARAMS = 10_000


@dataclasses.dataclass
class HashIndex:
    """The hashed files of an output (errors left out), one array entry per file, in output order."""

    paths: list[str]
    hashes: dict[str, np.ndarray]  # algorithm -> uint64 (n,), or (n, words) for phash-regions, as asked for
    quality: np.ndarray  # int16, MISSING when not scored
    sizes: np.ndarray  # int64 bytes
    mtimes: np.ndarray  # int64 seconds
    widths: np.ndarray  # int64 pixels, MISSING when unknown
    heights: np.ndarray
    algos: tuple[str, ...]  # every algorithm the output holds that could be named (primary first if known)
    hash_size: int
    #: SQLite row ids of the files when their paths were not loaded (paths then empty: see :meth:`paths_of`)
    rowids: np.ndarray | None = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.quality)

    def paths_of(self, ids) -> list[str]:
        """The paths of the files at `ids`, loaded or read from the index now by row id."""
        if self.rowids is None:
            return [self.paths[i] for i in ids]
        wanted = [int(self.rowids[i]) for i in ids]
        db = open_sqlite(self.source)
        try:
            found = {}
            for start in range(0, len(wanted), SQLITE_PARAMS):
                batch = wanted[start:start + SQLITE_PARAMS]
                query = f"SELECT rowid, path FROM files WHERE rowid IN ({', '.join('?' * len(batch))})"
                found.update(db.execute(query, batch))
        finally:
            db.close()
        return [stored_path(found[r]) for r in wanted]


def hex_to_u64(hexes: list[str] | str) -> np.ndarray:
    """16-digit hex hashes (first bit most significant), a list or one concatenated string, as uint64."""
    return np.frombuffer(bytes.fromhex(hexes if isinstance(hexes, str) else "".join(hexes)), ">u8").astype(np.uint64)


def hashes_of(algo: str, hexes: list[str] | str, n: int) -> np.ndarray:
    """An algorithm's hashes of n files as uint64: (n,) for a 64-bit hash, (n, words) for a longer one."""
    values = hex_to_u64(hexes)
    words = algo_bytes(algo, JOIN_HASH_SIZE) // 8
    return values if words == 1 else values.reshape(n, words)


def load_index(path: str, need: tuple[str, ...], optional: tuple[str, ...] = (), with_paths: bool = True) -> HashIndex:
    """Read the files of output `path` that were hashed by every algorithm in `need`, and by those of
    `optional` the output has (ConfigError naming what to do when the output lacks a needed one, or holds
    hashes other than 64-bit ones). Without `with_paths`, a SQLite index leaves the paths on disk (a million
    of them take most of the loading time): ask :meth:`HashIndex.paths_of` for the ones needed."""
    if output_format(path) == ".sqlite":
        return _load_sqlite(path, need, optional, with_paths)
    return _load_rows(path, need, optional)


def _wanted(path: str, present: tuple[str, ...], need: tuple[str, ...], optional: tuple[str, ...]) -> tuple[str, ...]:
    """`need`, or ConfigError for the first one missing from `present`, then the `optional` ones present."""
    for algo in need:
        if algo not in present:
            raise _missing(path, algo)
    return need + tuple(a for a in optional if a in present and a not in need)


def _missing(path: str, algo: str) -> ConfigError:
    return ConfigError(f"{path} has no {algo} hashes: make it with `hashfleet run ... --algo "
                       f"{DEFAULT_ALGOS}` (the default), or pass a .sqlite output, which names its primary hash")


def _load_sqlite(path: str, need: tuple[str, ...], optional: tuple[str, ...], with_paths: bool) -> HashIndex:
    with SqliteOutput(path) as output:
        db, meta = output.db, output.meta()
        algos, hash_size = parse_algos(meta.get("algo") or "dhash"), int(meta.get("hash_size") or JOIN_HASH_SIZE)
        _check_size(path, hash_size)
        need = _wanted(path, algos, need, optional)
        hash_columns = ["hash" if algos.index(a) == 0 else column_name(a) for a in need]
        extras = [n if n in output.names else "NULL" for n in ("quality", "size", "mtime", "width", "height")]
        where = " AND ".join(f"{c} IS NOT NULL" for c in hash_columns) or "1"
        if not with_paths:
            return _load_sqlite_hashes(db, path, need, hash_columns, where, algos, hash_size)
        rows = db.execute(f"SELECT path, {', '.join(hash_columns + extras)} FROM files WHERE error = '' AND {where} "
                          f"ORDER BY rowid").fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * (1 + len(need) + len(extras))
    hashes = {a: hashes_of(a, list(columns[1 + i]), len(rows)) for i, a in enumerate(need)}
    return HashIndex([stored_path(p) for p in columns[0]], hashes, *_ints(columns[1 + len(need):]), algos, hash_size)


def _load_sqlite_hashes(db, path: str, need: tuple[str, ...], hash_columns: list[str], where: str,
                        algos: tuple[str, ...], hash_size: int) -> HashIndex:
    """Hashes, quality and row ids only, each column concatenated by SQLite into one hex string: a million
    rows load in about a second instead of several as Python tuples (the aggregates of one query see the
    rows in the same order, so the columns stay aligned)."""
    concat = [f"group_concat({c}, '')" for c in hash_columns]
    concat += ["group_concat(printf('%016x', rowid), '')", "group_concat(printf('%02x', coalesce(quality, 255)), '')"]
    row = db.execute(f"SELECT {', '.join(concat)} FROM files WHERE error = '' AND {where}").fetchone()
    *hexes, rowids, quality = [value or "" for value in row]
    quality = np.frombuffer(bytes.fromhex(quality), np.uint8).astype(np.int16)
    quality[quality == 255] = MISSING
    missing = np.full(len(quality), MISSING, np.int64)
    hashes = {a: hashes_of(a, h, len(quality)) for a, h in zip(need, hexes, strict=True)}
    return HashIndex([], hashes, quality, missing, missing, missing, missing, algos, hash_size,
                     hex_to_u64(rowids).astype(np.int64), path)


def _load_rows(path: str, need: tuple[str, ...], optional: tuple[str, ...]) -> HashIndex:
    found = tuple(_algo_of(c) for c in further_columns(row_columns(path)))
    need = _wanted(path, found, need, optional)
    paths, hexes, extras = [], {a: [] for a in need}, []
    where = [found.index(a) for a in need]
    widths = [2 * algo_bytes(a, JOIN_HASH_SIZE) for a in need]
    for r in read_records(path):
        if r.error or not r.hash or any(len(r.more[i]) != digits for i, digits in zip(where, widths, strict=True)):
            continue
        paths.append(r.path)
        for a, i in zip(need, where, strict=True):
            hexes[a].append(r.more[i])
        extras.append((r.quality, r.size, r.mtime, r.width, r.height))
    columns = list(zip(*extras, strict=True)) if extras else [()] * 5
    hashes = {a: hashes_of(a, h, len(paths)) for a, h in hexes.items()}
    return HashIndex(paths, hashes, *_ints(columns), found, JOIN_HASH_SIZE)


def _algo_of(column: str) -> str:
    return column.replace("_", "-")


def _ints(columns) -> list[np.ndarray]:
    """quality (int16), sizes, mtimes, widths, heights (int64), None as MISSING."""
    dtypes = (np.int16, np.int64, np.int64, np.int64, np.int64)
    return [np.array([MISSING if v is None else v for v in column], dtype) for column, dtype in zip(columns, dtypes,
                                                                                                      strict=True)]


def _check_size(path: str, hash_size: int) -> None:
    if hash_size != JOIN_HASH_SIZE:
        raise ConfigError(f"{path} holds {hash_size}x{hash_size} hashes; near-duplicate search works on "
                          f"{JOIN_HASH_SIZE}x{JOIN_HASH_SIZE} (64-bit) ones: run with --hash-size {JOIN_HASH_SIZE}")
