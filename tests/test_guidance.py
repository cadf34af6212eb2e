"""Guidance: knowledge base, retrieval accuracy, answers, passages per verdict, disclosure."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from bot.guidance import CONTEXTS, LABELS, Guide, get_guide
from bot.guidance.answering import context_name
from bot.guidance.evaluate import evaluate, load_questions
from bot.guidance.knowledge import DOCUMENTS, KnowledgeError, get_knowledge, load_knowledge
from bot.guidance.normalise import fold

DATA = Path(__file__).parent / "data"
CAMERA = {"camera_capture", "camera_edited"}
DOC_A, DOC_B = DOCUMENTS  # 'Is it okay to use AI-generated headshots?', 'To AI or Not to AI?'
NGRAM = 6  # stricter than the 8 the issue suggests: no 6 consecutive words may match

# Every point of the two documents (and the bot's own limits) -> the passages that cover it,
# and which document the point comes from.
POINTS: dict[str, tuple[str, list[str]]] = {
    "what AI headshots are and where they're used": ("both", ["what-are-ai-headshots"]),
    "benefit: cost (photographer ~$300)": ("both", ["benefit-cost"]),
    "benefit: time (minutes, no scheduling)": ("both", ["benefit-time"]),
    "benefit: privacy (data breaches, identity theft)": (DOC_A, ["benefit-privacy"]),
    "benefit: levelling the field (access, appearance bias)": ("both", ["benefit-level-field"]),
    "concern: credibility (LinkedIn, About us pages)": (
        DOC_A,
        ["concern-credibility", "ctx-company-page"],
    ),
    "concern: transparency and disclosure": (DOC_A, ["disclose-when"]),
    "concern: equitable presentation vs deception": (DOC_A, ["concern-fair-vs-deceptive"]),
    "concern: 'better you', homogenised beauty ideal": (DOC_B, ["concern-beauty-ideal"]),
    "AI-altered versions of ourselves: edited vs generated": (
        DOC_B,
        ["bot-edited-vs-generated", "concern-beauty-ideal"],
    ),
    "concern: not matching your photo in person": (DOC_B, ["concern-in-person"]),
    "concern: slippery slope (dating, corporate bios, IDs)": (
        DOC_B,
        ["concern-slippery-slope", "ctx-dating", "ctx-government-id"],
    ),
    "concern: training data consent and copyright": (DOC_A, ["concern-training-data"]),
    "concern: resemblance to a real person": (DOC_A, ["concern-resemblance"]),
    "rule of thumb: purpose (illustrative vs the real you)": (
        DOC_A,
        ["rule-of-thumb-purpose", "ctx-newsletter"],
    ),
    "policy: LinkedIn expects the member's own photo": (DOC_A, ["policy-linkedin"]),
    "policy: misrepresentation, terms of service, suspension": (
        DOC_A,
        ["policy-linkedin", "policy-check-rules"],
    ),
    "best practice: disclose where authenticity is expected": (
        DOC_A,
        ["disclose-when", "best-practices"],
    ),
    "best practice: use for the right purpose": (DOC_A, ["rule-of-thumb-purpose"]),
    "best practice: stay updated on platform rules": (DOC_A, ["policy-check-rules"]),
    "best practice: ethically sourced tools": (DOC_A, ["concern-training-data"]),
    "artifacts: extra finger, nose pads as piercings": (DOC_B, ["artifacts-visible"]),
    "conclusion: how, where and why; authenticity when in doubt": (
        DOC_A,
        ["conclusion-it-depends"],
    ),
    "conclusion: intention and transparency; technology neutral": (
        DOC_B,
        ["conclusion-intention"],
    ),
    "bot: how the check works": ("Headshot Check", ["bot-how-it-works", "bot-labels"]),
    "bot: C2PA / content credentials": ("Headshot Check", ["bot-c2pa"]),
    "bot: IPTC DigitalSourceType": ("Headshot Check", ["bot-iptc"]),
    "bot: 'no evidence' is not proof": ("Headshot Check", ["bot-no-evidence"]),
    "bot: why platforms strip metadata": ("Headshot Check", ["bot-metadata-stripped"]),
}


@pytest.fixture(scope="module")
def guide() -> Guide:
    return get_guide()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def _grams(text: str, n: int = NGRAM) -> set[str]:
    w = _words(text)
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def _hash(gram: str) -> str:
    return hashlib.sha256(gram.encode()).hexdigest()[:16]


def _shown_text(p) -> str:
    return " ".join([p.title, p.text, p.ask, p.brief])


# --- knowledge base -------------------------------------------------------------------------


def test_knowledge_base_is_valid_and_complete(guide: Guide) -> None:
    kb = get_knowledge()
    assert len(kb.passages) >= 40
    assert all(len(p.brief) <= 280 for p in kb.passages)
    for context in CONTEXTS:  # the first passage under every verdict with a context
        assert kb.context_passage(context).brief, context
    assert len({p.id for p in kb.passages}) == len(kb.passages)
    for context in CONTEXTS:
        p = kb.context_passage(context)
        assert p is not None, f"no advice passage for {context}"
        # Context advice is about AI photos: none under a camera verdict, except the
        # government-ID advice (use a camera photo), which fits every verdict.
        expected = set(LABELS) if context == "government-id" else set(LABELS) - CAMERA
        assert set(p.labels) == expected, p.id
    cited = {s for p in kb.passages for s in p.sources}
    assert set(DOCUMENTS) <= cited


def test_every_document_point_has_a_passage() -> None:
    kb = get_knowledge()
    print("\npoint -> passage ids")
    for point, (source, ids) in POINTS.items():
        print(f"  {point}: {', '.join(ids)}")
        for pid in ids:
            passage = kb.by_id(pid)  # KeyError if missing
            wanted = DOCUMENTS if source == "both" else (source,)
            assert any(s in passage.sources for s in wanted), f"{pid} must cite {wanted}"
    covered = {pid for _, ids in POINTS.values() for pid in ids}
    doc_passages = {
        p.id for p in kb.passages if p.kind == "info" and set(p.sources) & set(DOCUMENTS)
    }
    assert doc_passages <= covered | {"best-practices"}, doc_passages - covered


def test_malformed_passage_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "passages").mkdir()
    (tmp_path / "synonyms.toml").write_text("[replace]\n")
    (tmp_path / "answering.toml").write_text("")
    (tmp_path / "passages" / "x.toml").write_text(
        '[[passage]]\nid = "x"\ntitle = "X"\ntext = "t"\nsources = ["Some blog"]\n'
    )
    with pytest.raises(KnowledgeError, match="unknown source"):
        load_knowledge(tmp_path)


# --- no copied sentences --------------------------------------------------------------------


def test_no_passage_copies_the_documents_fingerprint() -> None:
    """Runs without ../shared: compares against hashed 6-grams of the documents."""
    lines = (DATA / "seed_6gram_hashes.txt").read_text().splitlines()
    fingerprint = {line for line in lines if line and not line.startswith("#")}
    assert len(fingerprint) > 1000
    copied = [
        (p.id, g)
        for p in get_knowledge().passages
        for g in _grams(_shown_text(p))
        if _hash(g) in fingerprint
    ]
    assert not copied, copied


def _config_sentences() -> list[str]:
    """Everything else the bot says from config/guidance/: small talk, "what to do" lines,
    the language note, disclosure templates and optional lines."""
    from bot.settings import load_toml

    intents = load_toml("guidance", "intents.toml")
    said = [spec["reply"] for spec in intents["smalltalk"].values() if "reply" in spec]
    said += [spec["text"] for spec in intents["todo"].values()]
    said.append(intents["languages"]["note"])

    def strings(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [t for v in node.values() for t in strings(v)]
        if isinstance(node, list):
            return [t for v in node for t in strings(v)]
        return []

    return said + strings(load_toml("guidance", "disclosure.toml"))


def test_no_config_sentence_copies_the_documents_fingerprint() -> None:
    lines = (DATA / "seed_6gram_hashes.txt").read_text().splitlines()
    fingerprint = {line for line in lines if line and not line.startswith("#")}
    said = _config_sentences()
    assert len(said) > 50
    copied = [(t, g) for t in said for g in _grams(t) if _hash(g) in fingerprint]
    assert not copied, copied


def test_intent_config_names_real_passages() -> None:
    from bot.guidance.intents import INTENTS
    from bot.settings import load_toml

    intents = load_toml("guidance", "intents.toml")
    ids = {p.id for p in get_knowledge().passages}
    assert set(intents["intent"]) == set(INTENTS) == set(intents["detect"]["order"])
    for name, spec in intents["intent"].items():
        named = set(spec["passages"]) | set(spec.get("home", [])) | set(spec.get("demote", []))
        assert named <= ids, (name, named - ids)


def test_no_passage_copies_the_documents(shared_dir: Path) -> None:
    seeds = sorted((shared_dir / "seeds").glob("*.txt"))
    assert len(seeds) == 2
    seed_grams = set().union(*(_grams(s.read_text()) for s in seeds))
    copied = [
        (p.id, g) for p in get_knowledge().passages for g in _grams(_shown_text(p)) & seed_grams
    ]
    assert not copied, copied
    # The committed fingerprint must be the documents' current one, and must catch a copy.
    lines = (DATA / "seed_6gram_hashes.txt").read_text().splitlines()
    assert {x for x in lines if not x.startswith("#")} == {_hash(g) for g in seed_grams}
    sentence = seeds[0].read_text().splitlines()[1]
    assert _grams(sentence) & seed_grams


# --- retrieval accuracy ---------------------------------------------------------------------


def test_question_set_accuracy() -> None:
    questions = load_questions(DATA / "guidance_questions.toml")
    assert len(questions) >= 60
    ids = {p.id for p in get_knowledge().passages}
    assert all(set(q["expect"]) <= ids for q in questions)
    score = evaluate(questions, get_knowledge())
    print(
        f"\n{score.method}: top-1 {score.top1:.1%}, top-3 {score.top3:.1%}, "
        f"{score.ms:.2f} ms/query over {len(questions)} questions"
    )
    for text, expect, got in score.misses:
        print(f"  miss: {text!r} expected {expect} got {got}")
    assert score.top1 >= 0.90
    assert score.top3 >= 0.98
    assert score.ms < 20


@pytest.mark.parametrize(
    "name",
    [
        "guidance_heldout.toml",
        "guidance_heldout2.toml",
        "guidance_heldout3.toml",
        "guidance_holdout_blind.toml",
        "guidance_holdout_blind2.toml",
    ],
)
def test_heldout_questions_stay_reasonable(name: str) -> None:
    """Questions not used for tuning (see docs/guidance.md): reported, with a looser floor."""
    questions = load_questions(DATA / name)
    score = evaluate(questions, get_knowledge())
    print(f"\n{name}: top-1 {score.top1:.1%}, top-3 {score.top3:.1%} ({len(questions)} q)")
    assert score.top1 >= 0.6
    assert score.top3 >= 0.85


def test_synonym_and_spelling_layer_fixes_slang_and_typos(guide: Guide) -> None:
    r = guide.answerer.retriever
    assert "linkedin" in r.terms("ai pfp on linkdin")
    assert {"profil", "photo"} <= set(r.terms("pfp"))
    assert "resum" in r.terms("my cv") or "resume" in r.terms("my cv")
    assert "dat" in r.terms("tindr pics")  # typo -> tinder -> dating app
    assert "list" not in r.terms("last night")  # short words are not "corrected"
    assert "weather" in r.terms("weather")  # never "corrected" into a stop word ("whether")
    # Real English words missing from the knowledge base are not typos (pyspellchecker's list).
    assert r.terms("famous singer on the internet") == ["famous", "singer", "internet"]
    assert "passport" in r.terms("passprt renewal")  # ... while real typos are still fixed
    assert "noevidenc" in r.terms("why did you say no evidence")  # "no" alone is a stop word


def test_context_named_in_a_question_is_detected(guide: Guide) -> None:
    r = guide.answerer.retriever
    assert r.named_contexts(r.terms("ai pic for my cv")) == ("resume",)
    assert r.named_contexts(r.terms("is an ai photo ok on tindr")) == ("dating",)
    assert r.named_contexts(r.terms("our team page and my passport")) == (
        "company-page",
        "government-id",
    )
    assert r.named_contexts(r.terms("is an ai headshot ok")) == ()


# --- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["help", "What can you do?", "", "???", "how do i use you", "how does this bot work"]
)
def test_greetings_and_help_get_the_how_to(guide: Guide, text: str) -> None:
    answer = guide.answer(text)
    assert answer.kind == "help"
    assert "photo" in answer.text
    assert answer.follow_ups


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("hi", "photo"),
        ("hello!", "photo"),
        ("Hey there bot 👋", "photo"),
        ("thanks", "welcome"),
        ("thanks!", "welcome"),
        ("thank you so much, that helped a lot", "welcome"),
        ("cheers mate", "welcome"),
        ("gracias!", "welcome"),
        ("ok cool", "glad"),
        ("good night!", "bye"),
    ],
)
def test_small_talk_gets_a_short_friendly_line(guide: Guide, text: str, words: str) -> None:
    """Not the whole help text: one line, no sources, no follow-up list."""
    answer = guide.answer(text)
    assert (answer.kind, answer.intent) == ("smalltalk", "smalltalk")
    assert words in answer.text.lower()
    assert len(answer.text) < 200 and "\n" not in answer.text
    assert answer.text != guide.answer("help").text and not answer.sources


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather in paris",
        "what's the weather in berlin tomorrow",
        "write me a poem about cats",
        "capital of australia",
    ],
)
def test_off_topic_gets_a_polite_scope_note(guide: Guide, text: str) -> None:
    answer = guide.answer(text)
    assert answer.kind == "off_topic"
    assert "outside what I can help with" in answer.text


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("can i use an ai photo on my linkedin", "linkedin"),
        ("ai photo on my cv?", "resume"),
        ("ai pics on tinder?", "dating"),
        ("ai avatar for my newsletter", "newsletter"),
        ("ai headshot for our about us page", "company-page"),
        ("conference speaker photo made with ai", "conference"),
        ("ai pfp on discord", "chat-avatar"),
        ("ai avatar for work slack", "chat-avatar"),
        ("can my passport photo be ai", "government-id"),
    ],
)
def test_context_questions_get_that_contexts_advice(guide: Guide, text: str, context: str) -> None:
    answer = guide.answer(text)
    assert answer.kind == "answer"
    assert answer.passages[0].context == context
    assert answer.context == context
    offers_disclosure = any(context_name(context) in f for f in answer.follow_ups)
    assert offers_disclosure == (context != "government-id")


def test_answer_addresses_the_named_context_even_when_another_passage_leads(
    guide: Guide,
) -> None:
    question = (
        "Hello, my english is not good. Is it allowed to use a picture made by artificial "
        "intelligence in the linkedin for search job?"
    )
    answer = guide.answer(question)
    assert answer.context == "linkedin"
    assert "LinkedIn" in answer.text
    assert "resume" not in {p.context for p in answer.passages}  # not the CV advice
    assert any("for LinkedIn" in f for f in answer.follow_ups)
    assert len(answer.text) <= 900


def test_question_about_someone_elses_photo_gets_no_disclosure_offer(guide: Guide) -> None:
    answer = guide.answer("i think my coworkers linkedin photo is fake, what should i do")
    assert answer.passages[0].id == "bot-someone-else"
    assert answer.context is None
    assert not any(f.startswith("What disclosure text") for f in answer.follow_ups)


def test_passages_lead_with_a_sentence_that_stands_alone(guide: Guide) -> None:
    """Under a verdict a passage shows as title + first sentences, so "It can." or "They
    are quick." would answer a question nobody asked there."""
    from bot.guidance.normalise import sentences

    bare = re.compile(r"(it|they|that|this|some)( \w+){0,2}[.!:]", re.IGNORECASE)
    for p in guide.passages:
        assert not bare.fullmatch(sentences(p.text)[0]), p.id


