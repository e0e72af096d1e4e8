""" "Tuổi trẻ sáng tạo" initiatives (SPEC 2.4) in Telegram: the guided submission with drafts,
the author's list and history, the review queue and decisions, browsing and supports."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.initiatives import (
    Initiative,
    InitiativeCard,
    InitiativeChanged,
    InitiativeField,
    InitiativeStatus,
    NewAttachment,
    Page,
    Party,
    RecognitionLevel,
    StatusChange,
)
from bot.domain.members import Actor, Role
from bot.flows import FlowState
from bot.i18n import Raw
from bot.initiatives import (
    MAX_ATTACHMENTS,
    MAX_FILE_BYTES,
    PUBLIC_STATUSES,
    TEXT_MAX,
    TITLE_MAX,
    TITLE_MIN,
    allowed_targets,
    recognition_levels,
)
from handlers import callbacks
from handlers.context import BotContext
from handlers.router import Router
from handlers.ui import answer, edit_or_send, inline, page_row, say

log = logging.getLogger(__name__)

NS = "ini"
FLOW = "initiative"
COMMENT_FLOW = "ini_comment"
# The guided steps, in order; "summary" follows the last.
STEPS = ("title", "field", "problem", "solution", "benefit", "coauthors", "attachments")
PREVIEW = 400  # characters of each long part shown on a card; the full text is a button away
CHUNK = 3500  # characters per message when sending a long part in full

S = InitiativeStatus
Rows = list[list[tuple[str, str]]]


# --- small helpers ----------------------------------------------------------------------------


def _cb(action: str, *args: object) -> str:
    return callbacks.pack(NS, action, *args)


def _local(context: BotContext, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(context.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


def _preview(text: str, limit: int = PREVIEW) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _short(text: str, limit: int = 40) -> str:
    return _preview(text, limit)


async def _label(update: Update, context: BotContext, key: str, **params: Any) -> str:
    return await context.label(update, key, **params)


async def _status(update: Update, context: BotContext, status: S) -> str:
    return await context.label(update, f"initiatives.status.{status.value}")


async def _field(update: Update, context: BotContext, field: InitiativeField | None) -> str:
    if field is None:
        return await context.label(update, "initiatives.not_given")
    return await context.label(update, f"initiatives.field.{field.value}")


async def _member_actor(update: Update, context: BotContext) -> Actor | None:
    actor = await context.actor(update)
    if actor.member is None:
        if update.callback_query is not None:
            await answer(update, context, "access.not_member", alert=True)
        else:
            await say(update, context, "access.not_member")
        return None
    return actor


async def _refuse(update: Update, context: BotContext, key: str, **params: Any) -> None:
    """Explain a refusal: as an alert on a button press, as a message for typed input (or when
    the press was already answered)."""
    if update.callback_query is not None:
        try:
            await answer(update, context, key, alert=True, **params)
            return
        except TelegramError:
            pass
    await say(update, context, key, **params)


async def _invalid(update: Update, context: BotContext, exc: InvalidInput) -> None:
    params = dict(exc.params)
    for name in ("status", "target"):
        if name in params:
            params[name] = await _status(update, context, S(params[name]))
    if "missing" in params:
        names = [
            await context.label(update, f"initiatives.part.{part}")
            for part in str(params["missing"]).split(",")
        ]
        params["missing"] = ", ".join(names)
    await _refuse(update, context, exc.key, **params)


async def _changed(update: Update, context: BotContext, exc: InitiativeChanged) -> None:
    status = await _status(update, context, exc.current.status)
    if update.callback_query is not None:
        with suppress(TelegramError):
            await answer(update, context, "initiatives.changed_alert", alert=True, status=status)
    await say(update, context, "initiatives.changed", status=status)


async def _page_row(
    update: Update, context: BotContext, page: Page[Any], action: str, *args: object
) -> list[tuple[str, str]]:
    return await page_row(
        update,
        context,
        page.page,
        page.pages,
        lambda n: _cb(action, *args, n),
        counter=_cb("noop"),
    )


# --- the menu ---------------------------------------------------------------------------------


async def show_menu(update: Update, context: BotContext) -> None:
    actor = await _member_actor(update, context)
    if actor is None:
        return
    service = context.services.initiatives
    rows: Rows = [[(await _label(update, context, "initiatives.new"), _cb("new"))]]
    for draft in await service.drafts(actor):
        rows.append(
            [
                (
                    await _label(
                        update, context, "initiatives.continue", title=_short(draft.title)
                    ),
                    _cb("cont", draft.id),
                )
            ]
        )
    rows.append([(await _label(update, context, "initiatives.mine"), _cb("mine", 0))])
    rows.append([(await _label(update, context, "initiatives.browse"), _cb("br", "all", 0))])
    if service.is_reviewer(actor):
        count = await service.queue_size(actor)
        rows.append(
            [(await _label(update, context, "initiatives.review", count=count), _cb("rq", "q", 0))]
        )
    await say(update, context, "initiatives.menu", reply_markup=inline(rows))


async def review_command(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    if not context.services.initiatives.is_reviewer(actor):
        await say(update, context, "initiatives.reviewers_only")
        return
    await show_queue(update, context, actor, accepted=False, page=0)


# --- the guided submission --------------------------------------------------------------------


async def ask(update: Update, context: BotContext, state: FlowState) -> None:
    """(Re-)ask the question of the step the person is at."""
    step = state.step
    total = len(STEPS)
    number = STEPS.index(step) + 1 if step in STEPS else total
    if step == "title":
        await say(
            update,
            context,
            "initiatives.ask_title",
            n=number,
            total=total,
            min=TITLE_MIN,
            max=TITLE_MAX,
        )
    elif step == "field":
        rows: Rows = []
        pair: list[tuple[str, str]] = []
        for field in InitiativeField:
            pair.append((await _field(update, context, field), _cb("fld", field.value)))
            if len(pair) == 2:
                rows.append(pair)
                pair = []
        if pair:
            rows.append(pair)
        await say(
            update,
            context,
            "initiatives.ask_field",
            reply_markup=inline(rows),
            n=number,
            total=total,
        )
    elif step in ("problem", "solution", "benefit"):
        await say(update, context, f"initiatives.ask_{step}", n=number, total=total, max=TEXT_MAX)
    elif step == "coauthors":
        skip = await context.label(update, "common.skip")
        await say(
            update,
            context,
            "initiatives.ask_coauthors",
            reply_markup=inline([[(skip, _cb("skip"))]]),
            n=number,
            total=total,
        )
    elif step == "attachments":
        initiative = await _flow_initiative(update, context, state)
        if initiative is None:
            return
        await say(
            update,
            context,
            "initiatives.ask_attachments",
            reply_markup=await _attachments_markup(update, context),
            n=number,
            total=total,
            max=MAX_ATTACHMENTS,
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
            count=initiative.attachment_count,
        )
    else:
        initiative = await _flow_initiative(update, context, state)
        if initiative is not None:
            await show_summary(update, context, initiative)


async def _attachments_markup(update: Update, context: BotContext) -> InlineKeyboardMarkup:
    return inline([[(await context.label(update, "initiatives.files_done"), _cb("done"))]])


async def _flow_initiative(
    update: Update, context: BotContext, state: FlowState
) -> Initiative | None:
    """The draft the flow works on, re-checked: still the person's and still editable."""
    actor = await context.actor(update)
    user = update.effective_user
    initiative_id = state.data.get("id")
    if not isinstance(initiative_id, int) or user is None:
        return None
    try:
        return await context.services.initiatives.for_editing(actor, initiative_id)
    except (InvalidInput, NotAllowed) as exc:
        await context.services.flows.clear(user.id)
        key = exc.key if isinstance(exc, InvalidInput) else exc.reason
        params = exc.params if isinstance(exc, InvalidInput) else {}
        if "status" in params:
            params = {**params, "status": await _status(update, context, S(params["status"]))}
        await say(update, context, key, **params)
        return None


