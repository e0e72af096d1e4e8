"""Photos that renew themselves on Telegram (the cadre's check-in QR): the message is edited
with ``editMessageMedia`` each time its frame is due, for as long as the journey asked, then
paused with a caption of its own. A task per message, in memory only: a display, not a
promise. After a restart the message keeps its last frame (the journey's codes expire by
themselves) and its button shows it again."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ExtBot

from bot.channels.telegram.conversation import inline_markup, input_file
from bot.clock import Clock
from handlers.dialog import Frame, NextFrame, Reply

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often a shown photo looks at the clock
NEVER_SHOWN = datetime.min.replace(tzinfo=UTC)  # a frame not shown yet is due at once

AnyApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class _Display:
    """A photo message being kept fresh: which one, what it shows and until when."""

    chat_id: int
    message_id: int
    due: datetime  # when the frame shown must be replaced
    until: datetime
    next_frame: NextFrame
    paused: Reply


class RenewingPhotos:
    """The displays of one running bot, keyed by message: a newer show of the same message
    takes over (the older loop sees it is no longer the registered one and ends)."""

    def __init__(self, app: AnyApp, clock: Clock) -> None:
        self._app = app
        self._clock = clock
        self._displays: dict[tuple[int, int], _Display] = {}

    async def show(
        self,
        bot: ExtBot[None],
        chat_id: int,
        pressed: Message | None,
        first: Frame,
        next_frame: NextFrame,
        *,
        until: datetime,
        paused: Reply,
    ) -> None:
        """``first`` in ``pressed`` when it is a photo, else in a new photo; then kept fresh."""
        photo = first.reply.photo
        assert photo is not None, "a renewing frame is a photo"
        if pressed is not None and pressed.photo:
            display = _Display(chat_id, pressed.message_id, NEVER_SHOWN, until, next_frame, paused)
            if not await self._edit(display, first):
                return
        else:
            message = await bot.send_photo(
                chat_id,
                await input_file(photo),
                caption=first.reply.text or None,
                reply_markup=inline_markup(first.reply.buttons),
            )
            display = _Display(
                message.chat_id, message.message_id, first.changes_at, until, next_frame, paused
            )
        key = (display.chat_id, display.message_id)
        self._displays[key] = display
        self._app.create_task(self._refresh(display), name=f"photo-{key[0]}-{key[1]}")

    def _current(self, display: _Display) -> bool:
        return self._displays.get((display.chat_id, display.message_id)) is display

    async def _refresh(self, display: _Display) -> None:
        key = (display.chat_id, display.message_id)
        # Stops within POLL_S when the bot stops (Application.stop waits for its tasks).
        while self._app.running and self._current(display):
            now = self._clock.now()
            if now >= display.until:
                self._displays.pop(key, None)
                await self._pause(display)
                return
            if now >= display.due:
                frame = await display.next_frame()
                if not self._current(display):
                    return
                if frame is None:
                    self._displays.pop(key, None)
                    await self._pause(display)
                    return
                if not await self._edit(display, frame):
                    self._displays.pop(key, None)
                    return
            await asyncio.sleep(POLL_S)

    async def _edit(self, display: _Display, frame: Frame) -> bool:
        """Put ``frame`` in the message; False when it cannot be edited any more."""
        photo = frame.reply.photo
        assert photo is not None and photo.content is not None
        try:
            await self._app.bot.edit_message_media(
                InputMediaPhoto(
                    photo.content, caption=frame.reply.text or None, filename=photo.filename
                ),
                chat_id=display.chat_id,
                message_id=display.message_id,
                reply_markup=inline_markup(frame.reply.buttons),
            )
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            await asyncio.sleep(seconds)
            return True  # the frame shown is still the old one: the next look tries again
        except BadRequest as exc:
            if "not modified" not in exc.message:
                log.info("photo message %s can no longer be renewed: %s", display.message_id, exc)
                return False
        except Forbidden:
            return False
        except TelegramError as exc:
            log.warning("could not renew photo message %s: %s", display.message_id, exc)
            return True
        display.due = frame.changes_at
        return True

    async def _pause(self, display: _Display) -> None:
        """Time is up: say so on the message and offer its button."""
        try:
            await self._app.bot.edit_message_caption(
                chat_id=display.chat_id,
                message_id=display.message_id,
                caption=display.paused.text,
                reply_markup=inline_markup(display.paused.buttons),
            )
        except TelegramError as exc:
            log.info("could not pause photo message %s: %s", display.message_id, exc)
