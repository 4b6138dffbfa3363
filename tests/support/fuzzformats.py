"""Where the structure of each image format hashfleet decodes lies in a file's bytes: its header fields, its
chunk or segment lengths and the offsets where one structure ends and the next begins. Pure functions over
bytes, for the mutations of fuzzgen.py; each tolerates damaged input (it returns what it could find).

A :class:`Field` is a number stored in the file: binary (big- or little-endian) or decimal text (PNM, PFM
and Radiance headers). A PNG field remembers its chunk, so a mutation can recompute that chunk's CRC and
reach the decoder's check of the value rather than its CRC check.
"""

from __future__ import annotations

import dataclasses
import re
import struct


@dataclasses.dataclass(frozen=True)
class Field:
    """A number at data[offset:offset + size]: "be"/"le" binary, or "text" (ASCII decimal digits)."""

    offset: int
    size: int
    kind: str
    #: PNG only: (start, end) of the chunk type + body the CRC after `end` covers.
    crc_span: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a mutation can aim at in one file."""

    header: list[Field]
    lengths: list[Field]
    boundaries: list[int]


EMPTY = Layout([], [], [])


def _png(data: bytes) -> Layout:
    header, lengths, bounds = [], [], []
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = pos + 8
        end = min(body + length, len(data))
        span = (pos + 4, end)
        lengths.append(Field(pos, 4, "be"))
        bounds += [pos, body, end]
        if kind == b"IHDR":  # width, height, bit depth, colour type, compression, filter, interlace
            header += [Field(body + off, size, "be", span) for off, size in ((0, 4), (4, 4), (8, 1), (9, 1),
                                                                            (10, 1), (11, 1), (12, 1))]
        elif kind in (b"PLTE", b"tRNS", b"acTL", b"fcTL"):
            header += [Field(body + off, 1, "be", span) for off in range(0, min(length, 8))]
        pos = body + length + 4
    return Layout(header, lengths, bounds)


#: JPEG markers without a length field (SOI, EOI, RSTn, TEM).
_STANDALONE = {0xD8, 0xD9, 0x01, *range(0xD0, 0xD8)}


def _jpeg(data: bytes) -> Layout:
    header, lengths, bounds = [], [], []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            found = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]").search(data, pos)  # skip entropy-coded data
            if found is None:
                break
            pos = found.start()
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        bounds.append(pos)
        if marker in _STANDALONE:
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        lengths.append(Field(pos + 2, 2, "be"))
        body = pos + 4
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn
            # precision, height, width, component count; each component's sampling factors and table
            header += [Field(body, 1, "be"), Field(body + 1, 2, "be"), Field(body + 3, 2, "be"),
                       Field(body + 5, 1, "be")]
            components = data[body + 5] if body + 5 < len(data) else 0
            header += [Field(body + 6 + 3 * c + k, 1, "be") for c in range(min(components, 4)) for k in (1, 2)]
        elif marker == 0xDA:  # SOS: component count, selectors, spectral range, approximation
            header += [Field(body + k, 1, "be") for k in range(max(0, min(length - 2, 10)))]
        elif marker in (0xC4, 0xDB, 0xDD):  # DHT, DQT, DRI: table class/ids and the first counts
            header += [Field(body + k, 1, "be") for k in range(max(0, min(length - 2, 17)))]
        pos = body + length - 2
        bounds.append(min(pos, len(data)))
    return Layout([f for f in header if f.offset + f.size <= len(data)], lengths, bounds)


def _riff(data: bytes) -> Layout:
    """WebP: the RIFF size, each chunk's size, and the VP8/VP8L/VP8X picture dimensions."""
    header, lengths, bounds = [], [Field(4, 4, "le")], [12]
    pos = 12
    while pos + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, pos)
        lengths.append(Field(pos + 4, 4, "le"))
        body = pos + 8
        if kind == b"VP8X":
            header += [Field(body, 1, "le"), Field(body + 4, 3, "le"), Field(body + 7, 3, "le")]
        elif kind == b"VP8 ":
            header += [Field(body, 3, "le"), Field(body + 6, 2, "le"), Field(body + 8, 2, "le")]
        elif kind == b"VP8L":
            header += [Field(body, 1, "le"), Field(body + 1, 4, "le")]
        elif kind in (b"ANIM", b"ANMF", b"ALPH"):
            header += [Field(body + k, 3, "le") for k in range(0, 12, 3)]
        pos = body + size + (size & 1)
        bounds += [body, min(pos, len(data))]
    return Layout([f for f in header if f.offset + f.size <= len(data)], lengths, bounds)


def _bmp(data: bytes) -> Layout:
    # file size, pixel offset, DIB size, width, height, planes, bit count, compression, image size, colours
    fields = [(2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4), (34, 4), (46, 4)]
    header = [Field(off, size, "le") for off, size in fields if off + size <= len(data)]
    pixels = struct.unpack_from("<I", data, 10)[0] if len(data) >= 14 else 0
    return Layout(header, [Field(2, 4, "le"), Field(14, 4, "le")], [14, 54, pixels])


