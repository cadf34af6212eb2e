"""Answer free-text questions: route greetings and off-topic questions, retrieve passages,
and compose a chat-sized answer that leads with the direct answer and cites its sources."""

from __future__ import annotations

import re
from typing import Any

from bot import messages
from bot.guidance.contexts import context_name
from bot.guidance.intents import IntentReader, Reading
from bot.guidance.knowledge import Knowledge
from bot.guidance.models import OWN_SOURCE, Answer, Passage
from bot.guidance.normalise import plain, sentences
from bot.guidance.retrieval import Retriever, Search

_WORDY = re.compile(r"[A-Za-z0-9]")


class Answerer:
    def __init__(
        self,
        knowledge: Knowledge,
        retriever: Retriever | None = None,
        reader: IntentReader | None = None,
    ) -> None:
        self.kb = knowledge
        self.retriever = retriever or Retriever(
            knowledge.passages, knowledge.synonyms, knowledge.settings
        )
        self.reader = reader or IntentReader(knowledge.intents)
        self.cfg: dict[str, Any] = knowledge.settings
        self.help = knowledge.of_kind("help")[0]
        self.scope = knowledge.of_kind("scope")[0]
        self.help_phrases = {plain(s) for s in self.cfg["help"]["phrases"]}

    def _clip(self, question: str) -> str:
        """Chat messages can be huge; the first few hundred characters carry the question."""
        return question[: int(self.cfg["answer"]["max_question_chars"])]

    def wants_help(self, question: str) -> bool:
        return not _WORDY.search(question) or plain(question) in self.help_phrases

    def is_off_topic(self, found: Search) -> bool:
        min_score = float(self.cfg["off_topic"]["min_score"])
        return not found.hits or found.domain_words == 0 or found.lexical < min_score

    def _search(self, reading: Reading, k: int, method: str | None = None) -> Search:
        return self.retriever.search(
            self.reader.expanded(reading),
            k=k,
            method=method,
            weigh=lambda p: self.reader.weight(reading, p.id),
        )

    def rank(self, question: str, k: int = 3, method: str | None = None) -> list[Passage]:
        """Passages in answer order; [help] for empty input and small talk, [scope note]
        when off topic."""
        question = self._clip(question)
        if self.wants_help(question):
            return [self.help]
        reading = self.reader.read(question)
        if reading.smalltalk:
            return [self.help]
        found = self._search(reading, k, method)
        if self.is_off_topic(found):
            return [self.scope]
        return [h.passage for h in found.hits]

    def answer(self, question: str) -> Answer:
        question = self._clip(question)
        if self.wants_help(question):
            return self._help()
        reading = self.reader.read(question)
        if reading.smalltalk:
            text = self.reader.smalltalk_reply(reading.smalltalk)
            return Answer(text=text, kind="smalltalk", intent="smalltalk")
        found = self._search(reading, k=4)
        note = self.reader.note(reading.language)
        if self.is_off_topic(found):
            return Answer(
                text=_joined(note, self.scope.text),
                passages=[self.scope],
                follow_ups=[self.help.ask],
                kind="off_topic",
                sources=list(self.scope.sources),
                intent="off_topic",
            )
        top = found.hits[0]
        if top.passage.kind == "help":
            return self._help()
        intent = reading.intent or self.reader.intent_of_passage(top.passage.id)
        used = [top.passage]
        ratio = float(self.cfg["answer"]["second_ratio"])
        second = found.hits[1] if len(found.hits) > 1 else None
        close = second is not None and second.score >= ratio * top.score
        if close and second and second.passage.kind == "info" and len(_lead(second.passage)) >= 40:
            used.append(second.passage)
        context = self._asked_context(top.passage, found, intent)
        notes = self._context_notes(used, found.contexts if context else ())
        used += notes
        return Answer(
            text=_joined(note, self._compose(used, notes, intent)),
            sources=_titles(used),
            passages=used,
            follow_ups=self._follow_ups(used, found, context),
            kind="answer",
            context=context,
            intent=intent,
        )

    @staticmethod
    def _asked_context(top: Passage, found: Search, intent: str) -> str | None:
        """The context the answer is about: the lead passage's, else the first one named,
        unless the question is about someone else's photo or the bot itself ("my coworker's
        LinkedIn photo looks fake": no LinkedIn advice or disclosure text for the asker)."""
        if intent == "spot":
            return None
        if top.context:
            return top.context
        if top.sources == (OWN_SOURCE,) or not found.contexts:
            return None
        return found.contexts[0]

    def _context_notes(self, used: list[Passage], named: tuple[str, ...]) -> list[Passage]:
        """Advice for each named context the answer's passages do not speak to: "will an AI
        photo on LinkedIn hurt my chances" or "LinkedIn + dating app, same photo?" should
        mention every context asked about."""
        notes: list[Passage] = []
        for context in named:
            if any(p.context == context or context in p.contexts for p in used + notes):
                continue
            if (passage := self.kb.context_passage(context)) is not None:
                notes.append(passage)
        return notes

    def _help(self) -> Answer:
        asks = [p.ask for p in self.kb.passages if p.id in self.cfg["answer"].get("help_asks", [])]
        return Answer(
            text=self.help.text,
            passages=[self.help],
            follow_ups=asks,
            kind="help",
            sources=list(self.help.sources),
            intent="bot",
        )

    def _compose(self, used: list[Passage], notes: list[Passage], intent: str) -> str:
        """One paragraph, then at most `max_bullets` bullets: the lead passage gives the direct
        answer and its reason; the bullets add each named context's advice, what to do (when
        the paragraph does not say it) and the first sentence of a close second, as far as
        the chat-sized limit allows.

        Citations travel in Answer.sources (the core renders them), so the text does not
        repeat them."""
        cfg = self.cfg["answer"]
        limit, most = int(cfg["max_chars"]), int(cfg["max_bullets"])
        text = used[0].text
        bullets = [f"{p.title}: {p.brief or _lead(p)}" for p in notes]
        todo = self.reader.todo(intent, " ".join([text, *bullets]))
        bullets += [todo] if todo else []
        see_also = [p for p in used[1:] if p not in notes]
        bullets += [
            messages.text("replies.answer.see_also", title=p.title, lead=_lead(p)) for p in see_also
        ]
        shown = 0
        for bullet in bullets:
            if shown < most and len(text) + 3 + len(bullet) <= limit:
                text = f"{text}\n• {bullet}"
                shown += 1
        return text

    def _follow_ups(self, used: list[Passage], found: Search, context: str | None) -> list[str]:
        """Questions the next-best passages answer, if they are reasonably close matches."""
        cfg = self.cfg["answer"]
        floor = float(cfg["follow_up_min_ratio"]) * found.hits[0].score
        asks = [
            h.passage.ask
            for h in found.hits
            if h.passage not in used and h.passage.ask and h.passage.kind != "help"
            if h.score >= floor
        ]
        if context and context not in cfg["no_disclosure_contexts"]:
            asks.insert(0, cfg["disclose_follow_up"].format(context=context_name(context)))
        if not asks:  # nothing close: offer the general questions most people go on to ask
            asks = [
                p.ask
                for p in self.kb.passages
                if p.id in cfg["default_follow_ups"] and p not in used
            ]
        return asks[: int(cfg["follow_ups"])]


def _joined(note: str, text: str) -> str:
    """The language note, when there is one, on its own line above the answer."""
    return f"{note}\n{text}" if note else text


def _titles(used: list[Passage]) -> list[str]:
    titles: list[str] = []
    for p in used:
        titles += [t for t in p.sources if t not in titles]
    return titles


def _lead(p: Passage) -> str:
    """A passage's first sentence: its direct answer."""
    return sentences(p.text)[0]
