"""Onboarding a creator from the files the seed kept per model: content map + playbook."""

import json
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from fans.state_machine import FanState
from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem
from models_registry.providers import default_base_url

S = FanState
ALL_STATES = [s.value for s in S if s != S.HANDED_OFF]
# Which playbook sections each fan state's prompt needs (docs/architecture.md#the-models-call); staff can edit
# it per section.
DEFAULT_SERVES = {
    1: ALL_STATES,
    2: ALL_STATES,
    14: ALL_STATES,
    4: [S.NEW, S.GREETED, S.ENGAGED, S.DORMANT],
    6: [S.ENGAGED, S.PITCHED, S.BUYER],
    7: [S.ENGAGED, S.PITCHED, S.BUYER],
    9: [S.BUYER],
    10: [S.WHALE_CANDIDATE],
    11: [S.WHALE_CANDIDATE],
}
HEADING = re.compile(r"^#{1,3}\s*§\s*(\d+)[.:]?\s*(.*?)\s*$", re.M)
SERVES_MARK = re.compile(r"<!--\s*serves:\s*([\w ,]+?)\s*-->")


@dataclass
class Section:
    number: int
    title: str
    body: str
    serves_states: list = field(default_factory=list)


RESTRICTED_SECTION = 14
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+?)\s*$")
_QUOTED = re.compile(r"[`\"“”‘’']([^`\"“”‘’']{1,60})[`\"“”‘’']")


def restricted_words_in_playbook(body: str) -> list[str]:
    """The words the playbook's §14 lists: bullet items (comma-separated ones split) and quoted or
    backticked words in its prose ("never say `snapchat`"). Prose with no list and no quotes names none."""
    words = []
    for line in body.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            parts = re.split(r"[,;]", re.sub(r"\s+[—–-]\s+.*$|:\s.*$", "", bullet.group(1)))
        else:
            parts = _QUOTED.findall(line)
        for part in parts:
            word = part.strip().strip("*_`\"'.:“”‘’").strip()
            if word and len(word) <= 60 and word.casefold() not in {w.casefold() for w in words}:
                words.append(word)
    return words


def playbook_restricted_words(sections) -> list[str]:
    return [w for s in sections if s.number == RESTRICTED_SECTION for w in restricted_words_in_playbook(s.body)]


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def parse_playbook(markdown: str) -> list[Section]:
    """Split a playbook into its § sections; `<!-- serves: buyer, pitched -->` overrides the default map.
    Every problem is reported at once, each with its line."""
    matches = list(HEADING.finditer(markdown))
    if not matches:
        raise ValidationError("The playbook has no sections: expected headings like '## §4 Strategy'.")
    sections, seen, problems = [], {}, []
    for i, m in enumerate(matches):
        number, line = int(m.group(1)), _line(markdown, m.start())
        if number in seen:
            problems.append(f"line {line}: The playbook has §{number} twice (first at line {seen[number]}).")
        seen.setdefault(number, line)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(markdown)
        body = markdown[m.end() : end].strip()
        serves = [str(s) for s in DEFAULT_SERVES.get(number, [])]
        mark = SERVES_MARK.search(markdown, m.end(), end)
        if mark:
            serves = [s.strip() for s in mark.group(1).split(",") if s.strip()]
            unknown = set(serves) - {s.value for s in S}
            if unknown:
                problems.append(
                    f"line {_line(markdown, mark.start())}: §{number}: unknown fan state(s) "
                    f"{sorted(unknown)} in serves (known: {', '.join(s.value for s in S)})."
                )
            body = SERVES_MARK.sub("", body).strip()
        sections.append(Section(number, m.group(2) or f"Section {number}", body, serves))
    if problems:
        raise ValidationError(problems)
    return sections


