"""Rebuild samples/a1111-parameters.png and samples/sdxl-watermark.png (synthetic, no faces).

    .venv/bin/python -m tests.make_generator_samples

The watermark sample uses the real invisible-watermark encoder the way diffusers' SDXL
pipelines call it; it needs the test-only install (see dev.sh).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from PIL.PngImagePlugin import PngInfo

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
GRAIN = 1.0  # film grain for the watermark sample: more grain, bigger file
SDXL_BITS = [int(b) for b in bin(0xB3EC907BB19E)[2:]]
A1111_PARAMETERS = (
    "professional corporate headshot of a smiling woman, grey studio backdrop, soft light, 85mm\n"
    "Negative prompt: blurry, deformed hands, extra fingers\n"
    "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1873442179, "
    "Size: 384x384, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.10.1"
)


def portrait(size: int, seed: int, grain: float) -> Image.Image:
    """A plain drawn stand-in for a headshot: backdrop, shoulders, head, hair, film grain."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(150, 95, size)[:, None, None] * np.array([0.9, 0.95, 1.0])
    canvas = Image.fromarray(np.broadcast_to(ramp, (size, size, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    s = size / 512
    draw.ellipse([60 * s, 360 * s, 452 * s, 700 * s], fill=(40, 52, 75))  # jacket
    draw.rectangle([220 * s, 300 * s, 292 * s, 380 * s], fill=(214, 170, 140))  # neck
    draw.ellipse([160 * s, 110 * s, 352 * s, 350 * s], fill=(222, 180, 150))  # face
    draw.chord([150 * s, 80 * s, 362 * s, 300 * s], 180, 360, fill=(70, 45, 30))  # hair
    for x in (215, 297):
        draw.ellipse([(x - 12) * s, 215 * s, (x + 12) * s, 231 * s], fill=(60, 50, 45))  # eyes
    draw.arc([216 * s, 260 * s, 296 * s, 310 * s], 20, 160, fill=(150, 80, 80), width=4)
    soft = np.asarray(canvas.filter(ImageFilter.GaussianBlur(2)), np.float64)
    noise = rng.normal(0, grain, soft.shape)
    return Image.fromarray(np.clip(soft + noise, 0, 255).astype(np.uint8))


def sdxl_watermarked(image: Image.Image) -> Image.Image:
    from tests import wm_reference

    encoder = wm_reference.load().WatermarkEncoder()
    encoder.set_watermark("bits", SDXL_BITS)
    bgr = np.asarray(image, np.float32)[..., ::-1]
    out = encoder.encode(bgr, "dwtDct")[:, :, ::-1]
    return Image.fromarray(np.round(np.clip(out, 0, 255)).astype(np.uint8))


def main() -> None:
    SAMPLES.mkdir(exist_ok=True)
    info = PngInfo()
    info.add_text("parameters", A1111_PARAMETERS)  # what AUTOMATIC1111 writes into its PNGs
    portrait(384, 1, 1.0).save(SAMPLES / "a1111-parameters.png", pnginfo=info, optimize=True)
    sdxl_watermarked(portrait(512, 2, GRAIN)).save(SAMPLES / "sdxl-watermark.png", optimize=True)


if __name__ == "__main__":
    main()
