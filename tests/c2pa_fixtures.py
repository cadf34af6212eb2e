"""Real C2PA-signed test images, made with c2pa-python's Builder and a throwaway certificate chain.

Other test suites import these (all cached per process, a few ms each):

    signed_ai_jpeg()             c2pa.created + trainedAlgorithmicMedia by "TestGen 1.0"
    signed_ai_png()              the same claim in a PNG
    signed_camera_jpeg()         c2pa.created + digitalCapture by "TestCam 2.1"
    signed_camera_edited_jpeg()  a camera capture, then colour-adjusted and cropped
    signed_ai_edited_jpeg()      a camera photo with an AI-generated ingredient composited in
    signed_retouched_ai_jpeg()   an AI-generated picture (parent ingredient), then colour-adjusted
    signed_firefly_style_jpeg()  an early Adobe Firefly style record: the tool named, no source type
    signed_bing_style_jpeg()     a Microsoft Designer / Bing Image Creator style record: the same
    tampered_ai_jpeg()           signed_ai_jpeg() with picture bytes changed after signing
    broken_manifest_jpeg()       a JPEG whose manifest bytes are damaged (the reader raises)
    remote_manifest_jpeg(url)    only a reference to a manifest at `url` (nothing embedded)
    plain_jpeg()                 the unsigned picture

Signatures validate but the signer is unknown (`Valid`); `trusting_settings()` returns
Settings that add the test root as a trust anchor, under which the same files read `Trusted`.
An expired or mis-profiled certificate cannot be made here: the SDK refuses to sign with one.

    python -m tests.c2pa_fixtures OUT.jpg   writes signed_ai_jpeg() (used for samples/)
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from PIL import Image, ImageDraw

from bot.settings import C2PA, Settings

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")  # c2pa-kp-claimSigning
JPEG = "image/jpeg"
ROOT_ORG = "Headshot Check Test Root CA"
ROOT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Chain:
    root_pem: bytes
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@lru_cache(maxsize=1)
def chain() -> Chain:
    """A self-signed ES256 root CA, valid for ten years from yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name("Headshot Check Test Root", ROOT_ORG)
    root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Chain(_pem(root), key, root)


