"""C2PA Content Credentials: read and validate the manifest store with the official SDK.

The SDK (c2pa-python) does the parsing and the cryptography; this module only turns its
manifest-store JSON into findings. How much a claim counts depends on the signature:
Trusted (signer on the trust list) > Valid (signature fine, signer unknown) > a certificate
problem > content changed after signing. Network access (remote manifests, OCSP) stays off
unless an operator turns it on, because it would make the bot fetch URLs named in user files.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import c2pa

from bot import messages
from bot.analysis.checks import CheckContext
from bot.analysis.intake.photo import Photo
from bot.analysis.intake.sniff import carries_c2pa
from bot.analysis.pipeline.findings import (
    CheckSkipped,
    Evidence,
    Finding,
    Signal,
    Strength,
    excerpt,
)
from bot.settings import C2PA, config_path, load_toml

NAME = "c2pa"
ORDER = 10

log = logging.getLogger(__name__)

# Pillow's format name → the MIME type the SDK expects. Formats absent here cannot carry C2PA.
_MIME = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
    "TIFF": "image/tiff",
}
_MAX_DEPTH = 16  # ingredient chains deeper than this are not walked (hostile files)
_MAX_EVIDENCE = 14

# Validation codes (C2PA spec, section 15) grouped by what they mean for a reader.
_CERT_PROBLEMS = {
    "signingCredential.expired": "had expired when it was used",
    "signingCredential.revoked": "has been revoked by its issuer",
    "signingCredential.invalid": "does not meet the C2PA certificate rules",
    "claimSignature.outsideValidity": "was not valid at the time of signing",
    "algorithm.unsupported": "uses an algorithm C2PA does not allow",
}
_UNTRUSTED = "signingCredential.untrusted"
_TRUSTED = "signingCredential.trusted"


@dataclass(frozen=True)
class Status:
    """What the validation codes of one manifest add up to."""

    kind: str  # trusted | valid | unchecked (trust not checked) | cert_problem | tampered | invalid
    strength: Strength
    problem: str = ""  # for cert_problem: what is wrong with the certificate


@dataclass(frozen=True)
class Claim:
    """One action of one manifest, classified."""

    kind: str  # ai_created | ai_composite | generative_edit | camera | edit | other
    role: str  # self (the active manifest) | base (a parent ingredient) | component
    action: str
    source_type: str
    generator: str
    strength: Strength
    signer: str  # who signed the manifest this action comes from


# ---------------------------------------------------------------- SDK access


@lru_cache(maxsize=1)
def _vocab() -> dict[str, Any]:
    return load_toml("c2pa.toml")


def _trust_file(folder: Path, name: str) -> str:
    path = folder / name
    return path.read_text("utf-8", "replace") if path.is_file() else ""


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else config_path(path)


def sdk_settings(cfg: C2PA) -> dict[str, Any]:
    """The SDK settings document for our configuration (network features off unless enabled)."""
    verify = {
        "verify_trust": cfg.verify_trust,
        "remote_manifest_fetch": cfg.remote_manifest_fetch,
        "ocsp_fetch": cfg.ocsp_fetch,
    }
    folder = _resolve(cfg.trust_dir)
    anchors = "\n".join(
        t
        for t in (
            _trust_file(folder, "C2PA-TRUST-LIST.pem"),
            _trust_file(folder, "cai-temporary-anchors.pem"),
        )
        if t
    )
    trust: dict[str, str] = {}
    if anchors:
        trust["trust_anchors"] = anchors
    for key, name in (
        ("allowed_list", "cai-temporary-allowed.pem"),
        ("trust_config", "cai-temporary-store.cfg"),
    ):
        text = _trust_file(folder, name)
        if text:
            trust[key] = text
    if cfg.extra_trust_anchors:
        trust["user_anchors"] = _resolve(cfg.extra_trust_anchors).read_text("utf-8")
    return {"verify": verify, "trust": trust} if trust else {"verify": verify}


@lru_cache(maxsize=4)
def _context_for(pid: int, cfg_json: str) -> c2pa.Context:
    # Keyed by pid too: a Context built before a fork must not be reused in the child.
    cfg = C2PA.model_validate_json(cfg_json)
    return c2pa.Context(c2pa.Settings.from_dict(sdk_settings(cfg)))


def context(cfg: C2PA) -> c2pa.Context:
    """The SDK context for this configuration, built once per process."""
    return _context_for(os.getpid(), cfg.model_dump_json())


def read_store(data: bytes, mime: str, cfg: C2PA) -> dict[str, Any] | None:
    """The manifest store as JSON, or None if the file has none."""
    reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, context(cfg))
    if reader is None:
        return None
    with reader:
        store: dict[str, Any] = json.loads(reader.json())
    return store


# ---------------------------------------------------------------- the check


def run(photo: Photo, ctx: CheckContext) -> list[Finding]:
    mime = _MIME.get(photo.format)
    if mime is None:
        return []
    try:
        context(ctx.settings.c2pa)
    except (c2pa.C2paError, OSError) as exc:  # an operator's trust file is missing or broken
        log.warning("c2pa trust settings could not be loaded: %r", exc)
        raise CheckSkipped(messages.text("checks.skipped.c2pa_trust_settings")) from exc
    try:
        store = read_store(photo.data, mime, ctx.settings.c2pa)
    except c2pa.C2paError.NotSupported:
        return []
    except (c2pa.C2paError, ValueError, OSError) as exc:
        if _is_remote(exc):
            return [_remote_finding(str(exc))]
        raise CheckSkipped(_unreadable_reason(photo)) from exc
    if not store or not store.get("manifests"):
        return []
    return findings_from_store(store, trust_checked=ctx.settings.c2pa.verify_trust)


def _is_remote(exc: Exception) -> bool:
    # The SDK reports "Remote: must fetch remote manifests from url …" as a plain C2paError.
    return isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith("Remote")


def _unreadable_reason(photo: Photo) -> str:
    if carries_c2pa(photo.data):
        return messages.text("checks.skipped.c2pa_damaged")
    return messages.text("checks.skipped.c2pa_unsupported")


def _remote_finding(message: str) -> Finding:
    text = _vocab()["text"]
    url = message.split(" from url ", 1)[1] if " from url " in message else ""
    evidence = (Evidence("Stored at", excerpt(url)),) if url else ()
    return Finding(
        check=NAME,
        signal=Signal.INFO,
        strength=Strength.WEAK,
        title=text["remote"],
        evidence=evidence,
        detail=text["remote_detail"],
        data={"status": "remote", "remote_url": excerpt(url)},
    )


# ---------------------------------------------------------------- interpretation


def status_from_codes(state: str | None, failures: list[str], successes: list[str]) -> Status:
    """Turn validation codes into one status (worst problem wins)."""
    if any(c.endswith(".mismatch") or c == "claimSignature.missing" for c in failures):
        return Status("tampered", Strength.WEAK)
    for code, problem in _CERT_PROBLEMS.items():
        if code in failures:
            weak = code == "signingCredential.revoked"
            return Status("cert_problem", Strength.WEAK if weak else Strength.MODERATE, problem)
    other = [c for c in failures if c != _UNTRUSTED]
    if other or state == "Invalid":
        return Status("invalid", Strength.WEAK)
    if state == "Trusted" or (state is None and _TRUSTED in successes and not failures):
        return Status("trusted", Strength.CONCLUSIVE)
    return Status("valid", Strength.STRONG)


def _codes(
    results: dict[str, Any] | None, legacy: list[dict[str, Any]] | None
) -> tuple[list[str], list[str]]:
    """Failure and success codes of one manifest's validation results."""
    active = (results or {}).get("activeManifest") or {}
    failures = [str(s.get("code", "")) for s in active.get("failure", []) or []]
    successes = [str(s.get("code", "")) for s in active.get("success", []) or []]
    if not active and legacy:  # older readers: one flat list of problems
        failures = [str(s.get("code", "")) for s in legacy]
    return failures, successes


