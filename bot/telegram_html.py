"""Telegram's HTML parse mode: the validator broadcasts use before sending, and the rules the
emulator enforces.

Mirrors the tag set and error messages of Telegram's server (tdlib's ``parse_html``) so a bot
that passes here does not get "can't parse entities" in production. It is deliberately a little
stricter than Telegram in one place: an unknown named entity such as ``&nbsp;`` is an error here
(Telegram would show it literally), because it almost always means escaping went wrong.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HtmlParseError", "ParsedText", "parse_html", "plain_text", "utf16_len"]

_TEXT_RUN = re.compile(r"[^<&]+")
_ENTITY = re.compile(r"&(#[0-9]{1,8};|#[xX][0-9a-fA-F]{1,8};|[a-zA-Z][a-zA-Z0-9]*;)")
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTR_NAME = re.compile(r"[a-zA-Z0-9_-]*")
_UNQUOTED_VALUE = re.compile(r"[^\s>]*")
_SPACES = re.compile(r"\s*")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# Telegram tag -> (entity type, HTML the web chat renders). ``span``/``a``/``code``/``pre``/
# ``blockquote``/``tg-emoji`` need their attributes and are handled separately.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_RENDER = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="tg-spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ('<blockquote class="expandable">', "</blockquote>"),
    "custom_emoji": ('<span class="tg-emoji">', "</span>"),
}
_SUPPORTED = {*_SIMPLE_TAGS, "span", "a", "code", "pre", "blockquote", "tg-emoji"}
_SAFE_URL_SCHEMES = ("http://", "https://", "tg://", "mailto:")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is Telegram's own wording."""


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Plain text, Bot API entities (UTF-16 offsets) and sanitized HTML for the web chat."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    safe_html: str = ""


@dataclass(slots=True)
class _Open:
    tag: str
    entity_type: str | None
    start: int
    close_html: str
    extra: dict[str, Any]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def plain_text(text: str) -> ParsedText:
    """A message without parse_mode: the text is shown literally."""
    return ParsedText(text=text, entities=[], safe_html=html.escape(text, quote=False))


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML or raise :class:`HtmlParseError` with Telegram's message."""
    out: list[str] = []
    safe: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    pos16 = 0
    i = 0
    n = len(source)
    while i < n:
        char = source[i]
        if char not in "<&":
            match = _TEXT_RUN.match(source, i)
            assert match is not None
            chunk = match.group()
            out.append(chunk)
            safe.append(html.escape(chunk, quote=False))
            pos16 += utf16_len(chunk)
            i = match.end()
            continue
        if char == "&":
            decoded, i = _decode_entity(source, i)
            out.append(decoded)
            safe.append(html.escape(decoded, quote=False))
            pos16 += utf16_len(decoded)
            continue
        if source.startswith("</", i):
            i = _close_tag(source, i, stack, entities, safe, pos16)
            continue
        i = _open_tag(source, i, stack, safe, pos16)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(text="".join(out), entities=entities, safe_html="".join(safe))


def _decode_entity(source: str, i: int) -> tuple[str, int]:
    match = _ENTITY.match(source, i)
    if match is None:
        # A lone "&" is accepted by Telegram and shown as is.
        return "&", i + 1
    body = match.group(1)[:-1]
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise HtmlParseError(
                f'Unsupported HTML entity "{match.group()}" at byte offset '
                f"{_byte_offset(source, i)}"
            )
        return chr(code), match.end()
    if body in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[body], match.end()
    raise HtmlParseError(
        f'Unsupported HTML entity "{match.group()}" at byte offset {_byte_offset(source, i)}'
    )


