"""The message catalogue: every user-visible string, by key, in Vietnamese (source) and English.

Catalogues are gettext ``.po`` files read with Babel, one per language, whose msgids are stable
keys (``start.welcome``). Parameters are HTML-escaped when formatted, so user content dropped
into a Telegram HTML message can never inject markup; wrap trusted markup in ``Raw``.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")


@dataclass(frozen=True, slots=True)
class Raw:
    """Trusted HTML (already escaped or built from catalogue strings)."""

    html: str

    def __str__(self) -> str:
        return self.html


def escape(value: Any) -> str:
    return value.html if isinstance(value, Raw) else html.escape(str(value), quote=False)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Catalogue:
    def __init__(self, messages: dict[str, dict[str, str]], default: str = DEFAULT_LANGUAGE):
        if default not in messages:
            raise ValueError(f"no catalogue for the default language {default!r}")
        self._messages = messages
        self.default = default

    @classmethod
    def load(cls, default: str = DEFAULT_LANGUAGE) -> Catalogue:
        """Merge every ``.po`` file of each language (one file per journey keeps them small)."""
        root = resources.files("bot") / "locales"
        messages: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            table: dict[str, str] = {}
            folder = root / language / "LC_MESSAGES"
            for po in sorted(folder.iterdir(), key=lambda entry: entry.name):
                if not po.name.endswith(".po"):
                    continue
                with po.open("rb") as handle:
                    catalog = read_po(handle, locale=language)
                for message in catalog:
                    if not message.id or not isinstance(message.string, str):
                        continue
                    key = str(message.id)
                    if key in table:
                        raise ValueError(f"message {key!r} is defined twice ({language}/{po.name})")
                    table[key] = message.string
            messages[language] = table
        return cls(messages, default)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._messages)

    def keys(self, language: str) -> set[str]:
        return set(self._messages[language])

    def raw(self, language: str, key: str) -> str:
        table = self._messages.get(language) or self._messages[self.default]
        template = table.get(key) or self._messages[self.default].get(key)
        if template is None:
            raise KeyError(f"message {key!r} is missing from the catalogue")
        return template

    def text(self, language: str | None, key: str, /, **params: Any) -> str:
        """The message ``key`` in ``language`` (falling back to Vietnamese), parameters escaped."""
        template = self.raw(language or self.default, key)
        if not params:
            return template
        return template.format(**{name: escape(value) for name, value in params.items()})

    def plain(self, language: str | None, key: str, /, **params: Any) -> str:
        """Like ``text`` for contexts that are not HTML (button labels, file names)."""
        template = self.raw(language or self.default, key)
        return template.format(**{name: str(value) for name, value in params.items()})

    def matches(self, key: str, value: str) -> bool:
        """Whether ``value`` is ``key`` in any language (reply-keyboard labels)."""
        return any(table.get(key) == value for table in self._messages.values())
