"""The emulator's web chat: a page where a person talks to the bot as one of the personas.

``GET /`` serves ``static/index.html``; the page calls the JSON endpoints under ``/chat/api/``,
which act through the same test-client API the end-to-end tests use.
"""

from __future__ import annotations

import html
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.chats import EmulatedUser
from bot.emulator.models import BotMessage
from bot.emulator.zalo import persona_zalo_id
from bot.emulator.zalo_webchat import add_zalo_webchat_routes

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

__all__ = ["STATIC_DIR", "add_webchat_routes"]

STATIC_DIR = Path(__file__).with_name("static")
_STATIC_FILES = {"index.html", "chat.css", "chat.js", "zalo.js"}
_MAX_POLL_SECONDS = 25.0


def add_webchat_routes(app: web.Application, emu: BotApiEmulator) -> None:
    chat = WebChat(emu)
    app.router.add_get("/", chat.index)
    app.router.add_get("/static/{name}", chat.static)
    app.router.add_get("/chat/api/personas", chat.personas)
    app.router.add_post("/chat/api/session", chat.session)
    app.router.add_post("/chat/api/send", chat.send)
    app.router.add_post("/chat/api/click", chat.click)
    app.router.add_post("/chat/api/contact", chat.contact)
    app.router.add_post("/chat/api/upload", chat.upload)
    app.router.add_get("/chat/api/updates", chat.updates)
    app.router.add_get("/chat/api/file/{file_id}", chat.file)
    add_zalo_webchat_routes(app, emu)


