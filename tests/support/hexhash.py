"""Hashes as hex strings, the way tests compare them (the workers keep them packed)."""

from __future__ import annotations


def to_hex(packed: bytes) -> str:
    """Packed hash bytes (tasks.image.dhash.pack_bits) as hex, first grid bit leftmost."""
    return packed.hex()


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes of the same size."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
