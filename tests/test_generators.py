"""Generator metadata, in each tool's own on-disk format, through the whole pipeline."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import piexif
import piexif.helper
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.analysis.formats.metafields import decode_user_comment
from bot.analysis.formats.stealth import read as read_stealth
from bot.analysis.pipeline.run import analyze

A1111 = (
    "professional headshot of a woman, studio lighting, 85mm\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 3839180512, "
    "Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.10.1"
)
FORGE = A1111.replace("Version: v1.10.1", "Version: f2.0.1v1.10.1-previous-313-g8a042934")
SDNEXT = A1111.replace("Version: v1.10.1", "Backend: Diffusers, App: SD.Next, Version: 2a5b8e1")
INPAINT = A1111.replace(
    "Version: v1.10.1",
    "Denoising strength: 0.75, Mask blur: 4, Inpaint area: Only masked, Version: v1.10.1",
)
CIVITAI = (
    "corporate portrait of a man in a navy suit\nNegative prompt: cartoon\n"
    "Steps: 25, CFG scale: 4, Sampler: DPM++ 2M Karras, Seed: 2214830947, Size: 832x1216, "
    'Clip skip: 2, Civitai resources: [{"type":"checkpoint","modelVersionId":290640,'
    '"modelName":"Pony Diffusion V6 XL","modelVersionName":"V6 (start with this one)"}], '
    "Civitai metadata: {}"
)

COMFY_PROMPT = {
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"},
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "linkedin headshot, smiling man", "clip": ["4", 1]},
    },
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}
COMFY_WORKFLOW = {
    "last_node_id": 9,
    "last_link_id": 9,
    "nodes": [
        {
            "id": 7,
            "type": "CLIPTextEncode",
            "inputs": [{"name": "clip", "type": "CLIP", "link": 5}],
            "widgets_values": ["text, watermark"],
        },
        {
            "id": 6,
            "type": "CLIPTextEncode",
            "inputs": [{"name": "clip", "type": "CLIP", "link": 3}],
            "widgets_values": ["linkedin headshot, smiling man"],
        },
        {
            "id": 3,
            "type": "KSampler",
            "inputs": [
                {"name": "model", "type": "MODEL", "link": 1},
                {"name": "positive", "type": "CONDITIONING", "link": 4},
                {"name": "negative", "type": "CONDITIONING", "link": 6},
                {"name": "latent_image", "type": "LATENT", "link": 2},
            ],
            "widgets_values": [156680208700286, "randomize", 20, 8, "euler", "normal", 1],
        },
        {
            "id": 4,
            "type": "CheckpointLoaderSimple",
            "widgets_values": ["sd_xl_base_1.0.safetensors"],
        },
    ],
    "links": [
        [1, 4, 0, 3, 0, "MODEL"],
        [3, 4, 1, 6, 0, "CLIP"],
        [4, 6, 0, 3, 1, "CONDITIONING"],
        [5, 4, 1, 7, 0, "CLIP"],
        [6, 7, 0, 3, 2, "CONDITIONING"],
    ],
    "version": 0.4,
}

NOVELAI_COMMENT = {
    "prompt": "1girl, business suit, office background, portrait",
    "steps": 28,
    "height": 1216,
    "width": 832,
    "scale": 5.0,
    "uncond_scale": 0.0,
    "cfg_rescale": 0.0,
    "seed": 2875361946,
    "n_samples": 1,
    "noise_schedule": "karras",
    "sampler": "k_euler_ancestral",
    "request_type": "PromptGenerateRequest",
    "uc": "lowres, bad anatomy",
}
NOVELAI_CHUNKS = {
    "Title": "AI generated image",
    "Description": NOVELAI_COMMENT["prompt"],
    "Software": "NovelAI",
    "Source": "NovelAI Diffusion V4.5 4BDE2A90",
    "Generation time": "3.1",
    "Comment": json.dumps(NOVELAI_COMMENT),
}


def _image(mode: str = "RGB", size: tuple[int, int] = (96, 128)) -> Image.Image:
    rng = np.random.default_rng(7)
    channels = len(mode)
    arr = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    if mode == "RGBA":
        arr[..., 3] = 255
    return Image.fromarray(arr, mode)


def _png(
    chunks: dict[str, str], itxt: tuple[str, ...] = (), image: Image.Image | None = None
) -> bytes:
    info = PngInfo()
    for key, value in chunks.items():
        if key in itxt:
            info.add_itxt(key, value)
        else:
            info.add_text(key, value)
    buf = io.BytesIO()
    (image or _image()).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _with_exif(fmt: str, exif_ifd: dict | None = None, zeroth: dict | None = None, **save) -> bytes:
    exif = piexif.dump({"0th": zeroth or {}, "Exif": exif_ifd or {}})
    buf = io.BytesIO()
    _image().save(buf, fmt, exif=exif, **save)
    return buf.getvalue()


def _a1111_exif(fmt: str, text: str) -> bytes:
    # What AUTOMATIC1111 does for JPEG and WebP: UserComment, "UNICODE" prefix, UTF-16.
    comment = piexif.helper.UserComment.dump(text, encoding="unicode")
    return _with_exif(fmt, {piexif.ExifIFD.UserComment: comment})


def _gen_finding(report):
    found = [f for f in report.findings if f.check == "generators"]
    assert len(found) == 1, [f.title for f in found]
    return found[0]


def _assert_generated(data: bytes, name: str, family: str, model: str | None, prompt_start: str):
    report = analyze(data, name)
    assert report.ok, report.error
    assert report.verdict.label == "ai_generated"
    assert report.verdict.strength == "strong"
    assert report.generator == family
    finding = _gen_finding(report)
    assert finding.signal == "ai_generated" and finding.strength == "strong"
    assert finding.data["model"] == model
    assert finding.data["prompt"].startswith(prompt_start)
    assert len(finding.data["prompt"]) <= 120
    return finding


def test_a1111_png_parameters():
    finding = _assert_generated(
        _png({"parameters": A1111}),
        "a.png",
        "Stable Diffusion (AUTOMATIC1111)",
        "v1-5-pruned-emaonly",
        "professional headshot of a woman",
    )
    assert "Negative prompt" not in finding.data["prompt"]
    assert any("parameters" in e.field for e in finding.evidence)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a1111_exif_usercomment(fmt):
    _assert_generated(
        _a1111_exif(fmt, A1111),
        f"a.{fmt.lower()}",
        "Stable Diffusion (AUTOMATIC1111)",
        "v1-5-pruned-emaonly",
        "professional headshot",
    )


def test_forge_and_sdnext_are_told_apart():
    _assert_generated(
        _png({"parameters": FORGE}),
        "f.png",
        "Stable Diffusion (Forge)",
        "v1-5-pruned-emaonly",
        "professional headshot",
    )
    _assert_generated(
        _png({"parameters": SDNEXT}),
        "n.png",
        "Stable Diffusion (SD.Next)",
        "v1-5-pruned-emaonly",
        "professional headshot",
    )


def test_inpainting_settings_say_edited():
    report = analyze(_png({"parameters": INPAINT}), "inpaint.png")
    assert report.verdict.label == "ai_edited"
    finding = _gen_finding(report)
    assert finding.signal == "ai_edited"
    assert "repainted" in finding.detail
    assert "image-to-image" not in finding.detail  # the stronger hint alone is said
    assert report.generator == "Stable Diffusion (AUTOMATIC1111)"


def test_img2img_is_noted_but_hires_fix_is_not():
    img2img = A1111.replace("Version: v1.10.1", "Denoising strength: 0.45, Version: v1.10.1")
    finding = _assert_generated(
        _png({"parameters": img2img}),
        "i2i.png",
        "Stable Diffusion (AUTOMATIC1111)",
        "v1-5-pruned-emaonly",
        "prof",
    )
    assert "image-to-image" in finding.detail and finding.data["edited"]
    hires = A1111.replace(
        "Version: v1.10.1",
        "Denoising strength: 0.7, Hires upscale: 2, Hires upscaler: Latent, Version: v1.10.1",
    )
    finding = _assert_generated(
        _png({"parameters": hires}),
        "hr.png",
        "Stable Diffusion (AUTOMATIC1111)",
        "v1-5-pruned-emaonly",
        "prof",
    )
    assert "image-to-image" not in finding.detail and not finding.data["edited"]


def test_civitai_usercomment_names_model_from_resources():
    _assert_generated(
        _a1111_exif("JPEG", CIVITAI),
        "c.jpg",
        "Civitai",
        "Pony Diffusion V6 XL",
        "corporate portrait of a man",
    )


def test_comfyui_png_prompt_and_workflow_give_one_finding():
    data = _png({"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)})
    finding = _assert_generated(
        data, "c.png", "ComfyUI", "sd_xl_base_1.0.safetensors", "linkedin headshot, smiling man"
    )
    assert len(finding.data["sources"]) == 2


def test_comfyui_flux_graph_through_guider_and_guidance_nodes():
    graph = {
        "12": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"},
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "editorial headshot, rim light", "clip": ["11", 0]},
        },
        "26": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
        "22": {
            "class_type": "BasicGuider",
            "inputs": {"model": ["12", 0], "conditioning": ["26", 0]},
        },
        "13": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["25", 0],
                "guider": ["22", 0],
                "sampler": ["16", 0],
                "sigmas": ["17", 0],
                "latent_image": ["5", 0],
            },
        },
    }
    _assert_generated(
        _png({"prompt": json.dumps(graph)}),
        "flux.png",
        "ComfyUI",
        "flux1-dev.safetensors",
        "editorial headshot, rim light",
    )


def test_comfyui_workflow_only_follows_links_to_positive_prompt():
    data = _png({"workflow": json.dumps(COMFY_WORKFLOW)})
    _assert_generated(data, "w.png", "ComfyUI", "sd_xl_base_1.0.safetensors", "linkedin headshot")


def test_comfyui_webp_exif_make_and_model():
    # ComfyUI's SaveAnimatedWEBP: 0x0110 Model = "prompt:{...}", 0x010F Make = "workflow:{...}".
    exif = Image.Exif()
    exif[0x0110] = f"prompt:{json.dumps(COMFY_PROMPT)}"
    exif[0x010F] = f"workflow:{json.dumps(COMFY_WORKFLOW)}"
    buf = io.BytesIO()
    _image().save(buf, "WEBP", exif=exif, lossless=True)
    finding = _assert_generated(
        buf.getvalue(), "c.webp", "ComfyUI", "sd_xl_base_1.0.safetensors", "linkedin headshot"
    )
    assert any("EXIF Model" in s for s in finding.data["sources"])


def test_novelai_png_chunks():
    _assert_generated(
        _png(NOVELAI_CHUNKS),
        "nai.png",
        "NovelAI",
        "NovelAI Diffusion V4.5 4BDE2A90",
        "1girl, business suit",
    )


def _nai_stealth(image: Image.Image, chunks: dict[str, str]) -> Image.Image:
    """NovelAI's LSBInjector: gzip'd JSON of the text chunks in the alpha LSBs, column-major."""
    data = {k: v for k, v in chunks.items() if k != "Title"}
    payload = gzip.compress(json.dumps(data).encode())
    buffer = b"stealth_pngcomp" + (len(payload) * 8).to_bytes(4, "big") + payload
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8))
    pixels = np.array(image.convert("RGBA"))
    alpha = pixels[..., -1].T.copy()
    flat = alpha.reshape(-1)
    flat[:] = 0xFF
    flat[: bits.size] = 0xFE | bits
    pixels[..., -1] = flat.reshape(alpha.shape).T
    return Image.fromarray(pixels, "RGBA")


def _a1111_stealth(image: Image.Image, params: str, mode: str, compressed: bool) -> Image.Image:
    """The sd_webui_stealth_pnginfo extension's writer: signature, 32-bit bit length, data."""
    kind = ("png" if mode == "alpha" else "rgb") + ("comp" if compressed else "info")
    body = gzip.compress(params.encode()) if compressed else params.encode()
    buffer = f"stealth_{kind}".encode() + (len(body) * 8).to_bytes(4, "big") + body
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8))
    pixels = np.array(image.convert("RGBA" if mode == "alpha" else "RGB"))
    if mode == "alpha":
        pixels[..., 3] = 255
        plane = pixels[..., 3:4]
    else:
        plane = pixels[..., :3]
    stream = plane.transpose(1, 0, 2).reshape(-1).copy()  # x outer, y inner, then R, G, B
    stream[: bits.size] = (stream[: bits.size] & 0xFE) | bits
    restored = stream.reshape(plane.shape[1], plane.shape[0], plane.shape[2]).transpose(1, 0, 2)
    if mode == "alpha":
        pixels[..., 3:4] = restored
    else:
        pixels[..., :3] = restored
    return Image.fromarray(pixels)


