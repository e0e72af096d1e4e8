"""Notices (an activity changed, was cancelled, a seat from the waitlist), rendered for every
channel in their recipient's language at send time: the view is
``handlers.outbox_views.notice_reply``; each channel's outbox sends it."""

from __future__ import annotations

from datetime import tzinfo

from bot.domain.notices import Notice
from bot.i18n import Catalogue
from handlers.dialog import Rows
from handlers.outbox_views import notice_reply, when_text

__all__ = ["notice_reply", "render_notice", "when_text"]


def render_notice(notice: Notice, catalogue: Catalogue, tz: tzinfo) -> tuple[str, Rows]:
    """The text and the choices of a notice."""
    reply = notice_reply(notice, catalogue, tz)
    return reply.text, reply.buttons