def test_answer_leads_with_the_answer_cites_titles_and_fits_a_chat(guide: Guide) -> None:
    started = time.perf_counter()
    answer = guide.answer("do I have to tell people my headshot is AI?")
    elapsed = time.perf_counter() - started
    assert answer.passages[0].id == "disclose-when"
    assert answer.text.startswith(answer.passages[0].text)
    assert answer.sources == [DOC_A]
    assert answer.cite() == f"Source: '{DOC_A}'"
    assert len(answer.text) <= 900
    assert 1 <= len(answer.follow_ups) <= 3
    assert elapsed < 0.2


def test_every_answer_offers_follow_ups(guide: Guide) -> None:
    questions = load_questions(DATA / "guidance_questions.toml")
    for q in questions:
        answer = guide.answer(q["text"])
        if answer.kind == "smalltalk":  # "hi", "thanks": one line, nothing more
            continue
        assert answer.follow_ups, q["text"]
        assert all(f and f not in answer.text for f in answer.follow_ups)
        assert len(answer.text) <= 900


def test_bot_limits_answer_cites_headshot_check(guide: Guide) -> None:
    answer = guide.answer("does no evidence mean the photo is real?")
    assert answer.passages[0].id == "bot-no-evidence"
    assert answer.text.startswith('"No evidence" is not proof that a photo is real')
    assert "Headshot Check" in answer.sources


