"""The web chat's Zalo conversation: JSON endpoints under ``/chat/api/zalo/`` for the Zalo pane.

The page picks a channel per persona; on Zalo the person is a :class:`ZaloUser` (the persona's
stable Zalo id) and everything goes through the same test-client API the tests use. Zalo shows
plain text (no buttons), photos and stickers, so that is all this renders.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.zalo import new_zalo_user_id, persona_zalo_id
from bot.emulator.zalo_models import ZaloBotMessage
from bot.emulator.zalo_users import ZaloUser

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

__all__ = ["add_zalo_webchat_routes"]

_MAX_POLL_SECONDS = 25.0


def add_zalo_webchat_routes(app: web.Application, emu: BotApiEmulator) -> None:
    chat = ZaloWebChat(emu)
    app.router.add_post("/chat/api/zalo/session", chat.session)
    app.router.add_post("/chat/api/zalo/send", chat.send)
    app.router.add_post("/chat/api/zalo/upload", chat.upload)
    app.router.add_post("/chat/api/zalo/sticker", chat.sticker)
    app.router.add_post("/chat/api/zalo/unsupported", chat.unsupported)
    app.router.add_get("/chat/api/zalo/updates", chat.updates)


class ZaloWebChat:
    """Request handlers of the Zalo pane, bound to one emulator."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self._emu = emu

    async def session(self, request: web.Request) -> web.Response:
        body = await _body(request)
        persona = next((p for p in self._emu.personas if p.user_id == body.get("user_id")), None)
        if persona is not None:
            name = " ".join(filter(None, [persona.first_name, persona.last_name]))
            user = self._emu.zalo_user(persona_zalo_id(persona.user_id), display_name=name)
        else:
            new_id = new_zalo_user_id()
            user = self._emu.zalo_user(new_id, display_name=f"Khách {new_id[-4:]}")
        return web.json_response(
            {"user_id": user.user_id, "name": user.display_name, "bot": self._emu.zalo.bot_name}
        )

    def _user(self, user_id: Any) -> ZaloUser:
        user = self._emu.zalo.chat(str(user_id or ""))
        if user is None:
            raise web.HTTPNotFound(text="unknown Zalo user; start a session first")
        return user

    async def send(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self._user(body.get("user_id"))
        text = str(body.get("text", ""))
        if not text.strip():
            raise web.HTTPBadRequest(text="empty message")
        event = await user.send(text)
        return web.json_response({"message_id": event["message"]["message_id"]})

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        user = self._user(form.get("user_id"))
        field = form.get("file")
        if not isinstance(field, web.FileField) or not field.content_type.startswith("image/"):
            raise web.HTTPBadRequest(text="Zalo takes photos only")
        caption = form.get("caption")
        event = await user.send_image(
            field.file.read(),
            caption=caption if isinstance(caption, str) and caption else None,
            content_type=field.content_type,
        )
        return web.json_response({"message_id": event["message"]["message_id"]})

    async def sticker(self, request: web.Request) -> web.Response:
        user = self._user((await _body(request)).get("user_id"))
        event = await user.send_sticker()
        return web.json_response({"message_id": event["message"]["message_id"]})

    async def unsupported(self, request: web.Request) -> web.Response:
        user = self._user((await _body(request)).get("user_id"))
        event = await user.send_unsupported()
        return web.json_response({"message_id": event["message"]["message_id"]})

    async def updates(self, request: web.Request) -> web.Response:
        user = self._user(request.query.get("user_id"))
        try:
            cursor = max(int(request.query.get("cursor", "0")), 0)
            timeout = min(float(request.query.get("timeout", "20")), _MAX_POLL_SECONDS)
        except ValueError:
            raise web.HTTPBadRequest(text="cursor and timeout are numbers") from None
        deadline = time.monotonic() + timeout
        while len(user.log) <= cursor and not self._emu.zalo.closing:
            if not await user.wait_change(deadline - time.monotonic()):
                break
        entries = user.log[cursor:]
        items = [
            _render_bot(index, user.bot_message_at(index))
            if kind == "bot"
            else _render_user(index, user.sent_events[index], self._emu.url)
            for kind, index in entries
        ]
        return web.json_response({"cursor": cursor + len(entries), "items": items})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="JSON body expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return body


def _render_bot(index: int, message: ZaloBotMessage) -> dict[str, Any]:
    # Plain values only: the page puts text in with textContent, never as HTML.
    item: dict[str, Any] = {"kind": "bot", "id": index, "text": message.content}
    if message.photo is not None:
        # The emulator's copy, fetched when the bot sent it, as Zalo's users see Zalo's copy.
        item["photo"] = {"url": message.photo.path}
    if message.sticker is not None:
        item["sticker"] = message.sticker
    return item


def _render_user(index: int, event: dict[str, Any], own_url: str) -> dict[str, Any]:
    message = event.get("message", {})
    name = str(event.get("event_name", ""))
    item: dict[str, Any] = {"kind": "user", "id": index, "text": ""}
    if name == "message.text.received":
        item["text"] = str(message.get("text", ""))
    elif name == "message.image.received":
        url = str(message.get("photo", ""))
        item["photo"] = {"url": url.removeprefix(own_url) if url.startswith(own_url) else url}
        item["text"] = str(message.get("caption") or "")
    elif name == "message.sticker.received":
        item["sticker"] = str(message.get("sticker", ""))
    elif name == "message.voice.received":
        item["voice"] = True
    else:
        item["unsupported"] = True
    return item
