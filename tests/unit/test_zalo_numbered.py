"""Zalo's numbered choices: a turn's replies as plain messages, and answers read back."""

from __future__ import annotations

import pytest

from bot.channels.zalo.numbered import (
    Hints,
    Menu,
    Option,
    Outgoing,
    OutOfRange,
    choose,
    is_menu_request,
    plain,
    read_number,
    render,
    split,
)
from handlers.dialog import Attachment, Button, Keyboard, KeyboardKind, Reply

HINTS = Hints(
    main_menu="0. Về menu chính",
    file_link="📎 {name}: {url}",
    type_one_of="Hoặc gõ một trong các lựa chọn:",
)


def _url(attachment: Attachment) -> str:
    return f"https://bot.example/f/{attachment.filename}"


def test_buttons_become_numbered_lines_across_the_turn() -> None:
    replies = [
        Reply("<b>Hiến máu</b> &amp; chạy bộ", buttons=[[Button("🙋 Đăng ký", "act:reg:1")]]),
        Reply(
            "Trang 1/2",
            buttons=[[Button("◀️ Trước", "act:ls:a:0"), Button("Sau ▶️", "act:ls:a:1")]],
        ),
    ]
    messages, menu = render(replies, [], HINTS, _url)
    assert messages == [
        Outgoing(
            "Hiến máu & chạy bộ\n\n1. 🙋 Đăng ký\n\n"
            "Trang 1/2\n\n2. ◀️ Trước\n3. Sau ▶️\n\n0. Về menu chính"
        )
    ]
    assert menu == Menu(
        (
            Option(1, "🙋 Đăng ký", press="act:reg:1"),
            Option(2, "◀️ Trước", press="act:ls:a:0"),
            Option(3, "Sau ▶️", press="act:ls:a:1"),
        )
    )


def test_a_press_notice_comes_first_and_links_keep_their_address() -> None:
    replies = [
        Reply(
            'Xem <a href="https://example.vn/a?b=1&amp;c=2">chi tiết</a>',
            buttons=[[Button("Mở trang", url="https://example.vn")]],
        )
    ]
    messages, menu = render(replies, ["Đã ủng hộ"], HINTS, _url)
    assert messages == [
        Outgoing(
            "Đã ủng hộ\n\nXem chi tiết (https://example.vn/a?b=1&c=2)\n\n"
            "🔗 Mở trang: https://example.vn"
        )
    ]
    assert menu == Menu()


def test_suggestions_are_choices_that_type_their_label() -> None:
    keyboard = Keyboard(KeyboardKind.SUGGESTIONS, (("Bỏ qua",),))
    messages, menu = render([Reply("Email của bạn?", keyboard=keyboard)], [], HINTS, _url)
    assert messages[0].text == "Email của bạn?\n\n1. Bỏ qua\n\n0. Về menu chính"
    assert choose("1", menu) == Option(1, "Bỏ qua", text="Bỏ qua")
    assert choose("bo qua", menu) == Option(1, "Bỏ qua", text="Bỏ qua")


def test_a_numeric_step_shows_labels_so_that_a_number_stays_an_answer() -> None:
    reply = Reply("Số chỗ?", buttons=[[Button("Không giới hạn", "acn:cap:0")]], numeric_answer=True)
    messages, menu = render([reply], [], HINTS, _url)
    assert messages[0].text == (
        "Số chỗ?\n\nHoặc gõ một trong các lựa chọn:\n• Không giới hạn\n\n0. Về menu chính"
    )
    assert choose("30", menu) is None
    assert choose("1", menu) is None
    assert choose("khong gioi han", menu) == Option(None, "Không giới hạn", press="acn:cap:0")


def test_files_become_links_and_photos_keep_their_caption() -> None:
    photo = Attachment("qr.png", content=b"png")
    document = Attachment("dang-ky.ics", content=b"ics")
    replies = [Reply("Mã điểm danh", photo=photo), Reply("Lịch của bạn", document=document)]
    messages, _ = render(replies, ["Đã mở"], HINTS, _url)
    assert messages == [
        Outgoing("Đã mở"),
        Outgoing("Mã điểm danh", photo=photo),
        Outgoing("Lịch của bạn\n\n📎 dang-ky.ics: https://bot.example/f/dang-ky.ics"),
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        (" 2. ", 2),
        ("2)", 2),
        ("２", 2),
        ("#3", 3),
        ("số 4", 4),
        ("1.5", None),
        ("", None),
    ],
)
def test_numbers_are_read_however_they_are_typed(text: str, number: int | None) -> None:
    assert read_number(text) == number


