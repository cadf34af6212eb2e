"""The c2pa check against files really signed with c2pa-python (see tests/c2pa_fixtures.py)."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator

import pytest
from PIL import Image

from bot.analysis.checks import CheckContext, all_checks
from bot.analysis.checks import c2pa as check
from bot.analysis.intake.decode import open_photo
from bot.analysis.pipeline.findings import Finding, Signal, Strength
from bot.analysis.pipeline.report import Report
from bot.analysis.pipeline.run import analyze
from bot.analysis.pipeline.verdict import decide
from bot.settings import C2PA, Analysis, Settings
from tests import c2pa_fixtures as fx


def only_c2pa(settings: Settings | None = None) -> Settings:
    """Settings with every other check off, so verdicts here depend on this check alone."""
    settings = settings or Settings()
    others = [m.NAME for m in all_checks() if m.NAME != check.NAME]
    return settings.model_copy(update={"analysis": Analysis(disabled_checks=others)})


def c2pa_findings(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.check == check.NAME]


def one(findings: list[Finding], signal: Signal) -> Finding:
    matches = [f for f in findings if f.signal == signal]
    assert len(matches) == 1, [f.title for f in findings]
    return matches[0]


def run_check(data: bytes, settings: Settings | None = None) -> list[Finding]:
    settings = settings or Settings()
    photo = open_photo(data, "photo", settings.limits)
    return check.run(photo, CheckContext(settings=settings))


# ---------------------------------------------------------------- configuration


def test_network_features_are_off_by_default() -> None:
    cfg = Settings().c2pa
    verify = check.sdk_settings(cfg)["verify"]
    assert verify == {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False}


def test_shipped_trust_lists_are_loaded() -> None:
    trust = check.sdk_settings(Settings().c2pa)["trust"]
    assert trust["trust_anchors"].count("BEGIN CERTIFICATE") > 20  # official + interim anchors
    assert trust["allowed_list"].count("BEGIN CERTIFICATE") > 20
    assert "1.3.6.1.4.1.62558.2.1" in trust["trust_config"]
    assert "user_anchors" not in trust


def test_context_is_built_once_per_configuration() -> None:
    plain, trusting = Settings().c2pa, fx.trusting_settings().c2pa
    assert check.context(plain) is check.context(Settings().c2pa)
    assert check.context(trusting) is not check.context(plain)


# ---------------------------------------------------------------- no manifest


def test_no_manifest_means_no_finding() -> None:
    assert run_check(fx.plain_jpeg()) == []
    report = analyze(fx.plain_jpeg(), "plain.jpg", settings=only_c2pa())
    assert [r.status for r in report.runs] == ["ran"]
    assert report.verdict.label == "no_evidence"


def test_formats_without_c2pa_support_are_quietly_ignored() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(buf, "BMP")
    assert run_check(buf.getvalue()) == []
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(png, "PNG")
    assert run_check(png.getvalue()) == []


# ---------------------------------------------------------------- AI generated


def test_ai_generated_valid_but_untrusted_is_strong() -> None:
    report = analyze(fx.signed_ai_jpeg(), "ai.jpg", settings=only_c2pa())
    findings = c2pa_findings(report)
    ai = one(findings, Signal.AI_GENERATED)
    assert ai.strength == Strength.STRONG
    assert ai.data["generator"] == "TestGen 1.0"
    assert "made by AI" in ai.title
    assert "TestGen Labs, which is not on the trust list" in ai.detail
    summary = one(findings, Signal.INFO)
    assert summary.data["validation_state"] == "Valid"
    assert summary.data["trusted"] is False
    assert "not on the trust list" in summary.title
    shown = {e.field: e.value for e in summary.evidence}
    assert shown["Signed by"] == "TestGen Labs"
    assert shown["Made with"] == "TestGen 1.0"
    assert shown["Action"] == "c2pa.created (trainedAlgorithmicMedia) by TestGen 1.0"
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength == Strength.STRONG


def test_ai_generated_trusted_is_conclusive() -> None:
    settings = fx.trusting_settings()
    report = analyze(fx.signed_ai_jpeg(), "ai.jpg", settings=settings)  # every check on
    ai = one(c2pa_findings(report), Signal.AI_GENERATED)
    assert ai.strength == Strength.CONCLUSIVE
    assert "which is on the trust list" in ai.detail
    assert one(c2pa_findings(report), Signal.INFO).data["validation_state"] == "Trusted"
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength == Strength.CONCLUSIVE


def test_operator_can_replace_the_trust_lists(tmp_path) -> None:
    (tmp_path / "C2PA-TRUST-LIST.pem").write_bytes(fx.chain().root_pem)
    settings = Settings(c2pa=C2PA(trust_dir=str(tmp_path)))
    ai = one(run_check(fx.signed_ai_jpeg(), settings), Signal.AI_GENERATED)
    assert ai.strength == Strength.CONCLUSIVE


def test_ai_generated_png() -> None:
    report = analyze(fx.signed_ai_png(), "ai.png", settings=only_c2pa())
    assert report.format == "PNG"
    assert report.verdict.label == "ai_generated"
    assert one(c2pa_findings(report), Signal.AI_GENERATED).strength == Strength.STRONG


def test_ai_base_found_in_ingredient_after_ordinary_edit() -> None:
    # The active manifest only says "opened, colour-adjusted"; the generator is one level down.
    report = analyze(
        fx.signed_retouched_ai_jpeg(), "r.jpg", settings=only_c2pa(fx.trusting_settings())
    )
    findings = c2pa_findings(report)
    ai = one(findings, Signal.AI_GENERATED)
    assert ai.data == {
        "generator": "TestGen 1.0",
        "source_type": "trainedAlgorithmicMedia",
        "role": "base",
    }
    assert "original picture was made by AI" in ai.title
    assert "signed by TestGen Labs" in ai.detail  # the ingredient's own signer is named
    assert ai.strength == Strength.CONCLUSIVE
    assert one(findings, Signal.EDITED).data["generator"] == "PhotoFix 3.0"
    assert report.verdict.label == "ai_generated"


# ---------------------------------------------------------------- AI edited, camera, edits


def test_ai_composite_on_camera_photo_is_ai_edited() -> None:
    report = analyze(fx.signed_ai_edited_jpeg(), "c.jpg", settings=only_c2pa())
    findings = c2pa_findings(report)
    edited = one(findings, Signal.AI_EDITED)
    assert edited.strength == Strength.STRONG
    assert edited.data["generator"] == "PhotoFix 3.0"
    assert edited.data["source_type"] == "compositeWithTrainedAlgorithmicMedia"
    camera = one(findings, Signal.CAMERA_CAPTURE)
    assert camera.data["role"] == "base"
    assert not [f for f in findings if f.signal == Signal.AI_GENERATED]
    summary = one(findings, Signal.INFO)
    values = [e.value for e in summary.evidence if e.field == "Ingredient's action"]
    assert "c2pa.created (trainedAlgorithmicMedia) by TestGen 1.0" in values
    assert report.verdict.label == "ai_edited"
    assert report.verdict.strength == Strength.STRONG


def test_camera_capture_untrusted_and_trusted() -> None:
    untrusted = one(run_check(fx.signed_camera_jpeg()), Signal.CAMERA_CAPTURE)
    assert untrusted.strength == Strength.STRONG
    assert untrusted.data["generator"] == "TestCam 2.1"
    report = analyze(fx.signed_camera_jpeg(), "cam.jpg", settings=only_c2pa(fx.trusting_settings()))
    assert report.verdict.label == "camera_capture"
    assert report.verdict.strength == Strength.CONCLUSIVE


def test_camera_capture_then_edited() -> None:
    report = analyze(fx.signed_camera_edited_jpeg(), "cam.jpg", settings=only_c2pa())
    edits = one(c2pa_findings(report), Signal.EDITED)
    assert edits.data["actions"] == ["color_adjustments", "cropped"]
    assert "color adjustments, cropped" in edits.title
    assert report.verdict.label == "camera_edited"


# ---------------------------------------------------------------- problems


def test_tampered_after_signing() -> None:
    report = analyze(fx.tampered_ai_jpeg(), "t.jpg", settings=only_c2pa(fx.trusting_settings()))
    findings = c2pa_findings(report)
    summary = one(findings, Signal.INFO)
    assert summary.data["status"] == "tampered"
    assert "changed after it was signed" in summary.title
    assert "no longer describe these pixels" in summary.detail
    ai = one(findings, Signal.AI_GENERATED)
    assert ai.strength == Strength.WEAK
    assert ai.title.endswith("(unverified)")
    assert report.verdict.label == "no_evidence"  # a broken claim alone decides nothing


def _store_with(codes: list[str], state: str) -> dict:
    """The real store JSON of signed_ai_jpeg(), with the validation outcome replaced.

    The SDK refuses to sign with an expired or mis-profiled certificate, and a manifest signed
    while its certificate was valid stays valid, so these outcomes cannot be produced here.
    """
    store = check.read_store(fx.signed_ai_jpeg(), "image/jpeg", Settings().c2pa)
    assert store is not None
    store["validation_state"] = state
    store["validation_results"]["activeManifest"]["failure"] = [{"code": c} for c in codes]
    return store


def test_expired_certificate_says_content_may_be_genuine() -> None:
    findings = check.findings_from_store(_store_with(["signingCredential.expired"], "Invalid"))
    summary = one(findings, Signal.INFO)
    assert summary.data["status"] == "cert_problem"
    assert "had expired" in summary.title
    assert "may still be genuine" in summary.detail
    ai = one(findings, Signal.AI_GENERATED)
    assert ai.strength == Strength.MODERATE
    assert decide(findings, []).label == "ai_generated"


@pytest.mark.parametrize(
    ("codes", "state", "kind", "strength"),
    [
        ([], "Trusted", "trusted", Strength.CONCLUSIVE),
        (["signingCredential.untrusted"], "Valid", "valid", Strength.STRONG),
        (["signingCredential.invalid"], "Invalid", "cert_problem", Strength.MODERATE),
        (["signingCredential.revoked"], "Invalid", "cert_problem", Strength.WEAK),
        (
            ["signingCredential.untrusted", "assertion.dataHash.mismatch"],
            "Invalid",
            "tampered",
            Strength.WEAK,
        ),
        (["claimSignature.mismatch"], "Invalid", "tampered", Strength.WEAK),
        (["assertion.missing"], "Invalid", "invalid", Strength.WEAK),
    ],
)
def test_status_from_codes(codes: list[str], state: str, kind: str, strength: Strength) -> None:
    status = check.status_from_codes(state, codes, [])
    assert (status.kind, status.strength) == (kind, strength)


def test_damaged_manifest_skips_the_check_without_crashing() -> None:
    report = analyze(fx.broken_manifest_jpeg(), "b.jpg", settings=only_c2pa())
    assert report.error is None
    (run,) = report.runs
    assert run.status == "skipped"
    assert "could not be read" in run.note
    assert "c2pa: " + run.note in report.verdict.not_checked


def test_hostile_text_in_manifest_is_excerpted() -> None:
    evil = "Evil\nGen\x00 " + "x" * 500
    data = fx.sign_jpeg(fx.ai_manifest(tool=evil, version="6.6\n6"), fx.plain_jpeg(64), "Evil\nOrg")
    findings = run_check(data)
    for f in findings:
        assert "\n" not in f.title and "\x00" not in f.title
        assert len(f.title) < 260
        for e in f.evidence:
            assert "\n" not in e.value and len(e.value) <= 160
    assert len(one(findings, Signal.AI_GENERATED).data["generator"]) <= 80


# ---------------------------------------------------------------- remote manifests


@pytest.fixture
def manifest_server() -> Iterator[tuple[str, list[str], dict[str, bytes]]]:
    """A local HTTP server that would serve a manifest store, recording every request."""
    hits: list[str] = []
    served: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = served.get("store", b"")
            self.send_response(200)
            self.send_header("Content-Type", "application/c2pa")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/m.c2pa", hits, served
    finally:
        server.shutdown()
        server.server_close()


def test_remote_manifest_is_not_fetched(manifest_server) -> None:
    url, hits, served = manifest_server
    image, served["store"] = fx.remote_manifest_with_store(url)
    report = analyze(image, "cloud.jpg", settings=only_c2pa())
    assert hits == []
    (finding,) = c2pa_findings(report)
    assert finding.data["status"] == "remote"
    assert "could not be checked offline" in finding.title
    assert {e.field: e.value for e in finding.evidence}["Stored at"] == url
    assert report.verdict.label == "no_evidence"


def test_remote_manifest_is_fetched_only_when_configured(manifest_server) -> None:
    url, hits, served = manifest_server
    image, served["store"] = fx.remote_manifest_with_store(url)
    settings = fx.trusting_settings(remote_manifest_fetch=True)
    findings = run_check(image, settings)
    assert hits == ["/m.c2pa"]
    assert one(findings, Signal.AI_GENERATED).strength == Strength.CONCLUSIVE


def test_demo_sample_reads_as_valid_but_untrusted_ai() -> None:
    data = (fx.ROOT_DIR / "samples" / "c2pa-ai-generated.jpg").read_bytes()
    report = analyze(data, "c2pa-ai-generated.jpg", settings=only_c2pa())
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength == Strength.STRONG
    assert one(c2pa_findings(report), Signal.INFO).data["validation_state"] == "Valid"


def test_multi_picture_jpeg_without_credentials() -> None:
    # Phones write multi-picture JPEGs (MPO, Ultra HDR gain maps): no manifest, no error.
    im = Image.open(io.BytesIO(fx.plain_jpeg(128))).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "MPO", save_all=True, append_images=[im.resize((64, 64))])
    assert run_check(buf.getvalue()) == []


def test_real_face_photos_without_credentials_give_no_finding(shared_dir) -> None:
    files = sorted((shared_dir / "data" / "faces").rglob("*.jpg"))[::60]
    assert len(files) > 10
    for path in files:
        assert run_check(path.read_bytes()) == [], path


def test_missing_operator_trust_file_skips_with_a_reason(tmp_path) -> None:
    settings = Settings(c2pa=C2PA(extra_trust_anchors=str(tmp_path / "missing.pem")))
    report = analyze(fx.signed_ai_jpeg(), "ai.jpg", settings=only_c2pa(settings))
    (run,) = report.runs
    assert (run.status, run.note) == (
        "skipped",
        "the Content Credentials trust settings could not be loaded",
    )


def test_trust_check_turned_off_is_said_plainly() -> None:
    settings = Settings(c2pa=C2PA(verify_trust=False))
    findings = run_check(fx.signed_ai_jpeg(), settings)
    assert one(findings, Signal.AI_GENERATED).strength == Strength.STRONG
    summary = one(findings, Signal.INFO)
    assert summary.data["status"] == "unchecked"
    assert "trust list is turned off" in summary.title


# ---------------------------------------------------------------- issue 15, item 3


@pytest.mark.parametrize(
    ("make", "tool"),
    [
        (fx.signed_firefly_style_jpeg, "Adobe_Firefly 0.1"),
        (fx.signed_bing_style_jpeg, "Bing Image Creator"),
    ],
)
def test_trusted_record_naming_an_ai_generator_without_source_type_is_ai_evidence(
    make, tool
) -> None:
    """Early Adobe Firefly and Microsoft Designer / Bing Image Creator files name the tool but
    state no digitalSourceType: trusted, that is AI evidence, not "no evidence either way"."""
    report = analyze(make(), "named.jpg", settings=only_c2pa(fx.trusting_settings()))
    assert one(c2pa_findings(report), Signal.INFO).data["status"] == "trusted"
    named = one(c2pa_findings(report), Signal.AI_GENERATED)
    assert named.strength == Strength.STRONG and named.data["named"] is True
    assert tool in named.title
    assert report.verdict.label == "ai_generated"
    # Untrusted, the same record is one step weaker again: a hint that still counts.
    untrusted = analyze(make(), "named.jpg", settings=only_c2pa())
    assert one(c2pa_findings(untrusted), Signal.AI_GENERATED).strength == Strength.MODERATE


def test_record_of_an_ordinary_tool_without_source_type_stays_no_evidence() -> None:
    report = analyze(fx.signed_plain_v1_jpeg(), "p.jpg", settings=only_c2pa(fx.trusting_settings()))
    assert not [f for f in c2pa_findings(report) if f.signal == Signal.AI_GENERATED]
    assert report.verdict.label == "no_evidence"


def test_credentials_in_plain_words() -> None:
    """Who signed and when, which counts (trusted or not), what was done, ingredients, and
    where to check, as Content Credentials Verify says it."""
    untrusted = one(run_check(fx.signed_ai_edited_jpeg()), Signal.INFO)
    shown = {e.field: e.value for e in untrusted.evidence}
    assert "Valid" not in shown.values()  # never a bare "Valid" beside "not on the trust list"
    assert shown["Signature"].endswith("not on the trust list: unverified")
    plain = untrusted.data["plain"]
    assert plain[0].startswith("Signed by PhotoFix Ltd")
    assert "not on the trust list, and that is what counts" in plain[1]
    assert "This picture was edited with AI (PhotoFix 3.0)." in plain
    assert "The original it was made from was captured by a camera (TestCam 2.1)." in plain
    assert "A part placed into it was created by an AI tool (TestGen 1.0)." in plain
    assert any(line.startswith("Made from: IMG_0001.jpg (the original") for line in plain)
    assert plain[-1].endswith("contentcredentials.org/verify.")
    assert untrusted.data["ingredients"][1] == "ai.jpg (a part placed into it)"
    trusted = one(run_check(fx.signed_camera_jpeg(), fx.trusting_settings()), Signal.INFO)
    assert "is on the C2PA trust list" in trusted.data["plain"][1]
    assert "This picture was captured by a camera (TestCam 2.1)." in trusted.data["plain"]


def test_signing_time_is_said_when_the_record_has_one() -> None:
    """A trusted timestamp (signature_info.time) says when: a real store, its time filled in
    as a time-stamping authority would (the test signer has no TSA)."""
    store = check.read_store(fx.signed_ai_jpeg(), "image/jpeg", fx.trusting_settings().c2pa)
    active = store["manifests"][store["active_manifest"]]
    active["signature_info"]["time"] = "2024-05-01T10:00:00+00:00"
    summary = one(check.findings_from_store(store), Signal.INFO)
    assert summary.data["plain"][0] == "Signed by TestGen Labs on 1 May 2024, 10:00 UTC."
    assert summary.data["signed_at"] == "2024-05-01T10:00:00+00:00"
