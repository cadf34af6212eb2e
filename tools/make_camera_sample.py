"""Writes samples/camera-with-gps.jpg: a synthetic picture with phone-camera-like EXIF,
including a GPS position and a serial number, to show the privacy check in the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

OUT = Path(__file__).resolve().parent.parent / "samples" / "camera-with-gps.jpg"


def main() -> None:
    y, x = np.mgrid[0:480, 0:640]
    rgb = np.stack([(x / 640 * 200 + 30), (y / 480 * 150 + 60), np.full_like(x, 140)], axis=-1)
    noise = np.random.default_rng(1).normal(0, 4, rgb.shape)
    im = Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS R6"
    exif[ExifTags.Base.Software] = "Adobe Lightroom Classic 13.1"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = "2026:05:14 10:31:07"
    ifd[ExifTags.Base.ExposureTime] = 1 / 200
    ifd[ExifTags.Base.FNumber] = 2.8
    ifd[ExifTags.Base.ISOSpeedRatings] = 200
    ifd[ExifTags.Base.LensModel] = "RF24-70mm F2.8 L IS USM"
    ifd[ExifTags.Base.BodySerialNumber] = "083021004512"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.6)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.2)
    im.save(OUT, "JPEG", quality=90, exif=exif)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
