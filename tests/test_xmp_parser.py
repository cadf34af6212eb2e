"""The safe XMP reader: structure it flattens, and hostile packets it refuses without hanging."""

from __future__ import annotations

import time

import pytest

from bot.analysis.formats.xmp_parser import merge, parse_xmp
from tests.metadata_fixtures import IPTC_DST, history, xmp_packet

LIMIT = 2_000_000


def test_flattens_attributes_arrays_structs_and_history():
    body = (
        f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{IPTC_DST}digitalCapture"/>'
        "<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li><rdf:li>Sam Roe</rdf:li></rdf:Seq>"
        "</dc:creator>"
        "<dc:subject><rdf:Bag><rdf:li>portrait</rdf:li><rdf:li>studio</rdf:li></rdf:Bag></dc:subject>"
        '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© Jane</rdf:li></rdf:Alt></dc:rights>'
        '<Iptc4xmpCore:CreatorContactInfo rdf:parseType="Resource">'
        "<Iptc4xmpCore:CiAdrCity>Leeds</Iptc4xmpCore:CiAdrCity></Iptc4xmpCore:CreatorContactInfo>"
        + history(("created", "Adobe Photoshop 25.1 (Windows)"), ("saved", "GIMP 2.10.36"))
        + '<xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">'
        "<stEvt:action>converted</stEvt:action>"
        "<stEvt:softwareAgent>Capture One 23</stEvt:softwareAgent>"
        "</rdf:li></rdf:Seq></xmpMM:History>"
    )
    data = parse_xmp(xmp_packet({"xmp:CreatorTool": "Adobe Photoshop 25.1 (Windows)"}, body), LIMIT)
    assert data.problems == ()
    assert data.get("xmp:CreatorTool") == ["Adobe Photoshop 25.1 (Windows)"]
    assert data.get("dc:creator") == ["Jane Doe", "Sam Roe"]
    assert data.get("dc:subject") == ["portrait", "studio"]
    assert data.get("dc:rights") == ["© Jane"]
    assert data.get("Iptc4xmpCore:CiAdrCity") == ["Leeds"]
    assert data.first("Iptc4xmpExt:DigitalSourceType") == IPTC_DST + "digitalCapture"
    agents = [(e["stEvt:action"], e["stEvt:softwareAgent"]) for e in data.history]
    assert agents == [
        ("created", "Adobe Photoshop 25.1 (Windows)"),
        ("saved", "GIMP 2.10.36"),
        ("converted", "Capture One 23"),
    ]
    assert "Capture One 23" in data.get("stEvt:softwareAgent")
    assert "rdf:about" not in data.fields and not any(
        k.startswith("xml") for k in data.fields if k != "xmp:CreatorTool"
    )


def test_bytes_packet_and_struct_in_description_element():
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        b'xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#">'
        b'<xmpMM:DerivedFrom stRef:documentID="xmp.did:1234"/>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    data = parse_xmp(b"\x00\x00  " + packet + b"\x00garbage-after", LIMIT)
    assert data.problems == ()
    assert data.get("stRef:documentID") == ["xmp.did:1234"]


def test_utf16_bytes_packet():
    packet = xmp_packet({"xmp:CreatorTool": "Zoë's Editor"}).encode("utf-16")
    assert parse_xmp(packet, LIMIT).get("xmp:CreatorTool") == ["Zoë's Editor"]


def test_by_local_name_finds_any_namespace():
    data = parse_xmp(
        xmp_packet({"plus:DigitalSourceType": "x", "photoshop:DigitalSourceType": "y"}), LIMIT
    )
    assert sorted(v for _, v in data.by_local_name("digitalsourcetype")) == ["x", "y"]


def test_merge_keeps_problems_and_values():
    good = parse_xmp(xmp_packet({"xmp:CreatorTool": "GIMP"}), LIMIT)
    bad = parse_xmp("<not xml", LIMIT)
    merged = merge([good, bad])
    assert merged.get("xmp:CreatorTool") == ["GIMP"]
    assert merged.problems == ("malformed",)
    assert not merged.unreadable and bad.unreadable


def _billion_laughs() -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'
    )


HOSTILE = {
    "xxe_file": (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><d>&e;</d></x:xmpmeta>',
        "dtd",
    ),
    "xxe_parameter_entity": (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>',
        "dtd",
    ),
    "external_dtd": ('<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>', "dtd"),
    "billion_laughs": (_billion_laughs(), "dtd"),
    "deep_10k": (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">' + "<a>" * 10_000 + "</a>" * 10_000 + "</x:xmpmeta>",
        "too_deep",
    ),
    "unclosed_deep": ("<a>" * 10_000, "too_deep"),
    "huge_2mb": ("<x>" + "A" * 2_000_000 + "</x>", "too_large"),
    "many_elements": ("<r>" + "<a/>" * 60_000 + "</r>", "too_many_elements"),
    "malformed": ("<x:xmpmeta><rdf:RDF></x:xmpmeta>", "malformed"),
    "not_xml": ("\x00\x01\x02 hello", "malformed"),
    "empty": ("", "malformed"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_packets_give_an_empty_result_and_a_flag(name):
    packet, problem = HOSTILE[name]
    started = time.perf_counter()
    data = parse_xmp(packet, LIMIT)
    assert time.perf_counter() - started < 2.0, "no hang"
    assert data.fields == {} and data.history == []
    assert data.problems == (problem,)
    assert data.unreadable


def test_entity_inside_an_otherwise_normal_packet_is_refused():
    packet = xmp_packet({"xmp:CreatorTool": "GIMP"}).replace(
        "<x:xmpmeta", '<!DOCTYPE x:xmpmeta [<!ENTITY who "Jane">]><x:xmpmeta', 1
    )
    assert parse_xmp(packet, LIMIT).problems == ("dtd",)


def test_long_lists_are_counted_not_all_kept():
    # Bloated Photoshop files carry thousands of DocumentAncestors: still readable, still bounded.
    items = "".join(f"<rdf:li>xmp.did:{i}</rdf:li>" for i in range(5000))
    body = f"<photoshop:DocumentAncestors><rdf:Bag>{items}</rdf:Bag></photoshop:DocumentAncestors>"
    data = parse_xmp(xmp_packet({"xmp:CreatorTool": "Adobe Photoshop 25.1"}, body), LIMIT)
    assert data.problems == ()
    assert data.get("xmp:CreatorTool") == ["Adobe Photoshop 25.1"]
    assert len(data.get("photoshop:DocumentAncestors")) == 1000