@lru_cache(maxsize=8)
def signer_pems(org: str) -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) of an end-entity signer issued by the test root.

    The profile C2PA requires: v3, ES256, critical keyUsage digitalSignature, an EKU
    (c2pa-kp-claimSigning + emailProtection), not a CA, with key identifiers.
    """
    ca = chain()
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    eku = [C2PA_CLAIM_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{org} signing key", org))
        .issuer_name(ca.root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.root_key.public_key()),
            critical=False,
        )
        .sign(ca.root_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _pem(cert) + ca.root_pem, key_pem


@lru_cache(maxsize=8)
def _signer(org: str) -> c2pa.Signer:
    certs, key = signer_pems(org)
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, certs, key, None))


@lru_cache(maxsize=1)
def root_pem_path() -> Path:
    """The test root as a PEM file, for `[c2pa] extra_trust_anchors`."""
    folder = Path(tempfile.mkdtemp(prefix="headshot-c2pa-"))
    path = folder / "test-root.pem"
    path.write_bytes(chain().root_pem)
    return path


def trusting_settings(**c2pa_overrides: Any) -> Settings:
    """Default settings plus the test root as an extra trust anchor."""
    base = Settings().c2pa.model_dump()
    base.update(extra_trust_anchors=str(root_pem_path()), **c2pa_overrides)
    return Settings(c2pa=C2PA(**base))


@lru_cache(maxsize=1)
def _signing_context() -> c2pa.Context:
    # No thumbnails (speed); the test root trusted so ingredients record a trusted signer;
    # nothing fetched from the network.
    return c2pa.Context(
        c2pa.Settings.from_dict(
            {
                "builder": {"thumbnail": {"enabled": False}},
                "verify": {
                    "verify_after_sign": False,
                    "remote_manifest_fetch": False,
                    "ocsp_fetch": False,
                },
                "trust": {"user_anchors": chain().root_pem.decode()},
            }
        )
    )


@lru_cache(maxsize=8)
def plain_jpeg(size: int = 256, seed: int = 0) -> bytes:
    """An unsigned, face-free test picture: a gradient with a few shapes."""
    im = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    draw = ImageDraw.Draw(im)
    for i in range(4):
        x = (seed * 37 + i * 53) % (size // 2)
        draw.ellipse(
            (x, x // 2, x + size // 3, x // 2 + size // 4), fill=(40 * i, 120, 200 - 30 * i)
        )
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def _manifest(tool: str, version: str, actions: list[dict[str, Any]], title: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": tool, "version": version}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def _created(source_type: str, tool: str, version: str) -> dict[str, Any]:
    return {
        "action": "c2pa.created",
        "digitalSourceType": IPTC + source_type,
        "softwareAgent": {"name": tool, "version": version},
    }


def sign_jpeg(
    manifest: dict[str, Any],
    source: bytes,
    org: str,
    ingredients: tuple[tuple[dict[str, Any], bytes], ...] = (),
    mime: str = JPEG,
) -> bytes:
    """Sign `source` (a `mime` file) with `manifest` as `org`; returns the signed file."""
    builder = c2pa.Builder(manifest, context=_signing_context())
    for ingredient, data in ingredients:
        builder.add_ingredient(ingredient, JPEG, io.BytesIO(data))
    out = io.BytesIO()
    builder.sign(_signer(org), mime, io.BytesIO(source), out)
    return out.getvalue()


def ai_manifest(tool: str = "TestGen", version: str = "1.0") -> dict[str, Any]:
    """A manifest saying `tool` created the picture with a trained model."""
    return _manifest(tool, version, [_created("trainedAlgorithmicMedia", tool, version)], "ai")


@lru_cache(maxsize=4)
def signed_ai_jpeg(size: int = 256) -> bytes:
    return sign_jpeg(ai_manifest(), plain_jpeg(size, 1), "TestGen Labs")


@lru_cache(maxsize=1)
def signed_ai_png() -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(plain_jpeg(128, 5))).save(buf, "PNG")
    return sign_jpeg(ai_manifest(), buf.getvalue(), "TestGen Labs", mime="image/png")


def _v1_manifest(tool: str, title: str, agent: str | None = None) -> dict[str, Any]:
    """A claim as C2PA 1.x writers made it: "c2pa.created" without a digitalSourceType, which
    was allowed then (2.x requires one, so the SDK signs this only as a version 1 claim)."""
    created: dict[str, Any] = {"action": "c2pa.created"}
    if agent:
        created["softwareAgent"] = agent
    return {
        "claim_version": 1,
        "claim_generator_info": [{"name": tool, "version": "0.1"}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [created]}}],
    }


@lru_cache(maxsize=1)
def signed_firefly_style_jpeg() -> bytes:
    manifest = _v1_manifest("Adobe_Firefly", "firefly-headshot.jpg", agent="Adobe Firefly")
    return sign_jpeg(manifest, plain_jpeg(256, 7), "Adobe Test")


@lru_cache(maxsize=1)
def signed_bing_style_jpeg() -> bytes:
    # Only the title names the generator here; the claim generator is a neutral service name.
    manifest = _v1_manifest("ImageService", "Bing Image Creator")
    return sign_jpeg(manifest, plain_jpeg(256, 8), "Microsoft Test")


@lru_cache(maxsize=1)
def signed_plain_v1_jpeg() -> bytes:
    """The same kind of record from a tool that is not an AI generator."""
    return sign_jpeg(_v1_manifest("PhotoApp", "IMG_0100.jpg"), plain_jpeg(256, 9), "PhotoApp Inc")


@lru_cache(maxsize=1)
def signed_camera_jpeg() -> bytes:
    actions = [_created("digitalCapture", "TestCam", "2.1")]
    return sign_jpeg(
        _manifest("TestCam", "2.1", actions, "IMG_0001.jpg"), plain_jpeg(256, 2), "TestCam Inc"
    )


@lru_cache(maxsize=1)
def signed_camera_edited_jpeg() -> bytes:
    actions = [
        _created("digitalCapture", "TestCam", "2.1"),
        {
            "action": "c2pa.color_adjustments",
            "softwareAgent": {"name": "TestCam", "version": "2.1"},
        },
        {"action": "c2pa.cropped", "softwareAgent": {"name": "TestCam", "version": "2.1"}},
    ]
    return sign_jpeg(
        _manifest("TestCam", "2.1", actions, "IMG_0002.jpg"), plain_jpeg(256, 3), "TestCam Inc"
    )


def _reencoded(data: bytes, seed: int) -> bytes:
    """The picture re-saved (which drops its manifest), standing in for an editor's output."""
    im = Image.open(io.BytesIO(data)).convert("RGB")
    im = im.point(lambda v: min(255, v + 5 + seed))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88)
    return buf.getvalue()


