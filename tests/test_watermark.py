"""Stable Diffusion's DWT-DCT watermark: our decoder against the real encoder and decoder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.analysis.checks import watermark
from bot.analysis.formats import dwtdct
from bot.analysis.pipeline.run import analyze
from bot.settings import load_toml
from tests import wm_reference

SDXL_BITS = [
    int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]
]  # diffusers
SD1_TEXT = b"StableDiffusionV1"  # Stability AI's txt2img.py
CFG = load_toml("thresholds.toml")["watermark"]


@pytest.fixture(scope="module")
def ref():
    return wm_reference.load()


def photo_like(seed: int, size: tuple[int, int] = (512, 512)) -> np.ndarray:
    """Smooth colour fields with fine grain: closer to photos than white noise is."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(30, 226, size=(max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), np.float64)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def embed_sdxl(ref, rgb: np.ndarray) -> np.ndarray:
    """What diffusers' StableDiffusionXLWatermarker does: float BGR in, round to 8 bits after."""
    encoder = ref.WatermarkEncoder()
    encoder.set_watermark("bits", SDXL_BITS)
    out = encoder.encode(rgb[..., ::-1].astype(np.float32), "dwtDct")[:, :, ::-1]
    return np.round(np.clip(out, 0, 255)).astype(np.uint8)


def embed_bytes(ref, rgb: np.ndarray, content: bytes = SD1_TEXT) -> np.ndarray:
    """What Stability AI's scripts do: 8-bit BGR through WatermarkEncoder, back to RGB."""
    encoder = ref.WatermarkEncoder()
    encoder.set_watermark("bytes", content)
    return encoder.encode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct")[:, :, ::-1].copy()


def embed_bits(ref, rgb: np.ndarray, bits: list[int]) -> np.ndarray:
    encoder = ref.WatermarkEncoder()
    encoder.set_watermark("bits", bits)
    return encoder.encode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct")[:, :, ::-1].copy()


def reference_bits(ref, rgb: np.ndarray, length: int) -> np.ndarray:
    decoder = ref.WatermarkDecoder("bits", length)
    return np.asarray(decoder.decode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct"), np.uint8)


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def test_u_plane_is_opencv_bgr2yuv_for_every_colour():
    cv2 = pytest.importorskip("cv2")
    values = np.arange(256, dtype=np.uint8)
    for blue in range(0, 256, 16):  # all 2^24 colours, in 16 slabs
        b, g, r = np.meshgrid(
            np.arange(blue, blue + 16, dtype=np.uint8), values, values, indexing="ij"
        )
        bgr = np.stack([b, g, r], -1).reshape(-1, 256, 3)
        expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 1]
        assert np.array_equal(dwtdct.u_channel(np.ascontiguousarray(bgr[..., ::-1])), expected)


@pytest.mark.parametrize("size", [(512, 512), (389, 517), (1024, 768), (300, 260)])
def test_decoder_matches_reference_bit_for_bit(ref, size):
    rng = np.random.default_rng(sum(size))
    clean = photo_like(size[0], size)
    images = [
        clean,
        embed_sdxl(ref, clean),
        embed_bytes(ref, clean),
        embed_bits(ref, clean, list(rng.integers(0, 2, 64))),
        rng.integers(0, 256, size=(*size[::-1], 3), dtype=np.uint8),
    ]
    for rgb in images:
        for length in (48, 136, 32, 64):
            assert np.array_equal(dwtdct.decode(rgb, length).bits, reference_bits(ref, rgb, length))