def test_novelai_stealth_alpha_without_any_text_chunk():
    image = _nai_stealth(_image("RGBA", (128, 160)), NOVELAI_CHUNKS)
    data = _png({}, image=image)
    finding = _assert_generated(
        data,
        "nai-stripped.png",
        "NovelAI",
        "NovelAI Diffusion V4.5 4BDE2A90",
        "1girl, business suit",
    )
    assert "alpha channel" in finding.data["sources"][0]


def test_novelai_chunks_and_stealth_give_one_finding():
    image = _nai_stealth(_image("RGBA", (128, 160)), NOVELAI_CHUNKS)
    _assert_generated(
        _png(NOVELAI_CHUNKS, image=image),
        "nai.png",
        "NovelAI",
        "NovelAI Diffusion V4.5 4BDE2A90",
        "1girl",
    )


@pytest.mark.parametrize(
    ("mode", "compressed"), [("alpha", False), ("alpha", True), ("rgb", False), ("rgb", True)]
)
def test_a1111_stealth_extension(mode, compressed):
    image = _a1111_stealth(_image("RGB", (120, 140)), FORGE, mode, compressed)
    found = read_stealth(image)
    assert found is not None and found.text == FORGE
    finding = _assert_generated(
        _png({}, image=image),
        "s.png",
        "Stable Diffusion (Forge)",
        "v1-5-pruned-emaonly",
        "professional headshot",
    )
    kind = ("png" if mode == "alpha" else "rgb") + ("comp" if compressed else "info")
    assert f"stealth_{kind}" in finding.data["sources"][0]


