""" "Tuổi trẻ sáng tạo" initiatives (SPEC 2.4), written once for every channel: the guided
submission with drafts and attachments, the author's list and history, the review queue and
decisions, browsing and supports; the author and the unit's cadres are told on their channel.

Attachments are kept as the channel's own reference (a Telegram file id, an image the Zalo
channel stored) together with that channel, and handed back as ``FileRef``s: each channel sends
what it can. Documents come only where the channel carries them (Telegram); elsewhere the
attachments step asks for images and says documents can be added from Telegram."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

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
from bot.domain.members import Actor, Member, Role
from bot.domain.text import fold
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
from handlers.dialog import (
    Attachment,
    Button,
    FileKind,
    FileRef,
    Turn,
    Unreachable,
    Upload,
)
from handlers.dispatch import Routes

log = logging.getLogger(__name__)

NS = "ini"
FLOW = "initiative"
COMMENT_FLOW = "ini_comment"
# The guided steps, in order; "summary" follows the last.
STEPS = ("title", "field", "problem", "solution", "benefit", "coauthors", "attachments")
PREVIEW = 400  # characters of each long part shown on a card; the full text is a choice away
CHUNK = 3500  # characters per message when sending a long part in full (channels split further)
PHOTO_EXTENSIONS = {"image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}

S = InitiativeStatus
Rows = list[list[Button]]


# --- small helpers ----------------------------------------------------------------------------


def _cb(action: str, *args: object) -> str:
    return callbacks.pack(NS, action, *args)


def _local(turn: Turn, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(turn.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


def _preview(text: str, limit: int = PREVIEW) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _short(text: str, limit: int = 40) -> str:
    return _preview(text, limit)


async def _status(turn: Turn, status: S) -> str:
    return await turn.label(f"initiatives.status.{status.value}")


async def _field(turn: Turn, field: InitiativeField | None) -> str:
    if field is None:
        return await turn.label("initiatives.not_given")
    return await turn.label(f"initiatives.field.{field.value}")


async def _member_actor(turn: Turn) -> Actor | None:
    actor = await turn.actor()
    if actor.member is None:
        await turn.refuse("access.not_member")
        return None
    return actor


async def _invalid(turn: Turn, exc: InvalidInput) -> None:
    params = dict(exc.params)
    for name in ("status", "target"):
        if name in params:
            params[name] = await _status(turn, S(params[name]))
    if "missing" in params:
        names = [
            await turn.label(f"initiatives.part.{part}")
            for part in str(params["missing"]).split(",")
        ]
        params["missing"] = ", ".join(names)
    await turn.refuse(exc.key, **params)


async def _changed(turn: Turn, exc: InitiativeChanged) -> None:
    status = await _status(turn, exc.current.status)
    await turn.answer("initiatives.changed_alert", alert=True, status=status)
    await turn.say("initiatives.changed", status=status)


async def _page_row(turn: Turn, page: Page[Any], action: str, *args: object) -> list[Button]:
    return await turn.page_row(
        page.page, page.pages, lambda n: _cb(action, *args, n), counter=_cb("noop")
    )


def _loose(text: str) -> str:
    """Compared without case, diacritics or punctuation ("chuyen mon nghiep vu")."""
    kept = "".join(ch if ch.isalnum() else " " for ch in fold(text))
    return " ".join(kept.split())


def _field_named(turn: Turn, text: str) -> InitiativeField | None:
    """The field whose name (in any language) was typed, if one was."""
    wanted = _loose(text)
    if not wanted:
        return None
    catalogue = turn.services.catalogue
    for field in InitiativeField:
        key = f"initiatives.field.{field.value}"
        if any(
            _loose(catalogue.plain(language, key)) == wanted for language in catalogue.languages
        ):
            return field
    return None


# --- the menu ---------------------------------------------------------------------------------


async def show_menu(turn: Turn) -> None:
    actor = await _member_actor(turn)
    if actor is None:
        return
    service = turn.services.initiatives
    rows: Rows = [[await turn.button("initiatives.new", _cb("new"))]]
    for draft in await service.drafts(actor):
        rows.append(
            [
                await turn.button(
                    "initiatives.continue", _cb("cont", draft.id), title=_short(draft.title)
                )
            ]
        )
    rows.append([await turn.button("initiatives.mine", _cb("mine", 0))])
    rows.append([await turn.button("initiatives.browse", _cb("br", "all", 0))])
    if service.is_reviewer(actor):
        count = await service.queue_size(actor)
        rows.append([await turn.button("initiatives.review", _cb("rq", "q", 0), count=count)])
    await turn.say("initiatives.menu", buttons=rows)


async def review_command(turn: Turn) -> None:
    actor = await turn.actor()
    if not turn.services.initiatives.is_reviewer(actor):
        await turn.say("initiatives.reviewers_only")
        return
    await show_queue(turn, actor, accepted=False, page=0)


# --- the guided submission --------------------------------------------------------------------


async def ask(turn: Turn, state: FlowState) -> None:
    """(Re-)ask the question of the step the person is at."""
    step = state.step
    total = len(STEPS)
    number = STEPS.index(step) + 1 if step in STEPS else total
    if step == "title":
        await turn.say("initiatives.ask_title", n=number, total=total, min=TITLE_MIN, max=TITLE_MAX)
    elif step == "field":
        choices = [
            Button(await _field(turn, field), _cb("fld", field.value)) for field in InitiativeField
        ]
        rows = [choices[i : i + 2] for i in range(0, len(choices), 2)]
        await turn.say("initiatives.ask_field", buttons=rows, n=number, total=total)
    elif step in ("problem", "solution", "benefit"):
        await turn.say(f"initiatives.ask_{step}", n=number, total=total, max=TEXT_MAX)
    elif step == "coauthors":
        await turn.say(
            "initiatives.ask_coauthors",
            buttons=[[await turn.button("common.skip", _cb("skip"))]],
            n=number,
            total=total,
        )
    elif step == "attachments":
        initiative = await _flow_initiative(turn, state)
        if initiative is None:
            return
        documents = turn.chat.capabilities.documents
        await turn.say(
            "initiatives.ask_attachments" if documents else "initiatives.ask_attachments_images",
            buttons=await _attachments_rows(turn),
            n=number,
            total=total,
            max=MAX_ATTACHMENTS,
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
            count=initiative.attachment_count,
        )
    else:
        initiative = await _flow_initiative(turn, state)
        if initiative is not None:
            await show_summary(turn, initiative)


async def _attachments_rows(turn: Turn) -> Rows:
    return [[await turn.button("initiatives.files_done", _cb("done"))]]


async def _flow_initiative(turn: Turn, state: FlowState) -> Initiative | None:
    """The draft the flow works on, re-checked: still the person's and still editable."""
    actor = await turn.actor()
    initiative_id = state.data.get("id")
    if not isinstance(initiative_id, int):
        return None
    try:
        return await turn.services.initiatives.for_editing(actor, initiative_id)
    except (InvalidInput, NotAllowed) as exc:
        await turn.services.flows.clear(turn.person)
        key = exc.key if isinstance(exc, InvalidInput) else exc.reason
        params = exc.params if isinstance(exc, InvalidInput) else {}
        if "status" in params:
            params = {**params, "status": await _status(turn, S(params["status"]))}
        await turn.say(key, **params)
        return None