def _delta_failures(results: dict[str, Any] | None) -> list[str]:
    out = []
    for delta in (results or {}).get("ingredientDeltas", []) or []:
        for s in (delta.get("validationDeltas") or {}).get("failure", []) or []:
            out.append(str(s.get("code", "")))
    return out


def _weaker(a: Strength, b: Strength) -> Strength:
    return a if a.rank <= b.rank else b


def _short_type(uri: Any) -> str:
    return str(uri or "").rstrip("/").rsplit("/", 1)[-1]


def _agent(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(str(value[k]) for k in ("name", "version") if value.get(k))
    return str(value or "")


def _claim_generator(manifest: dict[str, Any]) -> str:
    info = manifest.get("claim_generator_info") or []
    if info and isinstance(info[0], dict):
        return _agent(info[0])
    return str(manifest.get("claim_generator") or "")


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for assertion in manifest.get("assertions", []) or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            acts = (assertion.get("data") or {}).get("actions") or []
            out.extend(a for a in acts if isinstance(a, dict))
    return out


def _classify(action: dict[str, Any]) -> tuple[str, str]:
    vocab = _vocab()
    types, name = vocab["source_types"], str(action.get("action", ""))
    dst = _short_type(action.get("digitalSourceType"))
    if dst in types["ai_created"]:
        return ("ai_created" if name == "c2pa.created" else "generative_edit"), dst
    if dst in types["ai_composite"]:
        return "ai_composite", dst
    if dst in types["camera"] and name == "c2pa.created":
        return "camera", dst
    if name in vocab["actions"]["edits"]:
        return "edit", dst
    return "other", dst


def walk(store: dict[str, Any], label: str, role: str, strength: Strength) -> list[Claim]:
    """Claims of a manifest and, recursively, of its ingredients' manifests."""
    manifests = store.get("manifests") or {}
    parents = set(_vocab()["actions"]["parent_relationships"])
    claims: list[Claim] = []
    seen: set[str] = set()
    delta_failures = _delta_failures(store.get("validation_results"))

    def visit(label: str, role: str, strength: Strength, depth: int) -> None:
        manifest = manifests.get(label)
        if not isinstance(manifest, dict) or label in seen or depth > _MAX_DEPTH:
            return
        seen.add(label)
        generator, signer = _claim_generator(manifest), _signer(manifest)
        for action in _actions(manifest):
            kind, dst = _classify(action)
            agent = _agent(action.get("softwareAgent")) or generator
            name, dst = excerpt(action.get("action", ""), 80), excerpt(dst, 80)
            claims.append(Claim(kind, role, name, dst, agent, strength, signer))
        for ing in manifest.get("ingredients", []) or []:
            child = ing.get("active_manifest")
            if not child:
                continue
            is_base = ing.get("relationship") in parents and role != "component"
            failures, successes = _codes(
                ing.get("validation_results"), ing.get("validation_status")
            )
            own = status_from_codes(None, failures + delta_failures, successes).strength
            visit(child, "base" if is_base else "component", _weaker(strength, own), depth + 1)

    visit(label, role, strength, 0)
    return claims


def _signer(manifest: dict[str, Any]) -> str:
    info = manifest.get("signature_info") or {}
    return str(info.get("issuer") or info.get("common_name") or "an unknown signer")


def findings_from_store(store: dict[str, Any], trust_checked: bool = True) -> list[Finding]:
    """All findings for one manifest store (the Reader's JSON)."""
    manifests = store.get("manifests") or {}
    label = store.get("active_manifest") or next(iter(manifests), "")
    active = manifests.get(label) or {}
    failures, successes = _codes(store.get("validation_results"), store.get("validation_status"))
    status = status_from_codes(store.get("validation_state"), failures, successes)
    if status.kind == "valid" and not trust_checked:
        status = Status("unchecked", status.strength)
    claims = walk(store, label, "self", status.strength)
    signer = excerpt(_signer(active), 80)
    found = _claim_findings(claims, status, signer)
    named = _named_ai_tool(active, claims, found)
    if named:
        found.insert(0, _named_finding(named, active, status, signer))
    summary = _summary(store, active, status, signer, claims, named)
    return [summary, *found]


# ---------------------------------------------------------------- an AI tool named, no source type


def _named_ai_tool(active: dict[str, Any], claims: list[Claim], found: list[Finding]) -> str:
    """The AI generator that the active manifest names (claim generator, software agent, title
    or a vendor assertion) when nothing in it says how the picture was made: early Adobe
    Firefly and Microsoft Designer / Bing Image Creator files state no digitalSourceType."""
    if any(f.signal in (Signal.AI_GENERATED, Signal.AI_EDITED) for f in found):
        return ""
    if any(c.source_type for c in claims if c.role in ("self", "base")):
        return ""
    texts = [
        _claim_generator(active),
        str(active.get("claim_generator") or ""),
        str(active.get("title") or ""),
        *(_agent(a.get("softwareAgent")) for a in _actions(active)),
        *_vendor_texts(active),
    ]
    pattern = _ai_tool_pattern()
    return next((excerpt(t, 80) for t in texts if t and pattern.search(t[:2000])), "")


@lru_cache(maxsize=1)
def _ai_tool_pattern() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in _vocab()["ai_tools"]["patterns"]), re.I)


