"""Tools that call the language model. Each asks for JSON constrained by a schema, so even a
small model returns something the pipeline can check; where the answer must come from the
sources (extract_value), the schema only allows values that occur in them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from sutazai.lib.errors import ModelOutputInvalid
from sutazai.lib.models import ChatMessage, ChatResult, ModelBackend, StreamEnd
from sutazai.lib.models.interface import validate_schema_output
from sutazai.reasoning.grounding import grounded
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect
from sutazai.reasoning.tools.knowledge import Passage

NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")

FORMULATE_SYSTEM = (
    "Write one arithmetic expression that computes the answer to the question. "
    "Use only numbers, the named values if any are given, and + - * / ( )."
)
FORMULATE_SHOTS = (
    ("There are 15 trees in the grove. Grove workers will plant trees today. After they are done, "
     "there will be 21 trees. How many trees did the workers plant?", "21 - 15"),
    ("Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have "
     "left in total?", "32 + 42 - 35"),
    ("Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
     "23 - 5 * 3"),
    ("There were nine computers in the server room. Five more computers were installed each day, "
     "from monday to thursday. How many computers are now in the server room?", "9 + 5 * 4"),
    ("Values: a = 1200 (staff of Acme), b = 450 (staff of Beta).\nQuestion: How many more staff "
     "does Acme have than Beta?", "a - b"),
)
EXPRESSION_PATTERN = r"^[0-9a-z+*/(). -]{1,160}$"


def numbers_in(text: str) -> list[str]:
    """Numbers written in `text`, thousands separators removed, in order of appearance."""
    return [m.group(0).replace(",", "") for m in NUMBER.finditer(text)]


Router = Callable[[str], ModelBackend]


async def chat_json(model: ModelBackend, ctx: ToolContext, messages: list[ChatMessage], schema: dict[str, Any],
                *, temperature: float, seed: int | None, max_tokens: int) -> Any:
    try:
        result = await model.chat(messages, temperature=temperature, seed=seed,
                                  max_tokens=min(max_tokens, ctx.max_tokens), json_schema=schema)
    except ModelOutputInvalid as exc:
        raise ToolFailed(exc.detail) from exc
    ctx.usage.add(result)
    return result.json()


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _string_prefix(raw: str) -> str:
    """The decoded characters of a JSON string's body written so far (`raw` starts after its
    opening quote): up to the closing quote, or up to an escape not yet written whole."""
    out, i = [], 0
    while i < len(raw):
        char = raw[i]
        if char == '"':
            break
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        kind = raw[i + 1]
        if kind != "u":
            out.append(_ESCAPES.get(kind, kind))
            i += 2
            continue
        code = raw[i + 2:i + 6]
        if len(code) < 4:
            break
        value = int(code, 16) if re.fullmatch(r"[0-9a-fA-F]{4}", code) else 0xFFFD
        if 0xD800 <= value < 0xDC00:  # a surrogate pair: wait for its second half
            low = raw[i + 6:i + 12]
            if len(low) < 6:
                break
            if re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", low):
                out.append(chr(0x10000 + ((value - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00)))
                i += 12
                continue
            value = 0xFFFD
        out.append(chr(value))
        i += 6
    return "".join(out)


class FieldReader:
    """Reads one string field of a JSON object while the object is being written: feed each
    piece of text as it comes; `feed` returns the characters of the field's value that are new."""

    def __init__(self, name: str) -> None:
        self._opening = re.compile(r'(?<!\\)"' + re.escape(name) + r'"\s*:\s*"')
        self._text, self._shown = "", 0

    def feed(self, piece: str) -> str:
        self._text += piece
        found = self._opening.search(self._text)
        if found is None:
            return ""
        value = _string_prefix(self._text[found.end():])
        new, self._shown = value[self._shown:], len(value)
        return new


async def chat_json_drafted(model: ModelBackend, ctx: ToolContext, messages: list[ChatMessage],
                            schema: dict[str, Any], *, field: str, temperature: float, seed: int | None,
                            max_tokens: int) -> Any:
    """`chat_json`, but when someone listens (`ctx.draft`), the string `field` of the reply is sent
    to them as the model writes it; the whole reply is checked against the schema at the end."""
    if ctx.draft is None:
        return await chat_json(model, ctx, messages, schema, temperature=temperature, seed=seed,
                               max_tokens=max_tokens)
    reader, parts, end = FieldReader(field), [], StreamEnd("stop", 0, 0)
    try:
        async for piece in model.stream(messages, temperature=temperature, seed=seed,
                                        max_tokens=min(max_tokens, ctx.max_tokens), json_schema=schema):
            if isinstance(piece, StreamEnd):
                end = piece
                continue
            parts.append(piece)
            if new := reader.feed(piece):
                await ctx.draft(new)
        text = "".join(parts)
        ctx.usage.add(ChatResult(text=text, model=model.chat_model, prompt_tokens=end.prompt_tokens,
                                 completion_tokens=end.completion_tokens, finish_reason=end.finish_reason,
                                 digest=getattr(model, "digest", None)))
        validate_schema_output(text, schema, model.chat_model)
    except ModelOutputInvalid as exc:
        raise ToolFailed(exc.detail) from exc
    return json.loads(text)


