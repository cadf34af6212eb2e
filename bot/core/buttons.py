"""Button ids, for both platforms: `hc:<name>:<argument>`.

A reply's page buttons carry a reply-cache token as their argument (`hc:details:<token>`);
the moderator buttons carry what they act on (`hc:cancel:<run id>`, `hc:note:<member id>`).
The adapters only turn these into a Discord component or a Slack action id and back."""

from __future__ import annotations

PREFIX = "hc"
CANCEL = "cancel"  # an audit's Cancel button: hc:cancel:<run id>
NOTE = "note"  # a watch-mode note's Details button: hc:note:<member id>
# Names buttons already posted once had (Slack's notes said "auditnote"): still understood.
LEGACY_NAMES = {"auditnote": NOTE}
MODERATOR_NAMES = (CANCEL, NOTE, *LEGACY_NAMES)


def button_id(argument: str, name: str) -> str:
    return f"{PREFIX}:{name}:{argument}"


def parse_button_id(custom_id: str) -> tuple[str, str] | None:
    """(argument, name) from a button id made by button_id, or None."""
    parts = custom_id.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    return parts[2], LEGACY_NAMES.get(parts[1], parts[1])


def cancel_button(run_id: str) -> str:
    return button_id(run_id, CANCEL)


def note_button(member_id: str) -> str:
    return button_id(member_id, NOTE)


def moderator_pattern(name: str, argument: str = r"[\w-]+") -> str:
    """A regex for one moderator button (its legacy names too); the argument is group `arg`."""
    names = "|".join([name, *(old for old, new in LEGACY_NAMES.items() if new == name)])
    return rf"{PREFIX}:(?:{names}):(?P<arg>{argument})"


def page_pattern() -> str:
    """A regex for a reply's page buttons (not the moderator ones), groups `name` and `arg`."""
    skip = "|".join(MODERATOR_NAMES)
    return rf"{PREFIX}:(?!(?:{skip}):)(?P<name>[\w-]+):(?P<arg>[\w-]+)"
