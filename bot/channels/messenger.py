"""Messages to a member outside their own turn (a cadre told of a walk-in, an author of a
decision), sent at once on the channel the member chose, and the command menu per role."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.domain.members import Channel, Member
from handlers.dialog import Reply

log = logging.getLogger(__name__)


class ChannelSender(Protocol):
    async def send(self, address: str, reply: Reply, language: str | None = None) -> bool:
        """Send to a user id of this channel; False when they cannot be reached. ``language``
        is the member's, for what the channel adds itself (Zalo's numbered hints)."""

    async def role_changed(self, member: Member) -> None:
        """Update what this channel shows per role (Telegram's command menu)."""


class ChannelMessenger:
    """The one ``handlers.dialog.Messenger``: each member is reached once, on
    ``Member.delivery_channel``, through that channel's sender."""

    def __init__(self) -> None:
        self.senders: dict[Channel, ChannelSender] = {}

    async def send(self, member: Member, reply: Reply) -> bool:
        channel = member.delivery_channel
        sender = self.senders.get(channel) if channel is not None else None
        address = member.address(channel) if channel is not None else None
        if sender is None or address is None:
            log.info("member %s has no running channel to be told on", member.id)
            return False
        return await sender.send(address, reply, member.language)

    async def role_changed(self, member: Member) -> None:
        for sender in self.senders.values():
            await sender.role_changed(member)
