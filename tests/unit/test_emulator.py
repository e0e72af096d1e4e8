"""The Bot API emulator speaks Telegram's protocol well enough for the real PTB client.

Each test drives the emulator over HTTP with ``telegram.Bot`` (or raw aiohttp where the exact
JSON matters) and checks both sides: what PTB sees and what the test-client API records.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    LinkPreviewOptions,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.emulator import BotApiEmulator, HtmlParseError, parse_html

TOKEN = "123456:TEST"
NOT_MODIFIED = (
    "Message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.api_base_url, base_file_url=emu.file_base_url) as client:
        yield client


async def raw_call(emu: BotApiEmulator, method: str, token: str = TOKEN, **params: Any) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.url}/bot{token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in buttons]
    )


# -- protocol basics ---------------------------------------------------------------------------
async def test_get_me_has_telegram_shape(emu: BotApiEmulator, bot: Bot) -> None:
    status, body = await raw_call(emu, "getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["id"] == 123456
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "nhipcau_bot"
    me = await bot.get_me()
    assert me.username == "nhipcau_bot"
    assert me.first_name == "Nhịp Cầu"


async def test_wrong_token_and_unknown_method(emu: BotApiEmulator) -> None:
    assert await raw_call(emu, "getMe", token="1:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = await raw_call(emu, "sendTelepathy")
    assert (status, body["description"]) == (404, "Not Found")


async def test_get_updates_long_poll_wakes_when_user_sends(emu: BotApiEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await emu.wait_until(lambda: emu.stats.method_calls["getUpdates"] == 1)
    user = emu.user(1001, first_name="An", last_name="Nguyễn", username="an_nguyen")
    await user.send("/start ci_abc")
    updates = await asyncio.wait_for(poll, 3)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start ci_abc"
    assert message.chat.id == 1001
    assert message.from_user is not None
    assert message.from_user.last_name == "Nguyễn"
    assert message.parse_entities() == {message.entities[0]: "/start"}


async def test_get_updates_without_updates_returns_empty_after_timeout(bot: Bot) -> None:
    assert await asyncio.wait_for(bot.get_updates(timeout=0), 2) == ()


async def test_second_poller_terminates_the_first_with_conflict(
    emu: BotApiEmulator, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await emu.wait_until(lambda: emu.stats.method_calls["getUpdates"] == 1)
    # A second bot instance: PTB gives getUpdates a one-connection pool of its own.
    async with Bot(TOKEN, base_url=emu.api_base_url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=10))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 3)
        await emu.user(1001).send("hi")
        assert len(await asyncio.wait_for(second, 3)) == 1


async def test_offset_confirms_earlier_updates(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1002)
    for text in ("một", "hai", "ba"):
        await user.send(text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["một", "hai"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["ba"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert emu.pending_updates == 0


async def test_injected_update_gets_an_id_and_its_chat_becomes_known(
    emu: BotApiEmulator, bot: Bot
) -> None:
    chat = {"id": 4242, "type": "private", "first_name": "Fuzz"}
    sender = {"id": 4242, "is_bot": False, "first_name": "Fuzz"}
    await emu.inject_update(
        {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": chat, "from": sender}}
    )
    (update,) = await bot.get_updates()
    assert update.update_id == 1
    await bot.send_message(4242, "vẫn trả lời được")


# -- sending and the recorded state ------------------------------------------------------------
async def test_send_message_records_plain_text_html_and_buttons(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = emu.user(1001)
    sent = await bot.send_message(
        1001,
        "<b>Xin chào</b> &lt;An&gt; 🎉 <i>bạn</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Đồng ý", "act:reg:42")),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    assert sent.text == "Xin chào <An> 🎉 bạn"
    assert sent.text_html == "<b>Xin chào</b> &lt;An&gt; 🎉 <i>bạn</i>"
    message = await user.next_message()
    assert message.message_id == sent.message_id
    assert message.text == "Xin chào <An> 🎉 bạn"
    assert message.html == "<b>Xin chào</b> &lt;An&gt; 🎉 <i>bạn</i>"
    assert message.button_texts() == ["Đồng ý"]
    found = message.find_button("Đồng ý")
    assert found is not None
    assert found.callback_data == "act:reg:42"
    assert message.disable_notification is True
    assert message.link_preview_options == {"is_disabled": True}
    second = await bot.send_message(1001, "tiếp")
    assert second.message_id == sent.message_id + 1
    assert second.date.tzinfo is not None


async def test_message_ids_are_shared_with_user_messages_per_chat(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = emu.user(1001)
    other = emu.user(1002)
    sent_by_user = await user.send("chào")
    reply = await bot.send_message(1001, "chào bạn")
    assert reply.message_id == sent_by_user["message_id"] + 1
    assert (await bot.send_message(other.id, "xin chào")).message_id == 1


async def test_reply_keyboards_force_reply_and_contact_sharing(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = emu.user(1001, first_name="An")
    await bot.send_message(
        1001,
        "Chia sẻ số điện thoại",
        reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("📱 Chia sẻ số", request_contact=True)], ["Bỏ qua"]],
            resize_keyboard=True,
        ),
    )
    assert user.reply_keyboard is not None
    assert user.reply_keyboard[0][0].request_contact is True
    assert user.reply_keyboard[1][0].text == "Bỏ qua"
    await user.press_reply_button("📱 Chia sẻ số")
    await user.share_contact(phone_number="+84911111111", user_id=2002, first_name="Bình")
    own, other = [u.message for u in await bot.get_updates()]
    assert own is not None and own.contact is not None
    assert own.contact.user_id == 1001
    assert own.contact.phone_number == user.phone_number
    assert other is not None and other.contact is not None
    assert (other.contact.user_id, other.contact.phone_number) == (2002, "+84911111111")
    await bot.send_message(1001, "Xong", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard is None
    await bot.send_message(1001, "Tên bạn?", reply_markup=ForceReply())
    assert user.messages[-1].reply_markup == {"force_reply": True}


async def test_group_messages(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1001, first_name="An")
    group = emu.group(-100123, title="Chi đoàn A")
    await group.send(from_user=user, text="/start@nhipcau_bot")
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.chat.type == "supergroup"
    assert update.message.chat.title == "Chi đoàn A"
    assert update.message.entities[0].length == len("/start@nhipcau_bot")
    await bot.send_message(-100123, "Chào chi đoàn")
    assert (await group.next_message()).text == "Chào chi đoàn"
    chat = await bot.get_chat(-100123)
    assert chat.title == "Chi đoàn A"


async def test_copy_message_and_chat_action(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1001)
    admin = emu.user(9)
    sent = await user.send("Ý tưởng: trồng cây")
    copied = await bot.copy_message(9, from_chat_id=1001, message_id=sent["message_id"])
    assert (await admin.next_message()).message_id == copied.message_id
    assert admin.last_message is not None
    assert admin.last_message.text == "Ý tưởng: trồng cây"
    assert await bot.send_chat_action(1001, "typing")
    assert user.last_chat_action == "typing"


# -- Telegram's errors -------------------------------------------------------------------------
async def test_unknown_chat_is_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(555, "hello")


async def test_blocked_user_is_forbidden(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1001)
    user.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1001, "hello")
    assert user.messages == []
    user.unblock()
    await bot.send_message(1001, "hello")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a &nbsp; b", 'Unsupported HTML entity "&nbsp;" at byte offset 2'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b", 'Unclosed start tag "b" at byte offset 0'),
    ],
)
async def test_html_parse_errors(emu: BotApiEmulator, bot: Bot, html: str, reason: str) -> None:
    emu.user(1001)
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(1001, html, parse_mode=ParseMode.HTML)
    # PTB capitalizes Telegram's description, which lowercases the rest of it.
    assert caught.value.message == f"Can't parse entities: {reason}".capitalize()
    status, body = await raw_call(emu, "sendMessage", chat_id=1001, text=html, parse_mode="HTML")
    assert (status, body["description"]) == (400, f"Bad Request: can't parse entities: {reason}")


def test_html_parser_accepts_telegram_tags_with_utf16_offsets() -> None:
    parsed = parse_html(
        '😀 <b>đậm <i>nghiêng</i></b> <a href="https://doan.vn/?a=1&amp;b=2">link</a> '
        '<span class="tg-spoiler">bí mật</span> <tg-spoiler>x</tg-spoiler> A & B &#39;q&#x27; '
        '<pre><code class="language-python">print(1)</code></pre> '
        "<blockquote expandable>trích</blockquote> <u>u</u><s>s</s><code>c</code>"
    )
    assert parsed.text.startswith("😀 đậm nghiêng link bí mật x A & B 'q' print(1) trích")
    by_type = {e["type"]: e for e in parsed.entities}
    assert by_type["bold"] == {"type": "bold", "offset": 3, "length": 11}
    assert by_type["italic"]["offset"] == 7
    assert by_type["text_link"]["url"] == "https://doan.vn/?a=1&b=2"
    assert by_type["pre"]["language"] == "python"
    assert "code" in by_type
    assert "expandable_blockquote" in by_type
    assert '<a href="https://doan.vn/?a=1&amp;b=2"' in parsed.safe_html
    with pytest.raises(HtmlParseError):
        parse_html("<script>alert(1)</script>")


async def test_empty_and_too_long_texts(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1001, "   ")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1001, "<b></b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1001, "a" * 4097)
    # The limit is on the text after entity parsing: tags do not count.
    await bot.send_message(1001, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(1001, b"x", filename="a.txt", caption="c" * 1025)


async def test_callback_data_over_64_bytes_is_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001)
    too_long = "đ" * 33  # 66 bytes in UTF-8 although only 33 characters
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1001, "x", reply_markup=keyboard(("Nút", too_long)))
    await bot.send_message(1001, "x", reply_markup=keyboard(("Nút", "đ" * 32)))


async def test_edit_errors(emu: BotApiEmulator, bot: Bot) -> None:
    emu.user(1001)
    sent = await bot.send_message(1001, "Xin chào", reply_markup=keyboard(("A", "a")))
    with pytest.raises(BadRequest) as caught:
        await bot.edit_message_text(
            "Xin chào", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    assert caught.value.message == NOT_MODIFIED.capitalize()
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=999)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(1001, 999)
    with pytest.raises(BadRequest, match="no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=1001, message_id=sent.message_id, caption="c")


async def test_rate_limits_reject_without_recording(
    emu: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22's future-proof RetryAfter.retry_after
    user = emu.user(1001)
    other = emu.user(1002)
    emu.per_chat_rate_limit = 1
    await bot.send_message(1001, "một")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1001, "hai")
    assert caught.value.retry_after == dt.timedelta(seconds=1)
    assert [m.text for m in user.messages] == ["một"]
    await bot.send_message(1002, "khác chat vẫn được")
    emu.per_chat_rate_limit = None
    emu.global_rate_limit = 2  # counted from now on: earlier sends were not tracked
    await bot.send_message(1001, "ba")
    await bot.send_message(1002, "bốn")
    with pytest.raises(RetryAfter):
        await bot.send_message(1002, "quá giới hạn chung")
    status, body = await raw_call(emu, "sendMessage", chat_id=1002, text="raw")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert emu.stats.rate_limited == 3
    assert emu.stats.sent_messages == 4
    assert len(other.messages) == 2
    emu.global_rate_limit = None
    await bot.send_message(1002, "hết giới hạn")


# -- edits, deletes, clicks --------------------------------------------------------------------
async def test_edits_apply_in_place_and_drop_keyboard_when_not_repeated(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = emu.user(1001)
    sent = await bot.send_message(1001, "Đang xử lý", reply_markup=keyboard(("Huỷ", "cancel")))
    edited = await bot.edit_message_text(
        "<b>Xong</b>", chat_id=1001, message_id=sent.message_id, parse_mode=ParseMode.HTML
    )
    assert not isinstance(edited, bool)
    assert edited.edit_date is not None
    message = await user.wait_for(lambda m: m.text == "Xong")
    assert message.edit_count == 1
    assert message.buttons == []
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard(("Lại", "r")))
    assert message.button_texts() == ["Lại"]
    assert await bot.delete_message(1001, sent.message_id)
    assert user.messages == []
    assert message.deleted
    assert (await user.next_message()).message_id == sent.message_id


async def test_click_and_callback_answer(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1001, first_name="An")
    sent = await bot.send_message(
        1001, "Đăng ký?", reply_markup=keyboard(("Đồng ý", "act:reg:42"), ("Không", "act:no"))
    )
    query_id = await user.click("Đồng ý")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "act:reg:42"
    assert query.from_user.id == 1001
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert query.chat_instance
    await query.answer("Đã đăng ký", show_alert=True)
    answer = await user.next_callback_answer()
    assert (answer.text, answer.show_alert) == ("Đã đăng ký", True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)

    await user.click(data="act:reg:999")  # forged: no such button
    forged = (await bot.get_updates(offset=update.update_id + 1))[0].callback_query
    assert forged is not None
    assert forged.data == "act:reg:999"
    assert forged.message is not None
    assert forged.message.message_id == sent.message_id


async def test_click_waits_for_the_button_and_times_out_with_a_dump(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = emu.user(1001)
    press = asyncio.create_task(user.click("Sau", timeout=3))
    await bot.send_message(1001, "Trang 1", reply_markup=keyboard(("Sau", "page:2")))
    assert await asyncio.wait_for(press, 3)
    with pytest.raises(TimeoutError, match="Trang 1"):
        await user.click("Không có", timeout=0.05)
    user.skip_pending()
    with pytest.raises(TimeoutError, match="No new bot message in chat 1001"):
        await user.next_message(timeout=0.05)


# -- files -------------------------------------------------------------------------------------
async def test_bot_upload_get_file_download_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1001)
    content = "họ tên,điểm\nAn,10\n".encode()
    sent = await bot.send_document(
        1001,
        content,
        filename="diem.csv",
        caption="<b>Bảng điểm</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Tải lại", "reload")),
    )
    assert sent.document is not None
    assert sent.document.file_name == "diem.csv"
    assert sent.caption == "Bảng điểm"
    recorded = await user.next_message()
    assert recorded.document is not None
    assert recorded.document.content == content
    assert recorded.document.mime_type == "text/csv"
    assert recorded.caption == "Bảng điểm"
    telegram_file = await bot.get_file(sent.document.file_id)
    assert bytes(await telegram_file.download_as_bytearray()) == content

    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000000808060000")
    photo = await bot.send_photo(1001, png, caption="Ảnh")
    assert photo.photo[-1].width == 16
    again = await bot.send_photo(1001, photo.photo[-1].file_id)
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    edited = await bot.edit_message_caption(1001, photo.message_id, caption="Ảnh mới")
    assert not isinstance(edited, bool)
    assert edited.caption == "Ảnh mới"
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(1001, "no-such-file-id")


async def test_edit_message_media_replaces_the_photo_and_caption_like_telegram(
    emu: BotApiEmulator, bot: Bot
) -> None:
    user = emu.user(1001)
    first_png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000000808060000")
    second_png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000200000002008060000")
    sent = await bot.send_photo(
        1001, first_png, caption="Mã <b>111111</b>", parse_mode=ParseMode.HTML
    )
    edited = await bot.edit_message_media(
        InputMediaPhoto(second_png, caption="Mã <b>222222</b>", parse_mode=ParseMode.HTML),
        chat_id=1001,
        message_id=sent.message_id,
        reply_markup=keyboard(("🔄 Hiện lại mã", "att:qs:1")),
    )
    assert not isinstance(edited, bool)
    assert edited.caption == "Mã 222222"
    assert edited.photo[-1].width == 32 and edited.edit_date is not None
    assert edited.photo[-1].file_id != sent.photo[-1].file_id
    recorded = await user.wait_for(lambda m: m.caption == "Mã 222222")
    assert recorded.message_id == sent.message_id and recorded.edit_count == 1
    assert recorded.photo is not None and recorded.photo.content == second_png
    assert recorded.caption_entities == [{"type": "bold", "offset": 3, "length": 6}]
    assert recorded.button_texts() == ["🔄 Hiện lại mã"]
    assert emu.stats.method_calls["editMessageMedia"] == 1

    # The same file, caption and buttons again: Telegram's "not modified".
    same = InputMediaPhoto(edited.photo[-1].file_id, caption="Mã <b>222222</b>", parse_mode="HTML")
    with pytest.raises(BadRequest) as caught:
        await bot.edit_message_media(
            same,
            chat_id=1001,
            message_id=sent.message_id,
            reply_markup=keyboard(("🔄 Hiện lại mã", "att:qs:1")),
        )
    assert caught.value.message == NOT_MODIFIED.capitalize()
    # Without reply_markup the keyboard goes, as with the other edits.
    await bot.edit_message_media(same, chat_id=1001, message_id=sent.message_id)
    assert recorded.buttons == []
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_media(same, chat_id=1001, message_id=999)
    status, body = await raw_call(
        emu, "editMessageMedia", chat_id=1001, message_id=sent.message_id, media="{not json"
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse input media JSON object",
    )
    status, body = await raw_call(
        emu, "editMessageMedia", chat_id=1001, message_id=sent.message_id, media={"type": "photo"}
    )
    assert body["description"] == "Bad Request: can't parse InputMedia: Media is not specified"
    too_long = InputMediaPhoto(second_png, caption="x" * 1025)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.edit_message_media(too_long, chat_id=1001, message_id=sent.message_id)

    # A text message gains a photo (Bot API 7.x: "or to add media to text messages").
    text = await bot.send_message(1001, "Đang tạo mã…")
    await bot.edit_message_media(
        InputMediaPhoto(first_png, caption="Mã mới"), chat_id=1001, message_id=text.message_id
    )
    became = await user.wait_for(lambda m: m.caption == "Mã mới")
    assert became.message_id == text.message_id and became.text == ""
    assert became.photo is not None and became.photo.content == first_png


async def test_user_document_can_be_downloaded_by_the_bot(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.user(1001)
    await user.send_document(b"id,name\n1,An\n", filename="ds.csv", mime_type="text/csv")
    await user.send_photo(b"\xff\xd8fakejpeg", caption="ảnh")
    doc_update, photo_update = await bot.get_updates()
    assert doc_update.message is not None and doc_update.message.document is not None
    assert doc_update.message.document.mime_type == "text/csv"
    file = await doc_update.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == b"id,name\n1,An\n"
    assert photo_update.message is not None
    photo_file = await photo_update.message.photo[-1].get_file()
    assert bytes(await photo_file.download_as_bytearray()) == b"\xff\xd8fakejpeg"


# -- webhook, commands, menu -------------------------------------------------------------------
async def test_webhook_delivery_with_secret_header(emu: BotApiEmulator, bot: Bot) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        await received.put((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == f"http://127.0.0.1:{port}/hook"
        user = emu.user(1001)
        await user.send("qua webhook")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cret"
        assert update["message"]["text"] == "qua webhook"
        assert isinstance(update["update_id"], int)
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert await bot.delete_webhook()
        await user.send("lại polling")
        (polled,) = await bot.get_updates()
        assert polled.message is not None
        assert polled.message.text == "lại polling"
    finally:
        await runner.cleanup()


async def test_commands_are_recorded_per_scope(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Bắt đầu")])
    await bot.set_my_commands(
        [BotCommand("start", "Bắt đầu"), BotCommand("hoatdong", "Hoạt động")],
        scope=BotCommandScopeAllPrivateChats(),
    )
    await bot.set_my_commands(
        [BotCommand("duyet", "Duyệt sáng kiến")], scope=BotCommandScopeChat(chat_id=9)
    )
    assert emu.commands() == [("start", "Bắt đầu")]
    assert emu.commands("all_private_chats")[1] == ("hoatdong", "Hoạt động")
    assert emu.commands(("chat", 9)) == [("duyet", "Duyệt sáng kiến")]
    fetched = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=9))
    assert [c.command for c in fetched] == ["duyet"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=9))
    assert emu.commands(("chat", 9)) == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    assert emu.menu_button_default == {"type": "commands"}


# -- with a real PTB Application -----------------------------------------------------------------
async def test_ptb_application_deep_link_round_trip(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"payload={context.args}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(emu.api_base_url)
        .base_file_url(emu.file_base_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        user = emu.user(1001)
        await user.send("/start ci_abc")
        assert (await user.next_message()).text == "payload=['ci_abc']"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_web_chat_api_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    async with aiohttp.ClientSession(emu.url) as http:
        async with http.get("/") as page:
            assert 'id="persona"' in await page.text()
        async with http.post("/chat/api/session", json={"random": True}) as response:
            user_id = (await response.json())["user_id"]
        async with http.post("/chat/api/send", json={"user_id": user_id, "text": "hi"}) as sent:
            assert sent.status == 200
        await bot.send_message(
            user_id, "<b>chào</b><script>", parse_mode=None, reply_markup=keyboard(("A", "a"))
        )
        async with http.get(f"/chat/api/updates?user_id={user_id}&cursor=0&timeout=1") as polled:
            body = await polled.json()
    kinds = [item["kind"] for item in body["items"]]
    assert kinds == ["user", "bot"]
    assert body["items"][1]["html"] == "&lt;b&gt;chào&lt;/b&gt;&lt;script&gt;"
    assert body["items"][1]["buttons"] == [[{"text": "A", "data": "a", "url": None}]]
