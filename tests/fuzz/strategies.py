"""Hypothesis strategies for hostile Telegram traffic: who sends it and what they send.

An :class:`Action` is a plain description (actor key, kind, payload); the world turns it into
updates through the emulator. Payloads that depend on the bot's state at send time (which button
is on screen) carry an index that the world resolves, so a batch stays deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

BATCH_SIZE = 25

# Who sends a batch. "attack": people with no right over other people's rows or other units'
# objects (new users, members, the cadre of BYT); "other_cadre": mostly the cadre of BYT;
# "cadre": the cadre of BTP joins them (their own unit's objects may change);
# "admin": the admin alone (allowed everything: only crashes and integrity are checked).
ATTACKERS = [
    "stranger0",
    "stranger1",
    "drifter0",
    "drifter1",
    "drifter2",
    "m_btp0",
    "m_btp1",
    "m_btp2",
    "m_byt0",
    "m_byt1",
    "m_btc0",
    "cadre_byt",
]
MODES = {"attack": 10, "other_cadre": 5, "cadre": 3, "admin": 2}

COMMANDS = (
    "start",
    "help",
    "cancel",
    "profile",
    "settings",
    "mydata",
    "forgetme",
    "newactivity",
    "import",
    "template",
    "manage",
    "checkin",
    "grant",
    "revoke",
    "roles",
    "broadcast",
    "broadcasts",
    "review",
    "export",
    "stats",
)
UNKNOWN_COMMANDS = ("foo", "admin", "sudo", "start2", "debug", "x" * 64, "Start", "HELP", "_")

CURATED = (
    "<b>đậm</b>",
    "</i>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">bấm</a>',
    "<b><i>lồng sai</b></i>",
    "&lt;&amp;&gt; & < >",
    "<tg-spoiler>",
    '<pre><code class="language-python">x</code></pre>',
    "<blockquote expandable>",
    "'; DROP TABLE members;--",
    "Robert'); DROP TABLE registrations;--",
    '" OR 1=1 --',
    "1; DELETE FROM roles",
    "%s %d %n {0} {name} {{7*7}} ${jndi:ldap://x}",
    "\u202eđảo chiều\u202c",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u200b\u200c\u200d\ufeff\u2060",
    "e\u0301\u0301\u0301\u0301\u0301\u0301",
    "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032dl\u036e\u0312\u036bg\u030c\u0317\u035a",
    "👨‍👩‍👧‍👦🏳️‍🌈",
    "\x00",
    "a\x00b",
    "\x07\x08\x1b[31mđỏ\x1b[0m",
    "\r\n\r\n",
    "\t",
    " ",
    "\u00a0",
    "\u2028\u2029",
    "\uffff\U0010ffff",
    "𝕳𝖊𝖑𝖑𝖔",
    "Nguyễn Văn A",
    "Trần Thị Bích Ngọc",
    "/",
    "//",
    "@nhipcau_test_bot",
    "ci_",
    "act_1",
    "0",
    "-1",
    "99999999999999999999",
    "1e309",
    "NaN",
    "3.5",
    "20/12/2026 08:00",
    "21/12/2026 11:30",
    "01/12/2026 09:00",
    "31/02/2026 25:61",
    "01/01/1970 00:00",
    "01/12/2026 - 31/12/2026",
    "+84912345678",
    "0912345678",
    "a@b.c",
    "victim1@victim.vn",
    "BTP",
    "bo y te",
    "Bộ Y tế",
    "có",
    "không",
    "yes",
    "S",
    "M",
    "L",
    "24h, 2h",
)

CALLBACK_ACTIONS: dict[str, tuple[str, ...]] = {
    "ob": ("consent", "tgname", "edit", "confirm"),
    "un": ("pick", "page", "all"),
    "pf": ("edit",),
    "st": ("show", "lang", "ann", "rem"),
    "pv": ("forget",),
    "act": ("ls", "cmp", "ics", "v", "reg", "can", "cy", "ans", "skip"),
    "acm": ("new", "imp", "ls", "m", "rl", "ed", "x", "xy", "op", "cl"),
    "att": ("qr", "qs", "p", "a", "rx", "re", "k", "wy", "wn"),
    "acn": (
        "skip",
        "kind",
        "open",
        "end",
        "dl",
        "cap",
        "hrs",
        "qt",
        "qr",
        "rem",
        "unit",
        "up",
        "cmp",
        "q",
        "ok",
        "ed",
        "no",
    ),
    "ini": (
        "new",
        "cont",
        "fld",
        "skip",
        "done",
        "edit",
        "clr",
        "save",
        "go",
        "rec",
        "wdq",
        "open",
        "mine",
        "hist",
        "full",
        "files",
        "rq",
        "br",
        "sup",
        "noop",
    ),
    "bc": (
        "pause",
        "resume",
        "cancel",
        "aud",
        "unit",
        "upage",
        "udone",
        "act",
        "btn",
        "send",
        "sched",
        "edit",
        "discard",
    ),
    "rm": ("yes", "no"),
    "rg": ("ok", "tg", "no"),
    "ex": ("k", "s", "a", "c", "u", "up", "f"),
    "sx": ("p", "cl", "c"),
}
WORDS = (
    "y",
    "n",
    "yes",
    "no",
    "name",
    "unit",
    "phone",
    "email",
    "vi",
    "en",
    "xx",
    "all",
    "units",
    "cadres",
    "mine",
    "act",
    "q",
    "a",
    "c",
    "u",
    "x",
    "add",
    "done",
    "new",
    "none",
    "text",
    "choice",
    "start",
    "place",
    "capacity",
    "description",
    "title",
    "regular",
    "on_the_spot",
    "campaign",
    "youth_project",
    "submitted",
    "in_review",
    "needs_revision",
    "accepted",
    "rejected",
    "recognised",
    "withdrawn",
    "draft",
    "unit",
    "bloc",
    "digital",
    "other",
    "attachments",
    "summary",
    "registrations",
    "attendance",
    "members",
    "initiatives",
    "broadcasts",
    "activity",
    "dates",
    "xlsx",
    "csv",
    "month",
    "year",
    "-1",
    "0",
    "00",
    "9007199254740993",
    "99999999999999999999",
)


@dataclass(frozen=True)
class WorldIds:
    """Ids of the seeded world that forged callbacks and commands name."""

    activities: tuple[int, ...]
    registrations: tuple[int, ...]
    initiatives: tuple[int, ...]
    broadcasts: tuple[int, ...]
    units: tuple[int, ...]
    campaigns: tuple[int, ...]
    people: tuple[int, ...]
    checkin_tokens: tuple[str, ...]  # valid check-in link payloads (after "ci_")
    checkin_codes: tuple[str, ...] = ("000000",)  # the six digits valid now


@dataclass(frozen=True)
class Action:
    actor: str
    kind: str
    payload: Any = None
    twice: bool = False  # sent again at once, before the bot answers (a double tap)


@dataclass(frozen=True)
class Batch:
    mode: str
    stranger_names: tuple[str, ...]
    actions: tuple[Action, ...] = field(default_factory=tuple)


PLAUSIBLE = (
    "Nguyễn Văn An",
    "Trần Thị Bích Ngọc",
    "Lê Hoàng",
    "an.nguyen@moj.gov.vn",
    "-",
    "+84912345678",
    "0987654321",
    "y te",
    "tư pháp",
    "Bộ Tài chính",
    "Số hoá hồ sơ lưu trữ của chi đoàn",
    "Ngày Chủ nhật xanh ở phường",
    "Hồ sơ giấy lưu ở nhiều tủ, tìm một văn bản mất cả buổi sáng của cán bộ văn thư.",
    "Quét và gắn mã cho từng hồ sơ, tra cứu bằng ô tìm kiếm trên máy tính dùng chung.",
    "Tiết kiệm khoảng ba giờ mỗi tuần cho mỗi cán bộ và giảm thất lạc hồ sơ.",
    "Nguyễn Văn B, Trần Thị C",
    "Công viên Thống Nhất",
    "20/12/2026 07:30",
    "20/12/2026 11:30",
    "19/12/2026 17:00",
    "02/12/2026 09:00",
    "01/12/2026 - 31/12/2026",
    "01/12/2026",
    "5",
    "30",
    "3,5",
    "2",
    "Cỡ áo?",
    "S, M, L",
    "M",
    "Chiều thứ Sáu họp chi đoàn",
    "<b>Thông báo</b> họp chi đoàn",
    "Cần bổ sung số liệu minh chứng",
    "Tình nguyện mùa hè 2027",
)


def plausible_text() -> st.SearchStrategy[str]:
    """What a cooperative person would type at some step: it moves flows forward, so the
    hostile input that follows lands deep inside them."""
    return st.sampled_from(PLAUSIBLE)


def hostile_text(max_size: int = 120) -> st.SearchStrategy[str]:
    """Any Unicode scalar (surrogates cannot travel in JSON), curated nasties and long runs."""
    anything = st.characters(exclude_categories=("Cs",))
    return st.one_of(
        st.text(anything, min_size=1, max_size=max_size),
        st.sampled_from(CURATED),
        st.sampled_from(CURATED),
        st.lists(st.one_of(st.sampled_from(CURATED), st.text(anything, max_size=8)), min_size=2)
        .map("".join)
        .filter(bool),
        st.builds(
            lambda piece, size: (piece * (size // len(piece) + 1))[:size],
            st.sampled_from(("a", "ệ", "👍", "<b>", "\u200b", "x y ", "\u0301")),
            st.integers(4000, 9000),
        ),
    )


def _arg(ids: WorldIds) -> st.SearchStrategy[str]:
    numbers = st.one_of(
        st.sampled_from(ids.activities),
        st.sampled_from(ids.registrations),
        st.sampled_from(ids.initiatives),
        st.sampled_from(ids.broadcasts),
        st.sampled_from(ids.units),
        st.sampled_from(ids.campaigns),
        st.integers(0, 60),
    ).map(str)
    return st.one_of(numbers, numbers, numbers, st.sampled_from(WORDS))


def forge(rng: random.Random, ids: WorldIds) -> str:
    """Well-formed data naming real objects of every unit: what a tampering client sends.
    Typed (an activity id where an activity is expected, an initiative with a plausible
    version), so that forged presses reach the role and unit checks instead of the parser."""

    def pick(pool: tuple[int, ...], spread: int) -> Callable[[], str]:
        # Mostly real objects (of every unit), sometimes ids that do not exist (yet).
        return lambda: str(rng.choice(pool) if rng.random() < 0.8 else rng.randint(0, spread))

    def word(*choices: str) -> Callable[[], str]:
        return lambda: rng.choice(choices)

    a, r, i = pick(ids.activities, 40), pick(ids.registrations, 40), pick(ids.initiatives, 20)
    b, u, c = pick(ids.broadcasts, 6), pick(ids.units, 12), pick(ids.campaigns, 4)
    small = word("0", "1", "2", "3")

    def member() -> str:  # member ids are small: the cast is a few dozen people
        return str(rng.randint(0, 40))

    version = word(*(str(n) for n in range(1, 9)))
    status = word(*WORDS[40:48])
    typed: list[tuple[str, str, list[Callable[[], str]]]] = [
        ("act", "v", [a]),
        ("act", "reg", [a]),
        ("act", "can", [a]),
        ("act", "cy", [a]),
        ("act", "ans", [a, small]),
        ("act", "skip", [a]),
        ("act", "ls", [word("u", "a", "c", "x"), small]),
        ("act", "ls", [word("c"), small, c]),
        ("acm", "m", [a]),
        ("acm", "rl", [a, small]),
        ("att", "qr", [a]),
        ("att", "qs", [a]),
        ("att", "p", [a, r, small]),
        ("att", "a", [a, r, small]),
        ("att", "rx", [a, r, small]),
        ("att", "re", [a, r, small]),
        ("att", "k", [a, small]),
        ("att", "wy", [a, member]),
        ("att", "wn", [a, member, small]),
        ("acm", "ed", [a, word("start", "place", "capacity", "description", "title")]),
        ("acm", "x", [a]),
        ("acm", "xy", [a]),
        ("acm", "op", [a]),
        ("acm", "cl", [a]),
        ("acn", "unit", [u]),
        ("acn", "cmp", [c]),
        ("ini", "go", [i, version, status]),
        ("ini", "rec", [i, version, word("unit", "bloc")]),
        ("ini", "wdq", [i, version]),
        ("ini", "cont", [i]),
        ("ini", "open", [i]),
        ("ini", "hist", [i]),
        ("ini", "full", [i]),
        ("ini", "files", [i]),
        ("ini", "sup", [i, word("0", "1")]),
        ("ini", "rq", [word("q", "a"), small]),
        ("bc", "pause", [b]),
        ("bc", "resume", [b]),
        ("bc", "cancel", [b]),
        ("bc", "unit", [u, small, word("0", "1")]),
        ("bc", "act", [a]),
        ("bc", "aud", [word("all", "units", "cadres", "mine", "act")]),
        ("rm", "yes", [a]),
        ("rm", "no", [a]),
        ("ex", "a", [a]),
        ("ex", "u", [u]),
        ("ex", "c", [c]),
        ("ex", "k", [word("registrations", "attendance", "members", "initiatives")]),
        ("ex", "s", [word("all", "activity", "campaign", "unit", "dates")]),
        ("ex", "f", [word("xlsx", "csv")]),
        ("sx", "c", [c]),
        ("sx", "p", [word("month", "year")]),
        ("un", "pick", [u]),
        ("pv", "forget", [word("yes", "no")]),
        ("st", "ann", [word("on", "off")]),
        ("st", "rem", [word("on", "off")]),
        ("rg", "ok", [small, word("0a1b2c3d")]),
        ("rg", "tg", [small, word("0a1b2c3d")]),
    ]
    # Presses that change state weigh three times: they are where a missing check would hurt.
    mutating = {
        ("act", "reg"), ("act", "cy"), ("att", "p"), ("att", "rx"), ("att", "re"), ("att", "wy"),
        ("att", "wn"), ("acm", "xy"), ("acm", "op"), ("acm", "cl"),
        ("ini", "go"), ("ini", "rec"), ("ini", "sup"), ("bc", "pause"), ("bc", "resume"),
        ("bc", "cancel"), ("rm", "no"), ("pv", "forget"), ("un", "pick"), ("rg", "ok"),
        ("rg", "tg"), ("st", "ann"), ("st", "rem"),
    }  # fmt: skip
    weights = [3 if (ns, action) in mutating else 1 for ns, action, _ in typed]
    ns, action, args = rng.choices(typed, weights)[0]
    return ":".join((ns, action, *(arg() for arg in args)))


def untyped_callback(ids: WorldIds) -> st.SearchStrategy[str]:
    """Any namespace and action with any arguments (ids, words, numbers)."""
    namespace_action = st.sampled_from(
        [(ns, action) for ns, actions in CALLBACK_ACTIONS.items() for action in actions]
    )
    return st.builds(
        lambda na, args: ":".join((*na, *args)),
        namespace_action,
        st.lists(_arg(ids), max_size=3),
    )


def random_callback() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=64).filter(
            lambda s: 1 <= len(s.encode()) <= 64
        ),
        st.from_regex(r"\A[a-z]{1,5}(:[A-Za-z0-9_:-]{0,12}){0,5}\Z"),
    )


def command_text(ids: WorldIds) -> st.SearchStrategy[str]:
    people = st.sampled_from(ids.people).map(str)
    arg = st.one_of(
        people,
        st.sampled_from(("admin", "cadre", "member", "BTP", "BYT", "btc", "@m_btp0", "@")),
        hostile_text(30).map(lambda s: s.replace("\n", " ")),
    )
    name = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(UNKNOWN_COMMANDS))
    suffix = st.sampled_from(("", "", "", "@nhipcau_test_bot", "@other_bot"))
    generic = st.builds(
        lambda n, s, args: " ".join((f"/{n}{s}", *args)),
        name,
        suffix,
        st.lists(arg, max_size=3),
    )
    escalation = st.builds(
        lambda cmd, who: cmd.format(who=who),
        st.sampled_from(
            (
                "/grant {who} admin",
                "/grant {who} cadre BTP",
                "/grant {who} cadre BYT",
                "/revoke {who}",
                "/grant @m_btp0 admin",
            )
        ),
        people,
    )
    codes = st.builds(
        lambda code, spaced: f"/checkin {code[:3]} {code[3:]}" if spaced else f"/checkin {code}",
        st.one_of(st.sampled_from(ids.checkin_codes), st.from_regex(r"\A\d{6}\Z")),
        st.booleans(),
    )
    return st.one_of(generic, generic, escalation, codes)


def start_payload(ids: WorldIds) -> st.SearchStrategy[str]:
    token_like = st.from_regex(r"\A[A-Za-z0-9_-]{16,40}\Z")
    return st.one_of(
        st.sampled_from(ids.checkin_tokens).map(lambda t: f"ci_{t}"),
        token_like.map(lambda t: f"ci_{t}"),
        st.sampled_from(ids.activities).map(lambda i: f"act_{i}"),
        st.integers(-5, 10**20).map(lambda i: f"act_{i}"),
        st.sampled_from(("ci_", "act_", "ci_../../etc/passwd", "act_1_2", "ini_1", "x" * 200)),
        hostile_text(80).map(lambda s: s.replace(" ", "_")),
    ).map(lambda payload: f"/start {payload}")


def document() -> st.SearchStrategy[dict[str, Any]]:
    csv_rows = st.lists(
        st.lists(st.one_of(st.sampled_from(CURATED), st.text(max_size=10)), max_size=14),
        max_size=4,
    )
    header = (
        "title,description,kind,campaign,unit_code,open_to,place,start,end,deadline,"
        "capacity,hours,reminders\n"
    )
    other_unit_row = st.sampled_from(("BTP", "BYT", "BTC", "NOPE")).map(
        lambda code: (
            header + f"Hoạt động lạ,<b>mô tả</b>,regular,,{code},all,Hà Nội,"
            "25/12/2026 08:00,25/12/2026 11:30,24/12/2026 17:00,5,3.5,24h\n"
        ).encode()
    )
    content = st.one_of(
        st.binary(max_size=2048),
        st.just(b""),
        st.just(b"PK\x03\x04" + b"\x00" * 100),
        other_unit_row,
        csv_rows.map(
            lambda rows: (header + "\n".join(",".join(r) for r in rows)).encode("utf-8", "replace")
        ),
        st.just(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        st.just(b"MZ" + b"\x90" * 200),
    )
    name = st.one_of(
        st.none(),
        st.sampled_from(
            (
                "import.csv",
                "hoat_dong.xlsx",
                "virus.exe",
                "../../etc/passwd",
                "a" * 300 + ".csv",
                "sáng kiến <b>.pdf",
                ".csv",
                "run.sh",
                "photo.JPG",
            )
        ),
        st.text(min_size=1, max_size=40),
    )
    mime = st.sampled_from(
        (
            None,
            "text/csv",
            "application/octet-stream",
            "application/x-msdownload",
            "application/pdf",
            "image/jpeg",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "",
        )
    )
    claimed = st.sampled_from((None, None, 0, 25 * 1024 * 1024, 3 * 10**9))
    caption = st.one_of(st.none(), hostile_text(60))
    return st.fixed_dictionaries(
        {"content": content, "name": name, "mime": mime, "claimed": claimed, "caption": caption}
    )


def other_message() -> st.SearchStrategy[dict[str, Any]]:
    sticker = {
        "sticker": {
            "file_id": "CAACAgIAAxkBAAEBfuzz",
            "file_unique_id": "AgADzz",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "😀",
        }
    }
    location = st.builds(
        lambda lat, lon: {"location": {"latitude": lat, "longitude": lon}},
        st.floats(-90, 90),
        st.floats(-180, 180),
    )
    venue = {
        "location": {"latitude": 21.03, "longitude": 105.85},
        "venue": {
            "location": {"latitude": 21.03, "longitude": 105.85},
            "title": "<b>Hồ Gươm</b>",
            "address": "'; DROP TABLE units;--",
        },
    }
    dice = {"dice": {"emoji": "🎲", "value": 6}}
    voice = {"voice": {"file_id": "AwACAgIAAxkBAAzz", "file_unique_id": "AgADvv", "duration": 3}}
    poll = {
        "poll": {
            "id": "5000000001",
            "question": "<i>Bỏ phiếu?</i>",
            "options": [
                {"text": "Có", "voter_count": 0, "persistent_id": "1"},
                {"text": "Không", "voter_count": 0, "persistent_id": "2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    }
    web_app = {"web_app_data": {"data": "'; DROP TABLE roles;--", "button_text": "Mở"}}
    forwarded = st.builds(
        lambda text: {
            "text": text,
            "forward_origin": {"type": "hidden_user", "sender_user_name": "Ẩn danh", "date": 1},
        },
        hostile_text(40),
    )
    return st.one_of(
        st.just(sticker),
        location,
        st.just(venue),
        st.just(dice),
        st.just(voice),
        st.just(poll),
        st.just(web_app),
        forwarded,
    )


def contact() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "owner": st.sampled_from(("self", "self", "victim", "none", "admin")),
            "phone": st.one_of(
                st.none(),
                st.sampled_from(("+84911000001", "0", "+", "84" + "9" * 30, "'; DROP")),
                hostile_text(20),
            ),
        }
    )


# Kinds of update and how often each comes (weights out of the total).
KINDS: dict[str, int] = {
    "text": 5,
    "plausible": 4,
    "menu": 2,
    "command": 3,
    "start": 2,
    "forged": 14,
    "untyped": 2,
    "random_callback": 2,
    "press": 10,
    "reply_button": 1,
    "edit": 1,
    "contact": 1,
    "document": 2,
    "photo": 1,
    "other": 1,
    "group": 1,
    "group_callback": 1,
    "channel_post": 1,
    "chat_member": 1,
}
TAPPABLE = {"command", "start", "forged", "untyped", "random_callback", "press"}


def payloads(ids: WorldIds) -> dict[str, st.SearchStrategy[Any]]:
    target = st.one_of(st.none(), st.none(), st.integers(0, 50))
    return {
        "text": hostile_text(),
        "plausible": plausible_text(),
        "menu": st.integers(0, 20),
        "command": command_text(ids),
        "start": start_payload(ids),
        "untyped": st.tuples(untyped_callback(ids), target),
        "random_callback": st.tuples(random_callback(), target),
        "press": st.integers(0, 30),
        "reply_button": st.integers(0, 10),
        "edit": hostile_text(),
        "contact": contact(),
        "document": document(),
        "photo": st.tuples(st.binary(max_size=512), st.one_of(st.none(), hostile_text())),
        "other": other_message(),
        "group": st.one_of(hostile_text(), command_text(ids), start_payload(ids)),
        "group_callback": untyped_callback(ids),
        "channel_post": hostile_text(),
        "chat_member": st.sampled_from(("kicked", "member")),
    }


# The executor's name for each kind.
EXECUTED_AS = {
    "plausible": "text",
    "start": "command",
    "forged": "callback",
    "untyped": "callback",
    "random_callback": "callback",
}


def batches(ids: WorldIds) -> st.SearchStrategy[Batch]:
    """A batch: who sends (by mode) and BATCH_SIZE updates.

    The structure (mode, senders, kind of each update, which forged press) comes from a
    ``random.Random`` that hypothesis seeds, so the weights above hold (hypothesis's own choice
    of list elements favours repeats); the content (texts, files, names, random data) is drawn
    from the hypothesis strategies. Both are fixed by the derandomised seed.
    """
    strategies = payloads(ids)
    kinds, weights = list(KINDS), list(KINDS.values())

    @st.composite
    def batch(draw: st.DrawFn) -> Batch:
        rng = draw(st.randoms(use_true_random=True))
        mode = rng.choices(list(MODES), list(MODES.values()))[0]
        attackers = rng.sample(ATTACKERS, rng.randint(1, 2))
        cast = {
            "admin": ["admin"],
            "other_cadre": ["cadre_byt", "cadre_byt", *attackers[:1]],
            "cadre": ["cadre_btp", "cadre_btp", *attackers],
            "attack": attackers,
        }[mode]
        actions = []
        for _ in range(BATCH_SIZE):
            kind = rng.choices(kinds, weights)[0]
            if kind == "forged":
                target = None if rng.random() < 0.7 else rng.randint(0, 50)
                payload: Any = (forge(rng, ids), target)
            else:
                payload = draw(strategies[kind])
            twice = kind in TAPPABLE and rng.random() < 0.2
            actions.append(Action(rng.choice(cast), EXECUTED_AS.get(kind, kind), payload, twice))
        names = (draw(hostile_text(64)), draw(hostile_text(64)))
        return Batch(mode, names, tuple(actions))

    return batch()