class FormulateInput(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    values: dict[str, str] = Field(default_factory=dict,
                                   description="named values the expression may use: name -> description")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int | None = None


class FormulateOutput(BaseModel):
    expression: str


class Formulate:
    """The model translates a question into an arithmetic expression (program of thought)."""

    name: ClassVar[str] = "formulate"
    kind: ClassVar[str] = "extract"
    description: ClassVar[str] = "the model writes an arithmetic expression for a word problem"
    input_model: ClassVar[type[BaseModel]] = FormulateInput
    output_model: ClassVar[type[BaseModel]] = FormulateOutput

    def __init__(self, route: Router) -> None:
        self._route = route

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, FormulateInput)
        messages = [ChatMessage("system", FORMULATE_SYSTEM)]
        # approved answers to close questions (memory) come last, nearest the question
        shots = FORMULATE_SHOTS + (() if data.values else ctx.memory.shots)
        for question, expression in shots:
            messages += [ChatMessage("user", question),
                         ChatMessage("assistant", json.dumps({"expression": expression}))]
        question = data.question
        if data.values:
            listed = ", ".join(f"{name} = ({description})" for name, description in data.values.items())
            question = f"Values: {listed}.\nQuestion: {question}"
        messages.append(ChatMessage("user", question))
        schema = {"type": "object", "required": ["expression"],
                  "properties": {"expression": {"type": "string", "pattern": EXPRESSION_PATTERN}}}
        out = await chat_json(self._route(self.kind), ctx, messages, schema, temperature=data.temperature,
                          seed=data.seed, max_tokens=80)
        return FormulateOutput(expression=str(out["expression"]).strip())


class ExtractInput(BaseModel):
    target: str = Field(min_length=1, max_length=300, description="what value to find, in words")
    about: str | None = Field(default=None, max_length=200,
                              description="the entity the value belongs to; passages naming it are preferred")
    passages: list[Passage] = Field(max_length=20)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int | None = 0


class ExtractOutput(BaseModel):
    value: str | None = Field(description="the number as written in the source, or null")
    chunk_id: str | None
    document_id: str | None
    quote: str | None = Field(description="the sentence the value was read from")


class ExtractValue:
    """Finds a number in the passages; the model may only choose among numbers that occur in
    them, so the value is grounded by construction and cites the passage it came from."""

    name: ClassVar[str] = "extract_value"
    kind: ClassVar[str] = "extract"
    description: ClassVar[str] = "read one number from retrieved passages"
    input_model: ClassVar[type[BaseModel]] = ExtractInput
    output_model: ClassVar[type[BaseModel]] = ExtractOutput

    def __init__(self, route: Router) -> None:
        self._route = route

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, ExtractInput)
        if ctx.memory.passages and data.about is None:  # approved answers to close questions first
            data = data.model_copy(update={"passages": [*ctx.memory.passages, *data.passages]})
        grounded_passages = [p for p in data.passages if all(
            grounded(asked, f"{p.heading or ''}\n{p.text}") for asked in (data.target, data.about or ""))]
        data = data.model_copy(update={"passages": grounded_passages})  # a passage not about it holds no answer
        relevant = relevant_sentences(data.target, data.passages, about=data.about)
        candidates = list(dict.fromkeys(n for sentence in relevant for n in numbers_in(sentence)
                                        if _asks_year(data.target) or not _YEAR_LIKE.fullmatch(n)))
        if not candidates:
            return ExtractOutput(value=None, chunk_id=None, document_id=None, quote=None)
        sources = "\n\n".join(p.text for p in data.passages)
        messages = [
            ChatMessage("system", "Read the passages and give the number asked for, exactly as written."),
            ChatMessage("user", f"Passages:\n{sources}\n\nWhat is {data.target}?"),
        ]
        schema = {"type": "object", "required": ["value"],
                  "properties": {"value": {"type": "string", "enum": candidates}}}
        out = await chat_json(self._route(self.kind), ctx, messages, schema, temperature=data.temperature,
                              seed=data.seed, max_tokens=24)
        value = str(out["value"])
        for passage in data.passages:
            if value in numbers_in(passage.text):
                return ExtractOutput(value=value, chunk_id=passage.chunk_id, document_id=passage.document_id,
                                     quote=_sentence_with(passage.text, value))
        raise ToolFailed(f"the model chose {value!r}, which is in no passage")  # pragma: no cover - enum