def test_a_number_outside_the_choices_is_out_of_range() -> None:
    menu = Menu((Option(1, "Có", press="a:y"), Option(2, "Không", press="a:n")))
    assert choose("3", menu) == OutOfRange(3, 2)
    assert choose("KHÔNG", menu) == Option(2, "Không", press="a:n")
    assert choose("Nguyễn Văn An", menu) is None


def test_zero_and_menu_always_mean_the_main_menu() -> None:
    assert all(is_menu_request(t) for t in ("0", "０", "Menu", "menu chính", " MENU. "))
    assert not is_menu_request("menu hôm nay ăn gì")


def test_a_long_message_is_split_at_a_paragraph() -> None:
    first = "Đoạn một. " * 150
    second = "Đoạn hai. " * 150
    pieces = split(first.strip() + "\n\n" + second.strip())
    assert pieces == [first.strip(), second.strip()]
    assert all(len(p) <= 2000 for p in split("x" * 4500))
    assert "".join(split("x" * 4500)) == "x" * 4500


def test_plain_text_unescapes_entities() -> None:
    assert plain("<b>a &lt; b</b> &amp; <i>c</i>") == "a < b & c"


def test_a_menu_survives_its_json() -> None:
    menu = Menu((Option(1, "Có", press="a:y"), Option(None, "Bỏ qua", text="Bỏ qua")))
    assert Menu.from_json(menu.to_json()) == menu
    assert Menu.from_json("garbage") == Menu()


MENU_KEYBOARD = Keyboard(KeyboardKind.MAIN_MENU, (("🙋 Hoạt động", "👤 Hồ sơ"), ("❓ Trợ giúp",)))


def test_the_main_menu_is_the_choices_when_the_turn_offers_no_others() -> None:
    messages, menu = render([Reply("Menu chính", keyboard=MENU_KEYBOARD)], [], HINTS, _url)
    assert messages == [Outgoing("Menu chính\n\n1. 🙋 Hoạt động\n2. 👤 Hồ sơ\n3. ❓ Trợ giúp")]
    assert choose("2", menu) == Option(2, "👤 Hồ sơ", text="👤 Hồ sơ")
    # With other choices in the turn, "0" leads to the menu instead.
    replies = [
        Reply("Đã cập nhật", keyboard=MENU_KEYBOARD),
        Reply("Hồ sơ", buttons=[[Button("✏️ Sửa họ tên", "pf:edit:name")]]),
    ]
    messages, menu = render(replies, [], HINTS, _url)
    assert messages == [Outgoing("Đã cập nhật\n\nHồ sơ\n\n1. ✏️ Sửa họ tên\n\n0. Về menu chính")]
    assert menu == Menu((Option(1, "✏️ Sửa họ tên", press="pf:edit:name"),))


def test_an_answer_that_fits_no_choice_shows_the_same_choices_with_the_same_numbers() -> None:
    previous = Menu((Option(1, "Có", press="a:y"), Option(2, "Không", press="a:n")))
    messages, menu = render(
        [Reply("Mời bạn trả lời bằng số:", repeat_choices=True)], [], HINTS, _url, previous
    )
    assert messages == [Outgoing("Mời bạn trả lời bằng số:\n\n1. Có\n2. Không\n\n0. Về menu chính")]
    assert menu == previous
    labels = Menu((Option(None, "Bỏ qua", text="Bỏ qua"),))
    messages, menu = render([Reply("Chưa đúng.", repeat_choices=True)], [], HINTS, _url, labels)
    assert messages[0].text == (
        "Chưa đúng.\n\nHoặc gõ một trong các lựa chọn:\n• Bỏ qua\n\n0. Về menu chính"
    )
    assert menu == labels
