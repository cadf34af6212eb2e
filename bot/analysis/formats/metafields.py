"""Flatten a photo's text metadata into named fields that generator signatures can match.

Field names (used in config/generators.toml):
    text:<key>             PNG tEXt/iTXt/zTXt chunk; JPEG/GIF comment is text:comment
    exif:<TagName>         EXIF tag as text (UserComment decoded from its charset prefix)
    xmp:<prefix>:<name>    XMP property; the first value of an Alt/Seq/Bag list
Each field also has a plain-words label saying where it was found, for the evidence shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from defusedxml import ElementTree

from bot.analysis.intake.photo import Photo

MAX_FIELD_CHARS = 1_000_000

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XMP_PREFIXES = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
}

# EXIF UserComment starts with an 8-byte character-code prefix (EXIF 2.32, 4.6.5).
_ASCII, _UNICODE, _JIS, _UNDEFINED = b"ASCII\0\0\0", b"UNICODE\0", b"JIS\0\0\0\0\0", b"\0" * 8


@dataclass
class Fields:
    values: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str, label: str) -> None:
        value = value.replace("\x00", "").strip()
        if value and name not in self.values:
            self.values[name] = value[:MAX_FIELD_CHARS]
            self.labels[name] = label


def decode_user_comment(raw: object) -> str:
    """EXIF UserComment as text, honouring its ASCII/UNICODE/JIS/undefined prefix."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes | bytearray):
        return str(raw)
    head, body = bytes(raw[:8]), bytes(raw[8:])
    if head == _UNICODE:
        return _decode_utf16(body)
    if head == _JIS:
        return body.decode("iso2022_jp", "replace")
    if head in (_ASCII, _UNDEFINED):
        return body.decode("utf-8", "replace")
    return bytes(raw).decode("utf-8", "replace")


def _decode_utf16(body: bytes) -> str:
    if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return body.decode("utf-16", "replace")
    # No BOM: writers differ (piexif and A1111 write big-endian, some Windows tools little).
    # Mostly-ASCII text has its zero bytes in the high half of each pair, which tells the order.
    even_zeros = body[0::2].count(0)
    odd_zeros = body[1::2].count(0)
    return body.decode("utf-16-be" if even_zeros >= odd_zeros else "utf-16-le", "replace")


def _printable_text(value: object) -> str | None:
    """A tag value as text, or None for binary blobs (camera maker notes, thumbnails)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
        bad = sum(
            1 for ch in text if ch == "\ufffd" or (not ch.isprintable() and ch not in "\n\r\t\0")
        )
        return text if bad <= len(text) // 20 else None
    return None


def collect(photo: Photo) -> Fields:
    fields = Fields()
    for key, value in photo.text_chunks.items():
        if key.lower() == "comment" and photo.format != "PNG":
            label = f"{photo.format} comment"
        else:
            label = f"PNG text chunk “{key}”" if photo.format == "PNG" else f"“{key}” text"
        fields.add(f"text:{key}", value, label)
    for tag, value in photo.exif.items():
        text: str | None
        if tag == "UserComment":
            text = decode_user_comment(value)
        elif tag.startswith("XP") and isinstance(value, bytes | tuple):
            text = bytes(value).decode("utf-16-le", "replace")  # Windows XP* tags
        else:
            text = _printable_text(value)
        if text:
            fields.add(f"exif:{tag}", text, f"EXIF {tag}")
    for packet in photo.xmp:
        for name, value in xmp_properties(packet).items():
            fields.add(f"xmp:{name}", value, f"XMP {name}")
    return fields


def xmp_properties(packet: str) -> dict[str, str]:
    """Flatten rdf:Description attributes and child elements to {prefix:name: text}."""
    try:
        root = ElementTree.fromstring(packet.strip().lstrip("\ufeff").encode("utf-8"))
    except Exception:  # malformed or hostile XML: nothing to read
        return {}
    out: dict[str, str] = {}
    for desc in root.iter(f"{{{_RDF}}}Description"):
        for key, value in desc.attrib.items():
            name = _qname(key)
            if name and not name.startswith("rdf:"):
                out.setdefault(name, value)
        for child in desc:
            name = _qname(child.tag)
            if not name:
                continue
            item = next(child.iter(f"{{{_RDF}}}li"), None)
            text = (item.text if item is not None else child.text) or ""
            if text.strip():
                out.setdefault(name, text.strip())
    return out


def _qname(tag: str) -> str | None:
    match = re.match(r"\{([^}]*)\}(.+)", tag)
    if not match:
        return None
    uri, local = match.groups()
    prefix = _XMP_PREFIXES.get(uri)
    if prefix is None:
        prefix = "rdf" if uri == _RDF else uri.rstrip("/#").rsplit("/", 1)[-1]
    return f"{prefix}:{local}"