def test_stealth_length_is_bounded():
    image = _a1111_stealth(_image("RGB", (120, 140)), A1111, "alpha", False)
    assert read_stealth(image, max_bytes=4096) is not None
    assert read_stealth(image, max_bytes=64) is None  # longer than allowed: not read at all
    bomb = _a1111_stealth(_image("RGB", (120, 140)), "Steps: 1" * 50_000, "alpha", True)
    found = read_stealth(bomb, max_bytes=1000)
    assert found is not None and len(found.text) == 1000  # decompression stops at the cap


def test_invokeai_v4_metadata_and_graph():
    meta = {
        "generation_mode": "sdxl_txt2img",
        "positive_prompt": "studio headshot of a doctor",
        "negative_prompt": "",
        "width": 1024,
        "height": 1024,
        "seed": 123,
        "steps": 30,
        "cfg_scale": 7.5,
        "scheduler": "euler",
        "model": {
            "key": "5f1a",
            "hash": "blake3:abc",
            "name": "Juggernaut XL v9",
            "base": "sdxl",
            "type": "main",
        },
        "app_version": "4.2.9",
    }
    graph = {"id": "g", "nodes": {"sdxl_model_loader": {"type": "sdxl_model_loader"}}, "edges": []}
    data = _png({"invokeai_metadata": json.dumps(meta), "invokeai_graph": json.dumps(graph)})
    finding = _assert_generated(
        data, "i.png", "InvokeAI", "Juggernaut XL v9", "studio headshot of a doctor"
    )
    assert len(finding.data["sources"]) == 2


