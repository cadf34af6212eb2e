"""What people read in a check reply: wording, order, privacy, attachments (found by QA)."""

from __future__ import annotations

import dataclasses

import pytest

from bot import messages
from bot.analysis.pipeline.findings import CheckRun, Evidence, Finding, Signal, Strength
from bot.analysis.pipeline.run import analyze
from bot.core import compose
from bot.core.pool import AnalysisPool
from bot.core.request import ImageInput, Kind, Request
from bot.core.service import HeadshotService
from bot.guidance import get_guide
from tests.conftest import jpeg_bytes, png_bytes


@pytest.fixture
def service():
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    yield svc
    svc.close()


def gps_jpeg() -> bytes:
    from tests.metadata_fixtures import phone_exif

    return jpeg_bytes((400, 300), exif=phone_exif(gps=(51.50722, -0.12750), serial="F2LXK9AB"))


def all_text(reply) -> str:
    parts = [reply.title, reply.summary, reply.footer]
    for section in [*reply.sections, *(s for p in reply.pages.values() for s in p)]:
        parts += [section.title, *section.lines]
    return "\n".join(parts)


def test_info_findings_carry_no_strength_word():
    info = Finding("faces", Signal.INFO, Strength.WEAK, "No face found")
    weak = Finding("dimensions", Signal.AI_GENERATED, Strength.WEAK, "Typical size")
    assert compose.finding_line(info) == "No face found"
    assert compose.finding_line(weak).startswith("Weak · ")


def test_skipped_checks_are_named_for_people():
    report = analyze(png_bytes((64, 64)), "x.png")
    report.runs.append(CheckRun("watermark", "skipped", "the file is too small"))
    report.verdict.not_checked.append("watermark: the file is too small")
    reply = compose.check_reply(report, get_guide())
    cannot = next(s for s in reply.pages["details"] if s.title == "What I could not tell")
    assert "Invisible watermark: the file is too small" in cannot.lines
    runs = next(s for s in reply.pages["details"] if s.title == "Checks")
    assert not any(line.startswith("watermark:") for line in runs.lines)


def test_annotated_picture_only_when_pixels_count_and_named_per_photo():
    report = analyze(png_bytes((300, 300)), "a.png")
    report.annotated_png = b"\x89PNG fake"
    # The pixel check found nothing (an info finding): no diagram in the chat.
    assert not compose.check_reply(report, get_guide()).attachments
    hint = Finding("pixels", Signal.AI_GENERATED, Strength.MODERATE, "Pixel signs")
    report.findings.insert(0, hint)
    (pic,) = compose.check_reply(report, get_guide()).attachments
    other = dataclasses.replace(report, sha256="f" * 64)
    (pic2,) = compose.check_reply(other, get_guide()).attachments
    assert pic.filename != pic2.filename


async def test_public_check_keeps_privacy_for_the_sender(service):
    req = Request(Kind.CHECK, "discord", images=[ImageInput("me.jpg", gps_jpeg())], public=True)
    public, private = await service.handle(req)
    assert not public.private and private.private
    text = all_text(public)
    assert "51.5" not in text and "F2LXK9AB"[-4:] not in text
    assert "strip" not in public.offers
    assert "51.5" in all_text(private) and "strip" in private.offers
    # A private (default) check shows everything in one reply, as before.
    (only,) = await service.handle(
        Request(Kind.CHECK, "slack", images=[ImageInput("a.jpg", gps_jpeg())])
    )
    assert "51.5" in all_text(only) and "strip" in only.offers


def test_evidence_line_shows_field_and_value():
    f = Finding(
        "exif", Signal.CAMERA_CAPTURE, Strength.MODERATE, "Camera", (Evidence("Make", "Canon"),)
    )
    assert compose.finding_line(f) == "Moderate · Camera — Make: Canon"


def test_watermark_verdict_does_not_claim_content_credentials():
    from pathlib import Path

    data = (Path(__file__).parent.parent / "samples" / "sdxl-watermark.png").read_bytes()
    report = analyze(data, "sdxl-watermark.png")
    if not any(
        f.check == "watermark" and f.strength == Strength.CONCLUSIVE for f in report.findings
    ):
        pytest.skip("the watermark check did not decode the sample here")
    assert report.verdict.strength == Strength.CONCLUSIVE
    # The sample has no content credentials at all: the headline may not say it has.
    assert "credentials say" not in report.verdict.headline
    assert "watermark" in report.verdict.headline


def test_ai_edited_camera_original_is_not_a_conflict():
    fixtures = pytest.importorskip("tests.c2pa_fixtures")
    report = analyze(fixtures.signed_ai_edited_jpeg(), "edit.jpg")
    if report.verdict.label.value != "ai_edited":
        pytest.skip("the C2PA check is not reading this fixture here")
    reply = compose.check_reply(report, get_guide())
    assert not any(s.title == "Pointing the other way" for s in reply.sections)


def test_no_evidence_headline_does_not_deny_weak_hints():
    fixtures = pytest.importorskip("tests.c2pa_fixtures")
    report = analyze(fixtures.tampered_ai_jpeg(), "tampered.jpg")
    assert report.verdict.label.value == "no_evidence"
    weak_ai = [f for f in report.findings if f.signal == Signal.AI_GENERATED]
    if not weak_ai:
        pytest.skip("no weak AI hint on this fixture here")
    # A weak AI hint is shown as evidence: the headline may not say there was no sign at all.
    assert "no sign of AI" not in report.verdict.headline


