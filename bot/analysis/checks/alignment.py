"""Alignment: eyes at the exact spots where StyleGAN-style training crops put them. Weak.

Generators trained on aligned crops (FFHQ and its kin) reproduce the alignment with great
regularity; real avatars are rarely framed that precisely. Real photos aligned by the same
recipe exist, so this is circumstantial and never more than weak.
"""

from __future__ import annotations

from bot import messages
from bot.analysis.checks import CheckContext
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import CheckSkipped, Evidence, Finding, Signal, Strength
from bot.analysis.vision.cache import pixels_config, scan_photo

NAME = "alignment"
ORDER = 65


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    scan = scan_photo(photo)
    if not scan.faces.ran:
        raise CheckSkipped(messages.text("checks.skipped.no_face_detector"))
    if not scan.faces.faces:
        return []
    f = scan.features.as_dict()
    if not gan_aligned(f, photo.width, photo.height):
        return []
    cfg = pixels_config()["alignment"]
    return [
        Finding(
            check=NAME,
            signal=Signal.AI_GENERATED,
            strength=Strength.WEAK,
            title=str(cfg["title"]),
            evidence=(
                Evidence(
                    "eye positions",
                    f"left {f['align_eye_lx']:.0%} across, {f['align_eye_ly']:.0%} down; "
                    f"right {f['align_eye_rx']:.0%} across, {f['align_eye_ry']:.0%} down",
                ),
            ),
            detail=str(cfg["detail"]),
            data={
                "generator": "StyleGAN family (GAN)",
                "eye_offset": round(f["align_canon_dist"], 4),
            },
        )
    ]


def gan_aligned(f: dict[str, float], width: int, height: int) -> bool:
    """A face found, a square frame, a level eye line, both eyes at the GAN-crop spots."""
    cfg = pixels_config()["alignment"]
    return (
        f["align_has_face"] > 0
        and abs(width / height - 1) <= float(cfg["max_aspect_error"])
        and f["align_canon_dist"] <= float(cfg["max_distance"])
        and f["align_roll"] <= float(cfg["max_roll_rad"])
    )