class WebChat:
    """Request handlers of the web chat, bound to one emulator."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self._emu = emu

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in _STATIC_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC_DIR / name)

    async def personas(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "bot": {
                    "username": self._emu.bot_username,
                    "name": self._emu.bot_first_name,
                    "zalo_name": self._emu.zalo.bot_name,
                },
                "personas": [
                    {
                        "user_id": p.user_id,
                        "label": p.label,
                        "first_name": p.first_name,
                        "last_name": p.last_name,
                        "username": p.username,
                        "phone_number": p.phone,
                        "zalo_user_id": persona_zalo_id(p.user_id),
                    }
                    for p in self._emu.personas
                ],
            }
        )

    async def session(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user_id = body.get("user_id")
        persona = next((p for p in self._emu.personas if p.user_id == user_id), None)
        if persona is not None:
            user = self._emu.persona_user(persona)
        else:
            # A brand-new member: an id no persona or earlier random user has.
            new_id = random.randint(6_000_000_000, 6_999_999_999)
            while self._emu.chat(new_id) is not None:
                new_id += 1
            suffix = str(new_id)[-4:]
            user = self._emu.user(new_id, first_name="Khách", last_name=suffix)
        return web.json_response(
            {
                "user_id": user.user_id,
                "name": " ".join(filter(None, [user.first_name, user.last_name])),
                "phone_number": user.phone_number,
                "cursor": 0,
            }
        )

    def _user(self, body: dict[str, Any]) -> EmulatedUser:
        try:
            user_id = int(body.get("user_id", 0))
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text="user_id must be an integer") from None
        user = self._emu.chat(user_id)
        if not isinstance(user, EmulatedUser):
            raise web.HTTPNotFound(text="unknown user; start a session first")
        return user

    async def send(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self._user(body)
        text = str(body.get("text", ""))
        if not text.strip():
            raise web.HTTPBadRequest(text="empty message")
        message = await user.send(text)
        return web.json_response({"message_id": message["message_id"]})

    async def click(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self._user(body)
        message_id = int(body.get("message_id", 0))
        data = str(body.get("data", ""))
        query_id = await user.click(data=data, message_id=message_id, timeout=0)
        return web.json_response({"callback_query_id": query_id})

    async def contact(self, request: web.Request) -> web.Response:
        user = self._user(await _body(request))
        message = await user.share_contact()
        return web.json_response({"message_id": message["message_id"]})

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        user = self._user({"user_id": form.get("user_id")})
        field = form.get("file")
        if not isinstance(field, web.FileField):
            raise web.HTTPBadRequest(text="no file")
        content = field.file.read()
        caption = form.get("caption")
        caption_text = caption if isinstance(caption, str) and caption else None
        if field.content_type.startswith("image/"):
            message = await user.send_photo(content, caption=caption_text)
        else:
            message = await user.send_document(
                content, filename=field.filename, mime_type=field.content_type, caption=caption_text
            )
        return web.json_response({"message_id": message["message_id"]})

    async def updates(self, request: web.Request) -> web.Response:
        user = self._user(dict(request.query))
        cursor = max(int(request.query.get("cursor", "0")), 0)
        timeout = min(float(request.query.get("timeout", "20")), _MAX_POLL_SECONDS)
        deadline = time.monotonic() + timeout
        while len(user.log) <= cursor and not self._emu.closing:
            if not await user.wait_change(deadline - time.monotonic()):
                break
        entries = user.log[cursor:]
        items: list[dict[str, Any]] = []
        seen: set[tuple[str, int]] = set()
        # Several changes of one message collapse into its current state, in last-change order.
        for kind, item_id in reversed(entries):
            if (kind, item_id) in seen or kind == "stop":
                continue
            seen.add((kind, item_id))
            item = self._render(user, kind, item_id)
            if item is not None:
                items.append(item)
        items.reverse()
        keyboard = (
            [
                [{"text": b.text, "request_contact": b.request_contact} for b in row]
                for row in user.reply_keyboard
            ]
            if user.reply_keyboard
            else None
        )
        return web.json_response(
            {"cursor": cursor + len(entries), "items": items, "reply_keyboard": keyboard}
        )

    def _render(self, user: EmulatedUser, kind: str, item_id: int) -> dict[str, Any] | None:
        if kind == "bot":
            message = user.bot_message(item_id)
            return _render_bot(message) if message is not None else None
        if kind == "answer":
            answer = user.answers[item_id]
            return {
                "kind": "answer",
                "id": item_id,
                "text": answer.text or "",
                "show_alert": answer.show_alert,
            }
        raw = user.user_message(item_id)
        if raw is None:
            return {"kind": "user", "id": item_id, "deleted": True, "html": ""}
        return {"kind": "user", "id": item_id, "deleted": False, "html": _render_user(raw)}

    async def file(self, request: web.Request) -> web.StreamResponse:
        file = self._emu.file(request.match_info["file_id"])
        if file is None:
            raise web.HTTPNotFound()
        headers = {}
        if file.filename and not (file.mime_type or "").startswith("image/"):
            quoted = file.filename.replace('"', "")
            headers["Content-Disposition"] = f'attachment; filename="{quoted}"'
        return web.Response(
            body=file.content,
            content_type=file.mime_type or "application/octet-stream",
            headers=headers,
        )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="JSON body expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return body


def _file_url(file_id: str) -> str:
    return f"/chat/api/file/{file_id}"


def _render_bot(message: BotMessage) -> dict[str, Any]:
    # safe_html was produced by the emulator's own parser: only Telegram's tags, escaped text.
    item: dict[str, Any] = {
        "kind": "bot",
        "id": message.message_id,
        "html": message.safe_html,
        "edited": message.edit_count > 0,
        "deleted": message.deleted,
        "buttons": [
            [{"text": b.text, "data": b.callback_data, "url": b.url} for b in row]
            for row in message.buttons
        ],
    }
    if message.document is not None:
        item["document"] = {
            "name": message.document.filename or "tệp",
            "url": _file_url(message.document.file_id),
            "size": message.document.size,
        }
    if message.photo is not None:
        item["photo"] = {"url": _file_url(message.photo.file_id)}
    return item


def _render_user(raw: dict[str, Any]) -> str:
    if isinstance(raw.get("text"), str):
        return html.escape(raw["text"], quote=False)
    parts: list[str] = []
    contact = raw.get("contact")
    if isinstance(contact, dict):
        phone = html.escape(str(contact.get("phone_number", "")))
        parts.append(f"📱 Đã chia sẻ số điện thoại: {phone}")
    document = raw.get("document")
    if isinstance(document, dict):
        name = html.escape(str(document.get("file_name", "tệp")))
        url = html.escape(_file_url(str(document.get("file_id", ""))))
        parts.append(f'📎 <a href="{url}" download>{name}</a>')
    photo = raw.get("photo")
    if isinstance(photo, list) and photo:
        url = html.escape(_file_url(str(photo[-1].get("file_id", ""))))
        parts.append(f'<img class="photo" src="{url}" alt="ảnh">')
    caption = raw.get("caption")
    if isinstance(caption, str):
        parts.append(html.escape(caption, quote=False))
    return "<br>".join(parts) or html.escape(str(sorted(raw.keys() - {"from", "chat"})))