def test_answer_cites_every_document_a_passage_draws_on(guide: Guide) -> None:
    answer = guide.answer("how much cheaper is ai than a photographer")
    assert answer.passages[0].id == "benefit-cost"
    assert set(DOCUMENTS) <= set(answer.sources)
    assert answer.cite().startswith("Sources: ")


def test_sentences_do_not_break_at_abbreviations() -> None:
    from bot.guidance.normalise import sentences

    assert sentences('Say it, e.g. "made with AI". Then stop. Really?') == [
        'Say it, e.g. "made with AI".',
        "Then stop.",
        "Really?",
    ]


def test_huge_or_strange_input_is_answered_quickly(guide: Guide) -> None:
    started = time.perf_counter()
    for text in [
        "x" * 50_000,
        "linkedin " * 10_000,
        "ａｉ　ｐｆｐ？？ \u0000\u202e résumé",
        "🤖" * 500,
    ]:
        answer = guide.answer(text)
        assert answer.kind in ("answer", "help", "off_topic")
    assert time.perf_counter() - started < 2
    assert guide.answer("Résumé photo made by AI?").passages[0].id == "ctx-resume"


# --- passages for a verdict -----------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("context", CONTEXTS)
def test_passages_for_put_the_context_first(guide: Guide, label: str, context: str) -> None:
    chosen = guide.passages_for(label, context, k=3)
    assert len(chosen) == 3
    if label in CAMERA and context != "government-id":  # no AI-photo advice for a camera photo
        assert all(p.kind == "info" for p in chosen)
        assert not any("say so" in p.text or "label them" in p.text for p in chosen)
    else:
        assert chosen[0].context == context
    assert len({p.id for p in chosen}) == 3
    assert all(label in p.labels for p in chosen)
    assert all(p.context in (None, context) for p in chosen)
    for p in chosen:  # the short form, or trimmed at sentence ends; never mid-sentence
        full = get_knowledge().by_id(p.id)
        assert len(p.text) <= 280 and p.text.endswith((".", "!", "?", '"'))
        assert p.text == full.brief or p.text in full.text