async def advance(update: Update, context: BotContext, state: FlowState, **changes: Any) -> None:
    """Go to the next step (or back to the summary when the person is editing one part)."""
    user = update.effective_user
    assert user is not None
    if state.data.get("reviewing"):
        nxt = "summary"
    else:
        index = STEPS.index(state.step) if state.step in STEPS else len(STEPS) - 1
        nxt = STEPS[index + 1] if index + 1 < len(STEPS) else "summary"
    moved = await context.services.flows.move(user.id, state, nxt, **changes)
    await ask(update, context, moved)


async def start_new(update: Update, context: BotContext) -> None:
    actor = await _member_actor(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    await answer(update, context)
    state = await context.services.flows.start(user.id, FLOW, "title", id=None, reviewing=False)
    await ask(update, context, state)


async def resume(update: Update, context: BotContext, initiative_id: int) -> None:
    """Continue a draft (or one sent back for revision) where it stands: the first missing
    part, or the summary when nothing required is missing."""
    actor = await _member_actor(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    try:
        initiative = await context.services.initiatives.for_editing(actor, initiative_id)
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await answer(update, context)
    missing = initiative.missing()
    step = missing[0] if missing else "summary"
    state = await context.services.flows.start(
        user.id, FLOW, step, id=initiative.id, reviewing=not missing
    )
    key = (
        "initiatives.resumed_revision"
        if initiative.status is S.NEEDS_REVISION
        else "initiatives.resumed"
    )
    await say(update, context, key, title=initiative.title)
    await ask(update, context, state)


async def _save_part(
    update: Update, context: BotContext, state: FlowState, name: str, value: str
) -> None:
    actor = await context.actor(update)
    user = update.effective_user
    assert user is not None
    service = context.services.initiatives
    initiative_id = state.data.get("id")
    try:
        if name == "title" and not isinstance(initiative_id, int):
            draft = await service.start_draft(actor, value)
            await say(update, context, "initiatives.draft_created", title=draft.title)
            await advance(update, context, state, id=draft.id)
            return
        if not isinstance(initiative_id, int):
            await context.services.flows.clear(user.id)
            await say(update, context, "common.button_expired")
            return
        await service.update(actor, initiative_id, name, value)
    except InvalidInput as exc:
        await _invalid(update, context, exc)  # the step stays; what was saved stays saved
        return
    except NotAllowed as exc:
        await context.services.flows.clear(user.id)
        await say(update, context, exc.reason)
        return
    except InitiativeChanged as exc:
        await context.services.flows.clear(user.id)
        await _changed(update, context, exc)
        return
    await advance(update, context, state)


async def on_text_step(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if state.step == "coauthors" and context.services.catalogue.matches(
        "common.skip", message.text.strip()
    ):
        await advance(update, context, state)
        return
    await _save_part(update, context, state, state.step, message.text)


async def on_field_text(update: Update, context: BotContext, state: FlowState) -> None:
    await say(update, context, "initiatives.field_use_buttons")
    await ask(update, context, state)


async def on_attachment_text(update: Update, context: BotContext, state: FlowState) -> None:
    await say(
        update,
        context,
        "initiatives.files_hint",
        reply_markup=await _attachments_markup(update, context),
    )


async def on_summary_text(update: Update, context: BotContext, state: FlowState) -> None:
    await say(update, context, "initiatives.summary_use_buttons")


async def on_attachment_file(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    actor = await context.actor(update)
    initiative_id = state.data.get("id")
    if not isinstance(initiative_id, int):
        return
    if message.document is not None:
        doc = message.document
        new = NewAttachment(
            "document",
            doc.file_id,
            doc.file_unique_id,
            (doc.file_name or "tep-dinh-kem")[:200],
            doc.file_size,
            doc.mime_type,
        )
    elif message.photo:
        photo = message.photo[-1]  # the largest size
        new = NewAttachment(
            "photo",
            photo.file_id,
            photo.file_unique_id,
            f"anh-{photo.file_unique_id[-8:]}.jpg",
            photo.file_size,
            "image/jpeg",
        )
    else:
        return
    try:
        initiative = await context.services.initiatives.add_attachment(actor, initiative_id, new)
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    except NotAllowed as exc:
        await context.services.flows.clear(user.id)
        await say(update, context, exc.reason)
        return
    except InitiativeChanged as exc:
        await context.services.flows.clear(user.id)
        await _changed(update, context, exc)
        return
    await say(
        update,
        context,
        "initiatives.file_received",
        reply_markup=await _attachments_markup(update, context),
        name=new.name,
        count=initiative.attachment_count,
        max=MAX_ATTACHMENTS,
    )


async def show_summary(update: Update, context: BotContext, initiative: Initiative) -> None:
    user = update.effective_user
    assert user is not None
    state = await context.services.flows.get(user.id)
    if state is not None and state.flow == FLOW and state.step != "summary":
        await context.services.flows.move(user.id, state, "summary", reviewing=True)
    none = await context.label(update, "initiatives.not_given")
    missing = initiative.missing()
    submit_key = (
        "initiatives.resubmit" if initiative.status is S.NEEDS_REVISION else "initiatives.submit"
    )
    rows: Rows = [
        [
            (
                await context.label(update, submit_key),
                _cb("go", initiative.id, initiative.version, S.SUBMITTED.value),
            )
        ]
    ]
    parts = [*STEPS[:6]]
    for i in range(0, len(parts), 2):
        rows.append(
            [
                (
                    await context.label(
                        update,
                        "initiatives.edit_part",
                        part=await context.label(update, f"initiatives.part.{name}"),
                    ),
                    _cb("edit", name),
                )
                for name in parts[i : i + 2]
            ]
        )
    files_row = [(await context.label(update, "initiatives.add_files"), _cb("edit", "attachments"))]
    if initiative.attachment_count:
        files_row.append((await context.label(update, "initiatives.clear_files"), _cb("clr")))
    rows.append(files_row)
    rows.append([(await context.label(update, "initiatives.save_draft"), _cb("save"))])
    missing_note = ""
    if missing:
        names = [await context.label(update, f"initiatives.part.{part}") for part in missing]
        missing_note = await context.text(
            update, "initiatives.summary_missing", missing=", ".join(names)
        )
    await say(
        update,
        context,
        "initiatives.summary",
        reply_markup=inline(rows),
        title=initiative.title,
        field=await _field(update, context, initiative.field),
        problem=_preview(initiative.problem) or none,
        solution=_preview(initiative.solution) or none,
        benefit=_preview(initiative.benefit) or none,
        coauthors=initiative.coauthors or none,
        files=initiative.attachment_count,
        missing=Raw(missing_note),
    )


async def _flow_press(update: Update, context: BotContext, parsed: callbacks.Callback) -> None:
    """Buttons that belong to the submission flow: field, skip, done, edit, clear, save."""
    user = update.effective_user
    assert user is not None
    state = await context.services.flows.get(user.id)
    if state is None or state.flow != FLOW:
        await answer(update, context, "common.button_expired")
        return
    actor = await _member_actor(update, context)
    if actor is None:
        return
    if parsed.action == "fld" and state.step == "field":
        value = parsed.arg() or ""
        if value not in {f.value for f in InitiativeField}:
            await answer(update, context, "common.button_expired")
            return
        await answer(update, context)
        await edit_or_send(
            update,
            context,
            "initiatives.field_chosen",
            field=await _field(update, context, InitiativeField(value)),
        )
        await _save_part(update, context, state, "field", value)
    elif parsed.action == "skip" and state.step == "coauthors":
        await answer(update, context)
        await advance(update, context, state)
    elif parsed.action == "done" and state.step == "attachments":
        await answer(update, context)
        moved = await context.services.flows.move(user.id, state, "summary", reviewing=True)
        await ask(update, context, moved)
    elif parsed.action == "edit" and parsed.arg() in STEPS and state.data.get("id"):
        await answer(update, context)
        step = parsed.arg()
        assert step is not None
        moved = await context.services.flows.move(user.id, state, step, reviewing=True)
        await ask(update, context, moved)
    elif parsed.action == "clr" and isinstance(state.data.get("id"), int):
        try:
            initiative = await context.services.initiatives.clear_attachments(
                actor, int(state.data["id"])
            )
        except InvalidInput as exc:
            await _invalid(update, context, exc)
            return
        except NotAllowed as exc:
            await _refuse(update, context, exc.reason)
            return
        await answer(update, context, "initiatives.files_cleared")
        await show_summary(update, context, initiative)
    elif parsed.action == "save":
        await answer(update, context)
        await context.services.flows.clear(user.id)
        await edit_or_send(update, context, "initiatives.draft_saved")
    else:
        await answer(update, context, "common.button_expired")


# --- status changes ---------------------------------------------------------------------------


async def on_change(update: Update, context: BotContext, parsed: callbacks.Callback) -> None:
    """``go:<id>:<version>:<status>`` and ``rec:<id>:<version>:<level>``: re-checked in full."""
    actor = await context.actor(update)
    initiative_id, version = parsed.int_arg(0), parsed.int_arg(1)
    level: RecognitionLevel | None = None
    try:
        if parsed.action == "rec":
            target = S.RECOGNISED
            level = RecognitionLevel(parsed.arg(2) or "")
        else:
            target = S(parsed.arg(2) or "")
    except ValueError:
        target = None
    if initiative_id is None or version is None or target is None:
        await answer(update, context, "common.button_expired")
        return
    service = context.services.initiatives
    try:
        _, rule = await service.check_change(actor, initiative_id, target, version=version)
        if rule.comment_required:
            user = update.effective_user
            assert user is not None
            await answer(update, context)
            await context.services.flows.start(
                user.id,
                COMMENT_FLOW,
                "comment",
                id=initiative_id,
                version=version,
                target=target.value,
            )
            await say(
                update,
                context,
                "initiatives.ask_comment",
                action=await context.label(update, f"initiatives.action.{target.value}"),
            )
            return
        change = await service.change_status(
            actor, initiative_id, target, version=version, level=level
        )
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    except InitiativeChanged as exc:
        current = exc.current
        if (
            actor.member is not None
            and current.author_member_id == actor.member.id
            and current.status in (S.DRAFT, S.NEEDS_REVISION)
        ):
            # The author's own older summary: show the latest one to submit from.
            await answer(update, context)
            await show_summary(update, context, current)
            return
        await _changed(update, context, exc)
        return
    await answer(update, context)
    await _after_change(update, context, change)


async def on_comment(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.text is not None and user is not None
    actor = await context.actor(update)
    data = state.data
    try:
        target = S(str(data.get("target")))
        change = await context.services.initiatives.change_status(
            actor,
            int(data["id"]),
            target,
            version=int(data["version"]),
            comment=message.text,
        )
    except InvalidInput as exc:
        await _invalid(update, context, exc)  # e.g. too long: ask again, nothing changed
        return
    except (NotAllowed, InitiativeChanged, KeyError, ValueError) as exc:
        await context.services.flows.clear(user.id)
        if isinstance(exc, InitiativeChanged):
            await _changed(update, context, exc)
        elif isinstance(exc, NotAllowed):
            await say(update, context, exc.reason)
        else:
            await say(update, context, "common.button_expired")
        return
    await context.services.flows.clear(user.id)
    await _after_change(update, context, change)


async def _after_change(update: Update, context: BotContext, change: StatusChange) -> None:
    """Tell the person what happened, the author (in their language) and, on a submission,
    the unit's cadres."""
    user = update.effective_user
    assert user is not None
    after = change.after
    target = after.status
    if change.party is Party.AUTHOR:
        state = await context.services.flows.get(user.id)
        if state is not None and state.flow == FLOW:
            await context.services.flows.clear(user.id)
        if target is S.SUBMITTED:
            await edit_or_send(
                update, context, "initiatives.submitted", title=after.title, code=after.code or ""
            )
            await _notify_cadres(context, after)
        else:
            await edit_or_send(update, context, "initiatives.withdrawn", title=after.title)
        return
    await say(
        update,
        context,
        "initiatives.done",
        code=after.code or "",
        title=after.title,
        status=await _status(update, context, target),
    )
    await _notify_author(context, change)
    if target is S.IN_REVIEW:
        await show_card(update, context, after.id)


async def _notify_author(context: BotContext, change: StatusChange) -> None:
    after = change.after
    author = await context.services.members.by_id(after.author_member_id)
    if author is None or author.telegram_id is None:
        return
    catalogue = context.services.catalogue
    language = author.language
    level = (
        catalogue.plain(language, f"initiatives.level.{after.recognition_level.value}")
        if after.recognition_level
        else ""
    )
    text = catalogue.text(
        language,
        f"initiatives.notify.{after.status.value}",
        title=after.title,
        code=after.code or "",
        comment=change.comment or "",
        level=level,
    )
    markup = inline([[(catalogue.plain(language, "initiatives.open"), _cb("open", after.id))]])
    try:
        await context.bot.send_message(author.telegram_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.info("could not tell an author about their initiative: %s", exc)


async def _notify_cadres(context: BotContext, initiative: Initiative) -> None:
    catalogue = context.services.catalogue
    for grant in await context.services.roles.all():
        if grant.role is not Role.CADRE or grant.unit_id != initiative.unit_id:
            continue
        cadre = await context.services.members.by_id(grant.member_id)
        if cadre is None or cadre.telegram_id is None or cadre.id == initiative.author_member_id:
            continue
        language = cadre.language if cadre else None
        text = catalogue.text(
            language, "initiatives.notify_cadre", title=initiative.title, code=initiative.code or ""
        )
        markup = inline(
            [[(catalogue.plain(language, "initiatives.open"), _cb("open", initiative.id))]]
        )
        try:
            await context.bot.send_message(cadre.telegram_id, text, reply_markup=markup)
        except TelegramError as exc:
            log.info("could not tell a cadre about a new initiative: %s", exc)


# --- cards, lists and history -----------------------------------------------------------------


async def show_card(
    update: Update,
    context: BotContext,
    initiative_id: int,
    *,
    edit: bool = False,
    acknowledge: bool = False,
) -> bool:
    """One initiative with the buttons this person may press now (re-derived on every view);
    ``acknowledge`` answers the press once the person may see it, before drawing."""
    actor = await context.actor(update)
    service = context.services.initiatives
    try:
        card = await service.card(actor, initiative_id)
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return False
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return False
    if acknowledge:
        await answer(update, context)
    initiative = card.initiative
    parties = service.parties(actor, initiative)
    rows = await _card_buttons(update, context, card, parties)
    none = await context.label(update, "initiatives.not_given")
    recognition = ""
    if initiative.recognition_level is not None:
        recognition = await context.text(
            update,
            "initiatives.card_recognised",
            level=await context.label(
                update, f"initiatives.level.{initiative.recognition_level.value}"
            ),
        )
    params: dict[str, Any] = {
        "title": initiative.title,
        "code": initiative.code or await context.label(update, "initiatives.no_code"),
        "status": await _status(update, context, initiative.status),
        "field": await _field(update, context, initiative.field),
        "author": card.author_name or "—",
        "unit": card.unit_name,
        "coauthors": initiative.coauthors or none,
        "problem": _preview(initiative.problem) or none,
        "solution": _preview(initiative.solution) or none,
        "benefit": _preview(initiative.benefit) or none,
        "files": initiative.attachment_count,
        "supports": card.supports,
        "recognition": Raw(recognition),
    }
    markup = inline(rows) if rows else None
    if edit:
        await edit_or_send(update, context, "initiatives.card", reply_markup=markup, **params)
    else:
        await say(update, context, "initiatives.card", reply_markup=markup, **params)
    return True


async def _card_buttons(
    update: Update, context: BotContext, card: InitiativeCard, parties: frozenset[Party]
) -> Rows:
    initiative = card.initiative
    actor = await context.actor(update)
    rows: Rows = []
    for target in allowed_targets(initiative, parties):
        if target is S.RECOGNISED:
            rows.append(
                [
                    (
                        await context.label(update, f"initiatives.recognise.{level.value}"),
                        _cb("rec", initiative.id, initiative.version, level.value),
                    )
                    for level in recognition_levels(parties)
                ]
            )
        elif target is S.WITHDRAWN:
            rows.append(
                [
                    (
                        await context.label(update, "initiatives.action.withdrawn"),
                        _cb("wdq", initiative.id, initiative.version),
                    )
                ]
            )
        else:
            key = f"initiatives.action.{target.value}"
            if target is S.SUBMITTED and initiative.status is S.NEEDS_REVISION:
                key = "initiatives.resubmit"
            rows.append(
                [
                    (
                        await context.label(update, key),
                        _cb("go", initiative.id, initiative.version, target.value),
                    )
                ]
            )
    if Party.AUTHOR in parties and initiative.status in (S.DRAFT, S.NEEDS_REVISION):
        rows.insert(
            0, [(await context.label(update, "initiatives.edit"), _cb("cont", initiative.id))]
        )
    if (
        initiative.status in PUBLIC_STATUSES
        and Party.AUTHOR not in parties
        and actor.member is not None
    ):
        # The button says what it does (support, or take the support back) and its data says
        # the same: a second tap or an older copy of this card cannot do the opposite.
        key = "initiatives.unsupport" if card.supported_by_viewer else "initiatives.support"
        wanted = 0 if card.supported_by_viewer else 1
        rows.append(
            [
                (
                    await context.label(update, key, count=card.supports),
                    _cb("sup", initiative.id, wanted),
                )
            ]
        )
    extra: list[tuple[str, str]] = [
        (await context.label(update, "initiatives.full_text"), _cb("full", initiative.id))
    ]
    if parties:
        extra.append(
            (await context.label(update, "initiatives.history"), _cb("hist", initiative.id))
        )
        if initiative.attachment_count:
            extra.append(
                (
                    await context.label(
                        update, "initiatives.files", count=initiative.attachment_count
                    ),
                    _cb("files", initiative.id),
                )
            )
    rows.append(extra)
    return rows


async def show_mine(update: Update, context: BotContext, page: int, *, edit: bool) -> None:
    actor = await _member_actor(update, context)
    if actor is None:
        return
    result = await context.services.initiatives.mine(actor, page)
    rows: Rows = []
    for initiative in result.items:
        code = initiative.code or await context.label(update, "initiatives.no_code")
        status = await _status(update, context, initiative.status)
        rows.append(
            [(f"{status} · {code} · {_short(initiative.title, 32)}", _cb("open", initiative.id))]
        )
    nav = await _page_row(update, context, result, "mine")
    if nav:
        rows.append(nav)
    rows.append([(await context.label(update, "initiatives.new"), _cb("new"))])
    key = "initiatives.mine_list" if result.total else "initiatives.mine_empty"
    await answer(update, context)
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), count=result.total)
    else:
        await say(update, context, key, reply_markup=inline(rows), count=result.total)


async def show_history(update: Update, context: BotContext, initiative_id: int) -> None:
    actor = await context.actor(update)
    service = context.services.initiatives
    try:
        initiative = await service.get(actor, initiative_id)
        if not service.parties(actor, initiative):
            raise NotAllowed("initiatives.not_yours")
        entries = await service.history(actor, initiative_id)
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    await answer(update, context)
    lines = [
        await context.text(
            update,
            "initiatives.history_created",
            time=_local(context, initiative.created_at),
        )
    ]
    for entry in entries:
        who = await context.label(update, f"initiatives.party.{entry.actor_role}")
        if entry.actor_name:
            who = f"{who} {entry.actor_name}"
        line = await context.text(
            update,
            "initiatives.history_line",
            time=_local(context, entry.at),
            before=await _status(update, context, entry.from_status),
            after=await _status(update, context, entry.to_status),
            who=who,
        )
        if entry.comment:
            line += "\n" + await context.text(
                update, "initiatives.history_comment", comment=entry.comment
            )
        lines.append(line)
    await say(
        update,
        context,
        "initiatives.history_list",
        title=initiative.title,
        lines=Raw("\n".join(lines)),
    )


async def send_full_text(update: Update, context: BotContext, initiative_id: int) -> None:
    actor = await context.actor(update)
    try:
        initiative = await context.services.initiatives.get(actor, initiative_id)
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    await answer(update, context)
    for part in ("problem", "solution", "benefit"):
        text: str = getattr(initiative, part)
        if not text:
            continue
        label = await context.label(update, f"initiatives.part.{part}")
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
        for number, chunk in enumerate(chunks, start=1):
            suffix = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
            await say(
                update,
                context,
                "initiatives.full_part",
                part=label + suffix,
                title=initiative.title,
                text=chunk,
            )


async def send_files(update: Update, context: BotContext, initiative_id: int) -> None:
    """Re-send the attachments by their Telegram file ids (nothing is stored on our side)."""
    actor = await context.actor(update)
    chat = update.effective_chat
    try:
        files = await context.services.initiatives.attachments(actor, initiative_id)
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    await answer(update, context)
    if chat is None:
        return
    if not files:
        await say(update, context, "initiatives.no_files")
        return
    for file in files:
        caption = await context.text(update, "initiatives.file_caption", name=file.name)
        try:
            if file.kind == "photo":
                await context.bot.send_photo(chat.id, file.file_id, caption=caption)
            else:
                await context.bot.send_document(chat.id, file.file_id, caption=caption)
        except TelegramError as exc:
            log.info("could not re-send an attachment: %s", exc)
            await say(update, context, "initiatives.file_unavailable", name=file.name)


# --- review queue -----------------------------------------------------------------------------


async def show_queue(
    update: Update,
    context: BotContext,
    actor: Actor,
    *,
    accepted: bool,
    page: int,
    edit: bool = False,
) -> None:
    try:
        result = await context.services.initiatives.review_queue(
            actor, accepted=accepted, page=page
        )
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await answer(update, context)
    mode = "a" if accepted else "q"
    rows: Rows = []
    for card in result.items:
        initiative = card.initiative
        status = await _status(update, context, initiative.status)
        rows.append(
            [
                (
                    f"{status} · {initiative.code} · {_short(initiative.title, 32)}",
                    _cb("open", initiative.id),
                )
            ]
        )
    nav = await _page_row(update, context, result, "rq", mode)
    if nav:
        rows.append(nav)
    switch_key = "initiatives.queue_open" if accepted else "initiatives.queue_accepted"
    rows.append([(await context.label(update, switch_key), _cb("rq", "q" if accepted else "a", 0))])
    if accepted:
        key = "initiatives.accepted_list" if result.total else "initiatives.accepted_empty"
    else:
        key = "initiatives.queue_list" if result.total else "initiatives.queue_empty"
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), count=result.total)
    else:
        await say(update, context, key, reply_markup=inline(rows), count=result.total)


# --- browsing and supports --------------------------------------------------------------------


async def show_browse(
    update: Update, context: BotContext, field_arg: str, page: int, *, edit: bool
) -> None:
    actor = await _member_actor(update, context)
    if actor is None:
        return
    field = InitiativeField(field_arg) if field_arg in {f.value for f in InitiativeField} else None
    result = await context.services.initiatives.browse(actor, field, page)
    await answer(update, context)
    rows: Rows = []
    lines = []
    for card in result.items:
        initiative = card.initiative
        lines.append(
            await context.text(
                update,
                "initiatives.browse_line",
                code=initiative.code or "",
                title=initiative.title,
                unit=card.unit_name,
                supports=card.supports,
                badge="🏅 " if initiative.status is S.RECOGNISED else "",
            )
        )
        rows.append(
            [(f"{initiative.code} · {_short(initiative.title, 36)}", _cb("open", initiative.id))]
        )
    nav = await _page_row(update, context, result, "br", field_arg)
    if nav:
        rows.append(nav)
    filters_row: list[tuple[str, str]] = []
    for option in ("all", *(f.value for f in InitiativeField)):
        key = "initiatives.all_fields" if option == "all" else f"initiatives.field.{option}"
        label = await context.label(update, key)
        if option == (field.value if field else "all"):
            label = "• " + label
        filters_row.append((label, _cb("br", option, 0)))
        if len(filters_row) == 2:
            rows.append(filters_row)
            filters_row = []
    if filters_row:
        rows.append(filters_row)
    params: dict[str, Any] = {
        "field": await context.label(
            update, f"initiatives.field.{field.value}" if field else "initiatives.all_fields"
        ),
        "count": result.total,
        "lines": Raw("\n".join(lines)),
    }
    key = "initiatives.browse_list" if result.total else "initiatives.browse_empty"
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), **params)
    else:
        await say(update, context, key, reply_markup=inline(rows), **params)


