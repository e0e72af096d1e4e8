"""One member, many channels (SPEC 2.8): a short one-time code shown in one channel and typed in
the other links the second account to the same member; a few wrong codes, then a pause. Also
unlinking, and where announcements and reminders reach a member who has both. No platform
imports."""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from datetime import timedelta

from bot.clock import Clock
from bot.domain.errors import InvalidInput
from bot.domain.linking import IssuedCode, LinkOutcome
from bot.domain.members import Channel, Member, Person
from storage.linking import LinkRepository
from storage.members import MemberRepository

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5  # wrong codes from one channel account …
FAILURE_WINDOW = timedelta(hours=1)  # … within this long of the first …
PAUSE = timedelta(minutes=15)  # … and it waits this long before it may try again


def read_code(text: str) -> str | None:
    """The digits of a typed code ("123 456", "１２３４５６" are read too); None if it is not
    six digits."""
    digits = re.sub(r"[\s.\-]", "", unicodedata.normalize("NFKC", text))
    return digits if re.fullmatch(rf"\d{{{CODE_DIGITS}}}", digits) else None


class LinkingService:
    def __init__(
        self,
        repository: LinkRepository,
        members: MemberRepository,
        clock: Clock,
    ) -> None:
        self._repository = repository
        self._members = members
        self._clock = clock

    async def issue(self, member: Member, channel: Channel) -> IssuedCode:
        """A fresh code for ``member`` to type on ``channel`` (an earlier one stops working)."""
        if member.address(channel) is not None:
            raise InvalidInput("linking.channel_already", channel=channel.platform_name)
        now = self._clock.now()
        expires_at = now + CODE_TTL
        for _ in range(20):
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            if await self._repository.add_code(member.id, channel, code, now, expires_at):
                return IssuedCode(code, expires_at)
        raise RuntimeError("no free link code")  # a million codes, a handful live at a time

    async def redeem(self, person: Person, typed: str) -> Member:
        """Link ``person``'s account to the member whose code they typed."""
        now = self._clock.now()
        attempts = await self._repository.attempts(person)
        if attempts and attempts.locked_until and attempts.locked_until > now:
            raise InvalidInput("linking.paused", minutes=_minutes(attempts.locked_until - now))
        code = read_code(typed)
        if code is None:  # not a guess at all: not counted
            raise InvalidInput("linking.code_format")
        redeemed = await self._repository.redeem(person, code, now)
        if redeemed.outcome is LinkOutcome.UNKNOWN_CODE:
            failed = await self._repository.record_failure(
                person, now, window=FAILURE_WINDOW, max_failures=MAX_FAILURES, pause=PAUSE
            )
            if failed.locked_until is not None:
                raise InvalidInput("linking.paused", minutes=_minutes(PAUSE))
            raise InvalidInput("linking.code_wrong", tries=MAX_FAILURES - failed.failures)
        channel = person.channel.platform_name
        if redeemed.outcome is LinkOutcome.ACCOUNT_TAKEN:
            raise InvalidInput("linking.account_taken", channel=channel)
        if redeemed.outcome is LinkOutcome.MEMBER_HAS_ACCOUNT:
            raise InvalidInput("linking.member_has_account", channel=channel)
        await self._repository.clear_failures(person)
        if redeemed.outcome is LinkOutcome.ALREADY_YOURS:
            raise InvalidInput("linking.already_yours")
        assert redeemed.member_id is not None
        member = await self._members.by_id(redeemed.member_id)
        assert member is not None
        return member

    async def unlink(self, member: Member, channel: Channel) -> Member:
        """Take ``channel``'s account off the member; their last account cannot go (that is
        /forgetme)."""
        address = member.address(channel)
        if address is None or len(member.channels) < 2:
            raise InvalidInput("linking.last_account")
        await self._members.detach_account(member.id, channel, self._clock.now())
        await self._repository.forget_account_state(Person(channel, address))
        updated = await self._members.by_id(member.id)
        assert updated is not None
        return updated

    async def deliver_on(self, member: Member, channel: Channel) -> Member:
        """Announcements and reminders reach the member on ``channel`` from now on."""
        if member.address(channel) is None:
            raise InvalidInput("linking.not_linked", channel=channel.platform_name)
        await self._members.update(member.id, self._clock.now(), notify_channel=channel.value)
        updated = await self._members.by_id(member.id)
        assert updated is not None
        return updated


def _minutes(left: timedelta) -> int:
    return max(1, math.ceil(left.total_seconds() / 60))