@pytest.mark.parametrize(
    ("label", "first"),
    [
        ("no_evidence", "bot-no-evidence"),
        ("camera_capture", "bot-camera-privacy"),
        ("ai_edited", "bot-edited-vs-generated"),
        ("ai_generated", "disclose-when"),
    ],
)
def test_passages_for_without_context(guide: Guide, label: str, first: str) -> None:
    chosen = guide.passages_for(label, None, k=2)
    assert [p.id for p in chosen][:1] == [first]
    assert not chosen[0].text.startswith(("No.", "Yes."))
    assert all(p.kind == "info" for p in chosen)


def test_passages_for_accepts_context_aliases(guide: Guide) -> None:
    assert guide.passages_for("ai_generated", "CV", k=1)[0].id == "ctx-resume"
    assert guide.passages_for("ai_generated", "slack", k=1)[0].id == "ctx-chat-avatar"


# --- disclosure -----------------------------------------------------------------------------

DISCLOSED = [c for c in CONTEXTS if c != "government-id"]


@pytest.mark.parametrize("context", DISCLOSED)
def test_disclosure_for_generated_images(guide: Guide, context: str) -> None:
    d = guide.disclosure(context, "ai_generated", "Midjourney")
    assert d.needed and d.context == context
    for text in (d.caption, d.alt_text, d.bio_line, d.about, d.advice):
        assert text and "{" not in text
    assert "generated with AI (Midjourney)" in d.caption
    assert "Midjourney" in d.alt_text
    assert "edited" not in d.caption
    assert len(d.caption) < 120 and len(d.bio_line) < 120