def _tiff(data: bytes) -> Layout:
    end = "<" if data[:2] == b"II" else ">"
    kind = "le" if end == "<" else "be"
    header, lengths, bounds = [], [Field(4, 4, kind)], [8]
    ifd = struct.unpack_from(end + "I", data, 4)[0] if len(data) >= 8 else 0
    seen = set()
    while 8 <= ifd < len(data) - 2 and ifd not in seen:
        seen.add(ifd)
        count = struct.unpack_from(end + "H", data, ifd)[0]
        lengths.append(Field(ifd, 2, kind))
        for index in range(min(count, 64)):
            entry = ifd + 2 + 12 * index
            if entry + 12 > len(data):
                break
            # type, count, value/offset: dimensions, bits per sample, strip offsets and counts, ...
            header += [Field(entry + 2, 2, kind), Field(entry + 8, 4, kind)]
            lengths.append(Field(entry + 4, 4, kind))
            bounds.append(entry)
        following = ifd + 2 + 12 * count
        bounds.append(min(following, len(data)))
        ifd = struct.unpack_from(end + "I", data, following)[0] if following + 4 <= len(data) else 0
    return Layout(header, lengths, bounds)


def _boxes(data: bytes) -> Layout:
    """ISO boxes (AVIF, JP2): each box's length, ispe dimensions, and a JPEG 2000 codestream's SIZ."""
    header, lengths, bounds = [], [], []
    for match in re.finditer(rb"ispe|ihdr|pixi|av1C|colr", data):
        start = match.end()
        if match.group() == b"ispe":
            header += [Field(start + 4, 4, "be"), Field(start + 8, 4, "be")]
        else:
            header += [Field(start + k, 1, "be") for k in range(0, 8)]
    for match in re.finditer(rb"ftyp|meta|iloc|iinf|iprp|ipco|ipma|mdat|jp2h|jp2c|hdlr|pitm", data):
        if match.start() >= 4:
            lengths.append(Field(match.start() - 4, 4, "be"))
            bounds.append(match.start() - 4)
    siz = data.find(b"\xff\x51")
    if siz >= 0:  # Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, tiles, Csiz, first component's depth and sampling
        lengths.append(Field(siz + 2, 2, "be"))
        header += [Field(siz + off, size, "be") for off, size in ((4, 2), (6, 4), (10, 4), (14, 4), (18, 4),
                                                                 (22, 4), (26, 4), (38, 2), (40, 1), (41, 1))]
    for marker in re.finditer(rb"\xff[\x52\x5c\x90\x93]", data):  # COD, QCD, SOT, SOD
        bounds.append(marker.start())
        if marker.group()[1] != 0x93:
            lengths.append(Field(marker.start() + 2, 2, "be"))
    return Layout([f for f in header if f.offset + f.size <= len(data)],
                  [f for f in lengths if f.offset + f.size <= len(data)], bounds)


def _gif(data: bytes) -> Layout:
    header = [Field(6, 2, "le"), Field(8, 2, "le"), Field(10, 1, "le")]
    bounds = [13]
    for match in re.finditer(rb"\x2c", data[13:]):  # image descriptors (and false hits: also mutations)
        at = 13 + match.start()
        header += [Field(at + 5, 2, "le"), Field(at + 7, 2, "le"), Field(at + 9, 1, "le"), Field(at + 10, 1, "le")]
        bounds.append(at)
        if len(header) > 24:
            break
    return Layout([f for f in header if f.offset + f.size <= len(data)], [], bounds)


#: Decimal numbers in a text header: PNM width/height/maxval, PFM width/height/scale, Radiance -Y/+X.
_NUMBER = re.compile(rb"-?\d+(\.\d+)?")


def _text_header(data: bytes, header_end: int) -> Layout:
    fields = [Field(m.start(), m.end() - m.start(), "text") for m in _NUMBER.finditer(data, 0, header_end)]
    lines = [m.end() for m in re.finditer(rb"\n", data[:header_end])]
    return Layout(fields[:8], [], lines + [header_end])


def _pnm(data: bytes) -> Layout:
    tokens = list(re.finditer(rb"\S+", data[:256]))
    wanted = 3 if data[1:2] in b"14" else 4  # magic, width, height (+ maxval)
    end = tokens[wanted - 1].end() + 1 if len(tokens) >= wanted else min(len(data), 64)
    return _text_header(data, end)


def _hdr(data: bytes) -> Layout:
    end = data.find(b"\n", data.find(b"\n\n") + 2) + 1 if b"\n\n" in data[:4096] else min(len(data), 128)
    layout = _text_header(data, end)
    return Layout([f for f in layout.header if data[f.offset - 2:f.offset] in (b"Y ", b"X ")] or layout.header,
                  [], layout.boundaries)


def _pfm(data: bytes) -> Layout:
    lines = [m.end() for m in re.finditer(rb"\n", data[:64])][:3]
    return _text_header(data, lines[-1] if lines else min(len(data), 32))


_BY_FORMAT = {"png": _png, "jpeg": _jpeg, "webp": _riff, "bmp": _bmp, "tiff": _tiff, "avif": _boxes,
              "jp2": _boxes, "gif": _gif, "pnm": _pnm, "hdr": _hdr, "pfm": _pfm}


def layout(data: bytes, fmt: str) -> Layout:
    """The fields, lengths and boundaries of `data` read as `fmt` (a tasks.image.decode.sniff_format name)."""
    try:
        return _BY_FORMAT[fmt](data)
    except (struct.error, IndexError, KeyError):
        return EMPTY
