"""Replies as Zalo shows them: plain text with numbered choices, and answers read back.

Zalo's Bot Platform has no buttons, callbacks, edits or documents, so everything a turn would
show on Telegram becomes a few plain messages (≤ 2,000 characters, split at a paragraph): each
button a numbered line ("1. Đăng ký"), a link a line with its address, a suggested answer a
numbered line too. The numbers of the latest turn are kept (``Menu``), so that "2", "2.", "２"
or the label typed loosely ("dang ky") is read as that choice; ``0`` or "menu" is always the main
menu. A step whose typed answer may be a bare number (seats, hours) shows its choices as labels
to type, not numbers, so that "30" stays an answer. The main menu (a reply keyboard on Telegram)
becomes the turn's numbered choices when the turn offers no others; otherwise "0" leads to it.
An answer that fits none of the choices keeps them (``Reply.repeat_choices``): they are shown
again with the same numbers.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.text import fold
from bot.telegram_html import HtmlParseError, parse_html
from handlers.dialog import Attachment, Button, KeyboardKind, Reply

MAX_MESSAGE = 2000
MENU_WORDS = frozenset({"0", "menu", "menu chinh", "trang chu"})
_LINK = re.compile(r"<a\s+href=\"([^\"]*)\"\s*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"^\s*(?:so\s*)?#?(\d{1,3})\s*[.)]?\s*$")


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of the latest turn: it either presses an action or types a text."""

    number: int | None  # None: chosen by typing its label only
    label: str
    press: str | None = None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"n": self.number, "label": self.label, "press": self.press, "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Option:
        number = data.get("n")
        return cls(
            number=int(number) if isinstance(number, int) else None,
            label=str(data.get("label", "")),
            press=data.get("press") if isinstance(data.get("press"), str) else None,
            text=data.get("text") if isinstance(data.get("text"), str) else None,
        )


@dataclass(frozen=True, slots=True)
class Menu:
    options: tuple[Option, ...] = ()

    @property
    def numbered(self) -> int:
        return sum(1 for o in self.options if o.number is not None)

    def to_json(self) -> list[dict[str, Any]]:
        return [o.to_json() for o in self.options]

    @classmethod
    def from_json(cls, data: object) -> Menu:
        if not isinstance(data, list):
            return cls()
        return cls(tuple(Option.from_json(d) for d in data if isinstance(d, dict)))


@dataclass(frozen=True, slots=True)
class OutOfRange:
    """A number the latest choices do not have."""

    number: int
    highest: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: text, or a photo (by URL) with a caption."""

    text: str
    photo: Attachment | None = None


@dataclass(frozen=True, slots=True)
class Hints:
    """Catalogue lines the renderer adds (already in the person's language)."""

    main_menu: str  # e.g. "0. Về menu chính"
    file_link: str  # with {name} and {url}
    type_one_of: str  # heading of labels to type, for numeric steps


@dataclass
class _Builder:
    hints: Hints
    options: list[Option] = field(default_factory=list)
    next_number: int = 1

    def keep(self, option: Option) -> str:
        """An option shown before, again with its number."""
        self.options.append(option)
        if option.number is None:
            return f"• {option.label}"
        self.next_number = max(self.next_number, option.number + 1)
        return f"{option.number}. {option.label}"

    def add(
        self,
        label: str,
        *,
        press: str | None = None,
        text: str | None = None,
        numbered: bool = True,
    ) -> str:
        number = self.next_number if numbered else None
        if numbered:
            self.next_number += 1
        self.options.append(Option(number, label, press, text))
        return f"{number}. {label}" if numbered else f"• {label}"


def read_number(text: str) -> int | None:
    """ "2", "2.", "2)", "２" (full width), "#2", "số 2" → 2."""
    normal = unicodedata.normalize("NFKC", text)
    match = _NUMBER.match(fold(normal))
    return int(match.group(1)) if match else None


def is_menu_request(text: str) -> bool:
    return fold(unicodedata.normalize("NFKC", text)).strip(" .") in MENU_WORDS


def choose(text: str, menu: Menu) -> Option | OutOfRange | None:
    """The option a reply picks; ``OutOfRange`` for a number the menu lacks; None when the text
    is not a choice at all (then it is a typed answer)."""
    number = read_number(text)
    if number is not None:
        for option in menu.options:
            if option.number == number:
                return option
        if menu.numbered and not any(o.number is None for o in menu.options):
            return OutOfRange(number, menu.numbered)
        return None
    wanted = _loose(text)
    if not wanted:
        return None
    exact = [o for o in menu.options if _loose(o.label) == wanted]
    if len(exact) == 1:
        return exact[0]
    starting = [o for o in menu.options if _loose(o.label).startswith(wanted) and len(wanted) >= 3]
    return starting[0] if len(starting) == 1 else None


def _loose(label: str) -> str:
    """Labels compare without emoji, punctuation, case or diacritics."""
    folded = fold(unicodedata.normalize("NFKC", label))
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in folded)
    return " ".join(kept.split())