async def test_several_photos_do_not_repeat_the_same_guidance(service):
    images = [
        ImageInput(f"p{i}.png", png_bytes((200 + i, 200), (i * 40, 90, 90))) for i in range(4)
    ]
    replies = await service.handle(Request(Kind.CHECK, "discord", images=images))
    assert len(replies) == 4
    guidance = [
        line for r in replies for s in r.sections if s.title == "Guidance" for line in s.lines
    ]
    assert guidance and len(guidance) == len(set(guidance))
    assert any(s.title == "Guidance" for s in replies[0].sections)


async def test_help_speaks_the_platform_it_is_asked_on(service):
    def text(reply) -> str:
        return " ".join(line for s in reply.sections for line in s.lines)

    (console,) = await service.handle(Request(Kind.HELP, "console"))
    (slack,) = await service.handle(Request(Kind.HELP, "slack"))
    (discord,) = await service.handle(Request(Kind.HELP, "discord"))
    assert "/headshot" not in text(console) and "path" in text(console)
    assert "right-click" not in text(slack) and "upload form" in text(slack)
    assert "⋯" not in text(discord) and "Check avatar" in text(discord)


async def test_someone_elses_photo_gets_no_privacy_details(service):
    req = Request(
        Kind.CHECK, "discord", images=[ImageInput("bob.jpg", gps_jpeg())], for_owner=False
    )
    (reply,) = await service.handle(req)
    text = all_text(reply)
    assert "51.5" not in text and "strip" not in reply.offers
    assert "only to the person who sent the photo" in text


def test_disclosure_reply_names_the_place_and_says_the_advice_once():
    guide = get_guide()
    d = guide.disclosure("government-id", "ai_generated")
    reply = compose.disclosure_reply(d)
    assert reply.title.endswith("Government ID")
    assert all(d.advice not in line for s in reply.sections for line in s.lines)
    assert d.advice in reply.summary
    assert compose.disclosure_reply(guide.disclosure("linkedin", "ai_generated")).title.endswith(
        "LinkedIn"
    )


def test_moderate_pixel_evidence_is_not_headlined_as_a_fact():
    from bot.analysis.pipeline.verdict import decide

    report = analyze(png_bytes((300, 300)), "face.png")
    hint = Finding("pixels", Signal.AI_GENERATED, Strength.MODERATE, "Pixel signs of AI")
    report.findings = [hint]
    report.verdict = decide(report.findings, report.runs)
    assert report.verdict.label.value == "ai_generated"
    title = compose.check_reply(report, get_guide()).title
    assert "AI-generated (" not in title and "signs of ai generation" in title.lower()
    # Strong evidence keeps the plain title.
    report.findings = [dataclasses.replace(hint, strength=Strength.STRONG, check="generators")]
    report.verdict = decide(report.findings, report.runs)
    assert "AI-generated (strong evidence)" in compose.check_reply(report, get_guide()).title


async def test_stripped_copy_reply_says_what_was_done_to_the_file(service):
    import io

    from PIL import Image, ImageChops

    from tests.metadata_fixtures import phone_exif, scene

    async def stripped_page(fmt: str):
        buf = io.BytesIO()
        scene((400, 300)).save(buf, fmt, exif=phone_exif(gps=(51.5, -0.12)))
        image = ImageInput(f"me.{fmt.lower()}", buf.getvalue())
        (reply,) = await service.handle(Request(Kind.CHECK, "discord", images=[image]))
        page = reply.page_reply("strip")
        before = Image.open(io.BytesIO(image.data)).convert("RGB")
        after = Image.open(io.BytesIO(page.attachments[0].data)).convert("RGB")
        return page.summary, ImageChops.difference(before, after).getbbox()

    # JPEG: metadata taken out of the file, the picture untouched, and the reply says so.
    summary, changed = await stripped_page("JPEG")
    assert changed is None and "byte for byte" in summary and "saved again" not in summary
    # TIFF cannot be cleaned in place: saved again, and the reply says that instead.
    summary, _ = await stripped_page("TIFF")
    assert "saved again" in summary and "byte for byte" not in summary


def test_ai_verdict_does_not_carry_the_missing_sign_note():
    from pathlib import Path

    data = (Path(__file__).parent.parent / "samples" / "sdxl-watermark.png").read_bytes()
    report = analyze(data, "sdxl.png")
    if report.verdict.label.value != "ai_generated":
        pytest.skip("the watermark check did not decode the sample here")
    note = messages.text("check.limits_note")
    assert note not in all_text(compose.check_reply(report, get_guide()))
    plain = analyze(png_bytes((80, 80)), "plain.png")
    assert note in all_text(compose.check_reply(plain, get_guide()))


def test_footer_names_only_buttons_the_reply_has():
    camera = analyze(png_bytes((90, 90)), "plain.png")
    reply = compose.check_reply(camera, get_guide())
    assert not any(a.id == "disclosure" for a in reply.actions)
    assert "disclosure" not in reply.footer.lower()


def test_informational_findings_keep_their_numbers_for_details():
    report = analyze(png_bytes((300, 300)), "plain.png")
    info = Finding(
        "pixels",
        Signal.INFO,
        Strength.WEAK,
        "No reliable pixel signs of AI generation",
        (Evidence("detector score", "23.1 out of 100; a hint from 99"),),
    )
    report.findings = [info]
    reply = compose.check_reply(report, get_guide())
    notes = next(s for s in reply.pages["details"] if s.title == "Also noted")
    assert notes.lines == ["No reliable pixel signs of AI generation"]
    assert "detector score" not in " ".join(s.lines[0] for s in reply.sections if s.lines)
    assert "detector score" in all_text(reply)  # still on the Details page
