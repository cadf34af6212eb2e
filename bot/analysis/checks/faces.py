"""Faces: is there one face, none, or several? Informational; the pixel check builds on it."""

from __future__ import annotations

from bot import messages
from bot.analysis.checks import CheckContext
from bot.analysis.intake.photo import Photo
from bot.analysis.pipeline.findings import CheckSkipped, Evidence, Finding, Signal, Strength
from bot.analysis.vision.cache import pixels_config, scan_photo
from bot.analysis.vision.detect import Face

NAME = "faces"
ORDER = 60


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    scan = scan_photo(photo)
    if not scan.faces.ran:
        raise CheckSkipped(messages.text("checks.skipped.no_face_detector"))
    faces = counted_faces(scan.faces.faces)
    if not faces:
        return [
            Finding(
                check=NAME,
                signal=Signal.INFO,
                strength=Strength.WEAK,
                title="No face found",
                detail="I could not find a face in this photo. If it is meant to be a headshot, "
                "the face may be too small, turned away or covered; the face-based checks "
                "are less reliable without one.",
                data={"faces": 0},
            )
        ]
    if len(faces) > 1:
        return [
            Finding(
                check=NAME,
                signal=Signal.INFO,
                strength=Strength.WEAK,
                title=f"{len(faces)} faces found",
                evidence=(Evidence("faces", str(len(faces))),),
                detail="This photo shows more than one face, which is unusual for a profile "
                "photo. The pixel check looked at the largest one.",
                data={"faces": len(faces)},
            )
        ]
    return []


def counted_faces(faces: tuple[Face, ...]) -> list[Face]:
    """Faces large enough to matter next to the largest (tiny background faces are ignored)."""
    if not faces:
        return []
    ratio = float(pixels_config()["faces"]["several_faces_min_ratio"])
    return [f for f in faces if f.width >= ratio * faces[0].width]