async def advance(turn: Turn, state: FlowState, **changes: Any) -> None:
    """Go to the next step (or back to the summary when the person is editing one part)."""
    if state.data.get("reviewing"):
        nxt = "summary"
    else:
        index = STEPS.index(state.step) if state.step in STEPS else len(STEPS) - 1
        nxt = STEPS[index + 1] if index + 1 < len(STEPS) else "summary"
    moved = await turn.services.flows.move(turn.person, state, nxt, **changes)
    await ask(turn, moved)


async def start_new(turn: Turn) -> None:
    actor = await _member_actor(turn)
    if actor is None:
        return
    await turn.answer()
    state = await turn.services.flows.start(turn.person, FLOW, "title", id=None, reviewing=False)
    await ask(turn, state)


async def resume(turn: Turn, initiative_id: int) -> None:
    """Continue a draft (or one sent back for revision) where it stands: the first missing
    part, or the summary when nothing required is missing."""
    actor = await _member_actor(turn)
    if actor is None:
        return
    try:
        initiative = await turn.services.initiatives.for_editing(actor, initiative_id)
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    await turn.answer()
    missing = initiative.missing()
    step = missing[0] if missing else "summary"
    state = await turn.services.flows.start(
        turn.person, FLOW, step, id=initiative.id, reviewing=not missing
    )
    key = (
        "initiatives.resumed_revision"
        if initiative.status is S.NEEDS_REVISION
        else "initiatives.resumed"
    )
    await turn.say(key, title=initiative.title)
    await ask(turn, state)


