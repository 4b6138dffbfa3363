"""Every hash the near-duplicate benchmark compares, for one file, in a process pool, cached as JSON lines.

Ours (recomputed when tasks/{dhash,phash,multihash,decode}.py change): hashfleet dhash as `--algo dhash`
computes it (tasks.image.multihash.robust_bits), phash, centre-crop phash and quality
(tasks.image.multihash.hash_image).
References (computed once): imagehash 4.3 phash and dhash on Pillow's decode, PDQ (pdqhash) when installed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from multiprocessing import get_context

from bench.near_variants import issue_edit

#: Modules whose code decides our hashes: the cache of our hashes is keyed by their digest.
OUR_CODE = ("tasks/image/areas.py", "tasks/image/dhash.py", "tasks/image/phash.py", "tasks/image/multihash.py",
            "tasks/image/decode.py")
#: Files handed to a pool worker at a time.
CHUNK = 8
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_digest() -> str:
    digest = hashlib.sha1()
    for name in OUR_CODE:
        with open(os.path.join(ROOT, name), "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def file_bytes(item: dict) -> bytes:
    """An item is {"key", "path"} (a file) or {"key", "path", "edit"} (an issue edit of that file)."""
    if item.get("edit"):
        return issue_edit(item["path"], item["edit"])
    with open(item["path"], "rb") as handle:
        return handle.read()


def ours(data: bytes) -> dict:
    from tasks.errors import FileUnreadable
    from tasks.image.dhash import pack_bits
    from tasks.image.multihash import hash_image, robust_bits

    try:
        hashes = hash_image(data)
    except FileUnreadable:
        return {}
    dhash = pack_bits(robust_bits(data, 8)).hex()
    assert dhash == pack_bits(hashes.dhash).hex()  # one decode gives the production dhash
    return {"dhash": dhash, "phash": pack_bits(hashes.phash).hex(),
            "centre": pack_bits(hashes.centre_phash).hex(), "quality": hashes.quality}  # fmt: skip


def references(data: bytes) -> dict:
    import imagehash
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        out = {"ih_phash": str(imagehash.phash(im)), "ih_dhash": str(imagehash.dhash(im))}
        try:
            import pdqhash
        except ImportError:
            return out
        bits, quality = pdqhash.compute(np.asarray(im.convert("RGB")))
    out["pdq"] = np.packbits(bits.astype(np.uint8)).tobytes().hex()
    out["pdq_quality"] = int(quality)
    return out


def _work(job: tuple[dict, bool, bool]) -> tuple[str, dict | None, dict | None]:
    """(key, our hashes or None when not wanted, reference hashes or None); {} for an undecodable file."""
    item, want_ours, want_refs = job
    data = file_bytes(item)
    return item["key"], ours(data) if want_ours else None, references(data) if want_refs else None


def _init() -> None:
    import cv2

    cv2.setNumThreads(1)


def _load(path: str) -> dict:
    found = {}
    if os.path.isfile(path):
        with open(path) as handle:
            for line in handle:
                row = json.loads(line)
                found[row.pop("key")] = row
    return found


def hash_all(items: list[dict], cache: str, processes: int = 2, refs: bool = True) -> dict[str, dict]:
    """{key: every hash of that item (ours only unless `refs`)}, computing only what the caches lack."""
    os.makedirs(cache, exist_ok=True)
    ours_path = os.path.join(cache, f"near-ours-{code_digest()}.jsonl")
    refs_path = os.path.join(cache, "near-refs.jsonl")
    have_ours, have_refs = _load(ours_path), _load(refs_path)
    jobs = [(it, it["key"] not in have_ours, refs and it["key"] not in have_refs) for it in items]
    jobs = [job for job in jobs if job[1] or job[2]]
    if jobs:
        print(f"hashing {len(jobs)} files ({processes} processes)", flush=True)
        with get_context("fork").Pool(processes, _init) as pool, open(ours_path, "a") as o, open(refs_path, "a") as r:
            for done, (key, mine, refs) in enumerate(pool.imap_unordered(_work, jobs, CHUNK), 1):
                for row, sink, store in ((mine, o, have_ours), (refs, r, have_refs)):
                    if row is not None:
                        sink.write(json.dumps({"key": key, **row}) + "\n")
                        store[key] = row
                if done % 500 == 0:
                    print(f"  {done}/{len(jobs)}", flush=True)
    return {it["key"]: {**have_refs.get(it["key"], {}), **have_ours.get(it["key"], {})} for it in items}