def _vendor_texts(manifest: dict[str, Any], limit: int = 50) -> list[str]:
    """Labels and text values of assertions that are not C2PA's or a standard's own."""
    out: list[str] = []

    def strings(node: Any, depth: int) -> None:
        if len(out) >= limit or depth > 4:
            return
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for value in list(node.values())[:limit]:
                strings(value, depth + 1)
        elif isinstance(node, list):
            for value in node[:limit]:
                strings(value, depth + 1)

    for assertion in manifest.get("assertions", []) or []:
        label = str(assertion.get("label", ""))
        if not label.startswith(("c2pa.", "stds.")):
            out.append(label)
            strings(assertion.get("data"), 0)
    return out[:limit]


def _named_finding(tool: str, active: dict[str, Any], status: Status, signer: str) -> Finding:
    """A named AI tool is one step weaker than the same record's explicit claim would be."""
    text = _vocab()["text"]
    parents = set(_vocab()["actions"]["parent_relationships"])
    edited = any(i.get("relationship") in parents for i in active.get("ingredients", []) or [])
    signal = Signal.AI_EDITED if edited else Signal.AI_GENERATED
    strength = status.strength.weaker
    title = text["ai_named_edited" if edited else "ai_named"].format(tool=tool)
    if strength == Strength.WEAK:
        title += text["unverified"]
    return Finding(
        check=NAME,
        signal=signal,
        strength=strength,
        title=title,
        evidence=(Evidence("Named in the record", tool), Evidence("Source type", "not stated")),
        detail=f"{_detail(status, signer)} {text['ai_named_detail']}",
        data={"generator": tool, "source_type": "", "role": "self", "named": True},
    )


