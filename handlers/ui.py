"""Rendering helpers shared by the journeys: replies from the catalogue, keyboards, the menu."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest

from handlers.context import BotContext
from handlers.menus import MENU_KEYS, menu_layout

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def inline(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def page_row(
    update: Update,
    context: BotContext,
    page: int,
    pages: int,
    to_page: Callable[[int], str],
    *,
    counter: str | None = None,
) -> list[tuple[str, str]]:
    """The ◀️ ▶️ row under a paginated list (empty when it fits on one page): ``to_page(n)`` is
    page n's callback data; with ``counter``, an "n/m" button with that data sits between."""
    row: list[tuple[str, str]] = []
    if page > 0:
        row.append((await context.label(update, "common.previous"), to_page(page - 1)))
    if counter is not None and pages > 1:
        row.append((f"{page + 1}/{pages}", counter))
    if page + 1 < pages:
        row.append((await context.label(update, "common.next"), to_page(page + 1)))
    return row


async def main_menu(update: Update, context: BotContext) -> ReplyKeyboardMarkup:
    actor = await context.actor(update)
    layout = menu_layout(actor)
    rows = [[KeyboardButton(await context.label(update, key)) for key in row] for row in layout]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


async def menu_key_of(context: BotContext, text: str) -> str | None:
    """The menu entry a reply-keyboard label stands for, in either language."""
    catalogue = context.services.catalogue
    return next((key for key in MENU_KEYS if catalogue.matches(key, text)), None)


async def say(
    update: Update,
    context: BotContext,
    key: str,
    /,
    reply_markup: ReplyMarkup | None = None,
    **params: Any,
) -> Message | None:
    """Send catalogue message ``key`` to the chat of the update."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.bot.send_message(
        chat.id, await context.text(update, key, **params), reply_markup=reply_markup
    )


async def ask_to_confirm(
    update: Update,
    context: BotContext,
    key: str,
    /,
    *,
    yes: tuple[str, str],
    no: tuple[str, str],
    **params: Any,
) -> None:
    """A question with two buttons, one per row: ``yes``/``no`` are (label key, callback)."""
    rows = [[(await context.label(update, label), data)] for label, data in (yes, no)]
    await say(update, context, key, reply_markup=inline(rows), **params)


async def answer(
    update: Update,
    context: BotContext,
    key: str | None = None,
    /,
    alert: bool = False,
    **params: Any,
) -> None:
    """Answer the pressed button (Telegram shows a spinner until this is called)."""
    query = update.callback_query
    if query is None or context.query_answered:
        return
    context.query_answered = True
    text = await context.label(update, key, **params) if key else None
    await query.answer(text, show_alert=alert)


async def edit_or_send(
    update: Update,
    context: BotContext,
    key: str,
    /,
    reply_markup: InlineKeyboardMarkup | None = None,
    **params: Any,
) -> None:
    """Replace the message whose button was pressed; send a new one for typed input."""
    query = update.callback_query
    text = await context.text(update, key, **params)
    if query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=reply_markup)
        except BadRequest as exc:
            # A double tap re-renders the same content; Telegram refuses "not modified".
            if "not modified" not in exc.message:
                raise
    else:
        chat = update.effective_chat
        if chat is not None:
            await context.bot.send_message(chat.id, text, reply_markup=reply_markup)
