"""The XMP, EXIF and privacy checks, end to end through analyze(), on files written by real
tools (Pillow's XMP and Exif writers, piexif)."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageOps

from bot.analysis.pipeline.findings import Signal, Strength
from bot.analysis.pipeline.report import Report
from bot.analysis.pipeline.run import analyze
from tests.metadata_fixtures import (
    IPTC_DST,
    history,
    jpeg_thumbnail,
    phone_exif,
    pillow_camera_exif,
    png_with_xmp,
    save,
    scene,
    xmp_packet,
)


def by_check(report: Report, check: str) -> list:
    return [f for f in report.findings if f.check == check]


def signals(report: Report, check: str) -> set[tuple[str, str]]:
    return {(f.signal.value, f.strength.value) for f in by_check(report, check)}


def run_status(report: Report, check: str) -> tuple[str, str]:
    run = next(r for r in report.runs if r.check == check)
    return run.status, run.note


# ---- camera evidence -----------------------------------------------------------------------------


def test_phone_jpeg_is_camera_capture_moderate():
    data = save(scene(), "JPEG", quality=90, exif=phone_exif())
    report = analyze(data, "IMG_0042.jpg")
    assert report.verdict.label == "camera_capture"
    assert report.verdict.strength == "moderate"
    (camera,) = [f for f in by_check(report, "exif") if f.signal == Signal.CAMERA_CAPTURE]
    assert camera.strength == Strength.MODERATE
    fields = {e.field: e.value for e in camera.evidence}
    assert fields["Model"] == "iPhone 15 Pro"
    assert fields["ExposureTime"] == "1/120 s"
    assert fields["FNumber"] == "f/1.8"
    assert fields["ISOSpeedRatings"] == "ISO 64"
    assert fields["MakerNote"].startswith("present")
    assert "not proof" in camera.detail
    # "17.4.1" is the phone's system version, not an editor: nothing says EDITED
    assert not [f for f in report.findings if f.signal == Signal.EDITED]


def test_bare_make_and_model_is_weak_only():
    data = save(scene(), "JPEG", exif=pillow_camera_exif("Canon", "Canon EOS R5", full=False))
    report = analyze(data, "bare.jpg")
    assert signals(report, "exif") == {("camera_capture", "weak")}
    assert report.verdict.label == "no_evidence"


def test_comfyui_workflow_in_webp_make_model_is_not_a_camera():
    exif = Image.Exif()
    exif[0x010F] = 'workflow:{"last_node_id": 9, "nodes": [{"type": "KSampler"}]}'
    exif[0x0110] = 'prompt:{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}'
    data = save(scene((512, 512)), "WEBP", exif=exif)
    report = analyze(data, "comfy.webp")
    assert report.format == "WEBP"
    assert not [f for f in report.findings if f.signal == Signal.CAMERA_CAPTURE]
    assert not any("workflow" in f.title for f in by_check(report, "exif"))


# ---- editors -------------------------------------------------------------------------------------


def test_photoshop_edited_camera_photo_is_camera_edited():
    exif = pillow_camera_exif("Canon", "Canon EOS R5", software="Adobe Photoshop 25.1 (Windows)")
    packet = xmp_packet(
        {"xmp:CreatorTool": "Adobe Photoshop 25.1 (Windows)", "tiff:Make": "Canon"},
        history(
            ("created", "Adobe Photoshop Lightroom Classic 13.2"),
            ("saved", "Adobe Photoshop 25.1 (Windows)"),
        ),
    )
    data = save(scene(), "JPEG", quality=92, exif=exif, xmp=packet.encode())
    report = analyze(data, "edited.jpg")
    assert report.verdict.label == "camera_edited"
    edited = [f for f in report.findings if f.signal == Signal.EDITED]
    titles = " | ".join(f.title for f in edited)
    assert "Adobe Photoshop" in titles and "Adobe Lightroom" in titles
    # one finding per tool, however many fields or history events name it
    assert len([f for f in by_check(report, "xmp") if "Photoshop" in f.title]) == 1
    assert any(e.field.startswith("xmpMM:History") for f in edited for e in f.evidence)


def test_unknown_software_is_info_only():
    exif = pillow_camera_exif("Canon", "Canon EOS R5", software="Frobnicator 3000", full=False)
    report = analyze(save(scene(), "JPEG", exif=exif), "x.jpg")
    info = [f for f in by_check(report, "exif") if f.signal == Signal.INFO]
    assert info and "Frobnicator 3000" in info[0].title
    assert info[0].strength == Strength.WEAK


# ---- AI declarations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        IPTC_DST + "trainedAlgorithmicMedia",
        "trainedAlgorithmicMedia",
        IPTC_DST + "algorithmicMedia",
    ],
)
def test_digital_source_type_ai_generated_png(value):
    packet = xmp_packet(
        body=f"<Iptc4xmpExt:DigitalSourceType>{value}</Iptc4xmpExt:DigitalSourceType>"
    )
    report = analyze(png_with_xmp(scene(), packet), "gen.png")
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength == "strong"
    (finding,) = by_check(report, "xmp")
    assert finding.signal == Signal.AI_GENERATED and finding.strength == Strength.STRONG
    assert finding.data["digital_source_type"] == value.rpartition("/")[2]
    assert finding.evidence[0].field == "Iptc4xmpExt:DigitalSourceType"


def test_digital_source_type_in_webp_attribute_and_other_namespace():
    # Written as an attribute, in the PLUS namespace, into a WebP: still read.
    packet = xmp_packet({"plus:DigitalSourceType": IPTC_DST + "trainedAlgorithmicMedia"})
    report = analyze(save(scene(), "WEBP", xmp=packet.encode()), "gen.webp")
    assert report.verdict.label == "ai_generated"
    assert by_check(report, "xmp")[0].evidence[0].field == "plus:DigitalSourceType"


def test_digital_source_type_under_a_custom_prefix_is_canonicalised():
    body = (
        '<iptcExt:DigitalSourceType xmlns:iptcExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        "trainedAlgorithmicMedia</iptcExt:DigitalSourceType>"
    )
    report = analyze(png_with_xmp(scene(), xmp_packet(body=body)), "gen.png")
    assert by_check(report, "xmp")[0].evidence[0].field == "Iptc4xmpExt:DigitalSourceType"


def test_composite_with_ai_on_a_phone_photo_is_ai_edited():
    packet = xmp_packet(
        {
            "Iptc4xmpExt:DigitalSourceType": IPTC_DST + "compositeWithTrainedAlgorithmicMedia",
            "photoshop:Credit": "Edited with Google AI",
            "xmp:CreatorTool": "Google Gemini",
        }
    )
    exif = phone_exif(gps=None, serial=None)
    report = analyze(save(scene(), "JPEG", exif=exif, xmp=packet.encode()), "magic.jpg")
    assert report.verdict.label == "ai_edited"
    assert report.verdict.strength == "strong"
    # A generator's name in a file that declares an AI composite means AI editing, not generation
    assert not [f for f in report.findings if f.signal == Signal.AI_GENERATED]
    assert {"ai_edited"} == {f.signal.value for f in by_check(report, "xmp")}
    assert any("camera" in c for c in report.verdict.conflicts), "the camera evidence is shown"


def test_made_with_google_ai_credit():
    packet = xmp_packet(body="<photoshop:Credit>Made with Google AI</photoshop:Credit>")
    report = analyze(png_with_xmp(scene(), packet), "gemini.png")
    assert report.verdict.label == "ai_generated"
    assert report.generator == "Google AI"


def test_created_with_ai_in_description_alt():
    body = (
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Portrait. Created with AI.'
        "</rdf:li></rdf:Alt></dc:description>"
    )
    report = analyze(png_with_xmp(scene(), xmp_packet(body=body)), "x.png")
    assert signals(report, "xmp") == {("ai_generated", "strong")}


def test_negated_credit_is_not_an_ai_claim():
    body = (
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Not made with AI</rdf:li>'
        "</rdf:Alt></dc:description>"
    )
    report = analyze(png_with_xmp(scene(), xmp_packet(body=body)), "x.png")
    assert not by_check(report, "xmp")
    assert report.verdict.label == "no_evidence"


def test_generator_as_creator_tool_names_the_generator():
    report = analyze(
        png_with_xmp(scene(), xmp_packet({"xmp:CreatorTool": "Midjourney v6.1"})), "mj.png"
    )
    assert report.verdict.label == "ai_generated"
    assert report.generator == "Midjourney"


def test_ai_system_used_not_in_list_still_counts():
    packet = xmp_packet({"Iptc4xmpExt:AISystemUsed": "PortraitForge 2"})
    report = analyze(png_with_xmp(scene(), packet), "x.png")
    (finding,) = by_check(report, "xmp")
    assert (finding.signal, finding.strength) == (Signal.AI_GENERATED, Strength.STRONG)
    assert finding.data["generator"] == "PortraitForge 2"


def test_digital_capture_is_camera_evidence():
    packet = xmp_packet({"Iptc4xmpExt:DigitalSourceType": IPTC_DST + "digitalCapture"})
    report = analyze(png_with_xmp(scene(), packet), "x.png")
    assert report.verdict.label == "camera_capture"


def test_exif_software_naming_a_generator_is_strong():
    exif = Image.Exif()
    exif[0x0131] = "Adobe Firefly Image 3"
    report = analyze(save(scene(), "JPEG", exif=exif), "ff.jpg")
    assert report.verdict.label == "ai_generated"
    assert report.generator == "Adobe Firefly"


def test_generator_named_in_a_full_camera_capture_reads_as_ai_editing():
    # A generator's name on a file that is otherwise a full camera capture: it worked on a real
    # photo, so the careful reading is AI editing, not "AI-generated".
    exif = phone_exif(gps=None, serial=None, software="Adobe Firefly")
    report = analyze(save(scene(), "JPEG", exif=exif), "ff.jpg")
    assert report.verdict.label == "ai_edited"
    assert signals(report, "exif") >= {("ai_edited", "strong"), ("camera_capture", "moderate")}


def test_generator_later_in_the_edit_history_is_ai_editing():
    later = history(("created", "Adobe Photoshop 25.1 (Windows)"), ("saved", "Adobe Firefly"))
    report = analyze(png_with_xmp(scene(), xmp_packet(body=later)), "x.png")
    assert report.verdict.label == "ai_edited"
    first = history(("created", "Adobe Firefly"), ("saved", "Adobe Photoshop 25.1 (Windows)"))
    report = analyze(png_with_xmp(scene(), xmp_packet(body=first)), "x.png")
    assert report.verdict.label == "ai_generated"
    assert report.generator == "Adobe Firefly"


def test_exif_image_description_credit():
    exif = Image.Exif()
    exif[0x010E] = "Made with Google AI"
    report = analyze(save(scene(), "JPEG", exif=exif), "x.jpg")
    assert signals(report, "exif") == {("ai_generated", "strong")}


# ---- privacy -------------------------------------------------------------------------------------


def test_gps_serial_and_names_are_reported_without_exact_values():
    exif = phone_exif(gps=(51.50722, -0.12750), serial="F2LXK9ABCD12", artist="Jane Doe")
    report = analyze(save(scene(), "JPEG", exif=exif), "home.jpg")
    privacy = {f.data["kind"]: f for f in report.privacy}
    assert privacy["gps"].strength == Strength.STRONG
    assert privacy["gps"].data["lat"] == 51.51 and privacy["gps"].data["lon"] == -0.13
    assert "51.51, -0.13" in privacy["gps"].evidence[0].value
    assert privacy["serials"].strength == Strength.MODERATE
    assert privacy["names"].strength == Strength.WEAK
    text = json.dumps([f.to_dict() for f in report.privacy])
    assert "51.507" not in text and "F2LXK9ABCD12" not in text, "exact values stay out of chat"
    assert "ABCD12"[-4:] in text and "Jane Doe" in text
    from bot.core.compose import privacy_lines

    offers = [line for line in privacy_lines(report) if "without this metadata" in line]
    assert len(offers) == 1  # one offer of a clean copy, not one per finding
    # privacy never moves the verdict
    assert report.verdict.label == "camera_capture"


def test_southern_western_gps_and_xmp_names_and_contact():
    packet = xmp_packet(
        {"exif:GPSLatitude": "33,52.1234S", "exif:GPSLongitude": "151,12.5W"},
        "<dc:creator><rdf:Seq><rdf:li>Sam Smith</rdf:li></rdf:Seq></dc:creator>"
        '<Iptc4xmpCore:CreatorContactInfo rdf:parseType="Resource">'
        "<Iptc4xmpCore:CiEmailWork>sam@example.org</Iptc4xmpCore:CiEmailWork>"
        "</Iptc4xmpCore:CreatorContactInfo>",
    )
    report = analyze(png_with_xmp(scene(), packet), "x.png")
    privacy = {f.data["kind"]: f for f in report.privacy}
    assert (privacy["gps"].data["lat"], privacy["gps"].data["lon"]) == (-33.87, -151.21)
    assert privacy["names"].evidence[0].value == "Sam Smith"
    assert privacy["contact"].strength == Strength.MODERATE
    assert "sam@example.org" not in json.dumps(privacy["contact"].to_dict())


def test_names_from_utf16_xp_tags_and_owner_and_user_comment_credit():
    from PIL import ExifTags

    exif = Image.Exif()
    exif[ExifTags.Base.XPAuthor] = "Zoë Ødegaard".encode("utf-16-le") + b"\x00\x00"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.CameraOwnerName] = "Sam Roe"
    ifd[ExifTags.Base.UserComment] = b"ASCII\x00\x00\x00Portrait generated with AI"
    report = analyze(save(scene(), "JPEG", exif=exif), "x.jpg")
    (names,) = report.privacy
    assert {e.value for e in names.evidence} == {"Zoë Ødegaard", "Sam Roe"}
    assert signals(report, "exif") == {("ai_generated", "strong")}


def test_placeholder_names_and_zero_gps_are_ignored():
    exif = phone_exif(gps=(0.0, 0.0), serial=None, artist="Unknown")
    report = analyze(save(scene(), "JPEG", exif=exif), "x.jpg")
    assert report.privacy == []


def test_matching_thumbnail_is_fine_but_a_different_one_is_reported():
    photo = scene((600, 400), seed=3)
    same = save(
        photo, "JPEG", exif=phone_exif(gps=None, serial=None, thumbnail=jpeg_thumbnail(photo))
    )
    assert analyze(same, "same.jpg").privacy == []

    # A crop whose thumbnail still shows the uncropped original: the classic leak
    original = scene((1200, 800), seed=4)
    crop = original.crop((400, 250, 800, 550))
    leaky = save(
        crop, "JPEG", exif=phone_exif(gps=None, serial=None, thumbnail=jpeg_thumbnail(original))
    )
    (finding,) = analyze(leaky, "crop.jpg").privacy
    assert finding.data["kind"] == "thumbnail"
    assert finding.strength == Strength.STRONG
    assert finding.data["distance"] > 18


def test_letterboxed_thumbnail_of_the_same_picture_is_not_reported():
    photo = scene((600, 400), seed=5)
    boxed = save(ImageOps.pad(photo, (160, 120), color=(0, 0, 0)), "JPEG", quality=80)
    data = save(photo, "JPEG", exif=phone_exif(gps=None, serial=None, thumbnail=boxed))
    assert analyze(data, "boxed.jpg").privacy == []


# ---- hostile XMP through the whole pipeline ------------------------------------------------------


XXE = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>&leak;</dc:creator>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def test_xxe_in_jpeg_xmp_is_skipped_and_reads_nothing():
    report = analyze(save(scene(), "JPEG", xmp=XXE.encode()), "xxe.jpg")
    assert report.ok
    assert run_status(report, "xmp")[0] == "skipped"
    assert "document type declaration" in run_status(report, "xmp")[1]
    text = json.dumps(report.to_dict())
    assert "root:" not in text and "/bin/" not in text
    assert run_status(report, "privacy")[0] == "ran"


@pytest.mark.parametrize(
    ("packet", "words"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY a{i} "{"&a;" * 10}">' for i in range(1, 4))
            + ']><x:xmpmeta xmlns:x="adobe:ns:meta/">&a3;</x:xmpmeta>',
            "document type declaration",
        ),
        (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            + "<a>" * 10_000
            + "</a>" * 10_000
            + "</x:xmpmeta>",
            "nested",
        ),
    ],
    ids=["billion_laughs", "deep_10k"],
)
def test_hostile_xmp_in_png_never_fails_a_check(packet, words):
    report = analyze(png_with_xmp(scene(), packet), "evil.png")
    assert report.ok
    assert all(r.status in ("ran", "skipped") for r in report.runs)
    status, note = run_status(report, "xmp")
    assert status == "skipped" and words in note


def test_huge_xmp_packet_in_webp_is_refused_not_parsed():
    body = (
        "<dc:description><rdf:Alt><rdf:li>"
        + "A" * 2_100_000
        + "</rdf:li></rdf:Alt></dc:description>"
    )
    data = save(scene((64, 64)), "WEBP", xmp=xmp_packet(body=body).encode())
    report = analyze(data, "big.webp")
    assert report.ok
    status, note = run_status(report, "xmp")
    assert status == "skipped" and "larger than" in note