async def _save_part(turn: Turn, state: FlowState, name: str, value: str) -> None:
    actor = await turn.actor()
    service = turn.services.initiatives
    flows = turn.services.flows
    initiative_id = state.data.get("id")
    try:
        if name == "title" and not isinstance(initiative_id, int):
            draft = await service.start_draft(actor, value)
            await turn.say("initiatives.draft_created", title=draft.title)
            await advance(turn, state, id=draft.id)
            return
        if not isinstance(initiative_id, int):
            await flows.clear(turn.person)
            await turn.say("common.button_expired")
            return
        await service.update(actor, initiative_id, name, value)
    except InvalidInput as exc:
        await _invalid(turn, exc)  # the step stays; what was saved stays saved
        return
    except NotAllowed as exc:
        await flows.clear(turn.person)
        await turn.say(exc.reason)
        return
    except InitiativeChanged as exc:
        await flows.clear(turn.person)
        await _changed(turn, exc)
        return
    await advance(turn, state)


async def on_text_step(turn: Turn, state: FlowState) -> None:
    text = turn.typed or ""
    if state.step == "coauthors" and turn.services.catalogue.matches("common.skip", text.strip()):
        await advance(turn, state)
        return
    await _save_part(turn, state, state.step, text)


async def on_field_text(turn: Turn, state: FlowState) -> None:
    """A field named by typing ("chuyển đổi số") is chosen like its button; else ask again."""
    field = _field_named(turn, turn.typed or "")
    if field is None:
        await turn.say("initiatives.field_use_buttons")
        await ask(turn, state)
        return
    await turn.say("initiatives.field_chosen", field=await _field(turn, field))
    await _save_part(turn, state, "field", field.value)


async def on_attachment_text(turn: Turn, state: FlowState) -> None:
    documents = turn.chat.capabilities.documents
    await turn.say(
        "initiatives.files_hint" if documents else "initiatives.files_hint_images",
        buttons=await _attachments_rows(turn),
    )


async def on_summary_text(turn: Turn, state: FlowState) -> None:
    """Typing at the summary: the summary's choices again (where choices are numbered, the last
    reply's are the ones that count)."""
    initiative = await _flow_initiative(turn, state)
    if initiative is None:
        return
    await turn.say("initiatives.summary_use_buttons", buttons=await _summary_rows(turn, initiative))


def _new_attachment(upload: Upload) -> NewAttachment:
    """What to keep of an uploaded file: the channel's reference and the channel it is of."""
    file = upload.file
    if upload.kind is FileKind.DOCUMENT:
        return NewAttachment(
            "document",
            file.ref,
            file.unique_id,
            (upload.name or "tep-dinh-kem")[:200],
            upload.size,
            upload.mime,
            file.channel,
        )
    mime = upload.mime or "image/jpeg"
    extension = PHOTO_EXTENSIONS.get(mime, ".jpg")
    return NewAttachment(
        "photo",
        file.ref,
        file.unique_id,
        f"anh-{file.unique_id[-8:]}{extension}",
        upload.size,
        mime,
        file.channel,
    )


async def on_attachment_file(turn: Turn, state: FlowState) -> None:
    upload = turn.input
    initiative_id = state.data.get("id")
    if not isinstance(upload, Upload) or not isinstance(initiative_id, int):
        return
    actor = await turn.actor()
    new = _new_attachment(upload)
    try:
        initiative = await turn.services.initiatives.add_attachment(actor, initiative_id, new)
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    except NotAllowed as exc:
        await turn.services.flows.clear(turn.person)
        await turn.say(exc.reason)
        return
    except InitiativeChanged as exc:
        await turn.services.flows.clear(turn.person)
        await _changed(turn, exc)
        return
    await turn.say(
        "initiatives.file_received",
        buttons=await _attachments_rows(turn),
        name=new.name,
        count=initiative.attachment_count,
        max=MAX_ATTACHMENTS,
    )