def json_lines(text: str) -> dict[tuple, int]:
    """The line each value of a JSON document starts on, by its path (("vault", 3, "price"): line): so a
    problem in an uploaded content map can name its line. Empty when the text is not valid JSON."""
    decoder, ws, lines = json.JSONDecoder(), re.compile(r"[ \t\n\r]*"), {}

    def skip(i):
        return ws.match(text, i).end()

    def value(i, path):
        i = skip(i)
        lines[path] = _line(text, i)
        if text[i] == "{":
            i = skip(i + 1)
            while text[i] != "}":
                key, i = json.decoder.scanstring(text, i + 1)
                i = value(skip(i) + 1, (*path, key))  # past the ':'
                i = skip(i)
                i = skip(i + 1) if text[i] == "," else i
            return i + 1
        if text[i] == "[":
            i, n = skip(i + 1), 0
            while text[i] != "]":
                i = skip(value(i, (*path, n)))
                i, n = (skip(i + 1) if text[i] == "," else i), n + 1
            return i + 1
        return decoder.raw_decode(text, i)[1]

    try:
        value(0, ())
    except (ValueError, IndexError):
        return {}
    return lines


def line_of(lines: dict, path: tuple) -> int | None:
    """The line of `path`, else of its nearest parent found."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _price(value, where: str):
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"{where}: price {value!r} is not a number.") from None


# Placeholders a template line may use; a price answer must say the price.
PLACEHOLDERS = {"name"}
KIND_PLACEHOLDERS = {ResponseTemplate.Kind.PRICE: {"name", "price"}}
REQUIRED_PLACEHOLDERS = {ResponseTemplate.Kind.PRICE: {"price"}}


def variant_problems(kind: str, variants) -> list[str]:
    """What is wrong with a template's variants: not a list of texts, an unknown or broken {placeholder},
    a price answer that never says {price}. Each problem names the variant."""
    if not isinstance(variants, list) or not variants or not all(isinstance(v, str) and v.strip() for v in variants):
        return ["needs a non-empty 'variants' list of texts."]
    allowed, required = KIND_PLACEHOLDERS.get(kind, PLACEHOLDERS), REQUIRED_PLACEHOLDERS.get(kind, set())
    problems = []
    for i, text in enumerate(variants):
        try:
            used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
        except ValueError as e:
            problems.append(f"variants[{i}]: broken braces ({e}); write {{{{ and }}}} for a literal brace.")
            continue
        unknown = used - allowed
        if unknown:
            problems.append(
                f"variants[{i}]: unknown placeholder(s) {', '.join(f'{{{u}}}' for u in sorted(unknown))} "
                f"(allowed: {', '.join(f'{{{a}}}' for a in sorted(allowed))})."
            )
        if required - used:
            problems.append(f"variants[{i}]: must say {', '.join(f'{{{r}}}' for r in sorted(required))}.")
    return problems


def content_map_problems(data) -> list[tuple[tuple, str]]:
    """Every problem in the content map, each with the path of the value it is about (for its line) and a
    message naming the item."""
    problems = []
    if not isinstance(data, dict):
        return [((), "The content map must be a JSON object.")]
    vault = data.get("vault")
    if not isinstance(vault, list) or not vault:
        problems.append((("vault",), "'vault' must be a non-empty list of items."))
        vault = []
    keys = set()
    for i, item in enumerate(vault):
        where = f"vault item {i + 1}"
        if not isinstance(item, dict) or not item.get("content_key"):
            problems.append((("vault", i), f"{where}: needs a content_key."))
            continue
        key = item["content_key"]
        where = f"vault item {i + 1} ({key})"
        if key in keys:
            problems.append((("vault", i, "content_key"), f"{where}: content_key '{key}' appears twice."))
        keys.add(key)
        if not isinstance(item.get("media_ids", []), list):
            problems.append((("vault", i, "media_ids"), f"{where}: media_ids must be a list of platform media ids."))
        try:
            _price(item.get("price"), where)
        except ValidationError as e:
            problems.extend((("vault", i, "price"), m) for m in e.messages)
    templates = data.get("templates", {})
    if not isinstance(templates, dict):
        problems.append((("templates",), "'templates' must be an object keyed by template kind."))
        templates = {}
    kinds = {k.value for k in ResponseTemplate.Kind}
    for kind, t in templates.items():
        at = ("templates", kind)
        if kind not in kinds:
            problems.append((at, f"templates.{kind}: unknown kind (known: {', '.join(sorted(kinds))})."))
        elif not isinstance(t, dict) or not t.get("variants"):
            problems.append((at, f"templates.{kind}: needs a non-empty 'variants' list."))
        elif t.get("content_key") and t["content_key"] not in keys:
            problems.append(
                ((*at, "content_key"), f"templates.{kind}: content_key '{t['content_key']}' is not in the vault.")
            )
        else:
            problems.extend(
                ((*at, "variants"), f"templates.{kind}: {p}") for p in variant_problems(kind, t["variants"])
            )
    return problems


def validate_content_map(data) -> list[str]:
    """Every problem in the content map, each naming where it is."""
    return [message for _, message in content_map_problems(data)]


@transaction.atomic
def onboard_creator(content_map: dict, playbook_md: str, **creator_fields) -> Creator:
    """Create or update a creator with vault, playbook and templates in one transaction.

    `creator_fields` (slug, keys, price bounds …) override the content map's "creator" object.
    """
    errors = validate_content_map(content_map)
    if errors:
        raise ValidationError(errors)
    sections = parse_playbook(playbook_md)
    fields = {**content_map.get("creator", {}), **{k: v for k, v in creator_fields.items() if v not in (None, "")}}
    if "restricted_words" in content_map:
        fields.setdefault("restricted_words", content_map["restricted_words"])
    listed = playbook_restricted_words(sections)
    if listed:  # the spec keeps them in the playbook's §14: enforced with the content map's
        known = list(fields.get("restricted_words") or [])
        fields["restricted_words"] = known + [
            w for w in listed if w.casefold() not in {str(k).casefold() for k in known}
        ]
    slug = fields.pop("slug", None)
    if not slug:
        raise ValidationError("A creator slug is required.")
    fields.setdefault("display_name", slug)
    fields.setdefault("account_id", f"acct_{slug}")
    creator = Creator.objects.filter(slug=slug).first() or Creator(slug=slug)
    if fields.get("provider") == "onlyfansapi" and not fields.get("api_base_url") and creator.pk is None:
        fields["api_base_url"] = default_base_url("onlyfansapi")  # its own API unless pointed at a stand-in
    for name, value in fields.items():
        setattr(creator, name, value)
    creator.full_clean()
    creator.save()

    creator.vault_items.all().delete()
    for item in content_map["vault"]:
        v = VaultItem(
            creator=creator,
            content_key=item["content_key"],
            kind=item.get("kind", "photo"),
            media_ids=item.get("media_ids", []),
            default_price=_price(item.get("price"), item["content_key"]),
            ladder_tier=item.get("tier", 1),
            description=item.get("description", ""),
        )
        v.full_clean()
        v.save()
    creator.playbook_sections.all().delete()
    PlaybookSection.objects.bulk_create(
        PlaybookSection(creator=creator, number=s.number, title=s.title, body=s.body, serves_states=s.serves_states)
        for s in sections
    )
    creator.templates.all().delete()
    ResponseTemplate.objects.bulk_create(
        ResponseTemplate(
            creator=creator,
            kind=kind,
            variants=t["variants"],
            content_key=t.get("content_key", ""),
            hook=t.get("hook", ""),
        )
        for kind, t in content_map.get("templates", {}).items()
    )
    return creator


def onboard_from_files(content_map_path, playbook_path, **creator_fields) -> Creator:
    with open(content_map_path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValidationError(f"{content_map_path}:{e.lineno}: not valid JSON ({e.msg}).") from e
    with open(playbook_path, encoding="utf-8") as f:
        return onboard_creator(data, f.read(), **creator_fields)


def set_enabled(creator: Creator, on: bool, user=None) -> Creator:
    """The creator's emergency stop: off, nothing is sent to any fan by anyone; the history names who."""
    creator.enabled = on
    if user is not None:
        creator._history_user = user  # token auth: the history middleware sees no user
    creator.save(update_fields=["enabled"])
    return creator
