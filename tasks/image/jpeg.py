"""Progressive JPEG, DC scans only: what a 1/8-scale decode needs, without the AC scans it would skip.

At 1/8 scale each output pixel is its 8x8 block's DC coefficient. In a progressive JPEG the DC
coefficients come in their own scans (first, and a refinement later), but libjpeg still reads and
decodes every AC scan before it outputs anything. This module rewrites the file with its AC scans
left out (tables kept, order kept, EOI at the end): a valid progressive JPEG whose decode at 1/8 scale
costs about a quarter (4.2 ms instead of 17.3 ms for an 8 MP photo: `git show
a134370:bench/RESULTS-archive.md`, "Decoders measured"). libjpeg-turbo smooths DC-only images a little
(block smoothing); hashes move by a bit about as often as with any reduced decode.
"""

from __future__ import annotations

import re
import struct

_SOS = 0xDA
_EOI = b"\xff\xd9"
#: Start-of-frame markers of progressive JPEGs (Huffman and arithmetic coded).
_PROGRESSIVE_SOF = (0xC2, 0xCA)
#: A marker inside or after entropy-coded data: 0xFF followed by anything but a stuffed 0x00, a restart
#: marker (0xD0-0xD7) or a fill byte (0xFF).
_MARKER_AFTER_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _segments_until_scan(data: bytes, pos: int) -> tuple[int, list[int]] | None:
    """Walk marker segments from `pos` to the next SOS; return (SOS offset, markers seen)."""
    markers = []
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _SOS:
            return pos, markers
        markers.append(marker)
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return None


def dc_scans_only(data: bytes) -> bytes | None:
    """The progressive JPEG `data` with only its DC scans, or None when it is not a progressive JPEG
    with both DC and AC scans (or its structure is not what this expects: the caller decodes it whole)."""
    found = _segments_until_scan(data, 2)
    if found is None or not any(m in _PROGRESSIVE_SOF for m in found[1]):
        return None
    sos = found[0]
    parts = [data[:sos]]
    dc = ac = 0
    while True:
        length = struct.unpack_from(">H", data, sos + 2)[0]
        components = data[sos + 4]
        spectral_start, spectral_end = data[sos + 5 + 2 * components], data[sos + 6 + 2 * components]
        end_match = _MARKER_AFTER_DATA.search(data, sos + 2 + length)
        if end_match is None:
            return None
        end = end_match.start()
        if spectral_start == 0 and spectral_end == 0:
            parts.append(data[sos:end])
            dc += 1
        else:
            ac += 1
        if data[end + 1] == _EOI[1]:
            break
        found = _segments_until_scan(data, end)
        if found is None:
            return None
        parts.append(data[end:found[0]])  # tables between scans (DHT...), kept in order
        sos = found[0]
    if not dc or not ac:
        return None
    parts.append(_EOI)
    return b"".join(parts)