_YEAR_LIKE = re.compile(r"(?:19|20)\d\d")
_YEAR_ASKED = re.compile(r"\b(year|when|founded|established|opened|since|date)\b", re.I)


def _asks_year(target: str) -> bool:
    """Whether a year may be the value asked for; otherwise a year in a sentence ('planned for
    2028') is when, not how much."""
    return bool(_YEAR_ASKED.search(target))


def _stems(text: str) -> set[str]:
    stems = {w[:5] for w in re.findall(r"[a-z][a-z0-9-]+", text.lower()) if len(w) > 2} - _STOP_STEMS
    return stems | {related for stem in stems for related in _RELATED.get(stem, ())}


# stems that ask about the same quantity in other words (age is read from a founding or birth year)
_RELATED = {"older": ("found", "born", "estab"), "young": ("found", "born", "estab"), "age": ("found", "born"),
            "emplo": ("staff", "peopl", "worke"), "staff": ("emplo", "peopl"), "worke": ("emplo", "staff"),
            "popul": ("inhab", "resid", "peopl"), "cost": ("price", "costs"), "price": ("cost", "costs")}


_STOP_STEMS = {"the", "and", "how", "many", "much", "what", "whic", "does", "have", "than", "more", "with",
               "from", "that", "this", "numbe", "fewer", "less"}


def units(text: str) -> list[str]:
    """A passage's sentences, and each row of a table in it as a unit of its own with the table's
    header line before it ('| Office | City | Floor area (m2) |' + '| Head office | Oslo | 4,200 |'):
    the numbers of one row belong to what that row names, not to the whole table."""
    out: list[str] = []
    prose: list[str] = []
    header: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if re.fullmatch(r"\|?[\s:|-]+\|?", stripped):  # the |---|---| rule under a header
                continue
            if header is None:
                header = stripped
            else:
                out.append(f"{header}\n{stripped}")
            continue
        header = None
        prose.append(line)
    out += [s for s in re.split(r"(?<=[.!?])\s+", "\n".join(prose)) if s.strip()]
    return out


def _table_row(unit: str) -> bool:
    return unit.startswith("|") and "\n|" in unit


def relevant_sentences(target: str, passages: list[Passage], *, about: str | None = None) -> list[str]:
    """The sentences (and table rows) holding a number that share the most word stems with the
    target, then those that name `about` themselves, then those in passages that name it; a value
    read from them is about the thing asked for, not a neighbour mentioned in the same passage.
    A table row counts only when it names what the question singles out (its names, codes,
    years): the Oslo office's row holds no floor area of the Hamburg office."""
    wanted, named = _stems(target) - _stems(about or ""), _stems(about or "")
    scored = []
    for passage in passages:
        naming = len(named & _stems(passage.text))
        for sentence in units(passage.text):
            if _table_row(sentence) and not all(grounded(asked, sentence, measures=False)
                                                for asked in (target, about or "")):
                continue
            if numbers_in(sentence):
                stems = _stems(sentence)
                scored.append(((len(wanted & stems), len(named & stems), naming), sentence))
    best = max((score for score, _ in scored), default=(0, 0, 0))
    return [s for score, s in scored if score == best]


def _sentence_with(text: str, number: str) -> str:
    for sentence in units(text):
        if number in numbers_in(sentence):
            return sentence.strip()
    return text[:200]


class AskModelInput(BaseModel):
    prompt: str = Field(min_length=1, max_length=8000)
    system: str | None = Field(default=None, max_length=2000)
    max_tokens: int = Field(default=256, ge=1, le=4096)


class AskModelOutput(BaseModel):
    text: str


class AskModel:
    """The model answers a sub-question in free text."""

    name: ClassVar[str] = "model"
    kind: ClassVar[str] = "extract"
    description: ClassVar[str] = "ask the language model a sub-question"
    input_model: ClassVar[type[BaseModel]] = AskModelInput
    output_model: ClassVar[type[BaseModel]] = AskModelOutput

    def __init__(self, route: Router) -> None:
        self._route = route

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, AskModelInput)
        messages = ([ChatMessage("system", data.system)] if data.system else []) + [ChatMessage("user", data.prompt)]
        result = await self._route(self.kind).chat(messages, temperature=0.0, seed=0,
                                                   max_tokens=min(data.max_tokens, ctx.max_tokens))
        ctx.usage.add(result)
        return AskModelOutput(text=result.text.strip())
