"""The face and pixel checks: features, model, findings, annotation, evaluation harness."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest
from PIL import Image

from bot.analysis import evaluate
from bot.analysis.checks import CheckContext, alignment, faces, pixels
from bot.analysis.findings import Signal, Strength
from bot.analysis.intake import open_photo
from bot.analysis.pipeline import analyze
from bot.analysis.vision import detect, features, model
from bot.analysis.vision.cache import pixels_config
from bot.analysis.vision.detect import FaceScan
from bot.analysis.vision.scan import scan_image
from bot.settings import get_settings

needs_detector = pytest.mark.skipif(not detect.available(), reason="dlib is not installed")


def _noise_image(size: int = 256, seed: int = 0) -> Image.Image:
    """Smooth random texture: no face, no periodic structure."""
    rng = np.random.default_rng(seed)
    small = rng.normal(128, 50, (size // 8, size // 8, 3)).clip(0, 255).astype(np.uint8)
    im = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(im, np.float32) + rng.normal(0, 3, (size, size, 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def _bytes(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def _photo(im: Image.Image, fmt: str = "PNG"):
    return open_photo(_bytes(im, fmt), "t." + fmt.lower(), get_settings().limits)


def _ctx() -> CheckContext:
    return CheckContext(settings=get_settings())


@needs_detector
def test_no_face_is_reported_and_the_pixel_finding_says_so() -> None:
    photo = _photo(_noise_image())
    found = faces.run(photo, _ctx())
    assert [f.title for f in found] == ["No face found"]
    assert found[0].signal is Signal.INFO
    [pix] = pixels.run(photo, _ctx())
    assert "No face was found" in pix.detail
    assert pix.data["faces"] == 0 and pix.data["face_detection"] is True


def test_without_a_detector_the_centre_is_scored_and_the_finding_says_so() -> None:
    arr = np.asarray(_noise_image())
    ex = features.extract(arr, FaceScan(ran=False, note="none"))
    assert ex.values.shape == (len(features.FEATURE_NAMES),)
    assert ex.as_dict()["align_has_face"] == 0.0
    scan = scan_image(_noise_image())
    scan.faces = FaceScan(ran=False)
    finding = pixels._finding(0.1, scan, {}, 256)
    assert "No face detection ran" in finding.detail


def test_periodic_upsampling_artifact_moves_the_spectral_features() -> None:
    base = np.asarray(_noise_image(seed=3), np.float32)
    yy, xx = np.mgrid[:256, :256]
    # a faint 4-pixel grid, like a transposed-convolution upsampler leaves
    grid = 6.0 * (((xx % 4) == 0).astype(np.float32) + ((yy % 4) == 0))
    plain = features.extract(base.astype(np.uint8), FaceScan(ran=True)).as_dict()
    gridded = (base + grid[..., None]).clip(0, 255).astype(np.uint8)
    marked = features.extract(gridded, FaceScan(ran=True)).as_dict()
    assert marked["spec_grid_peak"] > plain["spec_grid_peak"] + 1.0
    assert marked["spec_peak_max"] > plain["spec_peak_max"] + 1.0


def test_model_loads_and_gives_probabilities() -> None:
    clf = model.load()
    rng = np.random.default_rng(1)
    x = rng.normal(0, 3, (50, len(features.FEATURE_NAMES))).astype(np.float32)
    p = clf.proba(x)
    assert p.shape == (50,)
    assert np.all((p >= 0) & (p <= 1))
    one = scan_image(_noise_image())
    contrib = clf.contributions(one.features.values)
    # path attributions add up to the margin (minus the trees' root values)
    roots = float(clf.value[clf.roots].sum())
    assert sum(contrib.values()) + roots + clf.base == pytest.approx(
        float(clf.margin(one.features.values)[0]), abs=1e-3
    )
    assert model.MODEL_PATH.stat().st_size <= 20_000_000


def test_strength_is_never_above_moderate_and_the_score_is_explained_in_words() -> None:
    scan = scan_image(_noise_image())
    contrib = model.load().contributions(scan.features.values)
    t = pixels_config()["thresholds"]
    seen = set()
    weak, moderate = float(t["weak"]), float(t["moderate"])
    for p in [*np.linspace(0, 1, 41), weak, (weak + moderate) / 2, moderate]:
        f = pixels._finding(float(p), scan, contrib, 256)
        assert f.strength.rank <= Strength.MODERATE.rank
        assert f.detail and f.title
        assert "out of 100" in f.evidence[0].value and "counts as a hint" in f.evidence[0].value
        if p >= moderate:
            assert (f.signal, f.strength) == (Signal.AI_GENERATED, Strength.MODERATE)
        elif p >= weak:
            assert (f.signal, f.strength) == (Signal.AI_GENERATED, Strength.WEAK)
        else:
            assert f.signal is Signal.INFO and "not proof" in f.detail
        seen.add(f.data["band"])
    assert seen == {"none", "weak", "moderate"}


def test_gan_alignment_rule_needs_square_frame_level_eyes_and_exact_spots() -> None:
    (lx, ly), (rx, ry) = features.CANON_EYES
    f = {"align_has_face": 1.0, "align_canon_dist": 0.004, "align_roll": 0.01}
    assert alignment.gan_aligned(f, 512, 512)
    assert not alignment.gan_aligned(f, 512, 384)  # not square
    assert not alignment.gan_aligned(f | {"align_canon_dist": 0.08}, 512, 512)
    assert not alignment.gan_aligned(f | {"align_roll": 0.3}, 512, 512)
    assert not alignment.gan_aligned(f | {"align_has_face": 0.0}, 512, 512)
    assert 0.3 < lx < rx < 0.7 and ly == ry


def test_thresholds_are_ordered() -> None:
    t = pixels_config()["thresholds"]
    assert 0 < float(t["weak"]) <= float(t["moderate"]) < 1


def test_pipeline_attaches_an_annotated_png() -> None:
    report = analyze(_bytes(_noise_image(), "JPEG"), "avatar.jpg")
    assert report.annotated_png is not None
    assert report.annotated_png.startswith(b"\x89PNG\r\n\x1a\n")
    png = Image.open(io.BytesIO(report.annotated_png))
    assert png.width <= 600 and png.height <= 320
    names = {r.check: r.status for r in report.runs}
    assert names["pixels"] == "ran"


def test_evaluate_harness_on_generated_files(tmp_path, capsys) -> None:
    rows = ["path\tlabel\tsource"]
    for i in range(6):
        name = f"img{i}.png"
        _noise_image(128, seed=i).save(tmp_path / name)
        rows.append(f"{name}\t{'real' if i % 2 else 'gan'}\t{'a' if i < 3 else 'b'}")
    (tmp_path / "labels.tsv").write_text("\n".join(rows) + "\n")
    code = evaluate.main(
        [
            "eval",
            str(tmp_path),
            "--labels",
            str(tmp_path / "labels.tsv"),
            "--json",
            "--degrade",
            "avatar",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["images"] == 6 and out["real"] == 3 and out["ai"] == 3
    assert 0 <= out["roc_auc"] <= 1
    assert {s["source"] for s in out["sources"]} == {"a", "b"}
    assert sum(out["confusion"]["real"].values()) == 3
    text = evaluate.render(
        evaluate.summarise(
            evaluate.score_items(tmp_path, evaluate.read_labels(tmp_path / "labels.tsv"))
        )
    )
    assert "ROC AUC" in text and "confusion" in text


# ---------------------------------------------------------------- with ../shared data

# The shipped model never saw these sources (tools/train_pixels.py TEST_SOURCES).
HELD_OUT = ("stylegan2_ada_ffhq_seeds", "kolors", "insightface_testdata")


@pytest.mark.shared
@needs_detector
def test_a_real_face_is_found(shared_dir) -> None:
    path = next((shared_dir / "data/faces/real/dlib_lfw_johns").glob("*.jpg"))
    photo = open_photo(path.read_bytes(), path.name, get_settings().limits)
    assert faces.run(photo, _ctx()) == []
    [pix] = pixels.run(photo, _ctx())
    assert pix.data["faces"] == 1


@pytest.mark.shared
@needs_detector
def test_two_people_side_by_side_are_reported_as_several_faces(shared_dir) -> None:
    a, b = sorted((shared_dir / "data/faces/real/amfd_studio").glob("*.jpg"))[:2]
    left, right = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    pair = Image.new("RGB", (left.width + right.width, max(left.height, right.height)))
    pair.paste(left, (0, 0))
    pair.paste(right, (left.width, 0))
    [found] = faces.run(_photo(pair, "JPEG"), _ctx())
    assert found.title == "2 faces found" and found.signal is Signal.INFO


@pytest.mark.shared
@needs_detector
def test_a_phone_photo_stored_sideways_is_stood_upright_before_looking_for_faces(shared_dir):
    path = next((shared_dir / "data/faces/real/amfd_studio").glob("*.jpg"))
    upright = Image.open(path).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
    buf = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", exif=exif.tobytes())
    photo = open_photo(buf.getvalue(), "phone.jpg", get_settings().limits)
    assert photo.exif.get("Orientation") == 6
    [pix] = pixels.run(photo, _ctx())
    assert pix.data["faces"] == 1


@pytest.mark.shared
@needs_detector
def test_gan_face_gets_the_weak_alignment_hint_and_a_studio_portrait_does_not(shared_dir) -> None:
    root = shared_dir / "data/faces"
    gan = sorted((root / "gan/tpdne_2022_stylegan2").glob("*.jpg"))[:5]
    real = sorted((root / "real/amfd_studio").glob("*.jpg"))[:5]
    hits = []
    for path in gan + real:
        photo = open_photo(path.read_bytes(), path.name, get_settings().limits)
        found = alignment.run(photo, _ctx())
        assert all(f.strength is Strength.WEAK for f in found)
        hits.append(bool(found))
    assert sum(hits[:5]) >= 3 and not any(hits[5:])


@pytest.mark.shared
@needs_detector
def test_held_out_sources_score_above_chance(shared_dir) -> None:
    root = shared_dir / "data/faces"
    items = evaluate.read_labels(root / "manifest.tsv", set(HELD_OUT))
    random.Random(0).shuffle(items)
    per_source: dict[str, int] = {}
    picked = []
    for it in items:  # up to 20 per source keeps this test to a few seconds
        if per_source.get(it.source, 0) < 20:
            per_source[it.source] = per_source.get(it.source, 0) + 1
            picked.append(it)
    summary = evaluate.summarise(evaluate.score_items(root, picked, "avatar"))
    assert summary["roc_auc"] >= MIN_HELD_OUT_AUC, summary


# Measured: 0.576 on exactly this subset (0.577 on all 534 avatar copies of these sources; see
# docs/pixels.md). Barely above chance, and the test says so: it guards against a retrained
# model that does worse than that on sources it has never seen.
MIN_HELD_OUT_AUC = 0.55
