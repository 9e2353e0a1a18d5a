"""An interview's answers as a person reads them, for its admin page: the form's
groups as sections, repeats as tables, question and choice labels in the
reader's language (the interface language when the form has it, else the
form's default) with the choice codes beside them, and the metadata (start,
end, device, instanceID …) and calculated values apart, for a collapsed
technical section.

It lays out what :func:`surveys.release.answers_released` lets out — never a
field tagged identifier — and nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language

from surveys.form_schema import FormSchema, SchemaField

#: XLSForm types that describe the interview rather than the respondent's answers.
TECHNICAL_TYPES = frozenset({
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email",
    "audit", "start_geopoint", "background_audio", "calculate"})
#: The instance's own block (``meta/instanceID``, ``meta/deprecatedID`` …).
META_GROUP = "meta"


@dataclass
class Answer:
    """One answer: the value as shown and, for choices, ``[(label, code), …]``."""

    value: Any = None
    choices: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Question:
    path: str
    label: str
    answer: Answer


@dataclass
class RepeatTable:
    path: str
    label: str
    columns: list[str]
    rows: list[list[Answer]]


@dataclass
class Section:
    """A group of the form (the top level when ``path`` is None) with its questions, repeats and
    subgroups in the form's order."""

    path: str | None
    label: str
    items: list[Question | RepeatTable | Section] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "section"

    def empty(self) -> bool:
        return not self.items


@dataclass
class AnswersPage:
    sections: list[Section]
    technical: list[Question]
    language: str


def form_language(schema: FormSchema, code: str | None = None) -> str:
    """The form's label language for the interface language ``code`` (``ru`` → ``Russian (ru)``), else its
    default language."""
    code = (code or get_language() or "").split("-")[0].lower()
    for language in schema.get("languages", []):
        if code and (language.lower() == code or language.lower().endswith(f"({code})")):
            return language
    return schema.get("default_language") or next(iter(schema.get("languages", [])), "default")


def answers_page(*, released: Mapping[str, Any], schema: FormSchema, language: str | None = None) -> AnswersPage:
    """Lay out one record's released answers (:func:`surveys.release.answers_released`)."""
    language = language or form_language(schema)
    fields = {f["path"]: f for f in schema.get("fields", [])}
    choices = {name: {c["name"]: _text(c.get("label"), language) for c in items}
               for name, items in schema.get("choices", {}).items()}
    layout = _Layout(fields=fields, choices=choices, language=language)
    top: list[Section] = []
    sections: dict[str | None, Section] = {}
    technical: list[Question] = []
    order = {path: index for index, path in enumerate(fields)}
    for path in sorted(released, key=lambda p: (order.get(p, len(order)), p)):
        value = released[path]
        f = fields.get(path)
        if _under_meta(path) or (f is not None and f["type"] in TECHNICAL_TYPES):
            technical.append(layout.question(path, value))
            continue
        group = f["parent"] if f is not None else None
        if group is None:  # a run of top-level questions is a section of its own, between the groups
            if not top or top[-1].path is not None:
                top.append(Section(path=None, label=""))
            parent = top[-1]
        else:
            parent = layout.section_for(group, sections, top)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            parent.items.append(layout.repeat(path, value))
        else:
            parent.items.append(layout.question(path, value))
    return AnswersPage(sections=top, technical=technical, language=language)


@dataclass
class _Layout:
    fields: dict[str, SchemaField]
    choices: dict[str, dict[str, str]]
    language: str

    def label(self, path: str) -> str:
        f = self.fields.get(path)
        return (_text(f.get("label"), self.language) if f is not None else "") or path.rsplit("/", 1)[-1]

    def answer(self, path: str, value: Any) -> Answer:
        f = self.fields.get(path)
        kind = f["type"] if f is not None else ""
        labels = self.choices.get(f.get("list_name") or "", {}) if f is not None else {}
        if kind in ("select_one", "select_multiple") and value not in (None, ""):
            codes = value if isinstance(value, list) else str(value).split() if kind == "select_multiple" \
                else [str(value)]
            return Answer(value=None, choices=[(labels.get(str(c)) or str(c), str(c)) for c in codes])
        if isinstance(value, list):
            return Answer(value=" ".join(map(str, value)))
        return Answer(value=value)

    def question(self, path: str, value: Any) -> Question:
        return Question(path=path, label=self.label(path), answer=self.answer(path, value))

    def repeat(self, path: str, members: list[dict[str, Any]]) -> RepeatTable:
        """Columns: the repeat's questions in the form's order that any member answered."""
        answered = {key for member in members for key in member}
        columns = [p for p, f in self.fields.items() if f.get("repeat") == path and p in answered
                   and f["type"] not in ("group", "repeat")]
        columns += sorted(answered - set(columns))
        return RepeatTable(path=path, label=self.label(path), columns=[self.label(c) for c in columns],
                           rows=[[self.answer(c, member.get(c)) for c in columns] for member in members])

    def section_for(self, path: str, sections: dict[str | None, Section], top: list[Section]) -> Section:
        """The section of group ``path``, made (with its enclosing ones) on first use, in the form's order."""
        if path in sections:
            return sections[path]
        f = self.fields.get(path)
        parent = f["parent"] if f is not None else None
        enclosing = self.section_for(parent, sections, top) if parent is not None else None
        section = Section(path=path, label=self.label(path))
        sections[path] = section
        (enclosing.items if enclosing is not None else top).append(section)
        return section


def _under_meta(path: str) -> bool:
    return path == META_GROUP or path.startswith(f"{META_GROUP}/")


def _text(texts: Any, language: str) -> str:
    """A label in ``language``, else in the form's first language that has one."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, dict) or not texts:
        return ""
    return texts.get(language) or next((t for t in texts.values() if t), "")