def test_aligned_crop_keeps_the_encoders_bit_numbering(ref):
    rgb = embed_bits(ref, photo_like(3, (1304, 1112)), SDXL_BITS)
    full = dwtdct.block_votes(rgb)
    top, left, ch, cw = dwtdct.aligned_crop(*rgb.shape[:2], 1024)
    assert top % 8 == 0 and left % 8 == 0 and ch <= 1024 and cw <= 1024
    crop_votes = dwtdct.block_votes(rgb[top : top + ch, left : left + cw])
    assert np.array_equal(
        crop_votes, full[top // 8 : (top + ch) // 8, left // 8 : (left + cw) // 8]
    )
    decoded = dwtdct.decode_cropped(rgb, [48], 1024)[48]
    assert (decoded.bits == np.array(SDXL_BITS)).mean() >= CFG["conclusive_agreement"]
    small = photo_like(4)
    assert np.array_equal(
        dwtdct.decode_cropped(small, [48])[48].bits, dwtdct.decode(small, 48).bits
    )


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_sdxl_mark_from_diffusers_path_is_conclusive(ref, seed):
    report = analyze(png(embed_sdxl(ref, photo_like(seed))), "sdxl.png")
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength == "conclusive"
    assert report.generator == "Stable Diffusion XL (Stability AI / diffusers)"
    (finding,) = [f for f in report.findings if f.check == "watermark"]
    assert finding.data["watermark"] == "SDXL"
    assert finding.data["bit_agreement"] >= CFG["conclusive_agreement"]


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_sd1_mark_from_scripts_path_is_found(ref, seed):
    # The 8-bit path loses more bits (the encoder truncates floats to 8 bits): strong at least.
    report = analyze(png(embed_bytes(ref, photo_like(seed))), "sd.png")
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength in ("strong", "conclusive")
    assert report.generator == "Stable Diffusion (Stability AI reference scripts)"
    (finding,) = [f for f in report.findings if f.check == "watermark"]
    assert finding.data["watermark"] == "StableDiffusionV1"


def test_clean_and_other_marks_do_not_match(ref):
    """False matches over many images: clean ones, and ones carrying other random marks."""
    rng = np.random.default_rng(99)
    highest = 0.0
    for seed in range(24):
        clean = photo_like(1000 + seed, (384, 384))
        others = [embed_bits(ref, clean, list(rng.integers(0, 2, n))) for n in (48, 136, 32)]
        for rgb in [clean, *others]:
            highest = max(highest, *watermark.agreements(Image.fromarray(rgb)).values())
    assert highest < CFG["strong_agreement"], highest


def test_real_photos_do_not_match(shared_dir):
    """Real camera photos from ../shared: not one may reach the lowest reporting threshold."""
    rows = (shared_dir / "data/faces/manifest.tsv").read_text().splitlines()[1:]
    real = [r.split("\t")[0] for r in rows if r.split("\t")[1] == "real"][::4]
    highest = 0.0
    for path in real:
        rgb = np.asarray(Image.open(shared_dir / "data/faces" / path).convert("RGB"))
        if rgb.shape[0] * rgb.shape[1] >= CFG["min_pixels"]:
            highest = max(highest, *watermark.agreements(Image.fromarray(rgb)).values())
    assert 0.4 < highest < CFG["strong_agreement"], highest


def test_jpeg_420_destroys_the_mark_and_absence_says_nothing(ref):
    marked = Image.fromarray(embed_sdxl(ref, photo_like(11)))
    buf = io.BytesIO()
    marked.save(buf, "JPEG", quality=90, subsampling=2)  # 4:2:0, what most platforms do
    report = analyze(buf.getvalue(), "reposted.jpg")
    assert not [f for f in report.findings if f.check == "watermark"]
    assert report.verdict.label == "no_evidence"


def test_coarse_420_jpeg_is_skipped_with_a_reason_but_fine_420_is_still_decoded(ref):
    marked = Image.fromarray(embed_sdxl(ref, photo_like(12)))

    def jpeg(quality: int, subsampling: int) -> bytes:
        buf = io.BytesIO()
        marked.save(buf, "JPEG", quality=quality, subsampling=subsampling)
        return buf.getvalue()

    coarse = analyze(jpeg(88, 2), "reposted.jpg")
    (run,) = [r for r in coarse.runs if r.check == "watermark"]
    assert run.status == "skipped" and run.note == CFG["skip_420_note"]
    assert any(n.startswith("watermark: ") for n in coarse.verdict.not_checked)
    # 4:2:0 at high quality keeps enough of the mark: it must still be looked for and found
    fine = analyze(jpeg(97, 2), "export.jpg")
    assert [r.status for r in fine.runs if r.check == "watermark"] == ["ran"]
    assert [f for f in fine.findings if f.check == "watermark"]
    # 4:4:4 keeps the colour plane whatever the quality: decoded
    full = analyze(jpeg(80, 0), "full-chroma.jpg")
    assert [r.status for r in full.runs if r.check == "watermark"] == ["ran"]


def test_haar_band_equals_pywavelets_bit_for_bit():
    pywt = pytest.importorskip("pywt")
    rng = np.random.default_rng(5)
    for shape in ((64, 64), (200, 136), (512, 512)):
        u8 = rng.integers(0, 256, shape, dtype=np.uint8)
        f32 = rng.normal(0, 40, shape).astype(np.float32)
        for u in (u8, f32):
            expected = pywt.dwt2(u, "haar")[0]
            got = dwtdct.haar_approx(u)
            assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_small_images_are_not_decoded():
    assert watermark.run  # the check exists
    report = analyze(png(photo_like(5, (200, 200))), "tiny.png")
    assert not [f for f in report.findings if f.check == "watermark"]
    assert any(r.check == "watermark" and r.status == "ran" for r in report.runs)


def test_demo_sample_carries_the_sdxl_mark():
    data = (Path(__file__).resolve().parent.parent / "samples/sdxl-watermark.png").read_bytes()
    assert len(data) < 400_000
    report = analyze(data, "sdxl-watermark.png")
    assert report.verdict.label == "ai_generated" and report.verdict.strength == "conclusive"
    assert report.generator == "Stable Diffusion XL (Stability AI / diffusers)"
    assert not [f for f in report.findings if f.check == "generators"]  # pixels only, no metadata
