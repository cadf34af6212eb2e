"""strip_metadata: a copy with no EXIF/XMP/text/GPS/C2PA; JPEG, PNG, WebP not re-encoded."""

from __future__ import annotations

import datetime
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from bot.analysis.intake.decode import open_photo
from bot.analysis.intake.refusals import IntakeError
from bot.analysis.pipeline.run import analyze
from bot.analysis.strip.clean_copy import clean_filename, strip_metadata
from bot.settings import get_settings
from tests.metadata_fixtures import (
    IPTC_DST,
    jpeg_thumbnail,
    phone_exif,
    png_with_xmp,
    save,
    scene,
    xmp_packet,
)

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
PACKET = xmp_packet(
    {
        "Iptc4xmpExt:DigitalSourceType": IPTC_DST + "digitalCapture",
        "xmp:CreatorTool": "Adobe Photoshop 25.1",
    },
    "<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>",
)


def reopen(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def assert_no_metadata(data: bytes, orientation: int | None = None) -> None:
    """Nothing left but pixels (and, where asked, a lone orientation tag)."""
    im = reopen(data)
    assert dict(im.getexif()) == ({0x0112: orientation} if orientation else {})
    assert not {"xmp", "XML:com.adobe.xmp", "comment", "parameters"} & set(im.info)
    assert orientation or "exif" not in im.info
    assert not getattr(im, "text", {})
    for marker in (b"http://ns.adobe.com/xap", b"Jane Doe", b"jumb", b"c2pa", b"secret"):
        assert marker not in data, marker
    if not orientation:
        assert b"Exif\x00" not in data
    report = analyze(data, "clean")
    assert report.privacy == []
    assert not [f for f in report.findings if f.check in ("exif", "xmp")]


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(reopen(data))


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


def loaded(fmt: str, orientation: int = 1) -> bytes:
    """A photo of `fmt` with every kind of metadata its format can carry."""
    photo = scene((600, 400), seed=7)
    exif = phone_exif(orientation=orientation, thumbnail=jpeg_thumbnail(photo), artist="Jane Doe")
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", "a portrait, Steps: 20, Sampler: Euler a, Seed: 1, secret")
        info.add_itxt("XML:com.adobe.xmp", PACKET)
        return save(photo, "PNG", pnginfo=info, icc_profile=ICC, exif=exif)
    options = {"exif": exif, "xmp": PACKET.encode(), "icc_profile": ICC}
    if fmt == "JPEG":
        options.update(quality=92, comment=b"secret")
    return save(photo, fmt, **options)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_webp_lose_their_metadata_without_re_encoding(fmt):
    original = loaded(fmt)
    before = analyze(original, f"IMG_0042.{fmt}")
    assert {f.data["kind"] for f in before.privacy} >= {"gps", "serials"}

    data, name, how = strip_metadata(original, f"IMG_0042.{fmt}")
    assert how == "lossless"
    assert name == f"IMG_0042-clean.{ {'JPEG': 'jpg', 'PNG': 'png', 'WEBP': 'webp'}[fmt] }"
    clean = reopen(data)
    assert clean.format == fmt and clean.size == (600, 400)
    assert clean.info.get("icc_profile") == ICC
    assert np.array_equal(pixels(data), pixels(original)), "the same pixels, not re-encoded"
    assert len(data) < len(original)
    assert_no_metadata(data)


def test_jpeg_scan_data_is_kept_byte_for_byte_and_trailers_go():
    original = loaded("JPEG")
    scan = original[original.rindex(b"\xff\xda") :]  # the scan (the thumbnail has one too)
    data = strip_metadata(original + b"secret trailer", "a.jpg").data
    assert data.endswith(scan)


def test_an_orientation_other_than_1_stays_as_a_lone_tag():
    for fmt in ("JPEG", "PNG", "WEBP"):
        original = loaded(fmt, orientation=6)
        data, _, how = strip_metadata(original, f"x.{fmt}")
        assert how == "lossless_oriented", fmt
        assert_no_metadata(data, orientation=6)
        upright = ImageOps.exif_transpose(reopen(data))
        assert upright.size == (400, 600), "viewers turn it the right way up"
        assert np.array_equal(
            np.asarray(upright), np.asarray(ImageOps.exif_transpose(reopen(original)))
        )


def test_jpeg_keeps_its_chroma_subsampling_and_grey_stays_grey():
    from PIL import JpegImagePlugin

    colour = save(scene(), "JPEG", quality=90, subsampling=0)
    assert JpegImagePlugin.get_sampling(reopen(strip_metadata(colour, "a.jpg")[0])) == 0
    grey = save(scene().convert("L"), "JPEG", quality=90)
    assert reopen(strip_metadata(grey, "g.jpg")[0]).mode == "L"


def test_cmyk_jpeg_keeps_the_adobe_segment_its_colours_need():
    cmyk = save(scene().convert("CMYK"), "JPEG", quality=90)
    assert b"Adobe" in cmyk
    data, _, how = strip_metadata(cmyk, "c.jpg")
    assert how == "lossless" and np.array_equal(pixels(data), pixels(cmyk))


def test_png_keeps_alpha_and_transparency():
    rgba = scene((300, 200), seed=9).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((300, 200)))
    data, _, how = strip_metadata(save(rgba, "PNG", exif=phone_exif()), "portrait.png")
    assert how == "lossless" and reopen(data).mode == "RGBA"
    assert np.array_equal(pixels(data), np.asarray(rgba))
    pal = scene((120, 80)).quantize(16)
    clean = reopen(strip_metadata(save(pal, "PNG", transparency=0), "p.png")[0])
    assert clean.mode == "P" and clean.info.get("transparency") == 0
    assert np.array_equal(np.asarray(clean), np.asarray(pal))