async def _summary_rows(turn: Turn, initiative: Initiative) -> Rows:
    submit_key = (
        "initiatives.resubmit" if initiative.status is S.NEEDS_REVISION else "initiatives.submit"
    )
    rows: Rows = [
        [
            await turn.button(
                submit_key, _cb("go", initiative.id, initiative.version, S.SUBMITTED.value)
            )
        ]
    ]
    parts = [*STEPS[:6]]
    for i in range(0, len(parts), 2):
        rows.append(
            [
                await turn.button(
                    "initiatives.edit_part",
                    _cb("edit", name),
                    part=await turn.label(f"initiatives.part.{name}"),
                )
                for name in parts[i : i + 2]
            ]
        )
    files_row = [await turn.button("initiatives.add_files", _cb("edit", "attachments"))]
    if initiative.attachment_count:
        files_row.append(await turn.button("initiatives.clear_files", _cb("clr")))
    rows.append(files_row)
    rows.append([await turn.button("initiatives.save_draft", _cb("save"))])
    return rows


async def show_summary(turn: Turn, initiative: Initiative) -> None:
    flows = turn.services.flows
    state = await flows.get(turn.person)
    if state is not None and state.flow == FLOW and state.step != "summary":
        await flows.move(turn.person, state, "summary", reviewing=True)
    none = await turn.label("initiatives.not_given")
    missing = initiative.missing()
    missing_note = ""
    if missing:
        names = [await turn.label(f"initiatives.part.{part}") for part in missing]
        missing_note = await turn.text("initiatives.summary_missing", missing=", ".join(names))
    await turn.say(
        "initiatives.summary",
        buttons=await _summary_rows(turn, initiative),
        title=initiative.title,
        field=await _field(turn, initiative.field),
        problem=_preview(initiative.problem) or none,
        solution=_preview(initiative.solution) or none,
        benefit=_preview(initiative.benefit) or none,
        coauthors=initiative.coauthors or none,
        files=initiative.attachment_count,
        missing=Raw(missing_note),
    )


async def _flow_press(turn: Turn, parsed: callbacks.Callback) -> None:
    """Choices that belong to the submission flow: field, skip, done, edit, clear, save."""
    flows = turn.services.flows
    state = await flows.get(turn.person)
    if state is None or state.flow != FLOW:
        await turn.answer("common.button_expired")
        return
    actor = await _member_actor(turn)
    if actor is None:
        return
    if parsed.action == "fld" and state.step == "field":
        value = parsed.arg() or ""
        if value not in {f.value for f in InitiativeField}:
            await turn.answer("common.button_expired")
            return
        await turn.answer()
        await turn.show(
            "initiatives.field_chosen", field=await _field(turn, InitiativeField(value))
        )
        await _save_part(turn, state, "field", value)
    elif parsed.action == "skip" and state.step == "coauthors":
        await turn.answer()
        await advance(turn, state)
    elif parsed.action == "done" and state.step == "attachments":
        await turn.answer()
        moved = await flows.move(turn.person, state, "summary", reviewing=True)
        await ask(turn, moved)
    elif parsed.action == "edit" and parsed.arg() in STEPS and state.data.get("id"):
        await turn.answer()
        step = parsed.arg()
        assert step is not None
        moved = await flows.move(turn.person, state, step, reviewing=True)
        await ask(turn, moved)
    elif parsed.action == "clr" and isinstance(state.data.get("id"), int):
        try:
            initiative = await turn.services.initiatives.clear_attachments(
                actor, int(state.data["id"])
            )
        except InvalidInput as exc:
            await _invalid(turn, exc)
            return
        except NotAllowed as exc:
            await turn.refuse(exc.reason)
            return
        await turn.answer("initiatives.files_cleared")
        await show_summary(turn, initiative)
    elif parsed.action == "save":
        await turn.answer()
        await flows.clear(turn.person)
        await turn.show("initiatives.draft_saved")
    else:
        await turn.answer("common.button_expired")


# --- status changes ---------------------------------------------------------------------------


async def on_change(turn: Turn, parsed: callbacks.Callback) -> None:
    """``go:<id>:<version>:<status>`` and ``rec:<id>:<version>:<level>``: re-checked in full."""
    actor = await turn.actor()
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
        await turn.answer("common.button_expired")
        return
    service = turn.services.initiatives
    try:
        _, rule = await service.check_change(actor, initiative_id, target, version=version)
        if rule.comment_required:
            await turn.answer()
            await turn.services.flows.start(
                turn.person,
                COMMENT_FLOW,
                "comment",
                id=initiative_id,
                version=version,
                target=target.value,
            )
            await turn.say(
                "initiatives.ask_comment",
                action=await turn.label(f"initiatives.action.{target.value}"),
            )
            return
        change = await service.change_status(
            actor, initiative_id, target, version=version, level=level
        )
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    except InitiativeChanged as exc:
        current = exc.current
        if (
            actor.member is not None
            and current.author_member_id == actor.member.id
            and current.status in (S.DRAFT, S.NEEDS_REVISION)
        ):
            # The author's own older summary: show the latest one to submit from.
            await turn.answer()
            await show_summary(turn, current)
            return
        await _changed(turn, exc)
        return
    await turn.answer()
    await _after_change(turn, change)


