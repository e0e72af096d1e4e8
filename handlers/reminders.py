"""Reminders, for every channel: the two choices under a reminder ("I'll be there" / "Can't
make it — cancel"), which reuse the activity service. What a due message says is
``handlers.outbox_views.reminder_reply``; each channel's outbox sends it."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.domain.errors import InvalidInput, NotAllowed
from bot.i18n import Catalogue
from bot.reminders import DueMessage
from handlers.dialog import Rows, Turn
from handlers.dispatch import Routes
from handlers.outbox_views import reminder_reply


def render(
    message: DueMessage, catalogue: Catalogue, tz: tzinfo, hours_per_day: float, now: datetime
) -> tuple[str, Rows]:
    """The text and the choices of one due message, in the addressee's language."""
    reply = reminder_reply(message, catalogue, tz, hours_per_day, now)
    return reply.text, reply.buttons


async def on_press(turn: Turn) -> None:
    """The choices under a reminder. Cancelling frees the seat and promotes the waitlist at
    once, through the same service call as cancelling from the activity card."""
    parsed = turn.pressed
    activity_id = parsed.int_arg() if parsed else None
    if parsed is None or activity_id is None or parsed.action not in ("yes", "no"):
        await turn.answer("common.button_expired")
        return
    actor = await turn.actor()
    if actor.member is None:
        await turn.answer("access.not_member", alert=True)
        return
    if parsed.action == "yes":
        await turn.answer("reminders.see_you")
        await turn.show("reminders.confirmed_coming")
        return
    try:
        result = await turn.services.activities.cancel_registration(actor, activity_id)
    except NotAllowed as exc:
        await turn.answer(exc.reason, alert=True)
        return
    except InvalidInput as exc:
        await turn.answer(exc.key, alert=True, **exc.params)
        return
    # Whoever gets the seat hears it through the notice outbox: the service wrote the notice
    # with the promotion and woke the outbox (ActivityService.notices_queued) already.
    await turn.answer()
    await turn.show("reminders.cancelled", title=result.activity.title)


def register(routes: Routes) -> None:
    routes.actions["rm"] = on_press
