"""Linking codes on real SQLite: six digits, only a hash kept, one use, ten minutes, the member's
latest code only; wrong codes counted per channel account, then a pause; an account of another
member never taken; the last account never unlinked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.errors import InvalidInput
from bot.domain.members import Channel, Member, NewMember, Person
from bot.linking import read_code
from bot.services import Services

ZALO = Person.zalo("6ede9afa66b88fe6d6a9")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Services]:
    config = parse_config(
        {"database": {"path": str(tmp_path / "link.sqlite3")}}, env={}, require_token=False
    )
    opened = await Services.open(config, clock=clock)
    await opened.units.upsert_many([("BTP", "Bộ Tư pháp")])
    try:
        yield opened
    finally:
        await opened.close()


async def telegram_member(services: Services, telegram_id: int = 6101) -> Member:
    unit = await services.units.get_by_code("BTP")
    assert unit is not None
    return await services.members.create(
        NewMember(
            telegram_id=telegram_id,
            full_name="Nguyễn Văn An",
            username=None,
            unit_id=unit.id,
            phone=None,
            email=None,
            language="vi",
            consent_at=services.clock.now(),
        ),
        services.clock.now(),
    )


async def refusal(services: Services, person: Person, code: str) -> tuple[str, dict[str, object]]:
    with pytest.raises(InvalidInput) as caught:
        await services.linking.redeem(person, code)
    return caught.value.key, caught.value.params


def test_codes_are_read_however_they_are_typed() -> None:
    assert read_code(" 123 456 ") == "123456"
    assert read_code("１２３４５６") == "123456"
    assert read_code("123-456") == "123456"
    assert read_code("12345") is None and read_code("1234567") is None
    assert read_code("abcdef") is None


async def test_a_code_links_once_and_only_its_hash_is_kept(services: Services) -> None:
    member = await telegram_member(services)
    issued = await services.linking.issue(member, Channel.ZALO)
    assert len(issued.code) == 6 and issued.code.isdigit()
    rows = await services.db.fetch_all("SELECT * FROM link_codes")
    assert len(rows) == 1 and issued.code not in " ".join(str(v) for v in tuple(rows[0]))
    linked = await services.linking.redeem(ZALO, issued.code)
    assert (linked.id, linked.telegram_id, linked.zalo_id) == (member.id, 6101, ZALO.user_id)
    # Spent: another account typing it gets "wrong" (and it counts as a wrong try there).
    other = Person.zalo("0123456789abcdef0123")
    assert await refusal(services, other, issued.code) == ("linking.code_wrong", {"tries": 4})
    # Nor does it do anything for the account it linked: a spent code is no code at all.
    key, _ = await refusal(services, ZALO, issued.code)
    assert key == "linking.code_wrong"


async def test_a_code_lasts_ten_minutes_and_a_new_one_replaces_it(
    services: Services, clock: ManualClock
) -> None:
    member = await telegram_member(services)
    first = await services.linking.issue(member, Channel.ZALO)
    second = await services.linking.issue(member, Channel.ZALO)
    assert await services.db.fetch_value("SELECT COUNT(*) FROM link_codes") == 1
    if first.code != second.code:  # (one chance in a million that they are the same)
        key, _ = await refusal(services, ZALO, first.code)
        assert key == "linking.code_wrong"
    clock.advance(timedelta(minutes=10, seconds=1))
    key, _ = await refusal(services, ZALO, second.code)
    assert key == "linking.code_wrong"
    # A code is for the channel it was made for: a Telegram account cannot use a Zalo one.
    fresh = await services.linking.issue(member, Channel.ZALO)
    key, _ = await refusal(services, Person.telegram(6999), fresh.code)
    assert key == "linking.code_wrong"
    assert (await services.linking.redeem(ZALO, fresh.code)).id == member.id


async def test_wrong_codes_pause_the_account_that_typed_them(
    services: Services, clock: ManualClock
) -> None:
    member = await telegram_member(services)
    issued = await services.linking.issue(member, Channel.ZALO)
    guesses = [f"{(int(issued.code) + k) % 1_000_000:06d}" for k in range(1, 6)]
    for left, guess in zip((4, 3, 2, 1), guesses, strict=False):
        assert await refusal(services, ZALO, guess) == ("linking.code_wrong", {"tries": left})
    assert await refusal(services, ZALO, guesses[4]) == ("linking.paused", {"minutes": 15})
    clock.advance(timedelta(minutes=5))
    assert await refusal(services, ZALO, issued.code) == ("linking.paused", {"minutes": 10})
    # Not a code at all is not a guess.
    clock.advance(timedelta(minutes=10))
    assert await refusal(services, ZALO, "hello") == ("linking.code_format", {})
    fresh = await services.linking.issue(member, Channel.ZALO)  # the first one has expired
    assert (await services.linking.redeem(ZALO, fresh.code)).id == member.id
    assert await services.db.fetch_value("SELECT COUNT(*) FROM link_attempts") == 0


async def test_an_account_of_another_member_and_a_second_account_are_refused(
    services: Services,
) -> None:
    an = await telegram_member(services, 6101)
    binh = await telegram_member(services, 6102)
    await services.members.attach_account(binh.id, ZALO, services.clock.now())
    issued = await services.linking.issue(an, Channel.ZALO)
    assert await refusal(services, ZALO, issued.code) == (
        "linking.account_taken",
        {"channel": "Zalo"},
    )
    holder = await services.members.by_zalo_id(ZALO.user_id)
    assert holder is not None and holder.id == binh.id  # still Binh's
    # An got another Zalo account meanwhile: the code cannot give An a second one.
    await services.members.attach_account(
        an.id, Person.zalo("0123456789abcdef0123"), services.clock.now()
    )
    newcomer = Person.zalo("fedcba9876543210fedc")
    assert await refusal(services, newcomer, issued.code) == (
        "linking.member_has_account",
        {"channel": "Zalo"},
    )
    assert await services.members.by_zalo_id(newcomer.user_id) is None


async def test_unlinking_keeps_the_last_account_and_where_announcements_go(
    services: Services,
) -> None:
    member = await telegram_member(services)
    with pytest.raises(InvalidInput) as caught:
        await services.linking.unlink(member, Channel.TELEGRAM)
    assert caught.value.key == "linking.last_account"
    issued = await services.linking.issue(member, Channel.ZALO)
    linked = await services.linking.redeem(ZALO, issued.code)
    chosen = await services.linking.deliver_on(linked, Channel.ZALO)
    assert chosen.notify_channel is Channel.ZALO and chosen.delivery_channel is Channel.ZALO
    unlinked = await services.linking.unlink(chosen, Channel.ZALO)
    assert unlinked.zalo_id is None and unlinked.notify_channel is None
    assert unlinked.delivery_channel is Channel.TELEGRAM
