"""Platform-style processing of a photo: downscale and re-encode, as avatars are served."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image

AVATAR_SIDES = (128, 256, 512)
AVATAR_CODECS = (("WEBP", 80), ("JPEG", 75))


def resize_to(im: Image.Image, side: int) -> Image.Image:
    """Longest side to `side` px (never upscaled), Lanczos as most platforms use."""
    scale = side / max(im.size)
    if scale >= 1:
        return im
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.LANCZOS)


def reencode(im: Image.Image, fmt: str, quality: int) -> Image.Image:
    buf = io.BytesIO()
    if fmt == "PNG":
        im.save(buf, "PNG")
    else:
        im.save(buf, fmt, quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def avatar(im: Image.Image, key: str) -> tuple[Image.Image, str]:
    """One deterministic avatar variant per `key` (a file path): size and codec from its hash."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    side = AVATAR_SIDES[h % len(AVATAR_SIDES)]
    fmt, q = AVATAR_CODECS[(h // 7) % len(AVATAR_CODECS)]
    return reencode(resize_to(im.convert("RGB"), side), fmt, q), f"{side}px {fmt.lower()} q{q}"


def all_avatars(im: Image.Image) -> list[tuple[Image.Image, str]]:
    rgb = im.convert("RGB")
    return [
        (reencode(resize_to(rgb, s), fmt, q), f"{s}px {fmt.lower()} q{q}")
        for s in AVATAR_SIDES
        for fmt, q in AVATAR_CODECS
    ]


def random_platform(im: Image.Image, rng: random.Random) -> Image.Image:
    """Training augmentation, the same for real and AI faces: maybe crop, resize to 128–512 px,
    re-encode as JPEG q70–95, WebP q75–90 or PNG."""
    im = im.convert("RGB")
    if rng.random() < 0.3:
        w, h = im.size
        cw, ch = round(w * rng.uniform(0.75, 1)), round(h * rng.uniform(0.75, 1))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = im.crop((x, y, x + cw, y + ch))
    im = resize_to(im, rng.randint(128, 512))
    r = rng.random()
    if r < 0.5:
        return reencode(im, "JPEG", rng.randint(70, 95))
    if r < 0.85:
        return reencode(im, "WEBP", rng.randint(75, 90))
    return reencode(im, "PNG", 0)