def test_invokeai_v2_sd_metadata_and_dream():
    meta = {
        "model": "stable diffusion",
        "model_weights": "stable-diffusion-1.5",
        "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516",
        "app_id": "invoke-ai/InvokeAI",
        "app_version": "2.2.5",
        "image": {
            "prompt": [{"prompt": "portrait of an engineer, soft light", "weight": 1.0}],
            "steps": 50,
            "cfg_scale": 7.5,
            "threshold": 0,
            "perlin": 0,
            "height": 512,
            "width": 512,
            "seed": 3015429658,
            "seamless": False,
            "hires_fix": False,
            "type": "txt2img",
            "postprocessing": None,
            "sampler": "k_lms",
            "variations": [],
        },
    }
    dream = (
        '"portrait of an engineer, soft light" -s 50 -S 3015429658 -W 512 -H 512 -C 7.5 -A k_lms'
    )
    data = _png({"sd-metadata": json.dumps(meta), "Dream": dream})
    _assert_generated(data, "i2.png", "InvokeAI", "stable-diffusion-1.5", "portrait of an engineer")


FOOOCUS = {
    "adm_guidance": "(1.5, 0.8, 0.3)",
    "base_model": "juggernautXL_v8Rundiffusion",
    "base_model_hash": "aeb7e9e689",
    "full_negative_prompt": ["(worst quality, low quality:1.4)"],
    "full_prompt": ["business headshot of a woman, cinematic"],
    "guidance_scale": 4,
    "negative_prompt": "",
    "performance": "Speed",
    "prompt": "business headshot of a woman",
    "refiner_model": "None",
    "refiner_switch": 0.5,
    "resolution": "(1152, 896)",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "5736491284",
    "sharpness": 2,
    "steps": 30,
    "styles": "['Fooocus V2', 'Fooocus Enhance', 'Fooocus Sharp']",
    "version": "Fooocus v2.5.5",
}