async def on_comment(turn: Turn, state: FlowState) -> None:
    actor = await turn.actor()
    flows = turn.services.flows
    data = state.data
    try:
        target = S(str(data.get("target")))
        change = await turn.services.initiatives.change_status(
            actor,
            int(data["id"]),
            target,
            version=int(data["version"]),
            comment=turn.typed or "",
        )
    except InvalidInput as exc:
        await _invalid(turn, exc)  # e.g. too long: ask again, nothing changed
        return
    except (NotAllowed, InitiativeChanged, KeyError, ValueError) as exc:
        await flows.clear(turn.person)
        if isinstance(exc, InitiativeChanged):
            await _changed(turn, exc)
        elif isinstance(exc, NotAllowed):
            await turn.say(exc.reason)
        else:
            await turn.say("common.button_expired")
        return
    await flows.clear(turn.person)
    await _after_change(turn, change)


async def _after_change(turn: Turn, change: StatusChange) -> None:
    """Tell the person what happened, the author (in their language) and, on a submission,
    the unit's cadres."""
    after = change.after
    target = after.status
    if change.party is Party.AUTHOR:
        state = await turn.services.flows.get(turn.person)
        if state is not None and state.flow == FLOW:
            await turn.services.flows.clear(turn.person)
        if target is S.SUBMITTED:
            await turn.show("initiatives.submitted", title=after.title, code=after.code or "")
            await _notify_cadres(turn, after)
        else:
            await turn.show("initiatives.withdrawn", title=after.title)
        return
    await turn.say(
        "initiatives.done",
        code=after.code or "",
        title=after.title,
        status=await _status(turn, target),
    )
    await _notify_author(turn, change)
    if target is S.IN_REVIEW:
        await show_card(turn, after.id)


async def _tell(turn: Turn, member: Member, key: str, initiative_id: int, **params: Any) -> None:
    """A message to another member with a way to open the initiative; never fails the turn
    of the person who caused it (their change is made already)."""
    button = Button(turn.label_for(member, "initiatives.open"), _cb("open", initiative_id))
    try:
        await turn.tell(member, key, buttons=[[button]], **params)
    except Unreachable:
        log.info("member %s could not be told about an initiative", member.id)
    except Exception as exc:
        log.warning(
            "could not tell member %s about an initiative: %s", member.id, type(exc).__name__
        )


async def _notify_author(turn: Turn, change: StatusChange) -> None:
    after = change.after
    author = await turn.services.members.by_id(after.author_member_id)
    if author is None or author.deleted_at is not None:
        return
    level = (
        turn.label_for(author, f"initiatives.level.{after.recognition_level.value}")
        if after.recognition_level
        else ""
    )
    await _tell(
        turn,
        author,
        f"initiatives.notify.{after.status.value}",
        after.id,
        title=after.title,
        code=after.code or "",
        comment=change.comment or "",
        level=level,
    )


async def _notify_cadres(turn: Turn, initiative: Initiative) -> None:
    services = turn.services
    for grant in await services.roles.all():
        if grant.role is not Role.CADRE or grant.unit_id != initiative.unit_id:
            continue
        if grant.member_id == initiative.author_member_id:
            continue
        cadre = await services.members.by_id(grant.member_id)
        if cadre is None or cadre.deleted_at is not None:
            continue
        await _tell(
            turn,
            cadre,
            "initiatives.notify_cadre",
            initiative.id,
            title=initiative.title,
            code=initiative.code or "",
        )


# --- cards, lists and history -----------------------------------------------------------------


