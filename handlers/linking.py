"""One member, many channels (SPEC 2.8): a short one-time code shown in the settings of one
channel and typed in the other (``/link 123456``, or, for a newcomer, a choice on the consent
screen and then the code) makes the second account the same member: the same registrations,
hours and initiatives everywhere. Settings also choose where announcements and reminders reach
a member who has both, and unlink one. Written once for every channel."""

from __future__ import annotations

import secrets

from bot.domain.errors import InvalidInput
from bot.domain.members import Channel, FlowState, Member
from bot.linking import CODE_TTL
from handlers import callbacks
from handlers.dialog import Button, Turn
from handlers.dispatch import Routes

FLOW = "linking"
NAMESPACE = "lk"
_CODE_MINUTES = int(CODE_TTL.total_seconds() // 60)
# Answers after which the person may type the code again (the others end the flow).
_RETYPE = ("linking.code_format", "linking.code_wrong")


def _channel(value: str | None) -> Channel | None:
    return next((c for c in Channel if c.value == value), None)


def _running(turn: Turn) -> list[Channel]:
    return [c for c in Channel if c in turn.routes.channels]


async def consent_rows(turn: Turn) -> list[list[Button]]:
    """On the consent screen: "I already use Nhịp Cầu on <the other channel>" (then a code)."""
    return [
        [
            await turn.button(
                "onboarding.used_elsewhere",
                callbacks.pack(NAMESPACE, "have", channel.value),
                channel=channel.platform_name,
            )
        ]
        for channel in _running(turn)
        if channel is not turn.channel
    ]


async def settings_rows(turn: Turn, member: Member) -> list[list[Button]]:
    """Linking a channel that runs and the member lacks; with two accounts, where
    announcements go and unlinking the other one."""
    rows: list[list[Button]] = [
        [
            await turn.button(
                "linking.link_button",
                callbacks.pack(NAMESPACE, "code", channel.value),
                channel=channel.platform_name,
            )
        ]
        for channel in _running(turn)
        if member.address(channel) is None
    ]
    if len(member.channels) > 1:
        chosen = member.delivery_channel
        rows.append(
            [
                await turn.button(
                    "linking.deliver_on",
                    callbacks.pack(NAMESPACE, "to", channel.value),
                    channel=channel.platform_name,
                    mark="✓ " if channel is chosen else "",
                )
                for channel in member.channels
            ]
        )
        for channel in member.channels:
            if channel is not turn.channel:
                rows.append(
                    [
                        await turn.button(
                            "linking.unlink_button",
                            callbacks.pack(NAMESPACE, "ul", channel.value),
                            channel=channel.platform_name,
                        )
                    ]
                )
    return rows


# --- typing the code ----------------------------------------------------------------------


async def link_command(turn: Turn) -> None:
    """``/link 123456``; ``/link`` alone asks for the code (a member is shown their settings,
    where codes for the other channel are made)."""
    if turn.command_args:
        await redeem(turn, " ".join(turn.command_args))
        return
    actor = await turn.actor()
    if actor.is_member:
        settings = turn.routes.commands.get("settings")
        if settings is not None:
            await settings(turn)
        return
    await ask_code(turn)


async def ask_code(turn: Turn) -> None:
    await turn.services.flows.start(turn.person, FLOW, "code")
    await turn.show("linking.ask_code", numeric_answer=True)


async def on_code(turn: Turn, state: FlowState) -> None:
    await redeem(turn, turn.typed or "")


async def redeem(turn: Turn, typed: str) -> None:
    services = turn.services
    try:
        member = await services.linking.redeem(turn.person, typed)
    except InvalidInput as exc:
        if exc.key in _RETYPE:
            await services.flows.start(turn.person, FLOW, "code")
        else:
            await services.flows.clear(turn.person)
        await turn.say(exc.key, numeric_answer=exc.key in _RETYPE, **exc.params)
        return
    turn.forget_actor()
    # The account they linked from hears of it (on the channel announcements reach them):
    # a code someone else got hold of does not go unnoticed.
    await turn.tell(member, "linking.told", channel=turn.channel.platform_name)
    await turn.say(
        "linking.done",
        keyboard=await turn.main_menu(),
        name=member.full_name,
        channel=turn.channel.platform_name,
    )
    await turn.routes.messenger.role_changed(member)


# --- presses ------------------------------------------------------------------------------


async def on_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    channel = _channel(parsed.arg())
    actor = await turn.actor()
    if parsed.action == "have" and channel is not None:
        if actor.is_member:
            await turn.answer("onboarding.already_member")
            return
        await turn.answer()
        await ask_code(turn)
        return
    member = actor.member
    if member is None:
        await turn.refuse("access.not_member")
        return
    services = turn.services
    if parsed.action == "code" and channel in turn.routes.channels:
        assert channel is not None
        try:
            issued = await services.linking.issue(member, channel)
        except InvalidInput as exc:
            await turn.refuse(exc.key, **exc.params)
            return
        await turn.answer()
        await turn.say(
            "linking.code_shown",
            code=issued.code,
            channel=channel.platform_name,
            here=turn.channel.platform_name,
            minutes=_CODE_MINUTES,
        )
    elif parsed.action == "to" and channel is not None:
        try:
            await services.linking.deliver_on(member, channel)
        except InvalidInput as exc:
            await turn.refuse(exc.key, **exc.params)
            return
        turn.forget_actor()
        await turn.answer("linking.deliver_saved", channel=channel.platform_name)
        settings = turn.routes.commands.get("settings")
        if settings is not None:
            await settings(turn)
    elif parsed.action == "ul" and channel is not None and member.address(channel):
        await turn.answer()
        # The "yes" carries a one-time code kept in the flow: only this confirmation unlinks.
        nonce = secrets.token_hex(4)
        await services.flows.start(turn.person, FLOW, "unlink", code=nonce, channel=channel.value)
        await turn.ask_to_confirm(
            "linking.unlink_ask",
            yes=("linking.unlink_confirm", callbacks.pack(NAMESPACE, "uly", channel.value, nonce)),
            no=("linking.unlink_keep", callbacks.pack(NAMESPACE, "uln")),
            channel=channel.platform_name,
        )
    elif parsed.action == "uly" and channel is not None:
        await _unlink(turn, member, channel, parsed.arg(1))
    elif parsed.action == "uln":
        await turn.answer()
        await services.flows.clear(turn.person)
        await turn.show("linking.unlink_kept")
    else:
        await turn.answer("common.button_expired")


async def _unlink(turn: Turn, member: Member, channel: Channel, nonce: str | None) -> None:
    services = turn.services
    state = await services.flows.get(turn.person)
    if (
        state is None
        or state.flow != FLOW
        or state.step != "unlink"
        or not nonce
        or state.data.get("code") != nonce
        or state.data.get("channel") != channel.value
    ):
        await turn.answer("common.button_expired")
        return
    await services.flows.clear(turn.person)
    try:
        await services.linking.unlink(member, channel)
    except InvalidInput as exc:
        await turn.refuse(exc.key, **exc.params)
        return
    turn.forget_actor()
    await turn.answer()
    await turn.show("linking.unlinked", channel=channel.platform_name)


def register(routes: Routes) -> None:
    routes.commands["link"] = link_command
    routes.actions[NAMESPACE] = on_press
    routes.text_steps[(FLOW, "code")] = on_code
    routes.flows.add(FLOW)
