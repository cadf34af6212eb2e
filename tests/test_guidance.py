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
from bot.guidance.text import fold

DATA = Path(__file__).parent / "data"
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
        assert set(p.labels) == set(LABELS), f"{p.id} must apply to every verdict"
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
    "text", ["hi", "hello!", "help", "What can you do?", "", "???", "thanks", "how do i use you"]
)
def test_greetings_and_help_get_the_how_to(guide: Guide, text: str) -> None:
    answer = guide.answer(text)
    assert answer.kind == "help"
    assert "photo" in answer.text
    assert answer.follow_ups


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
    from bot.guidance.text import sentences

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
    from bot.guidance.text import sentences

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
        assert "{" not in d.advice and "disclosure text for" in d.advice


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
