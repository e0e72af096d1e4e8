"""The model the fuzz suite judges batches with: it must refuse what a sender may not do and
accept what they may, or the suite would pass vacuously."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from tests.fuzz.model import TABLES, BatchFacts, Judge, Snapshot

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
MEMBER, CADRE_BYT, VICTIM = 920_001, 910_002, 930_001  # units: 1 BTP, 3 BYT


def world() -> Snapshot:
    empty: Snapshot = {table: {} for table in TABLES}
    for mid, tid, unit in ((1, MEMBER, 1), (2, CADRE_BYT, 3), (3, VICTIM, 1), (4, 930_004, 1)):
        empty["members"][(mid,)] = {"id": mid, "telegram_id": tid, "unit_id": unit, "phone": None}
    empty["roles"][(2,)] = {"member_id": 2, "role": "cadre", "unit_id": 3}  # CADRE_BYT
    for aid, unit, open_to in ((1, 1, "all"), (2, 3, "unit"), (3, 3, "all")):
        empty["activities"][(aid,)] = {
            "id": aid,
            "unit_id": unit,
            "open_to": open_to,
            "status": "open",
            "deadline_at": "2026-12-19T01:00:00+00:00",
            "capacity": 1,
            "created_by": 1,
        }
    for rid, aid, mid, status, seq in ((1, 1, 1, "confirmed", None), (2, 1, 4, "waitlisted", 1)):
        empty["registrations"][(rid,)] = registration(rid, aid, mid, status, seq)
    empty["initiatives"][(1,)] = {
        "id": 1,
        "author_member_id": 3,
        "unit_id": 1,
        "status": "submitted",
        "recognition_level": None,
        "title": "Sáng kiến",
        "field": "digital",
        "problem": "p",
        "solution": "s",
        "benefit": "b",
        "coauthors": "",
    }
    return empty


def registration(rid: int, aid: int, mid: int, status: str, seq: int | None) -> dict[str, Any]:
    return {
        "id": rid,
        "activity_id": aid,
        "member_id": mid,
        "status": status,
        "waitlist_seq": seq,
        "confirmed_at": None,
        "updated_at": "x",
    }


def judge(before: Snapshot, after: Snapshot, *senders: int) -> list[str]:
    return Judge(before, after, BatchFacts(set(senders), NOW)).judge()


def test_unchanged_world_is_fine() -> None:
    assert judge(world(), world(), MEMBER) == []


def test_own_cancel_promotes_the_waitlist() -> None:
    before, after = world(), world()
    after["registrations"][(1,)]["status"] = "cancelled"
    promoted = after["registrations"][(2,)]
    promoted.update(status="confirmed", waitlist_seq=None, confirmed_at="now")
    assert judge(before, after, MEMBER) == []


def test_someone_elses_registration_may_not_change() -> None:
    before, after = world(), world()
    after["registrations"][(2,)]["status"] = "cancelled"
    assert judge(before, after, MEMBER)


def test_registering_for_another_units_closed_circle_is_refused() -> None:
    before, after = world(), world()
    after["registrations"][(9,)] = registration(9, 2, 1, "confirmed", None)
    assert any("not open to them" in v for v in judge(before, after, MEMBER))
    after["registrations"][(9,)] = registration(9, 3, 1, "confirmed", None)
    assert judge(before, after, MEMBER) == []


def test_a_cadre_manages_their_unit_only() -> None:
    before, after = world(), world()
    after["activities"][(2,)]["status"] = "closed"
    assert judge(before, after, CADRE_BYT) == []
    after["activities"][(1,)]["status"] = "closed"
    assert any("activities[1]" in v for v in judge(before, after, CADRE_BYT))


def test_roles_are_never_gained_and_reviews_need_the_units_cadre() -> None:
    before = world()
    after = copy.deepcopy(before)
    after["roles"][(1,)] = {"member_id": 1, "role": "admin", "unit_id": None}  # MEMBER
    assert judge(before, after, MEMBER)
    after = copy.deepcopy(before)
    after["initiatives"][(1,)]["status"] = "in_review"
    after["initiative_history"][(1,)] = {
        "id": 1,
        "initiative_id": 1,
        "actor_member_id": 2,
        "from_status": "submitted",
        "to_status": "in_review",
    }
    assert judge(before, after, CADRE_BYT)  # BYT's cadre reviewing a BTP initiative


def test_another_persons_flow_state_may_not_change() -> None:
    before, after = world(), world()
    key = f"telegram:{VICTIM}"
    after["conversation_state"][(key,)] = {"person": key, "flow": "x", "step": "y"}
    assert judge(before, after, MEMBER)
    assert judge(before, after, VICTIM) == []


def test_onboarding_and_forgetting_oneself_in_one_batch() -> None:
    before, after = world(), world()
    after["members"][(9,)] = {
        "id": 9,
        "telegram_id": None,
        "unit_id": 1,
        "phone": None,
        "deleted_at": "2026-12-01T01:00:00+00:00",
    }
    assert judge(before, after, 940_001) == []  # a newcomer, gone again
    assert judge(before, after, MEMBER)  # a known member cannot explain a new row


def attendance_row(aid: int, mid: int, present: int, method: str = "qr") -> dict[str, Any]:
    return {
        "activity_id": aid,
        "member_id": mid,
        "present": present,
        "hours": 3.0 * present,
        "unit_id": 1,
        "method": method,
        "recorded_by": None if method == "qr" else CADRE_BYT,
    }


def test_a_member_checks_in_only_with_a_code_of_that_activity() -> None:
    before, after = world(), world()
    after["attendance"][(1, 1)] = attendance_row(1, 1, 1)
    after["attendance_changes"][(1,)] = {"id": 1, "activity_id": 1, "member_id": 1}
    assert any("without the member's code" in v for v in judge(before, after, MEMBER))
    facts = BatchFacts({MEMBER}, NOW, checkin_tokens_sent={MEMBER: {"3_29962112_x"}})
    assert Judge(before, after, facts).judge()  # a code of another activity
    facts = BatchFacts({MEMBER}, NOW, checkin_tokens_sent={MEMBER: {"1_29962112_x"}})
    assert Judge(before, after, facts).judge() == []
    facts = BatchFacts({MEMBER}, NOW, checkin_codes_typed={MEMBER: {1}})
    assert Judge(before, after, facts).judge() == []
    # Someone else's check-in, even with the code, is not the sender's to make.
    after["attendance"] = {(1, 4): attendance_row(1, 4, 1)}
    after["attendance_changes"][(1,)] = {"id": 1, "activity_id": 1, "member_id": 4}
    assert Judge(before, after, facts).judge()


def test_attendance_is_kept_and_only_the_units_cadre_corrects_it() -> None:
    before = world()
    before["attendance"][(1, 1)] = attendance_row(1, 1, 1)
    after = copy.deepcopy(before)
    after["attendance"][(1, 1)] = attendance_row(1, 1, 0, "cadre")
    assert judge(before, after, CADRE_BYT)  # activity 1 is BTP's
    assert judge(before, after, MEMBER)  # nor the member themselves
    after = copy.deepcopy(before)
    del after["attendance"][(1, 1)]
    assert any("deleted" in v for v in judge(before, after, MEMBER))
    after = copy.deepcopy(before)
    after["registrations"][(1,)]["status"] = "cancelled"
    assert any("after checking in" in v for v in judge(before, after, MEMBER))
    before["attendance_changes"][(1,)] = {"id": 1, "activity_id": 1, "member_id": 1}
    after = copy.deepcopy(before)
    after["attendance_changes"][(1,)]["member_id"] = 3
    assert any("append-only" in v for v in judge(before, after, MEMBER))
    # The cadre of the activity's unit may correct it.
    before["attendance"][(3, 1)] = attendance_row(3, 1, 1)
    after = copy.deepcopy(before)
    after["attendance"][(3, 1)] = attendance_row(3, 1, 0, "cadre")
    after["attendance_changes"][(2,)] = {"id": 2, "activity_id": 3, "member_id": 1}
    assert judge(before, after, CADRE_BYT) == []


def forgotten(before: Snapshot, member_id: int) -> Snapshot:
    """``before`` after /forgetme of ``member_id``, as storage.privacy leaves it."""
    after = copy.deepcopy(before)
    after["members"][(member_id,)].update(telegram_id=None, deleted_at="2026-12-01T01:00:00+00:00")
    return after


def test_forgetting_oneself_explains_what_the_erasure_changes() -> None:
    before = world()
    before["initiatives"][(1,)]["code"] = "TTST-2026-0001"
    before["initiatives"][(2,)] = {**before["initiatives"][(1,)], "id": 2, "code": None}
    before["initiative_history"][(1,)] = {
        "id": 1,
        "initiative_id": 1,
        "actor_member_id": 3,
        "from_status": "draft",
        "to_status": "submitted",
        "comment": "Tác giả ghi chú",
    }
    before["broadcasts"][(1,)] = {
        "id": 1,
        "created_by": 3,  # VICTIM
        "total": 2,
        "text_html": "Từ Người Bị Hại",
        "progress_chat_id": VICTIM,
        "progress_message_id": 5,
    }
    for mid, tid in ((3, VICTIM), (1, MEMBER)):
        before["broadcast_recipients"][(1, mid)] = {
            "broadcast_id": 1,
            "member_id": mid,
            "telegram_id": tid,
            "state": "pending" if mid == 3 else "sent",
            "message_id": None if mid == 3 else 9,
        }
    after = forgotten(before, 3)
    after["initiatives"][(1,)].update(status="withdrawn", title="", problem="")
    del after["initiatives"][(2,)]
    after["initiative_history"][(1,)]["comment"] = None
    after["initiative_history"][(2,)] = {
        "id": 2,
        "initiative_id": 1,
        "actor_member_id": 3,
        "from_status": "submitted",
        "to_status": "withdrawn",
    }
    after["broadcasts"][(1,)].update(
        created_by=0, total=1, text_html="Từ ***", progress_chat_id=None, progress_message_id=None
    )
    del after["broadcast_recipients"][(1, 3)]
    assert judge(before, after, VICTIM) == []
    # The same changes, but nobody was forgotten: none of it is explained.
    not_forgotten = copy.deepcopy(after)
    not_forgotten["members"] = copy.deepcopy(before["members"])
    refused = judge(before, not_forgotten, VICTIM)
    assert any("history is append-only" in v for v in refused)
    assert any("an initiative was deleted" in v for v in refused)
    assert any("someone else's broadcast changed" in v for v in refused)
    # Forgetting oneself explains nothing about another member's outbox row.
    after["broadcast_recipients"][(1, 1)]["telegram_id"] = 0
    assert any("broadcast_recipients[1, 1]" in v for v in judge(before, after, VICTIM))