@pytest.mark.parametrize("context", DISCLOSED)
def test_disclosure_for_ai_edited_photos(guide: Guide, context: str) -> None:
    d = guide.disclosure(context, "ai_edited")
    assert d.needed
    assert "edited with AI" in d.caption
    assert "(" not in d.caption  # no tool name when unknown
    assert "real photo" in d.about
    via_flag = guide.disclosure(context, "ai_generated", edit_only=True)
    assert via_flag.caption == d.caption


@pytest.mark.parametrize("label", LABELS)
def test_government_id_never_gets_a_disclosure_template(guide: Guide, label: str) -> None:
    for context in ("government-id", "passport", "ID card"):
        d = guide.disclosure(context, label, "Midjourney")
        assert d.context == "government-id"
        assert not d.needed
        assert not (d.caption or d.alt_text or d.bio_line or d.about)
        assert "unaltered camera photo" in d.advice
        if label.startswith("ai_"):
            assert d.advice.startswith("Don't use an AI")


@pytest.mark.parametrize("context", DISCLOSED)
@pytest.mark.parametrize("label", ["camera_capture", "camera_edited", "no_evidence"])
def test_no_disclosure_without_ai_evidence(guide: Guide, context: str, label: str) -> None:
    d = guide.disclosure(context, label)
    assert not d.needed
    assert not d.caption and d.advice
    if label == "camera_capture":
        assert "no AI disclosure is needed" in d.advice
    if label == "no_evidence":
        assert "{" not in d.advice and "disclosure text" in d.advice


def test_camera_capture_privacy_notes(guide: Guide) -> None:
    d = guide.disclosure("linkedin", "camera_capture", gps=True, serial=True)
    assert not d.needed
    assert len(d.privacy) == 2
    assert "GPS" in d.privacy[0] and "serial number" in d.privacy[1]
    assert guide.disclosure("linkedin", "camera_capture").privacy == []


