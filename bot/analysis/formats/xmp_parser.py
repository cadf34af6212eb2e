"""A safe XMP reader: untrusted packets in, a flat {qualified-name: [values]} map out.

XMP is RDF/XML written by whoever made the file, so it is parsed as hostile input: defusedxml
refuses DTDs, entity declarations and external references (XXE, billion laughs), the packet
size is capped, and a streaming parser target stops at a maximum element count and nesting
depth before any tree is built. A hostile or malformed packet yields an empty result with a
`problems` flag; this module never raises on input and never recurses past the depth cap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from bot.settings import get_settings, load_toml

if TYPE_CHECKING:
    from bot.analysis.intake.photo import Photo

# Canonical prefixes, so lookups work whatever prefix a writer declared.
NAMESPACES: dict[str, str] = {
    "adobe:ns:meta/": "x",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.google.com/photos/1.0/image/": "GImage",
    "http://ns.adobe.com/xmp/note/": "xmpNote",
}

RDF = "rdf:"
_CONTAINERS = {
    "x:xmpmeta",
    "x:xapmeta",
    "rdf:RDF",
    "rdf:Description",
    "rdf:Seq",
    "rdf:Bag",
    "rdf:Alt",
    "rdf:li",
}
_MAX_VALUE_CHARS = 4000  # one value; longer ones are cut (descriptions are short in practice)


@dataclass(frozen=True)
class XmpData:
    """Every property found, flattened; struct fields appear under their own names too."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)  # xmpMM:History events
    problems: tuple[str, ...] = ()  # why a packet was not read: "dtd", "too_deep", ...
    packets: int = 0

    def get(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def by_local_name(self, local: str) -> list[tuple[str, str]]:
        """(qualified-name, value) for every property called `local` in any namespace."""
        want = local.lower()
        return [
            (name, value)
            for name, values in self.fields.items()
            if name.rpartition(":")[2].lower() == want
            for value in values
        ]

    @property
    def unreadable(self) -> bool:
        """True when there were packets and none of them could be read."""
        return self.packets > 0 and len(self.problems) >= self.packets


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    text: str = ""


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _BoundedBuilder:
    """An XMLParser target that builds a light tree and refuses oversized structures."""

    def __init__(self, max_elements: int, max_depth: int, max_children: int) -> None:
        self.max_elements = max_elements
        self.max_depth = max_depth
        self.max_children = max_children
        self.count = 0
        self.stack: list[_Node] = []
        self.root: _Node | None = None
        self.prefixes: dict[str, str] = {}

    def start_ns(self, prefix: str, uri: str) -> None:
        self.prefixes.setdefault(uri, prefix or "ns")

    def qname(self, name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, _, local = name[1:].partition("}")
        prefix = NAMESPACES.get(uri) or self.prefixes.get(uri) or "ns"
        return f"{prefix}:{local}"

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.count += 1
        if self.count > self.max_elements:
            raise _Refused("too_many_elements")
        if len(self.stack) >= self.max_depth:
            raise _Refused("too_deep")
        node = _Node(self.qname(tag), {self.qname(k): v for k, v in attrib.items()})
        if self.stack:
            siblings = self.stack[-1].children
            if len(siblings) < self.max_children:  # long lists are counted, not all kept
                siblings.append(node)
        elif self.root is None:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack and len(self.stack[-1].text) < _MAX_VALUE_CHARS:
            self.stack[-1].text += text

    def close(self) -> _Node | None:
        return self.root


@lru_cache(maxsize=1)
def _limits() -> tuple[int, int, int]:
    table = load_toml("xmp.toml").get("limits", {})
    return (
        int(table.get("max_elements", 50_000)),
        int(table.get("max_depth", 48)),
        int(table.get("max_children", 1000)),
    )


def _trim(packet: str) -> str:
    """Cut padding and junk around the XML (writers pad packets; some append garbage)."""
    start = packet.find("<")
    end = packet.rfind(">")
    return packet[start : end + 1] if 0 <= start < end else ""


def _parse_tree(text: str) -> tuple[_Node | None, str | None]:
    builder = _BoundedBuilder(*_limits())
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(text)
        root = parser.close()
    except _Refused as exc:
        return None, exc.problem
    except DTDForbidden:
        return None, "dtd"
    except EntitiesForbidden:
        return None, "entities"
    except ExternalReferenceForbidden:
        return None, "external_reference"
    except (DefusedXmlException, ParseError, ValueError, UnicodeError, LookupError):
        return None, "malformed"
    except (RecursionError, MemoryError):
        return None, "too_complex"
    return root, None


def parse_xmp(packet: str | bytes, max_bytes: int | None = None) -> XmpData:
    """Parse one packet. Never raises on content; problems come back in `problems`."""
    limit = max_bytes if max_bytes is not None else get_settings().limits.max_xmp_bytes
    if len(packet) >= limit:  # intake cuts packets at the limit: that length means cut
        return XmpData(problems=("too_large",), packets=1)
    if isinstance(packet, bytes):
        # XMP may be UTF-16 (with a BOM); the XML declaration is ignored for decoded text
        codec = "utf-16" if packet[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
        packet = packet.decode(codec, "replace")
    text = _trim(packet)
    if not text:
        return XmpData(problems=("malformed",), packets=1)
    root, problem = _parse_tree(text)
    if problem or root is None:
        return XmpData(problems=(problem or "malformed",), packets=1)
    fields: dict[str, list[str]] = {}
    _flatten(root, "", fields)
    return XmpData(fields=fields, history=_history(root), packets=1)


def _add(fields: dict[str, list[str]], name: str, value: str) -> None:
    value = value.strip()
    if name and value:
        fields.setdefault(name, []).append(value[:_MAX_VALUE_CHARS])


def _plain_attrs(node: _Node) -> Iterable[tuple[str, str]]:
    """Attributes that are properties (not rdf:about, xml:lang, namespace declarations)."""
    for name, value in node.attrs.items():
        if not name.startswith((RDF, "xml:", "xmlns")):
            yield name, value


def _flatten(node: _Node, prop: str, fields: dict[str, list[str]]) -> None:
    """Depth is bounded by the parser, so plain recursion is safe here."""
    for name, value in _plain_attrs(node):
        _add(fields, name, value)
    container = node.tag in _CONTAINERS
    if not container:
        prop = node.tag  # a property element: its text, resource or items are its values
    resource = node.attrs.get("rdf:resource")
    if resource is not None:
        _add(fields, prop, resource)
    elif not node.children and (not container or node.tag == "rdf:li"):
        _add(fields, prop, node.text)
    for child in node.children:
        _flatten(child, prop, fields)


def _history(root: _Node) -> list[dict[str, str]]:
    """One dict per xmpMM:History item, with its stEvt:* fields (action, softwareAgent, ...)."""
    events: list[dict[str, str]] = []
    for node in _iter(root):
        if node.tag != "xmpMM:History":
            continue
        for item in _iter(node):
            if item.tag != "rdf:li":
                continue
            event: dict[str, str] = {}
            collected: dict[str, list[str]] = {}
            _flatten(item, "", collected)
            for name, values in collected.items():
                if name.startswith("stEvt:"):
                    event.setdefault(name, values[0])
            if event:
                events.append(event)
    return events


def _iter(node: _Node) -> Iterable[_Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def merge(results: Iterable[XmpData]) -> XmpData:
    fields: dict[str, list[str]] = {}
    history: list[dict[str, str]] = []
    problems: list[str] = []
    packets = 0
    for result in results:
        for name, values in result.fields.items():
            fields.setdefault(name, []).extend(values)
        history.extend(result.history)
        problems.extend(result.problems)
        packets += result.packets
    return XmpData(fields=fields, history=history, problems=tuple(problems), packets=packets)


def photo_packets(photo: Photo) -> tuple[str, ...]:
    """XMP packets from the container plus the EXIF XMLPacket tag (TIFF-style files)."""
    packets = list(photo.xmp)
    embedded = photo.exif.get("XMLPacket")
    if isinstance(embedded, bytes | str) and embedded:
        text = embedded.decode("utf-8", "replace") if isinstance(embedded, bytes) else embedded
        if text not in packets:
            packets.append(text)
    return tuple(packets)


def photo_xmp(photo: Photo, max_bytes: int | None = None) -> XmpData:
    """All of a photo's XMP, parsed once even when several checks ask."""
    limit = max_bytes if max_bytes is not None else get_settings().limits.max_xmp_bytes
    return _parse_all(photo_packets(photo), limit)


@lru_cache(maxsize=4)
def _parse_all(packets: tuple[str, ...], limit: int) -> XmpData:
    return merge(parse_xmp(p, limit) for p in packets)