def _status_line(status: Status, signer: str) -> str:
    text = _vocab()["text"]
    if status.kind in ("trusted", "valid", "unchecked"):
        return str(text[status.kind]).format(signer=signer)
    return str(text["invalid"])


def _summary(
    store: dict[str, Any],
    active: dict[str, Any],
    status: Status,
    signer: str,
    claims: list[Claim],
    named: str,
) -> Finding:
    text = _vocab()["text"]
    detail = ""
    if status.kind == "tampered":
        title, detail = text["tampered"], text["tampered_detail"]
    elif status.kind == "cert_problem":
        title = text["cert_problem"].format(problem=status.problem)
        detail = text["cert_problem_detail"].format(problem=status.problem)
    else:
        title = text["found"].format(status=_status_line(status, signer))
    # The signature in words that say which counts: never a bare "Valid" next to "not on the
    # trust list".
    evidence = [
        Evidence("Signature", _plain()["signature"][status.kind].format(problem=status.problem)),
        Evidence("Signed by", signer),
        Evidence("Made with", excerpt(_claim_generator(active) or "not stated", 80)),
    ]
    for c in claims[: _MAX_EVIDENCE - len(evidence)]:
        where = {"self": "Action", "base": "Original's action", "component": "Ingredient's action"}
        value = c.action + (f" ({c.source_type})" if c.source_type else "")
        value += f" by {c.generator}" if c.generator else ""
        evidence.append(Evidence(where[c.role], excerpt(value)))
    signed_at = excerpt((active.get("signature_info") or {}).get("time") or "", 40)
    return Finding(
        check=NAME,
        signal=Signal.INFO,
        strength=status.strength,
        title=title,
        evidence=tuple(evidence),
        detail=detail,
        data={
            "status": status.kind,
            "validation_state": store.get("validation_state"),
            "signer": signer,
            "signed_at": signed_at or None,
            "trusted": status.kind == "trusted",
            "claim_generator": excerpt(_claim_generator(active), 80),
            "ingredients": _ingredients(active),
            "plain": _plain_lines(status, signer, signed_at, claims, named, active),
        },
    )


