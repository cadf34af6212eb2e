"""What the core hands adapters: a platform-neutral reply that renderers turn into an
embed (Discord), Block Kit (Slack) or plain text (console/CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import messages


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    filename: str
    data: bytes
    description: str = ""
    note: str = ""  # what to say when it is sent (a stripped copy: what was done to it)


@dataclass(frozen=True)
class Action:
    """A button. `id` names a page or attachment of the reply (details, disclosure, strip)."""

    id: str
    label: str


@dataclass
class Reply:
    title: str
    summary: str = ""
    tone: str = "info"  # a verdict label, or info | error | warning
    sections: list[Section] = field(default_factory=list)
    # Shown on demand (buttons / "more"): name -> sections; and files offered on demand.
    pages: dict[str, list[Section]] = field(default_factory=dict)
    offers: dict[str, Attachment] = field(default_factory=dict)
    # Files that come with a page (parameters too long to read in a chat, as a text file).
    page_files: dict[str, list[Attachment]] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)  # sent with the reply
    actions: list[Action] = field(default_factory=list)
    footer: str = ""
    ephemeral: bool = True
    # Only for the person who asked, even where the rest of the answer is public (privacy
    # findings of a photo shown to a channel): adapters send it ephemerally or by DM.
    private: bool = False

    def page_reply(self, name: str) -> Reply | None:
        """The reply a button for page/offer `name` produces, or None if there is none."""
        if name in self.pages:
            label = next((a.label for a in self.actions if a.id == name), name.title())
            return Reply(
                title=messages.text("replies.page.title", label=label, title=self.title),
                tone=self.tone,
                sections=self.pages[name],
                attachments=list(self.page_files.get(name, [])),
            )
        if name in self.offers:
            offer = self.offers[name]
            return Reply(
                title=offer.description or offer.filename,
                summary=offer.note,
                tone="info",
                attachments=[offer],
            )
        return None


def message_reply(key: str, tone: str = "info", **fmt: object) -> Reply:
    """A fixed reply from the catalogue's table `key` (its title and summary)."""
    return Reply(
        title=messages.text(f"{key}.title", **fmt),
        summary=messages.text(f"{key}.summary", **fmt),
        tone=tone,
    )