async def set_support(
    update: Update, context: BotContext, initiative_id: int, supported: bool
) -> None:
    actor = await _member_actor(update, context)
    if actor is None:
        return
    try:
        card = await context.services.initiatives.set_support(actor, initiative_id, supported)
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    key = "initiatives.supported" if supported else "initiatives.unsupported"
    await answer(update, context, key, count=card.supports)
    await show_card(update, context, initiative_id, edit=True)


async def ask_withdraw(update: Update, context: BotContext, parsed: callbacks.Callback) -> None:
    initiative_id, version = parsed.int_arg(0), parsed.int_arg(1)
    if initiative_id is None or version is None:
        await answer(update, context, "common.button_expired")
        return
    actor = await context.actor(update)
    try:
        initiative, _ = await context.services.initiatives.check_change(
            actor, initiative_id, S.WITHDRAWN, version=version
        )
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(update, context, exc)
        return
    except InitiativeChanged as exc:
        await _changed(update, context, exc)
        return
    await answer(update, context)
    rows: Rows = [
        [
            (
                await context.label(update, "initiatives.withdraw_yes"),
                _cb("go", initiative.id, initiative.version, S.WITHDRAWN.value),
            )
        ],
        [(await context.label(update, "initiatives.withdraw_no"), _cb("open", initiative.id))],
    ]
    await say(
        update,
        context,
        "initiatives.withdraw_ask",
        reply_markup=inline(rows),
        title=initiative.title,
    )


