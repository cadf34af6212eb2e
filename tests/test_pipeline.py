from bot.analysis.checks import all_checks
from bot.analysis.pipeline.run import analyze
from tests.conftest import jpeg_bytes, png_bytes


def test_plain_png_has_no_evidence_and_says_so():
    report = analyze(png_bytes((300, 200)), "plain.png")
    assert report.ok
    assert report.verdict.label == "no_evidence"
    assert any("stripped" in n for n in report.verdict.not_checked)
    assert report.verdict.review, "no-evidence verdicts carry the human checklist"


def test_generator_sized_image_is_only_weak():
    report = analyze(png_bytes((1024, 1024)), "sq.png")
    assert report.verdict.label == "no_evidence"
    assert [f.strength for f in report.findings if f.check == "dimensions"] == ["weak"]


def test_pdf_is_refused_with_code_and_sentence():
    report = analyze(b"%PDF-1.7\n...", "doc.pdf")
    assert report.error_code == "not_an_image"
    assert "PDF" in report.error


def test_truncated_jpeg():
    data = jpeg_bytes((400, 400))
    report = analyze(data[: len(data) // 2], "cut.jpg")
    assert report.error_code == "truncated"


def test_report_json_shape():
    d = analyze(jpeg_bytes(), "a.jpg").to_dict()
    assert {"verdict", "findings", "checks", "error", "sha256"} <= d.keys()
    assert all(c["status"] in {"ran", "skipped", "failed", "timeout"} for c in d["checks"])


def test_annotation_can_be_left_out_without_changing_findings():
    data = png_bytes((300, 300))
    drawn, bare = analyze(data, "a.png"), analyze(data, "a.png", annotate=False)
    assert drawn.annotated_png is not None and bare.annotated_png is None
    # the picture says which check drew it: the reply shows it only where that check found something
    drawers = {c.NAME for c in all_checks() if hasattr(c, "annotate")}
    assert drawn.annotated_by in drawers and bare.annotated_by is None
    assert [(f.check, f.title, f.data) for f in bare.findings] == [
        (f.check, f.title, f.data) for f in drawn.findings
    ]