def test_tool_names_from_metadata_are_cleaned(guide: Guide) -> None:
    d = guide.disclosure("linkedin", "ai_generated", "Evil`<@everyone>`\n{made}" + "x" * 200)
    assert "`" not in d.caption and "<" not in d.caption and "\n" not in d.caption
    assert "@" not in d.caption and "{" not in d.caption
    assert len(d.caption) < 120


def test_unknown_context_gets_generic_templates(guide: Guide) -> None:
    d = guide.disclosure("mastodon", "ai_generated")
    assert d.context == "other" and d.needed
    assert d.caption == "Photo generated with AI."


# --- issue 15: disclosure says only what the bot can know (item 6) ---------------------------

# Things only the person can vouch for: the templates may offer them only as optional lines.
CLAIMS = re.compile(
    r"how I look|looks like me|look today|reflects|recent|based on the real|real member|"
    r"works here|didn't have|no recent|happy to meet|glad to|in person|my other|the rest are|"
    r"unedited|that's who|consistent style|because",
    re.IGNORECASE,
)


@pytest.mark.parametrize("context", [*DISCLOSED, None])
@pytest.mark.parametrize("label", ["ai_generated", "ai_edited"])
def test_disclosure_claims_nothing_the_bot_cannot_know(
    guide: Guide, context: str | None, label: str
) -> None:
    d = guide.disclosure(context, label, "Midjourney")
    said = {"caption": d.caption, "alt": d.alt_text, "bio": d.bio_line, "about": d.about}
    for field_name, text in said.items():
        assert text and not CLAIMS.search(text), (context, field_name, text)
    for line in d.optional:  # offered, clearly marked, for the person to keep only if true
        assert line.startswith("[optional, only if true: ") and line.endswith("]")
    if context in ("linkedin", "resume", "company-page", "dating"):
        assert d.optional  # what the old templates asserted is still there, as a choice


def test_optional_lines_are_shown_marked_in_the_disclosure_reply(guide: Guide) -> None:
    from bot.core import compose
    from bot.render.text import render_text

    out = render_text(compose.disclosure_reply(guide.disclosure("company-page", "ai_generated")))
    assert "Optional lines: keep only what is true" in out
    assert "[optional, only if true: Everyone shown works here" in out
    assert "each one is based on the real person" not in out


def test_disclosure_without_a_context_assumes_no_place(guide: Guide) -> None:
    from bot.core import compose

    d = guide.disclosure(None, "ai_generated")
    assert d.context == "other" and d.needed
    text = " ".join([d.caption, d.alt_text, d.bio_line, d.about, d.advice, *d.optional])
    assert "LinkedIn" not in text and "{" not in text
    assert compose.disclosure_reply(d).title == "Disclosure suggestions"


async def test_disclose_request_without_a_context_does_not_pick_linkedin() -> None:
    from bot.core.pool import AnalysisPool
    from bot.core.request import Kind, Request
    from bot.core.service import HeadshotService

    service = HeadshotService(pool=AnalysisPool(inline=True))
    try:
        (reply,) = await service.handle(Request(Kind.DISCLOSE, "discord"))
        (named,) = await service.handle(Request(Kind.DISCLOSE, "discord", context="company-page"))
    finally:
        service.close()
    assert reply.title == "Disclosure suggestions" and "LinkedIn" not in reply.summary
    assert named.title == "Disclosure suggestions — Company page"


def test_camera_photo_gets_no_disclosure_advice(guide: Guide) -> None:
    from bot.analysis.pipeline.run import analyze
    from bot.core import compose
    from tests.conftest import jpeg_bytes
    from tests.metadata_fixtures import phone_exif

    report = analyze(jpeg_bytes((400, 300), exif=phone_exif()), "phone.jpg")
    assert report.verdict is not None and report.verdict.label.value == "camera_capture"
    for context in ("linkedin", "dating", None):
        reply = compose.check_reply(report, guide, context=context)
        assert not any(a.id == "disclosure" for a in reply.actions)
        shown = " ".join(line for s in reply.sections for line in s.lines)
        assert "say so" not in shown and "label" not in shown.lower(), context


def test_contexts_have_one_readable_name_everywhere() -> None:
    from bot.core import compose
    from bot.guidance import context_label, context_name
    from bot.render import slack
    from cogs.check import CONTEXT_CHOICES

    assert context_label("company-page") == "Company page"
    assert context_label("government-id") == "Government ID"
    assert context_label("resume") == "Résumé or CV"
    assert context_name("chat-avatar") == "a Slack or Discord avatar"
    assert context_label(None) == "" and context_label("odd-place") == "odd-place"
    assert compose.context_label is context_label is slack.context_label
    labels = [context_label(c) for c in CONTEXTS]
    assert all(
        label and label != slug
        for label, slug in zip(labels, CONTEXTS, strict=True)
        if slug != "linkedin"
    )
    # Discord's choices and Slack's menu show the names; the slug stays the value.
    assert [(c.name, c.value) for c in CONTEXT_CHOICES] == list(zip(labels, CONTEXTS, strict=True))
    modal = slack.check_modal(CONTEXTS)
    options = modal["blocks"][1]["element"]["options"]
    assert [o["text"]["text"] for o in options] == labels


