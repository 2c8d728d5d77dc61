"""`outreach demo`: the simulated week does what it says, fast, on the embedded defaults."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import select

from outreach.config import Settings
from outreach.db.engine import make_engine
from outreach.db.tables import escalations, inbound_messages, outbound_messages, patients
from outreach.demo.clinic import END, START
from outreach.demo.week import run_demo

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_week_plays_out_as_scripted(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run_demo(Console(file=out, width=120), tmp_path / "demo.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with engine.begin() as conn:
        people = {p.external_id: p for p in conn.execute(select(patients))}
        sent = conn.execute(
            select(outbound_messages).order_by(outbound_messages.c.created_at)
        ).all()
        flags = conn.execute(select(escalations)).all()
        replies = conn.execute(select(inbound_messages)).all()
    engine.dispose()

    by_patient = {key: [m for m in sent if m.patient_id == p.id] for key, p in people.items()}
    ana, luis, grace = by_patient["DEMO-1"], by_patient["DEMO-2"], by_patient["DEMO-3"]

    # Everyone was asked for consent first.
    assert all(messages[0].template == "consent" for messages in by_patient.values())
    # Ana's foot problem went through the follow-up to an urgent escalation and the safety
    # text; her pain of 8 got the stop-for-today text.
    assert [m.template for m in ana].count("foot_followup") == 1
    assert "foot_urgent" in [m.template for m in ana]
    assert "exercise_pain" in [m.template for m in ana]
    assert sorted((f.severity, f.reason) for f in flags) == [
        ("routine", "fall"),
        ("routine", "reschedule"),
        ("routine", "reschedule"),
        ("urgent", "bleeding"),
        ("urgent", "foot_open_sore"),
        ("urgent", "pain"),
    ]
    # Ana's "done 3 but I fell yesterday" is both an exercise done (pain 3) and a fall.
    [two] = [r for r in replies if r.body == "done 3 but I fell yesterday"]
    assert two.intent == "exercise_done,symptom"
    # Luis reports a sore that bleeds in his own words, in Spanish: urgent, and the
    # keep-weight-off text in Spanish instead of a menu.
    [sore] = [f for f in flags if f.reason == "bleeding"]
    assert "llaga" in sore.detail and "sangrando" in sore.detail
    assert any(m.template == "foot_urgent" and "No apoye ese pie" in m.body for m in luis)
    # Luis is texted in Spanish; his question is kept for staff.
    assert any("Revise sus pies" in m.body for m in luis)
    assert any(r.body == "a que hora abren el sabado" and r.needs_review for r in replies)
    # The front desk answered his request to move a session from the inbox; his answer to
    # that person waits in the inbox for them, with no menu from the bot.
    [desk] = [m for m in luis if m.template == "staff" and "soy Marta" in m.body]
    [answer] = [r for r in replies if r.body == "el viernes a las 4 me va bien, gracias"]
    assert answer.needs_review and answer.received_at > desk.created_at
    assert not any(m.created_at == answer.received_at for m in luis)  # nothing sent back
    assert "Luis Ramírez" in result.inbox
    # The front desk then moved his Thursday session to Friday at 16:00: he is told once,
    # in Spanish, and Friday's reminder asks him to confirm again.
    [moved] = [m for m in luis if m.template == "session_moved"]
    assert "cambió al viernes 30 de octubre a las 16:00" in moved.body
    assert any(
        m.template == "session"
        and "viernes 30 de octubre" in m.body
        and m.created_at > moved.created_at
        for m in luis
    )
    # He phoned on Monday to call off Tuesday's session: no reminder went for it.
    assert not any(m.template == "session" and "martes 27" in m.body for m in luis)
    # Grace missed Monday's session: one text that day, and her R asks staff to call.
    [missed] = [m for m in grace if m.template == "no_show"]
    assert missed.body.startswith("Riverside PT: We missed you today, Grace.")
    [rebook] = [r for r in replies if r.patient_id == people["DEMO-3"].id and r.body == "R"]
    assert rebook.received_at > missed.created_at
    # His Tuesday slot went to the waitlist: Ana (on it for Tuesdays) was offered it, took it
    # with YES, was booked, and that session's reminder asked her to confirm as any does.
    [offer] = [m for m in ana if m.template == "slot_offer"]
    assert "A therapy session opened up on Tue Oct 27 at 5:00 PM. Reply YES" in offer.body
    [booked] = [m for m in ana if m.template == "slot_taken"]
    assert booked.body.startswith("Riverside PT: You are booked for Tue Oct 27 at 5:00 PM, Ana.")
    assert any(m.template == "session" and "Tue Oct 27 at 5:00 PM" in m.body for m in ana)
    assert result.slots_filled == ["Ana Torres took the slot Luis Ramírez gave up"]
    assert result.sessions == {"attended": 5, "cancelled-by-patient": 1, "moved": 1, "no-show": 1}
    # Grace said STOP: the confirmation is the last text she ever got.
    assert people["DEMO-3"].opted_out
    assert grace[-1].template == "opted_out"
    # No reminder went out in quiet hours or outside the simulated week.
    for key, messages in by_patient.items():
        zone = ZoneInfo(people[key].timezone)
        for message in messages:
            assert START <= message.created_at <= END
            if message.reminder_id is not None:
                assert 8 <= message.created_at.astimezone(zone).hour < 21
    # The printout has a transcript per patient and the summary.
    text = out.getvalue()
    for name in ("Ana Torres", "Luis Ramírez", "Grace Kim"):
        assert name in text
    assert "The week in numbers" in text and "opted_out" in text
    assert "✎ written by Marta, front desk, from the inbox" in text
    assert "☰ The front desk marked the session of 2026-10-26 13:00" in text
    assert "Sessions marked by the front desk: 5 attended" in text
    assert "Waitlist: Ana Torres took the slot Luis Ramírez gave up." in text
    assert "wait for a person" in text
    assert result.total.sent == sum(len(m) for m in by_patient.values())
    assert result.total.escalations == {"urgent": 3, "routine": 3}


def test_the_demo_command_runs_on_a_fresh_checkout_in_under_30_seconds(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "outreach.cli", "demo"],
        cwd=tmp_path,  # no config.toml here: the embedded defaults
        env={**os.environ, "TMPDIR": str(temporary)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started

    assert finished.returncode == 0, finished.stderr
    assert elapsed < 30
    assert "The week in numbers" in finished.stdout
    assert Settings().database_url not in finished.stdout
    # The throwaway database is thrown away: no patient data left in the temporary folder.
    assert "a temporary one, now deleted" in finished.stdout
    assert list(temporary.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tmp"]
