"""What metadata values mean, read from config: software names (config/software.toml), IPTC
Digital Source Type terms and credit lines (config/xmp.toml). Shared by the EXIF and XMP checks
so that a tool name means the same thing wherever it is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.analysis.formats.xmp_parser import XmpData
from bot.analysis.pipeline.findings import Evidence, Finding, Signal, Strength, excerpt
from bot.settings import load_toml


@dataclass(frozen=True)
class Rule:
    """What one recognised value means: the finding it becomes."""

    signal: Signal
    strength: Strength
    title: str
    detail: str
    generator: str | None = None
    edit_detail: str = ""  # the detail when a generator's name is read as AI editing

    def finding(
        self,
        check: str,
        evidence: tuple[Evidence, ...],
        data: dict[str, Any] | None = None,
        **fmt: str,
    ) -> Finding:
        data = dict(data or {})
        if self.generator and self.signal in (Signal.AI_GENERATED, Signal.AI_EDITED):
            data["generator"] = self.generator
        return Finding(
            check=check,
            signal=self.signal,
            strength=self.strength,
            title=self.title.format(**fmt),
            evidence=evidence,
            detail=self.detail.format(**fmt),
            data=data,
        )

    @classmethod
    def from_table(cls, table: dict[str, Any], generator: str | None = None) -> Rule:
        return cls(
            signal=Signal(table["signal"]),
            strength=Strength(table["strength"]),
            title=str(table["title"]),
            detail=str(table.get("detail", "")),
            generator=table.get("generator", generator),
            edit_detail=str(table.get("edit_detail", "")),
        )

    def as_ai_edit(self) -> Rule:
        """The same rule, read as AI editing (the file also declares an AI composite)."""
        if self.signal != Signal.AI_GENERATED:
            return self
        detail = self.edit_detail or self.detail
        return Rule(Signal.AI_EDITED, self.strength, self.title, detail, self.generator)


def _rule(table: dict[str, Any], generator: str | None = None) -> Rule:
    return Rule.from_table(table, generator)


# ---- software names ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    kind: str
    priority: int
    patterns: tuple[re.Pattern[str], ...]
    rule: Rule


@lru_cache(maxsize=1)
def _tools() -> tuple[Tool, ...]:
    table = load_toml("software.toml")
    kinds = table["kinds"]
    tools = []
    for entry in table["tools"]:
        kind = kinds[entry["kind"]]
        name = str(entry["name"])
        generator = str(entry.get("generator", name))
        tools.append(
            Tool(
                name=name,
                kind=entry["kind"],
                priority=int(kind["priority"]),
                patterns=tuple(re.compile(p, re.IGNORECASE) for p in entry["match"]),
                rule=_rule(kind, generator),
            )
        )
    return tuple(sorted(tools, key=lambda t: t.priority))  # stable: config order within a kind


def match_software(value: str) -> Tool | None:
    """The tool a software string names, most telling kind first; None if unknown."""
    text = excerpt(value, 300)
    for tool in _tools():
        if any(p.search(text) for p in tool.patterns):
            return tool
    return None


def software_finding(
    check: str, field: str, value: str, *, ai_composite: bool = False
) -> Finding | None:
    """A finding for a software name in `field`, or None when the name is not one we know."""
    tool = match_software(value)
    if tool is None:
        return None
    rule = tool.rule.as_ai_edit() if ai_composite else tool.rule
    return rule.finding(check, (Evidence(field, excerpt(value)),), name=tool.name, field=field)


# ---- IPTC Digital Source Type --------------------------------------------------------------


@lru_cache(maxsize=1)
def _source_types() -> tuple[dict[str, Rule], Rule]:
    table = load_toml("xmp.toml")
    known = {term.lower(): _rule(rule) for term, rule in table["digital_source_type"].items()}
    return known, _rule(table["unknown_digital_source_type"])


def source_type_term(value: str) -> str:
    """The term of a full URI (http://cv.iptc.org/.../trainedAlgorithmicMedia) or a bare term."""
    return value.strip().rstrip("/").rpartition("/")[2].rpartition("#")[2].strip()


def source_type_rule(value: str) -> tuple[str, Rule]:
    term = source_type_term(value)
    known, unknown = _source_types()
    return term, known.get(term.lower(), unknown)


def source_type_values(xmp: XmpData) -> list[tuple[str, str]]:
    """(field, value) for DigitalSourceType in any namespace (Iptc4xmpExt, plus, photoshop...)."""
    return xmp.by_local_name("DigitalSourceType") + xmp.by_local_name("DigitalSourceFileType")


# ---- credit and description lines -----------------------------------------------------------

_NEGATIONS = ("not ", "never ", "no ", "non-", "non ", "without ")


@lru_cache(maxsize=1)
def _credits() -> tuple[tuple[str, ...], tuple[tuple[re.Pattern[str], Rule], ...]]:
    table = load_toml("xmp.toml")["credits"]
    patterns = tuple((re.compile(p["regex"], re.IGNORECASE), _rule(p)) for p in table["pattern"])
    return tuple(table["fields"]), patterns


def credit_fields() -> tuple[str, ...]:
    return _credits()[0]


def match_credit(text: str) -> Rule | None:
    """The rule for an AI credit line in `text` ("Made with Google AI"), ignoring negated ones."""
    line = excerpt(text, 2000).lower()
    for pattern, rule in _credits()[1]:
        for match in pattern.finditer(line):
            before = line[max(0, match.start() - 12) : match.start()]
            if not before.endswith(_NEGATIONS):
                return rule
    return None


def declares_ai_edit(xmp: XmpData) -> bool:
    """Whether the file says it is a composite with AI parts: tool names then mean AI editing."""
    for _field, value in source_type_values(xmp):
        if source_type_rule(value)[1].signal == Signal.AI_EDITED:
            return True
    for name in credit_fields():
        for value in xmp.get(name):
            rule = match_credit(value)
            if rule and rule.signal == Signal.AI_EDITED:
                return True
    return False


# ---- camera names ------------------------------------------------------------------------

# Generators that hide a workflow or prompt in EXIF (ComfyUI in WebP Make/Model: "workflow:{...}")
_NOT_A_CAMERA = re.compile(r"[{}\[\]]|^\s*(workflow|prompt|parameters|negative prompt)\s*:", re.I)


def plausible_camera_name(value: object) -> bool:
    """True for a short, printable Make/Model; False for JSON blobs, prompts and binary junk."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return False
    text = value.strip("\x00 \t\r\n")
    if not 1 <= len(text) <= 64 or not text.isprintable() or "\ufffd" in text:
        return False
    return bool(re.search(r"[A-Za-z]", text)) and not _NOT_A_CAMERA.search(text)


def exif_text(value: object) -> str | None:
    """A text value from EXIF: plain strings, UserComment (8-byte charset header) and the
    UTF-16 XP* tags. None for anything that is not text."""
    if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
        value = bytes(v & 0xFF for v in value)
    if isinstance(value, bytes):
        head, body = value[:8], value[8:]
        if head.startswith(b"UNICODE"):
            return _utf16(body)
        if head.startswith((b"ASCII", b"JIS", b"\x00" * 8)):
            return body.decode("utf-8", "replace").strip("\x00 ")
        if len(value) >= 2 and value[1:2] == b"\x00":  # XPComment and friends: UTF-16LE
            return _utf16(value, "utf-16-le")
        return value.decode("utf-8", "replace").strip("\x00 ")
    if isinstance(value, str):
        return value.strip("\x00 ")
    return None


def _utf16(data: bytes, codec: str = "utf-16") -> str:
    try:
        return data.decode(codec).strip("\x00 ")
    except UnicodeDecodeError:
        return data.decode("utf-16-le", "replace").strip("\x00 ")