# --- issue 15: answer the question that was asked (item 7) -----------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "lead"),
    [
        ("How do I tell if someone's Tinder pic is AI?", "spot", {"artifacts-visible"}),
        ("my coworker's pfp looks ai, should i say something", "spot", {"bot-someone-else"}),
        ("how can you tell if a photo is fake", "spot", {"bot-how-it-works", "artifacts-visible"}),
        ("Is it illegal to use an AI photo on my passport?", "legal", {"ctx-government-id"}),
        ("can linkedin ban me for an ai profile picture", "legal", {"policy-linkedin"}),
        ("what did 'no evidence either way' mean for my photo", "bot", {"bot-no-evidence"}),
        ("what does the camera capture verdict mean", "bot", {"bot-labels"}),
        ("how should I word the disclosure in my bio", "disclose", {"howto-disclosure-text"}),
        ("do I have to tell people my headshot is AI", "disclose", {"disclose-when"}),
        ("is it okay to use an AI headshot on my CV", "use", {"ctx-resume"}),
    ],
)
def test_intent_is_detected_before_retrieval(
    guide: Guide, text: str, intent: str, lead: set[str]
) -> None:
    answer = guide.answer(text)
    assert answer.intent == intent
    assert answer.passages[0].id in lead


def test_spotting_someone_elses_photo_gets_no_advice_for_the_asker(guide: Guide) -> None:
    answer = guide.answer("How do I tell if someone's Tinder pic is AI?")
    assert answer.context is None  # no dating-profile etiquette, no disclosure offer
    assert "dating" not in answer.text.lower()
    assert not any("disclosure text" in f for f in answer.follow_ups)


def test_a_rambling_question_gets_the_answer_first(guide: Guide) -> None:
    text = (
        "ok so long story, I've been job hunting since spring and money is tight, a studio "
        "wants $250 for a headshot and an app does 50 for $20, my sister thinks that's fine "
        "but my dad says recruiters will hate it, anyway I need one for LinkedIn and my "
        "applications, so would that be okay or is it going to hurt me?"
    )
    answer = guide.answer(text)
    assert not answer.text.startswith("Price is the biggest draw")
    assert answer.passages[0].id not in ("benefit-cost", "benefit-time")
    assert answer.intent == "use"


@pytest.mark.parametrize(
    "text",
    [
        "Can I use an AI headshot on LinkedIn?",
        "How do I tell if someone's Tinder pic is AI?",
        "is it legal to use an ai pic for my visa",
        "ok so I'm on the job market and want to know if an AI photo on my CV and my LinkedIn "
        "would be a problem with recruiters or if I should tell them",
    ],
)
def test_answer_is_one_paragraph_and_at_most_two_bullets(guide: Guide, text: str) -> None:
    from bot.core import compose
    from bot.render.text import render_text

    answer = guide.answer(text)
    paragraph, *bullets = answer.text.split("\n")
    assert paragraph and len(bullets) <= 2
    assert all(b.startswith("• ") for b in bullets)
    assert answer.sources and len(answer.text) <= 900
    out = render_text(compose.answer_reply(answer, "console"))
    assert out.rstrip().endswith(answer.cite()) and answer.cite().startswith("Source")


def test_answers_and_small_talk_on_the_real_renderers(guide: Guide) -> None:
    """Discord embed and Slack blocks: the bullets stay lines, the source is cited by title,
    small talk is the line alone."""
    from bot.core import compose
    from bot.render.discord import render_reply
    from bot.render.slack import render_blocks

    answer = guide.answer("How do I tell if someone's Tinder pic is AI?")
    reply = compose.answer_reply(answer, "discord")
    embed = render_reply(reply).embeds[0]
    assert "\n• " in (embed.description or "")
    assert embed.footer.text == "Source: 'To AI or Not to AI?'"
    blocks = str(render_blocks(compose.answer_reply(answer, "slack")))
    assert "Source: 'To AI or Not to AI?'" in blocks
    thanks = compose.answer_reply(guide.answer("thanks!"), "slack")
    assert not thanks.sections and not thanks.footer
    assert "welcome" in str(render_blocks(thanks)).lower()