@lru_cache(maxsize=1)
def signed_ai_edited_jpeg() -> bytes:
    """A camera photo (parent) with an AI-generated picture composited in (component)."""
    actions = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["base"]}},
        {
            "action": "c2pa.placed",
            "digitalSourceType": IPTC + "compositeWithTrainedAlgorithmicMedia",
            "softwareAgent": {"name": "PhotoFix", "version": "3.0"},
            "parameters": {"ingredientIds": ["generated"]},
        },
    ]
    ingredients = (
        (
            {"title": "IMG_0001.jpg", "relationship": "parentOf", "label": "base"},
            signed_camera_jpeg(),
        ),
        (
            {"title": "ai.jpg", "relationship": "componentOf", "label": "generated"},
            signed_ai_jpeg(),
        ),
    )
    manifest = _manifest("PhotoFix", "3.0", actions, "composite.jpg")
    return sign_jpeg(manifest, _reencoded(signed_camera_jpeg(), 1), "PhotoFix Ltd", ingredients)


@lru_cache(maxsize=1)
def signed_retouched_ai_jpeg() -> bytes:
    """An AI-generated picture (parent ingredient), colour-adjusted in an editor."""
    actions = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["base"]}},
        {
            "action": "c2pa.color_adjustments",
            "softwareAgent": {"name": "PhotoFix", "version": "3.0"},
        },
    ]
    ingredients = (
        ({"title": "ai.jpg", "relationship": "parentOf", "label": "base"}, signed_ai_jpeg()),
    )
    manifest = _manifest("PhotoFix", "3.0", actions, "retouched.jpg")
    return sign_jpeg(manifest, _reencoded(signed_ai_jpeg(), 2), "PhotoFix Ltd", ingredients)


@lru_cache(maxsize=1)
def tampered_ai_jpeg() -> bytes:
    """signed_ai_jpeg() with bytes of the compressed picture changed after signing.

    Only bytes inside the entropy-coded scan are touched, never a marker, so the file stays
    a decodable JPEG whose pixels differ from what was signed.
    """
    data = bytearray(signed_ai_jpeg())
    scan = data.rfind(b"\xff\xda")  # start of scan
    start, end = scan + 200, len(data) - 200
    changed = 0
    for i in range(start, end, 97):
        if data[i] < 0xF0 and data[i - 1] != 0xFF:
            data[i] ^= 0x01
            changed += 1
    assert changed > 10
    return bytes(data)


@lru_cache(maxsize=1)
def broken_manifest_jpeg() -> bytes:
    """signed_ai_jpeg() with one manifest byte damaged so that the SDK cannot parse it."""
    good = signed_ai_jpeg()
    start = good.find(b"jumb")
    ctx = c2pa.Context(c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": False}}))
    for offset in range(start + 4, start + 4000):
        data = bytearray(good)
        data[offset] ^= 0xFF
        try:
            c2pa.Reader(JPEG, io.BytesIO(bytes(data)), None, ctx).close()
        except c2pa.C2paError.ManifestNotFound:
            continue
        except c2pa.C2paError:
            return bytes(data)
    raise RuntimeError("could not damage the manifest in a way the reader rejects")


@lru_cache(maxsize=4)
def remote_manifest_jpeg(url: str = "https://c2pa.example.invalid/manifest.c2pa") -> bytes:
    """A JPEG whose only Content Credentials are a reference to `url` (nothing embedded)."""
    return remote_manifest_with_store(url)[0]


@lru_cache(maxsize=4)
def remote_manifest_with_store(url: str) -> tuple[bytes, bytes]:
    """(JPEG referencing `url`, the manifest store bytes a server at `url` would return)."""
    builder = c2pa.Builder(ai_manifest(), context=_signing_context())
    builder.set_no_embed()
    builder.set_remote_url(url)
    out = io.BytesIO()
    store = builder.sign(_signer("TestGen Labs"), JPEG, io.BytesIO(plain_jpeg(256, 4)), out)
    return out.getvalue(), bytes(store)


if __name__ == "__main__":  # pragma: no cover - regenerates samples/c2pa-ai-generated.jpg
    Path(sys.argv[1]).write_bytes(signed_ai_jpeg())