# --- dispatch ---------------------------------------------------------------------------------


async def on_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    if parsed is None or update.effective_user is None:
        await answer(update, context, "common.button_expired")
        return
    actor = await context.actor(update)
    if actor.member is None and not actor.is_admin:
        await answer(update, context, "access.not_member", alert=True)
        return
    action = parsed.action
    number = parsed.int_arg()
    if action == "new":
        await start_new(update, context)
    elif action == "cont" and number is not None:
        await resume(update, context, number)
    elif action in ("fld", "skip", "done", "edit", "clr", "save"):
        await _flow_press(update, context, parsed)
    elif action in ("go", "rec"):
        await on_change(update, context, parsed)
    elif action == "wdq":
        await ask_withdraw(update, context, parsed)
    elif action == "open" and number is not None:
        await show_card(update, context, number, acknowledge=True)
    elif action == "mine":
        await show_mine(update, context, number or 0, edit=True)
    elif action == "hist" and number is not None:
        await show_history(update, context, number)
    elif action == "full" and number is not None:
        await send_full_text(update, context, number)
    elif action == "files" and number is not None:
        await send_files(update, context, number)
    elif action == "rq" and parsed.arg(0) in ("q", "a"):
        await show_queue(
            update,
            context,
            actor,
            accepted=parsed.arg(0) == "a",
            page=parsed.int_arg(1) or 0,
            edit=True,
        )
    elif action == "br" and parsed.arg(0) is not None:
        await show_browse(
            update, context, parsed.arg(0) or "all", parsed.int_arg(1) or 0, edit=True
        )
    elif action == "sup" and number is not None and parsed.arg(1) in ("0", "1"):
        await set_support(update, context, number, parsed.arg(1) == "1")
    elif action == "sup" and number is not None:
        # A card drawn before supports said which way they go: "sup" alone meant "the
        # opposite of now", which an old copy cannot tell. Show the card as it is now.
        await answer(update, context, "common.button_expired")
        await show_card(update, context, number, edit=True)
    elif action == "noop":
        await answer(update, context)
    else:
        await answer(update, context, "common.button_expired")


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("review", review_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_callback, pattern=rf"^{NS}:"))
    for step in ("title", "problem", "solution", "benefit", "coauthors"):
        router.text_steps[(FLOW, step)] = on_text_step
    router.text_steps[(FLOW, "field")] = on_field_text
    router.text_steps[(FLOW, "attachments")] = on_attachment_text
    router.text_steps[(FLOW, "summary")] = on_summary_text
    router.file_steps[(FLOW, "attachments")] = on_attachment_file
    router.text_steps[(COMMENT_FLOW, "comment")] = on_comment
    # common.register offers "coming soon" with setdefault; this journey is here now.
    router.menu["menu.initiatives"] = show_menu


__all__ = ["register", "show_menu"]