async def show_card(
    turn: Turn, initiative_id: int, *, edit: bool = False, acknowledge: bool = False
) -> bool:
    """One initiative with the choices this person may make now (re-derived on every view);
    ``acknowledge`` answers the press once the person may see it, before drawing."""
    actor = await turn.actor()
    service = turn.services.initiatives
    try:
        card = await service.card(actor, initiative_id)
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return False
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return False
    if acknowledge:
        await turn.answer()
    initiative = card.initiative
    parties = service.parties(actor, initiative)
    rows = await _card_buttons(turn, actor, card, parties)
    none = await turn.label("initiatives.not_given")
    recognition = ""
    if initiative.recognition_level is not None:
        recognition = await turn.text(
            "initiatives.card_recognised",
            level=await turn.label(f"initiatives.level.{initiative.recognition_level.value}"),
        )
    params: dict[str, Any] = {
        "title": initiative.title,
        "code": initiative.code or await turn.label("initiatives.no_code"),
        "status": await _status(turn, initiative.status),
        "field": await _field(turn, initiative.field),
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
    if edit:
        await turn.show("initiatives.card", buttons=rows, **params)
    else:
        await turn.say("initiatives.card", buttons=rows, **params)
    return True


async def _card_buttons(
    turn: Turn, actor: Actor, card: InitiativeCard, parties: frozenset[Party]
) -> Rows:
    initiative = card.initiative
    rows: Rows = []
    for target in allowed_targets(initiative, parties):
        if target is S.RECOGNISED:
            rows.append(
                [
                    await turn.button(
                        f"initiatives.recognise.{level.value}",
                        _cb("rec", initiative.id, initiative.version, level.value),
                    )
                    for level in recognition_levels(parties)
                ]
            )
        elif target is S.WITHDRAWN:
            rows.append(
                [
                    await turn.button(
                        "initiatives.action.withdrawn",
                        _cb("wdq", initiative.id, initiative.version),
                    )
                ]
            )
        else:
            key = f"initiatives.action.{target.value}"
            if target is S.SUBMITTED and initiative.status is S.NEEDS_REVISION:
                key = "initiatives.resubmit"
            rows.append(
                [await turn.button(key, _cb("go", initiative.id, initiative.version, target.value))]
            )
    if Party.AUTHOR in parties and initiative.status in (S.DRAFT, S.NEEDS_REVISION):
        rows.insert(0, [await turn.button("initiatives.edit", _cb("cont", initiative.id))])
    if (
        initiative.status in PUBLIC_STATUSES
        and Party.AUTHOR not in parties
        and actor.member is not None
    ):
        # The choice says what it does (support, or take the support back) and its data says
        # the same: a second tap or an older copy of this card cannot do the opposite.
        key = "initiatives.unsupport" if card.supported_by_viewer else "initiatives.support"
        wanted = 0 if card.supported_by_viewer else 1
        rows.append(
            [await turn.button(key, _cb("sup", initiative.id, wanted), count=card.supports)]
        )
    extra = [await turn.button("initiatives.full_text", _cb("full", initiative.id))]
    if parties:
        extra.append(await turn.button("initiatives.history", _cb("hist", initiative.id)))
        if initiative.attachment_count:
            extra.append(
                await turn.button(
                    "initiatives.files",
                    _cb("files", initiative.id),
                    count=initiative.attachment_count,
                )
            )
    rows.append(extra)
    return rows


async def show_mine(turn: Turn, page: int) -> None:
    actor = await _member_actor(turn)
    if actor is None:
        return
    result = await turn.services.initiatives.mine(actor, page)
    rows: Rows = []
    for initiative in result.items:
        code = initiative.code or await turn.label("initiatives.no_code")
        status = await _status(turn, initiative.status)
        rows.append(
            [
                Button(
                    f"{status} · {code} · {_short(initiative.title, 32)}",
                    _cb("open", initiative.id),
                )
            ]
        )
    nav = await _page_row(turn, result, "mine")
    if nav:
        rows.append(nav)
    rows.append([await turn.button("initiatives.new", _cb("new"))])
    key = "initiatives.mine_list" if result.total else "initiatives.mine_empty"
    await turn.answer()
    await turn.show(key, buttons=rows, count=result.total)


async def show_history(turn: Turn, initiative_id: int) -> None:
    actor = await turn.actor()
    service = turn.services.initiatives
    try:
        initiative = await service.get(actor, initiative_id)
        if not service.parties(actor, initiative):
            raise NotAllowed("initiatives.not_yours")
        entries = await service.history(actor, initiative_id)
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    await turn.answer()
    lines = [
        await turn.text("initiatives.history_created", time=_local(turn, initiative.created_at))
    ]
    for entry in entries:
        who = await turn.label(f"initiatives.party.{entry.actor_role}")
        if entry.actor_name:
            who = f"{who} {entry.actor_name}"
        line = await turn.text(
            "initiatives.history_line",
            time=_local(turn, entry.at),
            before=await _status(turn, entry.from_status),
            after=await _status(turn, entry.to_status),
            who=who,
        )
        if entry.comment:
            line += "\n" + await turn.text("initiatives.history_comment", comment=entry.comment)
        lines.append(line)
    await turn.say("initiatives.history_list", title=initiative.title, lines=Raw("\n".join(lines)))


async def send_full_text(turn: Turn, initiative_id: int) -> None:
    actor = await turn.actor()
    try:
        initiative = await turn.services.initiatives.get(actor, initiative_id)
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    await turn.answer()
    for part in ("problem", "solution", "benefit"):
        text: str = getattr(initiative, part)
        if not text:
            continue
        label = await turn.label(f"initiatives.part.{part}")
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
        for number, chunk in enumerate(chunks, start=1):
            suffix = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
            await turn.say(
                "initiatives.full_part", part=label + suffix, title=initiative.title, text=chunk
            )


async def send_files(turn: Turn, initiative_id: int) -> None:
    """Hand the attachments back as the channels keep them (nothing is copied on our side):
    each file with the channel its reference belongs to."""
    actor = await turn.actor()
    try:
        files = await turn.services.initiatives.attachments(actor, initiative_id)
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    await turn.answer()
    if not files:
        await turn.say("initiatives.no_files")
        return
    for file in files:
        attachment = Attachment(
            file.name,
            stored=FileRef(file.channel, file.file_id, file.file_unique_id),
            mime=file.mime,
            for_member=actor.member_id,
        )
        try:
            if file.kind == "photo":
                await turn.photo(attachment, "initiatives.file_caption", name=file.name)
            else:
                await turn.document(attachment, "initiatives.file_caption", name=file.name)
        except Unreachable:
            raise
        except Exception as exc:  # one file gone (deleted, expired) must not stop the others
            log.info("could not send an attachment again: %s", type(exc).__name__)
            await turn.say("initiatives.file_unavailable", name=file.name)


# --- review queue -----------------------------------------------------------------------------


async def show_queue(
    turn: Turn, actor: Actor, *, accepted: bool, page: int, edit: bool = False
) -> None:
    try:
        result = await turn.services.initiatives.review_queue(actor, accepted=accepted, page=page)
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    await turn.answer()
    mode = "a" if accepted else "q"
    rows: Rows = []
    for card in result.items:
        initiative = card.initiative
        status = await _status(turn, initiative.status)
        rows.append(
            [
                Button(
                    f"{status} · {initiative.code} · {_short(initiative.title, 32)}",
                    _cb("open", initiative.id),
                )
            ]
        )
    nav = await _page_row(turn, result, "rq", mode)
    if nav:
        rows.append(nav)
    switch_key = "initiatives.queue_open" if accepted else "initiatives.queue_accepted"
    rows.append([await turn.button(switch_key, _cb("rq", "q" if accepted else "a", 0))])
    if accepted:
        key = "initiatives.accepted_list" if result.total else "initiatives.accepted_empty"
    else:
        key = "initiatives.queue_list" if result.total else "initiatives.queue_empty"
    if edit:
        await turn.show(key, buttons=rows, count=result.total)
    else:
        await turn.say(key, buttons=rows, count=result.total)


# --- browsing and supports --------------------------------------------------------------------


async def show_browse(turn: Turn, field_arg: str, page: int) -> None:
    actor = await _member_actor(turn)
    if actor is None:
        return
    field = InitiativeField(field_arg) if field_arg in {f.value for f in InitiativeField} else None
    result = await turn.services.initiatives.browse(actor, field, page)
    await turn.answer()
    rows: Rows = []
    lines = []
    for card in result.items:
        initiative = card.initiative
        lines.append(
            await turn.text(
                "initiatives.browse_line",
                code=initiative.code or "",
                title=initiative.title,
                unit=card.unit_name,
                supports=card.supports,
                badge="🏅 " if initiative.status is S.RECOGNISED else "",
            )
        )
        rows.append(
            [
                Button(
                    f"{initiative.code} · {_short(initiative.title, 36)}",
                    _cb("open", initiative.id),
                )
            ]
        )
    nav = await _page_row(turn, result, "br", field_arg)
    if nav:
        rows.append(nav)
    filters: list[Button] = []
    for option in ("all", *(f.value for f in InitiativeField)):
        key = "initiatives.all_fields" if option == "all" else f"initiatives.field.{option}"
        label = await turn.label(key)
        if option == (field.value if field else "all"):
            label = "• " + label
        filters.append(Button(label, _cb("br", option, 0)))
    rows.extend(filters[i : i + 2] for i in range(0, len(filters), 2))
    key = "initiatives.browse_list" if result.total else "initiatives.browse_empty"
    await turn.show(
        key,
        buttons=rows,
        field=await turn.label(
            f"initiatives.field.{field.value}" if field else "initiatives.all_fields"
        ),
        count=result.total,
        lines=Raw("\n".join(lines)),
    )


async def set_support(turn: Turn, initiative_id: int, supported: bool) -> None:
    actor = await _member_actor(turn)
    if actor is None:
        return
    try:
        card = await turn.services.initiatives.set_support(actor, initiative_id, supported)
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    key = "initiatives.supported" if supported else "initiatives.unsupported"
    await turn.answer(key, count=card.supports)
    await show_card(turn, initiative_id, edit=True)


async def ask_withdraw(turn: Turn, parsed: callbacks.Callback) -> None:
    initiative_id, version = parsed.int_arg(0), parsed.int_arg(1)
    if initiative_id is None or version is None:
        await turn.answer("common.button_expired")
        return
    actor = await turn.actor()
    try:
        initiative, _ = await turn.services.initiatives.check_change(
            actor, initiative_id, S.WITHDRAWN, version=version
        )
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    except InvalidInput as exc:
        await _invalid(turn, exc)
        return
    except InitiativeChanged as exc:
        await _changed(turn, exc)
        return
    await turn.answer()
    await turn.ask_to_confirm(
        "initiatives.withdraw_ask",
        yes=(
            "initiatives.withdraw_yes",
            _cb("go", initiative.id, initiative.version, S.WITHDRAWN.value),
        ),
        no=("initiatives.withdraw_no", _cb("open", initiative.id)),
        title=initiative.title,
    )


# --- dispatch ---------------------------------------------------------------------------------


async def on_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    actor = await turn.actor()
    if actor.member is None and not actor.is_admin:
        await turn.answer("access.not_member", alert=True)
        return
    action = parsed.action
    number = parsed.int_arg()
    if action == "new":
        await start_new(turn)
    elif action == "cont" and number is not None:
        await resume(turn, number)
    elif action in ("fld", "skip", "done", "edit", "clr", "save"):
        await _flow_press(turn, parsed)
    elif action in ("go", "rec"):
        await on_change(turn, parsed)
    elif action == "wdq":
        await ask_withdraw(turn, parsed)
    elif action == "open" and number is not None:
        await show_card(turn, number, acknowledge=True)
    elif action == "mine":
        await show_mine(turn, number or 0)
    elif action == "hist" and number is not None:
        await show_history(turn, number)
    elif action == "full" and number is not None:
        await send_full_text(turn, number)
    elif action == "files" and number is not None:
        await send_files(turn, number)
    elif action == "rq" and parsed.arg(0) in ("q", "a"):
        await show_queue(
            turn, actor, accepted=parsed.arg(0) == "a", page=parsed.int_arg(1) or 0, edit=True
        )
    elif action == "br" and parsed.arg(0) is not None:
        await show_browse(turn, parsed.arg(0) or "all", parsed.int_arg(1) or 0)
    elif action == "sup" and number is not None and parsed.arg(1) in ("0", "1"):
        await set_support(turn, number, parsed.arg(1) == "1")
    elif action == "sup" and number is not None:
        # A card drawn before supports said which way they go: "sup" alone meant "the
        # opposite of now", which an old copy cannot tell. Show the card as it is now.
        await turn.answer("common.button_expired")
        await show_card(turn, number, edit=True)
    elif action == "noop":
        await turn.answer()
    else:
        await turn.answer("common.button_expired")


def register(routes: Routes) -> None:
    routes.commands["review"] = review_command
    routes.actions[NS] = on_press
    for step in ("title", "problem", "solution", "benefit", "coauthors"):
        routes.text_steps[(FLOW, step)] = on_text_step
    routes.text_steps[(FLOW, "field")] = on_field_text
    routes.text_steps[(FLOW, "attachments")] = on_attachment_text
    routes.text_steps[(FLOW, "summary")] = on_summary_text
    routes.file_steps[(FLOW, "attachments")] = on_attachment_file
    routes.text_steps[(COMMENT_FLOW, "comment")] = on_comment
    routes.menu["menu.initiatives"] = show_menu
    routes.flows.update({FLOW, COMMENT_FLOW})


__all__ = ["register", "show_menu"]