def test_webp_with_alpha_and_lossless_webp_stay_webp():
    rgba = scene((200, 150)).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    for options in ({"quality": 80}, {"lossless": True}):
        original = save(rgba, "WEBP", exif=phone_exif(), xmp=PACKET.encode(), **options)
        data, name, how = strip_metadata(original, "x.webp")
        assert how == "lossless" and name == "x-clean.webp"
        assert np.array_equal(pixels(data), pixels(original))
        assert int.from_bytes(data[4:8], "little") == len(data) - 8, "RIFF size fixed"
        assert data[12:16] == b"VP8X" and not data[20] & 0x0C, "no EXIF/XMP flags left"
        assert_no_metadata(data)


@pytest.mark.parametrize(
    ("fmt", "mode", "how"),
    [
        ("GIF", "P", "reencoded_png"),
        ("BMP", "RGB", "reencoded_png"),
        ("TIFF", "RGB", "reencoded_png"),
    ],
)
def test_other_formats_are_re_encoded_and_say_so(fmt, mode, how):
    im = scene((200, 150)).convert(mode) if mode != "P" else scene((200, 150)).quantize(64)
    data, name, said = strip_metadata(save(im, fmt), f"x.{fmt.lower()}")
    assert said == how and reopen(data).format == "PNG" and name == "x-clean.png"
    assert np.array_equal(np.asarray(reopen(data).convert("RGB")), np.asarray(im.convert("RGB")))
    assert_no_metadata(data)


def test_heic_becomes_jpeg_when_supported():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data, name, how = strip_metadata(save(scene(), "HEIF", exif=phone_exif()), "IMG_1.HEIC")
    assert name == "IMG_1-clean.jpg" and reopen(data).format == "JPEG"
    assert how == "reencoded_jpeg"
    assert_no_metadata(data)


def test_heic_with_orientation_is_turned_upright_in_the_pixels():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    original = save(scene((300, 200)), "HEIF", exif=phone_exif(orientation=6))
    data = strip_metadata(original, "IMG_2.HEIC").data
    assert reopen(data).size == (200, 300)
    upright = ImageOps.exif_transpose(reopen(original)).convert("RGB")
    assert mean_abs_diff(upright, reopen(data).convert("RGB")) < 3


def test_accepts_a_photo_already_opened():
    photo = open_photo(save(scene(), "JPEG", exif=phone_exif()), "a.jpg", get_settings().limits)
    data, name, _ = strip_metadata(photo)
    assert name == "a-clean.jpg"
    assert_no_metadata(data)


def test_refuses_what_intake_refuses():
    with pytest.raises(IntakeError):
        strip_metadata(b"%PDF-1.7 not a photo", "doc.pdf")


@pytest.mark.parametrize(
    ("original", "fmt", "expected"),
    [
        ("../../etc/passwd", "PNG", "passwd-clean.png"),
        ("C:\\Users\\me\\My Photo (1).jpeg", "JPEG", "My_Photo_1-clean.jpg"),
        ("", "JPEG", "photo-clean.jpg"),
        ("....", "PNG", "photo-clean.png"),
        ("a" * 300 + ".png", "PNG", "a" * 60 + "-clean.png"),
    ],
)
def test_clean_filename_is_safe(original, fmt, expected):
    assert clean_filename(original, fmt) == expected


def _c2pa_signer():
    """A real ES256 signer: a throwaway CA and an end-entity certificate made with cryptography."""
    c2pa = pytest.importorskip("c2pa")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
            ]
        )

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(sign, False, False, False, False, not sign, not sign, False, False)

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, issuer: str, public, signing_key, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage(not ca), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        return builder.sign(signing_key, hashes.SHA256())

    ca = cert("Test CA", "Test CA", ca_key.public_key(), ca_key, True)
    leaf = cert("Test Signer", "Test CA", key.public_key(), ca_key, False)
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return c2pa, c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, pem, None)
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_c2pa_manifest_does_not_survive(fmt):
    c2pa, signer = _c2pa_signer()
    manifest = {
        "claim_generator_info": [{"name": "headshot-check-tests", "version": "1"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": IPTC_DST + "trainedAlgorithmicMedia",
                        }
                    ]
                },
            }
        ],
    }
    mime = f"image/{fmt.lower()}"
    source = scene()
    signed = io.BytesIO()
    c2pa.Builder(json.dumps(manifest)).sign(signer, mime, io.BytesIO(save(source, fmt)), signed)
    original = signed.getvalue()
    assert "c2pa.created" in c2pa.Reader(mime, io.BytesIO(original)).json()

    data, _, how = strip_metadata(original, f"signed.{fmt}")
    assert how == "lossless"
    assert b"jumb" not in data and b"c2pa" not in data
    assert np.array_equal(pixels(data), pixels(original))
    with pytest.raises(Exception):  # noqa: B017 - c2pa raises its own "no manifest" error types
        c2pa.Reader(mime, io.BytesIO(data)).json()


def test_png_input_with_xmp_helper_round_trip():
    # the fixture helper writes XMP that the pipeline reads, so the strip tests above test something
    report = analyze(png_with_xmp(scene(), PACKET), "x.png")
    assert any(f.check == "xmp" for f in report.findings)