def test_use_answers_say_what_to_do(guide: Guide) -> None:
    """Direct answer, reason, then what to do: disclose where people expect the real you."""
    answer = guide.answer("are ai headshots a good idea for work")
    assert answer.intent == "use"
    assert re.search(r"say so|disclos|say it's AI|openly|authentic", answer.text)


def test_intent_rules_live_in_config(tmp_path: Path) -> None:
    import shutil
    import tomllib

    from bot.guidance.answering import Answerer

    root = tmp_path / "guidance"
    shutil.copytree(get_knowledge.__wrapped__.__globals__["config_path"]("guidance"), root)
    text = (root / "intents.toml").read_text(encoding="utf-8")
    text = text.replace("reply = \"You're welcome!", 'reply = "Any time!', 1)
    (root / "intents.toml").write_text(text, encoding="utf-8")
    assert tomllib.loads(text)["smalltalk"]["thanks"]["reply"].startswith("Any time!")
    answer = Answerer(load_knowledge(root)).answer("thanks!")
    assert answer.text.startswith("Any time!")


# --- issue 15: other languages (item 8) -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "lead"),
    [
        ("¿Está bien usar una foto generada por IA en mi currículum?", "Spanish", {"ctx-resume"}),
        (
            "¿Puedo poner una foto hecha con IA en mi perfil de LinkedIn?",
            "Spanish",
            {"ctx-linkedin", "policy-linkedin"},
        ),
        (
            "Est-ce que je peux utiliser une photo générée par IA sur mon CV ?",
            "French",
            {"ctx-resume"},
        ),
        (
            "Dois-je indiquer que ma photo de profil a été créée par une IA ?",
            "French",
            {"disclose-when", "howto-disclosure-text"},
        ),
        ("Darf ich ein KI-generiertes Bewerbungsfoto verwenden?", "German", {"ctx-resume"}),
        ("Ist ein KI-Foto im Reisepass erlaubt?", "German", {"ctx-government-id"}),
        ("Posso usar uma foto gerada por IA no meu currículo?", "Portuguese", {"ctx-resume"}),
        (
            "Preciso avisar que minha foto foi feita com inteligência artificial?",
            "Portuguese",
            {"disclose-when", "howto-disclosure-text"},
        ),
    ],
)
def test_other_languages_are_answered_in_english_saying_so(
    guide: Guide, text: str, language: str, lead: set[str]
) -> None:
    answer = guide.answer(text)
    assert answer.kind == "answer", answer.text
    note, _, rest = answer.text.partition("\n")
    assert language in note and "English" in note and len(note) < 80
    assert answer.passages[0].id in lead and rest


def test_english_gets_no_language_note_and_other_languages_can_be_off_topic(
    guide: Guide,
) -> None:
    assert "English" not in guide.answer("Is an AI photo ok on my CV?").text
    off = guide.answer("¿Cuál es la mejor receta de paella para diez personas?")
    assert off.kind == "off_topic"


# --- issue 15: blind question set and answer scoring (item 9) ---------------------------------


def test_blind_set_covers_every_intent_and_language() -> None:
    questions = load_questions(DATA / "guidance_blind3.toml")
    assert len(questions) >= 80
    ids = {p.id for p in get_knowledge().passages}
    assert all(set(q["expect"]) <= ids for q in questions)
    assert {q["intent"] for q in questions} == {
        "spot",
        "use",
        "disclose",
        "legal",
        "bot",
        "smalltalk",
        "off_topic",
    }
    assert {q.get("lang", "en") for q in questions} >= {"en", "es", "fr", "de", "pt"}


def test_key_points_are_matched_ignoring_case_and_accents() -> None:
    from bot.guidance.evaluate import covers

    assert covers("Use a RÉSUMÉ photo; say so.", [["resume"], ["say so", "disclose"]])
    assert not covers("Use a photo.", [["resume"], ["photo"]])


@pytest.mark.parametrize(
    ("name", "floor"), [("guidance_blind3.toml", 0.75), ("guidance_intents_dev.toml", 0.85)]
)
def test_whole_answers_on_intent_sets(guide: Guide, name: str, floor: float) -> None:
    """Reported in docs/guidance.md; the floors only catch a collapse."""
    from bot.guidance.evaluate import evaluate_answers

    score = evaluate_answers(load_questions(DATA / name), guide)
    print(
        f"\n{name}: intent {score.intent:.1%}, top-1 {score.top1:.1%}, top-3 {score.top3:.1%},"
        f" key points {score.covered:.1%}, {score.ms:.1f} ms/question"
    )
    assert score.intent >= floor and score.covered >= floor - 0.1