def plain(text_html: str) -> str:
    """Telegram HTML → the text a person reads; a link keeps its address after the words."""
    with_urls = _LINK.sub(lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", text_html)
    try:
        return parse_html(with_urls).text
    except HtmlParseError:  # catalogue text is always valid; never lose a message over it
        return html.unescape(re.sub(r"<[^>]+>", "", with_urls))


def split(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, else a line, else a space."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def render(
    replies: Sequence[Reply],
    notices: Sequence[str],
    hints: Hints,
    file_url: Any,
    previous: Menu | None = None,
) -> tuple[list[Outgoing], Menu]:
    """The messages of one turn and the choices they number. ``notices`` (acknowledgements of a
    press) come first; ``file_url(attachment)`` gives the signed link of a file; ``previous`` is
    the menu shown before, for replies that repeat its choices."""
    builder = _Builder(hints)
    blocks: list[Outgoing] = []
    pending: list[str] = [n for n in notices if n]
    wants_menu = False
    menu_rows: tuple[tuple[str, ...], ...] = ()
    for reply in replies:
        lines = [plain(reply.text)] if reply.text.strip() else []
        numbered = not reply.numeric_answer
        choice_lines = _buttons(builder, reply.buttons, numbered=numbered)
        keyboard = reply.keyboard
        if keyboard is not None and keyboard.kind is KeyboardKind.SUGGESTIONS:
            for row in keyboard.rows:
                for label in row:
                    choice_lines.append(builder.add(label, text=label, numbered=numbered))
        if keyboard is not None and keyboard.kind is KeyboardKind.MAIN_MENU:
            wants_menu = True
            menu_rows = keyboard.rows
        if reply.repeat_choices and previous is not None and not choice_lines:
            kept = [builder.keep(option) for option in previous.options]
            if any(o.number is None for o in previous.options):
                kept.insert(0, hints.type_one_of)
            choice_lines.extend(kept)
            numbered = True  # the heading, if any, is in the lines already
        if choice_lines:
            heading = [] if numbered else [hints.type_one_of]
            lines.append("\n".join([*heading, *choice_lines]))
        if reply.document is not None:
            lines.append(
                hints.file_link.format(name=reply.document.filename, url=file_url(reply.document))
            )
        body = "\n\n".join(line for line in lines if line)
        if reply.photo is not None:
            if pending:
                blocks.append(Outgoing("\n\n".join(pending)))
                pending = []
            caption, *rest = split(body) or [""]
            blocks.append(Outgoing(caption, photo=reply.photo))
            blocks.extend(Outgoing(piece) for piece in rest)
            continue
        if body:
            pending.append(body)
    if menu_rows and not builder.options:
        # The main menu is what the turn offers: its entries are the choices.
        entries = [builder.add(label, text=label) for row in menu_rows for label in row]
        pending.append("\n".join(entries))
    elif wants_menu or builder.options:
        pending.append(hints.main_menu)
    if pending:
        blocks.extend(Outgoing(piece) for piece in split("\n\n".join(pending)))
    return blocks, Menu(tuple(builder.options))


def _buttons(builder: _Builder, rows: Sequence[Sequence[Button]], *, numbered: bool) -> list[str]:
    lines: list[str] = []
    for row in rows:
        for button in row:
            if button.url is not None:
                lines.append(f"🔗 {button.label}: {button.url}")
            else:
                lines.append(builder.add(button.label, press=button.action, numbered=numbered))
    return lines
