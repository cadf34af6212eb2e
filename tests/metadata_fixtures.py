"""Builders for photos with real metadata, written by real tools (Pillow's Exif API and XMP
writer, piexif), for the metadata-check and strip tests."""

from __future__ import annotations

import io
import random

import piexif
from PIL import Image, ImageDraw, PngImagePlugin

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"

_NS = {
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "aux": "http://ns.adobe.com/exif/1.0/aux/",
}


def scene(size: tuple[int, int] = (600, 400), seed: int = 1) -> Image.Image:
    """A picture with structure (perceptual hashes of flat colours are meaningless)."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    w, h = size
    for _ in range(30):
        x, y = rnd.randrange(w), rnd.randrange(h)
        box = [
            x,
            y,
            x + rnd.randrange(w // 20 + 5, w // 3 + 10),
            y + rnd.randrange(h // 20 + 5, h // 3 + 10),
        ]
        draw.ellipse(box, fill=tuple(rnd.randrange(256) for _ in range(3)))
    return im


def xmp_packet(attrs: dict[str, str] | None = None, body: str = "", extra_ns: str = "") -> str:
    """A packet shaped like Adobe's: xpacket wrapper with BOM, one rdf:Description, padding."""
    ns = " ".join(f'xmlns:{p}="{u}"' for p, u in _NS.items())
    attr_text = " ".join(f'{k}="{v}"' for k, v in (attrs or {}).items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 9.1-c002">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" {ns} {extra_ns} {attr_text}>\n'
        f"{body}\n"
        "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n" + " " * 200 + '\n<?xpacket end="w"?>'
    )


def history(*events: tuple[str, str]) -> str:
    items = "".join(
        f'<rdf:li stEvt:action="{action}" stEvt:softwareAgent="{agent}"'
        ' stEvt:when="2024-05-01T10:00:00"/>'
        for action, agent in events
    )
    return f"<xmpMM:History><rdf:Seq>{items}</rdf:Seq></xmpMM:History>"


def save(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def png_with_xmp(im: Image.Image, packet: str, **options: object) -> bytes:
    """PNG keeps XMP in an iTXt chunk named XML:com.adobe.xmp (Pillow has no xmp= for PNG)."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    return save(im, "PNG", pnginfo=info, **options)


def jpeg_thumbnail(im: Image.Image, size: tuple[int, int] = (160, 120)) -> bytes:
    thumb = im.copy()
    thumb.thumbnail(size)
    return save(thumb, "JPEG", quality=80)


def phone_exif(
    *,
    gps: tuple[float, float] | None = (51.50722, -0.12750),
    serial: str | None = "F2LXK9ABCD12",
    thumbnail: bytes | None = None,
    orientation: int | None = None,
    software: str | None = "17.4.1",
    artist: str | None = None,
) -> bytes:
    """EXIF like an iPhone writes (written with piexif): camera, exposure, maker note, GPS."""
    zeroth: dict[int, object] = {
        piexif.ImageIFD.Make: b"Apple",
        piexif.ImageIFD.Model: b"iPhone 15 Pro",
        piexif.ImageIFD.DateTime: b"2024:05:01 10:11:12",
    }
    if software:
        zeroth[piexif.ImageIFD.Software] = software.encode()
    if orientation:
        zeroth[piexif.ImageIFD.Orientation] = orientation
    if artist:
        zeroth[piexif.ImageIFD.Artist] = artist.encode()
    exif_ifd: dict[int, object] = {
        piexif.ExifIFD.ExposureTime: (1, 120),
        piexif.ExifIFD.FNumber: (178, 100),
        piexif.ExifIFD.ISOSpeedRatings: 64,
        piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 10:11:12",
        piexif.ExifIFD.LensMake: b"Apple",
        piexif.ExifIFD.LensModel: b"iPhone 15 Pro back triple camera 6.86mm f/1.78",
        piexif.ExifIFD.MakerNote: b"Apple iOS\x00\x00\x01MM" + bytes(range(256)),
    }
    if serial:
        exif_ifd[piexif.ExifIFD.BodySerialNumber] = serial.encode()
    data: dict[str, object] = {"0th": zeroth, "Exif": exif_ifd, "GPS": {}, "1st": {}}
    if gps:
        data["GPS"] = _gps_ifd(*gps)
    if thumbnail:
        data["1st"] = {piexif.ImageIFD.Compression: 6}
        data["thumbnail"] = thumbnail
    return piexif.dump(data)


def _rational_dms(value: float) -> tuple[tuple[int, int], ...]:
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60 * 1000)
    return ((deg, 1), (minutes, 1), (seconds, 1000))


def _gps_ifd(lat: float, lon: float) -> dict[int, object]:
    return {
        piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
        piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
        piexif.GPSIFD.GPSLatitude: _rational_dms(lat),
        piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
        piexif.GPSIFD.GPSLongitude: _rational_dms(lon),
    }


def pillow_camera_exif(
    make: str, model: str, software: str | None = None, full: bool = True
) -> Image.Exif:
    """EXIF written with Pillow's own Exif API (the other real writer we use)."""
    from PIL import ExifTags

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    if software:
        exif[ExifTags.Base.Software] = software
    if full:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        ifd[ExifTags.Base.ExposureTime] = 1 / 250
        ifd[ExifTags.Base.FNumber] = 2.8
        ifd[ExifTags.Base.ISOSpeedRatings] = 200
        ifd[ExifTags.Base.DateTimeOriginal] = "2023:09:14 16:02:45"
        ifd[ExifTags.Base.LensModel] = "RF24-70mm F2.8 L IS USM"
        ifd[ExifTags.Base.MakerNote] = b"\x00\x1c" + bytes(300)
    return exif
