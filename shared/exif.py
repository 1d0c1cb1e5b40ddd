"""Remove the location from a photo without decoding or re-encoding it: JPEG, PNG, WebP and HEIC/HEIF.

Where the format keeps EXIF (JPEG APP1, PNG eXIf, WebP EXIF, the HEIF Exif item), the GPS IFD is emptied in
place: its out-of-line values and entries are zeroed and its entry count set to 0, so every offset in the file
stays valid and the pixels are untouched. GPS properties in an XMP packet are blanked with spaces of the same
length (still well-formed XML). PNG chunks that change get their CRC recomputed. Pure Python, no I/O.
"""

from __future__ import annotations

import re
import struct
import zlib

GPS_IFD = 0x8825
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_EXIF_MARKERS = (b"Exif\x00\x00II*\x00", b"Exif\x00\x00MM\x00*")
_XMP = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)
_XMP_GPS = re.compile(
    rb"\s(?:exif|exifEX):GPS\w+\s*=\s*(?:\"[^\"]*\"|'[^']*')"  # an attribute
    rb"|<(exif|exifEX):GPS(\w+)\b[^>]*?/>"  # an empty element
    rb"|<(exif|exifEX):GPS(\w+)\b[^>]*>.*?</\3:GPS\4\s*>",  # an element with content
    re.S,
)


def _scrub_tiff(data: bytearray, start: int, end: int) -> bool:
    """Empty the GPS IFD of the TIFF structure at data[start:end]; whether there was one with entries."""
    if end - start < 8:
        return False
    order = {b"II": "<", b"MM": ">"}.get(bytes(data[start : start + 2]))
    if order is None:
        return False
    ifd0 = struct.unpack_from(order + "I", data, start + 4)[0]
    gps = _find_tag(data, start, end, order, ifd0, GPS_IFD)
    if gps is None or start + gps + 2 > end:
        return False
    at = start + gps
    count = struct.unpack_from(order + "H", data, at)[0]
    if count == 0 or at + 2 + 12 * count > end:
        return False
    for index in range(count):
        entry = at + 2 + 12 * index
        kind, items = struct.unpack_from(order + "HI", data, entry + 2)
        size = _TYPE_SIZES.get(kind, 1) * items
        if size > 4:
            offset = struct.unpack_from(order + "I", data, entry + 8)[0]
            if start + offset + size <= end:
                data[start + offset : start + offset + size] = bytes(size)
    data[at + 2 : at + 2 + 12 * count] = bytes(12 * count)
    struct.pack_into(order + "H", data, at, 0)
    return True


def _find_tag(data: bytearray, start: int, end: int, order: str, ifd: int, tag: int) -> int | None:
    at = start + ifd
    if at + 2 > end:
        return None
    count = struct.unpack_from(order + "H", data, at)[0]
    for index in range(count):
        entry = at + 2 + 12 * index
        if entry + 12 > end:
            return None
        if struct.unpack_from(order + "H", data, entry)[0] == tag:
            return struct.unpack_from(order + "I", data, entry + 8)[0]
    return None


def _blank_xmp(data: bytearray, start: int = 0, end: int | None = None) -> bool:
    changed = False
    window = bytes(data[start:end])
    for packet in _XMP.finditer(window):
        for found in _XMP_GPS.finditer(packet.group(0)):
            begin = start + packet.start() + found.start()
            data[begin : begin + len(found.group(0))] = b" " * len(found.group(0))
            changed = True
    return changed


def _scrub_markers(data: bytearray) -> bool:
    changed = False
    for marker in _EXIF_MARKERS:
        at = data.find(marker)
        while at != -1:
            changed |= _scrub_tiff(data, at + 6, len(data))
            at = data.find(marker, at + 1)
    return changed


def _scrub_png(data: bytearray) -> bool:
    changed, at = False, 8
    while at + 12 <= len(data):
        length = struct.unpack_from(">I", data, at)[0]
        kind = bytes(data[at + 4 : at + 8])
        body = at + 8
        if body + length + 4 > len(data):
            break
        touched = False
        if kind == b"eXIf":
            touched = _scrub_tiff(data, body, body + length) or _scrub_markers_in(data, body, body + length)
        elif kind in (b"iTXt", b"tEXt"):
            touched = _blank_xmp(data, body, body + length)
        if touched:
            struct.pack_into(">I", data, body + length, zlib.crc32(data[at + 4 : body + length]) & 0xFFFFFFFF)
            changed = True
        if kind == b"IEND":
            break
        at = body + length + 4
    return changed


def _scrub_markers_in(data: bytearray, start: int, end: int) -> bool:
    chunk = bytearray(data[start:end])
    if _scrub_markers(chunk):
        data[start:end] = chunk
        return True
    return False


def _scrub_webp(data: bytearray) -> bool:
    changed, at = False, 12
    while at + 8 <= len(data):
        kind = bytes(data[at : at + 4])
        length = struct.unpack_from("<I", data, at + 4)[0]
        body = at + 8
        if kind == b"EXIF":
            start = body + 6 if data[body : body + 6] == b"Exif\x00\x00" else body
            changed |= _scrub_tiff(data, start, min(body + length, len(data)))
        elif kind == b"XMP ":
            changed |= _blank_xmp(data, body, body + length)
        at = body + length + (length & 1)
    return changed


def strip_location(data: bytes, kind: str) -> tuple[bytes, bool]:
    """The file with its GPS data removed (same length, same pixels) and whether any was found."""
    buffer = bytearray(data)
    if kind == "png":
        changed = _scrub_png(buffer)
    elif kind == "webp":
        changed = _scrub_webp(buffer)
    else:  # jpeg (APP1) and heic (the Exif item): the EXIF block starts with its Exif\0\0 marker
        changed = _scrub_markers(buffer)
        changed |= _blank_xmp(buffer)
    return (bytes(buffer), True) if changed else (data, False)