def test_ruinedfooocus_parameters_json():
    # RuinedFooocus: metadata.add_text("parameters", json.dumps(prompt)) with "software".
    settings = {
        "Prompt": "headshot of a chef, kitchen background",
        "Negative": "blurry",
        "steps": 30,
        "cfg": 8.5,
        "width": 1152,
        "height": 896,
        "seed": 3864674281,
        "sampler_name": "dpmpp_2m_sde_gpu",
        "scheduler": "karras",
        "base_model_name": "sd_xl_base_1.0_0.9vae.safetensors",
        "base_model_hash": "be9edd61",
        "loras": [["4852686128", "0.1 - sd_xl_offset_example-lora_1.0.safetensors"]],
        "start_step": 0,
        "denoise": None,
        "clip_skip": 1,
        "software": "RuinedFooocus",
    }
    _assert_generated(
        _png({"parameters": json.dumps(settings, indent=2)}),
        "rf.png",
        "RuinedFooocus",
        "sd_xl_base_1.0_0.9vae.safetensors",
        "headshot of a chef",
    )


def test_fooocus_png_parameters_json():
    data = _png({"parameters": json.dumps(FOOOCUS), "fooocus_scheme": "fooocus"})
    _assert_generated(data, "fo.png", "Fooocus", "juggernautXL_v8Rundiffusion", "business headshot")


def test_fooocus_a1111_scheme_is_fooocus_not_a1111():
    text = A1111.replace("Version: v1.10.1", "Version: Fooocus v2.5.5")
    data = _png({"parameters": text, "fooocus_scheme": "a1111"})
    _assert_generated(data, "fo2.png", "Fooocus", "v1-5-pruned-emaonly", "professional headshot")


def test_fooocus_jpeg_exif():
    # Fooocus JPEG/WebP: UserComment (0x9286) = JSON, MakerNote (0x927C) = scheme,
    # Software = version.
    data = _with_exif(
        "JPEG",
        {
            piexif.ExifIFD.UserComment: json.dumps(FOOOCUS).encode(),
            piexif.ExifIFD.MakerNote: b"fooocus",
        },
        {piexif.ImageIFD.Software: b"Fooocus v2.5.5"},
    )
    _assert_generated(data, "fo.jpg", "Fooocus", "juggernautXL_v8Rundiffusion", "business headshot")


DRAW_THINGS_JSON = {
    "c": "professional photo of a woman, office",
    "uc": "blurry",
    "model": "sd_xl_base_1.0_f16.ckpt",
    "sampler": "DPM++ 2M Karras",
    "scale": 4.5,
    "seed": 2441935286,
    "size": "1024x1024",
    "steps": 30,
    "strength": 1,
    "seed_mode": "Scale Alike",
}


def _draw_things_xmp() -> str:
    description = (
        "professional photo of a woman, office&#xA;-blurry&#xA;"
        "Steps: 30, Sampler: DPM++ 2M Karras, "
        "Guidance Scale: 4.5, Seed: 2441935286, Size: 1024x1024, Model: sd_xl_base_1.0_f16.ckpt, "
        "Strength: 1.0, Seed Mode: Scale Alike"
    )
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">
   <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description rdf:about=""
            xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmlns:xmp="http://ns.adobe.com/xap/1.0/"
            xmlns:exif="http://ns.adobe.com/exif/1.0/">
         <dc:description><rdf:Alt>
            <rdf:li xml:lang="x-default">{description}</rdf:li>
         </rdf:Alt></dc:description>
         <xmp:CreatorTool>Draw Things</xmp:CreatorTool>
         <exif:UserComment><rdf:Alt>
            <rdf:li xml:lang="x-default">{json.dumps(DRAW_THINGS_JSON)}</rdf:li>
         </rdf:Alt></exif:UserComment>
      </rdf:Description>
   </rdf:RDF>
