"""The message catalogue: both languages complete, placeholders consistent, user content escaped."""

from __future__ import annotations

import logging

from bot.i18n import Catalogue, Raw, placeholders
from bot.logging_setup import RedactingFilter


def test_every_key_exists_in_both_languages_with_the_same_placeholders() -> None:
    catalogue = Catalogue.load()
    assert catalogue.keys("vi") == catalogue.keys("en")
    for key in catalogue.keys("vi"):
        vi, en = catalogue.raw("vi", key), catalogue.raw("en", key)
        assert vi.strip() and en.strip(), key
        assert placeholders(vi) == placeholders(en), key


def test_parameters_are_html_escaped_unless_marked_raw() -> None:
    catalogue = Catalogue.load()
    text = catalogue.text("vi", "start.welcome", name="<b>Tom & Jerry</b>")
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in text
    assert "<b>x</b>" in catalogue.text("en", "start.welcome", name=Raw("<b>x</b>"))


def test_unknown_language_falls_back_to_vietnamese() -> None:
    catalogue = Catalogue.load()
    assert catalogue.text("fr", "help.text") == catalogue.text("vi", "help.text")


def test_logs_never_show_the_token() -> None:
    token = "123456789:AAEsecretsecretsecretsecret"
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "POST https://api.telegram.org/bot%s/getMe",
        (token,),
        None,
    )
    RedactingFilter((token,)).filter(record)
    assert token not in record.getMessage()
    assert "<token>" in record.getMessage()
