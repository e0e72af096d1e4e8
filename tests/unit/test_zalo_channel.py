"""How the Zalo channel reads a typed text against the choices shown last: the main menu,
commands, numbers and labels, numbers out of range, and plain answers."""

from __future__ import annotations

from bot.channels.zalo.channel import _Answer, read_text
from bot.channels.zalo.numbered import Menu, Option
from handlers.dialog import Command, Press, Typed

MENU = Menu(
    (
        Option(1, "✅ Đồng ý", press="ob:consent:y"),
        Option(2, "Không đồng ý", press="ob:consent:n"),
        Option(3, "Bỏ qua", text="Bỏ qua"),
    )
)


def test_zero_and_menu_are_the_main_menu_whatever_is_shown() -> None:
    for text in ("0", "０", " menu ", "Menu chính"):
        assert read_text(text, MENU) == Command("menu")


def test_a_slash_is_a_command_with_its_arguments() -> None:
    assert read_text("/link 123456", MENU) == Command("link", ("123456",))
    assert read_text("/START", MENU) == Command("start")
    assert read_text("/", MENU) == Typed("/")


def test_numbers_and_labels_pick_a_choice() -> None:
    assert read_text("1", MENU) == Press("ob:consent:y")
    assert read_text("2.", MENU) == Press("ob:consent:n")
    assert read_text("３", MENU) == Typed("Bỏ qua")
    assert read_text("khong dong y", MENU) == Press("ob:consent:n")


def test_a_number_the_choices_lack_is_answered_with_the_valid_ones() -> None:
    assert read_text("7", MENU) == _Answer("zalo.out_of_range", {"number": 7, "highest": 3})


def test_anything_else_is_typed_text_even_a_number_when_nothing_is_numbered() -> None:
    assert read_text("Nguyễn Văn An", MENU) == Typed("Nguyễn Văn An")
    assert read_text("3", Menu()) == Typed("3")  # a newcomer's first "3"
    labels = Menu((Option(None, "Không giới hạn", press="x:cap:0"),))
    assert read_text("30", labels) == Typed("30")