</x:xmpmeta>"""


def test_draw_things_xmp():
    data = _png({"XML:com.adobe.xmp": _draw_things_xmp()}, itxt=("XML:com.adobe.xmp",))
    _assert_generated(
        data, "dt.png", "Draw Things", "sd_xl_base_1.0_f16.ckpt", "professional photo of a woman"
    )


MIDJOURNEY_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmlns:iptc="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
 Iptc4xmpExt:DigImageGUID="a7421d2f-b262-44f9-977c-ac23e9c7d3e3"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def test_midjourney_png():
    chunks = {
        "Author": "peterkaminski",
        "Description": "corporate headshot, soft light --ar 2:3 --v 6.1 "
        "Job ID: a7421d2f-b262-44f9-977c-ac23e9c7d3e3",
        "Creation Time": "2024-08-01T10:00:00Z",
        "XML:com.adobe.xmp": MIDJOURNEY_XMP,
    }
    finding = _assert_generated(
        _png(chunks, itxt=("XML:com.adobe.xmp",)),
        "mj.png",
        "Midjourney",
        "Midjourney v6.1",
        "corporate headshot, soft light --ar 2:3",
    )
    assert "Job ID" not in finding.data["prompt"]


SWARM = {
    "sui_image_params": {
        "prompt": "A headshot photograph of a 30 year old man",
        "negativeprompt": "",
        "model": "Flux/flux1-dev-fp8",
        "seed": 2042464333,
        "steps": 25,
        "cfgscale": 1.0,
        "aspectratio": "Custom",
        "width": 512,
        "height": 768,
        "sampler": "euler",
        "scheduler": "normal",
        "swarm_version": "0.9.1.1",
        "date": "2024-08-07",
    },
    "sui_extra_data": {"date": "2024-08-07", "prep_time": "1.2 sec", "generation_time": "35.8 sec"},
}


def test_swarmui_png_itxt_and_jpeg():
    text = json.dumps(SWARM, indent=2)
    _assert_generated(
        _png({"parameters": text}, itxt=("parameters",)),
        "sw.png",
        "SwarmUI",
        "Flux/flux1-dev-fp8",
        "A headshot photograph",
    )
    _assert_generated(
        _a1111_exif("JPEG", text), "sw.jpg", "SwarmUI", "Flux/flux1-dev-fp8", "A headshot"
    )


EASY = {
    "prompt": "a portrait of a nurse, photograph",
    "seed": 30276,
    "used_random_seed": True,
    "negative_prompt": "",
    "num_outputs": 1,
    "num_inference_steps": 25,
    "guidance_scale": 7.5,
    "width": 512,
    "height": 512,
    "vram_usage_level": "balanced",
    "sampler_name": "euler_a",
    "use_stable_diffusion_model": "sd-v1-4",
    "clip_skip": False,
    "use_vae_model": "",
    "output_format": "png",
    "output_quality": 75,
}


def test_easy_diffusion_png_keys_and_jpeg_json():
    chunks = {k: str(v) for k, v in EASY.items()}
    _assert_generated(_png(chunks), "ed.png", "Easy Diffusion", "sd-v1-4", "a portrait of a nurse")
    data = _with_exif("JPEG", {piexif.ExifIFD.UserComment: json.dumps(EASY).encode()})
    _assert_generated(data, "ed.jpg", "Easy Diffusion", "sd-v1-4", "a portrait of a nurse")


def test_easy_diffusion_display_names():
    # With the "txt"-style names (TASK_TEXT_MAPPING in Easy Diffusion's save code).
    chunks = {
        "Prompt": "a portrait of a nurse",
        "Seed": "30276",
        "Steps": "25",
        "Guidance Scale": "7.5",
        "Sampler": "euler_a",
        "Stable Diffusion model": "sd-v1-4",
    }
    _assert_generated(_png(chunks), "ed2.png", "Easy Diffusion", "sd-v1-4", "a portrait of a nurse")


def test_unrecognised_tool_with_generation_settings():
    settings = {"prompt": "portrait of a pilot", "seed": 42, "steps": 30, "model": "some-model-v2"}
    _assert_generated(
        _png({"generation_data": json.dumps(settings)}),
        "u.png",
        "an unidentified image generator",
        "some-model-v2",
        "portrait of a pilot",
    )


def test_prompt_is_escaped_and_bounded():
    long_prompt = "line one\x00\x07 with\ttabs\n" + "x" * 400
    text = long_prompt + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"
    finding = _gen_finding(analyze(_png({"parameters": text}), "long.png"))
    prompt = finding.data["prompt"]
    assert len(prompt) == 120 and prompt.endswith("…")
    assert prompt.isprintable() and "\n" not in prompt and "\x07" not in prompt


def test_jpeg_comment_carrying_parameters():
    buf = io.BytesIO()
    _image().save(buf, "JPEG", comment=A1111.encode())
    _assert_generated(
        buf.getvalue(),
        "com.jpg",
        "Stable Diffusion (AUTOMATIC1111)",
        "v1-5-pruned-emaonly",
        "professional headshot",
    )


@pytest.mark.parametrize(
    "data",
    [
        _png(
            {
                "Software": "GIMP 2.10.34",
                "Comment": "Created with GIMP",
                "Description": "Team photo 2024",
            }
        ),
        _png({"parameters": "exposure +0.3, contrast 12"}),
        _png({"Description": "Job ID: 42 for the print shop"}),
        _png({"prompt": "say cheese"}),
        _with_exif(
            "JPEG",
            {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump("Holiday in Rome")},
            {
                piexif.ImageIFD.Make: b"Canon",
                piexif.ImageIFD.Model: b"Canon EOS R6",
                piexif.ImageIFD.Software: b"Adobe Photoshop 25.0 (Macintosh)",
            },
        ),
    ],
)
def test_ordinary_metadata_is_not_a_generator(data):
    report = analyze(data, "ordinary")
    assert report.ok
    assert not [f for f in report.findings if f.check == "generators"]
    assert report.generator is None


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"UNICODE\x00" + "Steps: 20 — é".encode("utf-16-be"), "Steps: 20 — é"),
        (b"UNICODE\x00" + "Steps: 20".encode("utf-16-le"), "Steps: 20"),
        (b"ASCII\x00\x00\x00Steps: 20", "Steps: 20"),
        (b"\x00" * 8 + "Schritte: 20 ü".encode(), "Schritte: 20 ü"),
        ("already text", "already text"),
    ],
)
def test_user_comment_charsets(raw, text):
    assert decode_user_comment(raw) == text


def test_demo_sample():
    data = (Path(__file__).resolve().parent.parent / "samples/a1111-parameters.png").read_bytes()
    assert len(data) < 400_000
    _assert_generated(
        data,
        "a1111-parameters.png",
        "Stable Diffusion (AUTOMATIC1111)",
        "sd_xl_base_1.0",
        "professional corporate headshot",
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "Steps: 1, " * 90_000,
        " " * 900_000 + "x",
        "[" * 200_000,
        '{"class_type": ' * 50_000,
        "prompt: seed: " * 60_000,
        '{"sui_image_params": ' + "[" * 100_000,
        " " * 150_000 + "Job ID: a7421d2f-b262-44f9-977c-ac23e9c7d3e3",
        "x\n" + "Negative prompt: " * 40_000 + "\nSteps: 2, Sampler: Euler, Model: m",
    ],
)
def test_hostile_text_is_read_quickly(hostile):
    chunks = {"parameters": hostile, "prompt": hostile, "workflow": hostile, "Description": hostile}
    report = analyze(_png(chunks), "hostile.png")
    (run,) = [r for r in report.runs if r.check == "generators"]
    assert run.status == "ran" and run.ms < 2000, run


# -- ComfyUI graphs in EXIF, as savers that prefix them write them (issue 15, item 4) --------
@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_comfyui_prefixed_graphs_in_exif_make_and_image_description(fmt):
    # Image savers for ComfyUI that write JPEG and WebP: "Prompt: {...}" in Make (0x010F),
    # "Workflow: {...}" in ImageDescription (0x010E), capitalised and with a space.
    zeroth = {
        piexif.ImageIFD.Make: f"Prompt: {json.dumps(COMFY_PROMPT)}".encode(),
        piexif.ImageIFD.ImageDescription: f"Workflow: {json.dumps(COMFY_WORKFLOW)}".encode(),
    }
    finding = _assert_generated(
        _with_exif(fmt, zeroth=zeroth),
        f"c.{fmt.lower()}",
        "ComfyUI",
        "sd_xl_base_1.0.safetensors",
        "linkedin headshot, smiling man",
    )
    assert any("EXIF Make" in s for s in finding.data["sources"])
    assert finding.data["parameters"]["negative_prompt"] == "text, watermark"


CIVITAI_GRAPH = {
    "resource-stack": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "urn:air:sdxl:checkpoint:civitai:133005@782002"},
    },
    "resource-stack-1": {
        "class_type": "LoraLoader",
        "inputs": {
            "lora_name": "urn:air:sdxl:lora:civitai:341353@381870",
            "strength_model": 0.8,
            "strength_clip": 1,
            "model": ["resource-stack", 0],
            "clip": ["resource-stack", 1],
        },
    },
    "6": {
        "class_type": "smZ CLIPTextEncode",
        "inputs": {
            "text": "headshot of a nurse, hospital corridor",
            "parser": "A1111",
            "clip": ["resource-stack-1", 1],
        },
        "_meta": {"title": "Positive"},
    },
    "7": {
        "class_type": "smZ CLIPTextEncode",
        "inputs": {"text": "bad hands, watermark", "clip": ["resource-stack-1", 1]},
        "_meta": {"title": "Negative"},
    },
    "11": {
        "class_type": "KSampler",
        "inputs": {
            "sampler_name": "euler_ancestral",
            "scheduler": "normal",
            "seed": 1234567890,
            "steps": 25,
            "cfg": 7,
            "denoise": 1,
            "model": ["resource-stack-1", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
        },
    },
    "extra": {
        "airs": [
            "urn:air:sdxl:checkpoint:civitai:133005@782002",
            "urn:air:sdxl:lora:civitai:341353@381870",
        ]
    },
    "extraMetadata": json.dumps(
        {"prompt": "headshot of a nurse, hospital corridor", "steps": 25, "workflowId": "txt2img"}
    ),
}


def test_civitai_onsite_generator_comfyui_json_in_user_comment():
    comment = piexif.helper.UserComment.dump(json.dumps(CIVITAI_GRAPH), encoding="unicode")
    data = _with_exif("JPEG", {piexif.ExifIFD.UserComment: comment})
    finding = _assert_generated(
        data,
        "civitai.jpeg",
        "Civitai",
        "urn:air:sdxl:checkpoint:civitai:133005@782002",
        "headshot of a nurse",
    )
    params = finding.data["parameters"]
    assert params["loras"] == ["urn:air:sdxl:lora:civitai:341353@381870 (0.8)"]
    assert params["resources"] == CIVITAI_GRAPH["extra"]["airs"]
    assert params["negative_prompt"] == "bad hands, watermark"
    assert (params["steps"], params["cfg_scale"], params["seed"]) == ("25", "7", "1234567890")


# -- generation parameters in one form (issue 15, item 2) ------------------------------------
LONG_PROMPT = "portrait of a woman, " * 40 + "<lora:skin_detail:0.6> <lora:studio_light:1>"


def test_a1111_parameters_in_full():
    text = A1111.replace("professional headshot of a woman, studio lighting, 85mm", LONG_PROMPT)
    hashes = 'Lora hashes: "skin_detail: 1a2b, studio_light: 3c4d"'
    text = text.replace("Version:", f"{hashes}, Version:")
    finding = _gen_finding(analyze(_png({"parameters": text}), "long.png"))
    params = finding.data["parameters"]
    assert params["prompt"] == LONG_PROMPT.strip()  # in full, not the 120-character excerpt
    assert params["negative_prompt"] == "blurry, lowres"
    assert params["steps"] == "20" and params["sampler"] == "DPM++ 2M"
    assert params["cfg_scale"] == "7" and params["seed"] == "3839180512"
    assert params["model"] == "v1-5-pruned-emaonly" and params["model_hash"] == "6ce0161689"
    assert params["loras"] == ["skin_detail (0.6)", "studio_light (1)"]
    assert "Lora hashes: skin_detail: 1a2b, studio_light: 3c4d" in params["other"]


def test_comfyui_parameters_name_nodes_and_sampler_settings():
    data = _png({"prompt": json.dumps(COMFY_PROMPT)})
    params = _gen_finding(analyze(data, "c.png")).data["parameters"]
    assert params["sampler"] == "euler" and params["scheduler"] == "normal"
    assert params["seed"] == "156680208700286" and params["cfg_scale"] == "8.0"
    assert "KSampler" in params["nodes"] and "CLIPTextEncode ×2" in params["nodes"]
    workflow = _gen_finding(analyze(_png({"workflow": json.dumps(COMFY_WORKFLOW)}), "w.png"))
    assert workflow.data["parameters"]["steps"] == "20"
    assert workflow.data["parameters"]["negative_prompt"] == "text, watermark"


def test_json_families_share_the_parameter_names():
    params = _gen_finding(analyze(_png(NOVELAI_CHUNKS), "nai.png")).data["parameters"]
    assert params["prompt"].startswith("1girl, business suit")
    assert params["negative_prompt"] == "lowres, bad anatomy"
    assert (params["steps"], params["sampler"], params["seed"]) == (
        "28",
        "k_euler_ancestral",
        "2875361946",
    )


def test_comfyui_graph_whose_nodes_all_link_to_each_other_is_read_quickly():
    """Every conditioning input of every node links to the next: without visiting each node
    once, following them would take 7^12 steps and the check would run out of time."""
    names = ["positive", "conditioning", "guider", "conditioning_1", "text", "prompt", "string"]
    graph = {
        str(i): {"class_type": "ConditioningCombine", "inputs": {n: [str(i + 1), 0] for n in names}}
        for i in range(40)
    }
    graph["s"] = {"class_type": "KSampler", "inputs": {"positive": ["0", 0], "negative": ["0", 0]}}
    report = analyze(_png({"prompt": json.dumps(graph)}), "loop.png")
    assert all(r.status == "ran" for r in report.runs if r.check == "generators")
    assert report.ok and _gen_finding(report).data["parameters"]["nodes"]