def _open_tag(source: str, i: int, stack: list[_Open], safe: list[str], pos16: int) -> int:
    begin = i
    name_match = _TAG_NAME.match(source, i + 1)
    assert name_match is not None
    tag = name_match.group().lower()
    if tag not in _SUPPORTED:
        raise HtmlParseError(
            f'Unsupported start tag "{name_match.group()}" at byte offset '
            f"{_byte_offset(source, begin)}"
        )
    i = name_match.end()
    attrs: dict[str, str] = {}
    while True:
        i = _skip_spaces(source, i)
        if i >= len(source):
            raise HtmlParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        if source[i] == ">":
            i += 1
            break
        attr_match = _ATTR_NAME.match(source, i)
        assert attr_match is not None
        attr = attr_match.group().lower()
        if not attr:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(source, i)}'
            )
        i = _skip_spaces(source, attr_match.end())
        if i >= len(source) or source[i] != "=":
            if tag == "blockquote" and attr == "expandable":
                attrs[attr] = ""
                continue
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(source, i)}"
            )
        i = _skip_spaces(source, i + 1)
        if i < len(source) and source[i] in "'\"":
            end = source.find(source[i], i + 1)
            if end < 0:
                raise HtmlParseError(
                    f'Unclosed end of attribute value in the tag "{tag}" at byte offset '
                    f"{_byte_offset(source, i)}"
                )
            raw_value = source[i + 1 : end]
            i = end + 1
        else:
            value_match = _UNQUOTED_VALUE.match(source, i)
            assert value_match is not None
            raw_value = value_match.group()
            i = value_match.end()
        attrs[attr] = html.unescape(raw_value)
    stack.append(_make_open(tag, attrs, stack, pos16, source, begin, safe))
    return i


def _skip_spaces(source: str, i: int) -> int:
    match = _SPACES.match(source, i)
    assert match is not None
    return match.end()


def _make_open(
    tag: str,
    attrs: dict[str, str],
    stack: list[_Open],
    pos16: int,
    source: str,
    begin: int,
    safe: list[str],
) -> _Open:
    entity_type: str | None
    extra: dict[str, Any] = {}
    if tag in _SIMPLE_TAGS:
        entity_type = _SIMPLE_TAGS[tag]
    elif tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(source, begin)}"
            )
        entity_type = "spoiler"
    elif tag == "a":
        href = attrs.get("href", "")
        entity_type = "text_link" if href else None
        extra = {"url": href} if href else {}
        if href.lower().startswith(_SAFE_URL_SCHEMES):
            url = html.escape(href, quote=True)
            safe.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">')
        else:
            safe.append("<a>")
        return _Open(tag, entity_type, pos16, "</a>", extra)
    elif tag == "code":
        parent = stack[-1] if stack else None
        language = attrs.get("class", "")
        if parent is not None and parent.tag == "pre" and language.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language, not two.
            parent.extra["language"] = language.removeprefix("language-")
            cls = html.escape(language, quote=True)
            safe.append(f'<code class="{cls}">')
            return _Open(tag, None, pos16, "</code>", {})
        entity_type = "code"
    elif tag == "pre":
        entity_type = "pre"
    elif tag == "blockquote":
        entity_type = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    else:  # tg-emoji
        entity_type = "custom_emoji"
        extra = {"custom_emoji_id": attrs.get("emoji-id", "")}
    open_html, close_html = _RENDER[entity_type]
    safe.append(open_html)
    return _Open(tag, entity_type, pos16, close_html, extra)


def _close_tag(
    source: str,
    i: int,
    stack: list[_Open],
    entities: list[dict[str, Any]],
    safe: list[str],
    pos16: int,
) -> int:
    begin = i
    name_match = _TAG_NAME.match(source, i + 2)
    assert name_match is not None
    tag = name_match.group().lower()
    i = _skip_spaces(source, name_match.end())
    if i >= len(source) or source[i] != ">":
        raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
    if not stack:
        raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
    top = stack[-1]
    if tag != top.tag:
        raise HtmlParseError(
            f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, expected "
            f'"</{top.tag}>", found "</{name_match.group()}>"'
        )
    stack.pop()
    safe.append(top.close_html)
    length = pos16 - top.start
    # Telegram drops entities that cover no text.
    if top.entity_type is not None and length > 0:
        entity: dict[str, Any] = {"type": top.entity_type, "offset": top.start, "length": length}
        entity.update(top.extra)
        entities.append(entity)
    return i + 1