@lru_cache(maxsize=1)
def _plain() -> dict[str, Any]:
    return dict(_vocab()["plain"])


def _plain_lines(
    status: Status,
    signer: str,
    signed_at: str,
    claims: list[Claim],
    named: str,
    active: dict[str, Any],
) -> list[str]:
    """The credentials as Content Credentials Verify tells them: who signed and when, whether
    that signer is trusted, what was done, what it was made from, and where to check."""
    words = _plain()
    when = words["signed_at"].format(time=_readable_time(signed_at)) if signed_at else ""
    when = when or words["no_time"]
    lines = [words["signed"].format(signer=signer, when=when)]
    lines.append(words["trust"][status.kind].format(problem=status.problem))
    lines += _done_lines(claims, named)
    ingredients = _ingredients(active)
    if ingredients:
        lines.append(words["ingredients"].format(items="; ".join(ingredients)))
    lines.append(words["verify"])
    return lines


def _readable_time(stamp: str) -> str:
    """ "1 May 2024, 10:00 UTC" from the record's ISO 8601 time; as written if it is not one."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment.day} {moment:%B %Y, %H:%M}" + (" UTC" if moment.tzinfo else "")


def _done_lines(claims: list[Claim], named: str) -> list[str]:
    """What was done, in words, one line per version of the picture (itself, its original,
    a part placed into it)."""
    words = _plain()
    kinds = {
        "ai_created": "ai_created",
        "generative_edit": "ai_edited",
        "ai_composite": "ai_edited",
        "camera": "camera",
        "edit": "edited",
    }
    done: dict[str, list[str]] = {}
    edits: dict[str, list[str]] = {}
    for c in claims:
        kind = kinds.get(c.kind)
        if kind is None or (c.role == "component" and kind != "ai_created"):
            continue
        by = f" ({excerpt(c.generator, 60)})" if c.generator else ""
        if kind == "edited":
            edits.setdefault(c.role, []).append(c.action.removeprefix("c2pa.").replace("_", " "))
            phrase = words["done"]["edited"].format(by=by, actions="{actions}")
        else:
            phrase = words["done"][kind].format(by=by)
        if phrase not in done.setdefault(c.role, []):
            done[c.role].append(phrase)
    if named:
        done.setdefault("self", []).insert(0, words["done"]["ai_named"].format(tool=named))
    lines = []
    for role, phrases in done.items():
        actions = ", ".join(dict.fromkeys(edits.get(role, [])))
        what = "; ".join(p.replace("{actions}", actions) for p in phrases)
        lines.append(words["roles"][role].format(what=what))
    return lines


def _ingredients(active: dict[str, Any]) -> list[str]:
    """The files the active manifest says it was made from, with how each was used."""
    relation = _plain()["relationships"]
    out = []
    for ing in (active.get("ingredients") or [])[:_MAX_EVIDENCE]:
        title = excerpt(ing.get("title") or "untitled", 80)
        how = relation.get(str(ing.get("relationship", "")), "")
        out.append(f"{title} ({how})" if how else title)
    return out


def _claim_findings(claims: list[Claim], status: Status, signer: str) -> list[Finding]:
    lineage = [c for c in claims if c.role in ("self", "base")]
    gen = next((c for c in lineage if c.kind == "ai_created"), None)
    ai_edit = next(
        (c for c in lineage if c.kind in ("ai_composite", "generative_edit")), None
    ) or next((c for c in claims if c.role == "component" and c.kind == "ai_created"), None)
    camera = next((c for c in lineage if c.kind == "camera"), None)
    edits = [c for c in lineage if c.kind == "edit"]
    out: list[Finding] = []
    if gen:
        key = "ai_generated" if gen.role == "self" else "ai_generated_base"
        out.append(_claim_finding(gen, Signal.AI_GENERATED, key, status, signer))
    elif ai_edit:
        out.append(_claim_finding(ai_edit, Signal.AI_EDITED, "ai_edited", status, signer))
    if camera and not gen:
        key = "camera" if camera.role == "self" else "camera_base"
        out.append(_claim_finding(camera, Signal.CAMERA_CAPTURE, key, status, signer))
    if edits:
        out.append(_edits_finding(edits, status, signer))
    return out


def _detail(status: Status, signer: str, claim: Claim | None = None) -> str:
    line = _status_line(status, signer)
    if status.kind == "tampered":
        line = "the picture changed after it was signed, so this is unverified"
    elif status.kind == "cert_problem":
        line = f"the signing certificate {status.problem}"
    out = f"From the file's Content Credentials: {line}."
    if claim and claim.role != "self":
        earlier = excerpt(claim.signer, 80)
        out += f" This part comes from the record of an earlier version, signed by {earlier}."
    return out


def _claim_finding(claim: Claim, signal: Signal, key: str, status: Status, signer: str) -> Finding:
    text = _vocab()["text"]
    generator = excerpt(claim.generator, 80)
    title = text[key].format(by=f" ({generator})" if generator else "")
    if claim.strength == Strength.WEAK:
        title += text["unverified"]
    evidence = (
        Evidence("Action", excerpt(claim.action)),
        Evidence("Source type", excerpt(claim.source_type or "not stated")),
    )
    return Finding(
        check=NAME,
        signal=signal,
        strength=claim.strength,
        title=title,
        evidence=evidence,
        detail=_detail(status, signer, claim),
        data={"generator": generator, "source_type": claim.source_type, "role": claim.role},
    )


def _edits_finding(edits: list[Claim], status: Status, signer: str) -> Finding:
    text = _vocab()["text"]
    names = list(dict.fromkeys(c.action.removeprefix("c2pa.") for c in edits))
    title = text["edited"].format(actions=excerpt(", ".join(names).replace("_", " "), 100))
    strength = min((c.strength for c in edits), key=lambda s: s.rank)
    if strength == Strength.WEAK:
        title += text["unverified"]
    tool = excerpt(edits[0].generator, 80)
    return Finding(
        check=NAME,
        signal=Signal.EDITED,
        strength=strength,
        title=title,
        evidence=tuple(Evidence("Action", excerpt(c.action)) for c in edits[:_MAX_EVIDENCE]),
        detail=_detail(status, signer),
        data={"generator": tool, "actions": names},
    )
