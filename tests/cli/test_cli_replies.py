"""`outreach replies try`: what a reply would do, from the real command line, with the real
rules and templates, and nothing written anywhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from outreach.cli.main import main
from outreach.config import Settings
from outreach.rules.replies.outcome import Intent
from outreach.rules.vocabulary import Question
from outreach.texts.render import Renderer
from outreach.texts.templatecheck import sample_context

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"intents", "escalation", "opt_out", "opt_in", "consent", "needs_staff", "pain", "reply"}


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No config file, and a database that cannot be reached: trying a reply needs neither."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OUTREACH_CONFIG", raising=False)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    return tmp_path


def outreach(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(main, ["replies", "try", *args], input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def tried(*args: str) -> dict[str, Any]:
    result = outreach(*args, "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_it_prints_what_a_danger_reply_would_do() -> None:
    result = outreach("my heel is bleeding")

    assert result.exit_code == 0, result.output
    assert "Intents: symptom" in result.stdout
    assert "Escalation: URGENT" in result.stdout
    assert 'Triggered by: "bleeding"' in result.stdout
    assert "Needs staff: yes" in result.stdout
    assert "Riverside PT: Please keep weight off that foot." in result.stdout


def test_json_names_the_tier_the_reasons_and_the_words_that_raised_it() -> None:
    found = tried("my heel is bleeding")

    assert found.keys() >= KEYS
    assert found["intents"] == ["symptom"]
    assert found["escalation"] == {
        "severity": "urgent",
        "reasons": ["bleeding"],
        "matched": ["bleeding"],
    }
    assert (found["opt_out"], found["opt_in"], found["consent"]) == (False, False, False)
    assert found["needs_staff"] is True
    assert found["pain"] is None
    assert found["reply"].startswith("Riverside PT: Please keep weight off that foot.")


def test_an_opted_out_patient_gets_no_text_but_staff_are_still_told() -> None:
    found = tried("my heel is bleeding", "--opted-out")

    assert found["reply"] is None
    assert found["escalation"]["severity"] == "urgent"
    assert found["needs_staff"] is True
    assert "ignored" in found["intents"]


def test_the_text_back_is_the_real_template_in_the_patients_language() -> None:
    settings = Settings()
    confirmed = Renderer(settings.templates_dir, settings).render(
        "session_confirmed", "es", **sample_context("session_confirmed", "es")
    )

    found = tried("Sí, ahí estaré", "--lang", "es", "--asked", "session")

    assert found["intents"] == ["session_confirm"]
    assert found["reply"] == confirmed.body


def test_open_questions_are_given_most_recent_first() -> None:
    after_the_follow_up = tried("2", "--asked", "foot_followup", "--asked", "session")
    after_the_session = tried("C", "--asked", "session", "--asked", "foot_followup")

    assert after_the_follow_up["intents"] == ["foot_problem"]
    assert after_the_follow_up["escalation"]["severity"] == "urgent"
    assert after_the_session["intents"] == ["session_confirm"]


@pytest.mark.parametrize("question", list(Question))
def test_asked_takes_each_question_as_the_texts_store_it(question: Question) -> None:
    assert "intents" in tried("ok", "--asked", question.value)


def test_pain_above_the_patients_baseline_is_routine() -> None:
    found = tried("done, pain 5", "--asked", "exercise", "--pain-baseline", "2")

    assert found["pain"] == 5
    assert found["escalation"]["severity"] == "routine"


def test_consent_counts_only_for_a_patient_who_has_not_yet_agreed() -> None:
    assert tried("yes please", "--not-consented", "--asked", "consent")["consent"] is True
    assert tried("yes please")["consent"] is False


def test_a_batch_reports_a_bad_line_by_number_and_keeps_the_good_ones(nowhere: Path) -> None:
    lines = [
        {"id": "first", "text": "my heel is bleeding"},
        {"text": "C", "asked": ["session", "appointment"]},
        {"id": 3, "text": "1 todo bien", "lang": "es", "asked": ["foot_check"]},
        {"text": "STOP", "opted_out": False, "consented": True, "pain_baseline": None},
    ]
    batch = nowhere / "replies.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")

    result = outreach("--file", str(batch), "--json")

    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["first", 3, None]
    assert out[0]["escalation"]["severity"] == "urgent"
    assert out[1]["intents"] == ["foot_ok"] and out[1]["reply"].startswith("Riverside PT:")
    assert out[2]["opt_out"] is True
    assert all(o.keys() >= KEYS for o in out)
    assert "line 2: unknown question 'appointment'" in result.stderr
    assert "line 5: not JSON" in result.stderr
    assert "2 bad lines skipped, 3 tried." in result.stderr


def test_a_batch_reads_standard_input() -> None:
    stdin = '{"text": "what?"}\n\n{"text": "help"}\n'
    result = outreach("--file", "-", "--json", stdin=stdin)

    assert result.exit_code == 0, result.output
    assert [json.loads(line)["intents"] for line in result.stdout.splitlines()] == [
        ["unknown"],
        ["help"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["hi", "--asked", "appointment"],
            "'appointment' is not one of 'consent', 'session', 'foot_check', "
            "'foot_followup', 'exercise'",
        ),
        (["hi", "--lang", "fr"], "'fr' is not one of 'en', 'es'"),
        (["hi", "--pain-baseline", "11"], "11 is not in the range 0<=x<=10"),
        ([], "give either TEXT or --file FILE"),
        (["--file", "-", "--lang", "es"], "--lang is for one TEXT"),
    ],
)
def test_bad_options_are_refused_with_what_would_do(args: list[str], message: str) -> None:
    result = outreach(*args, stdin="")

    assert result.exit_code == 2
    assert message in result.stderr


def test_it_writes_nothing_and_needs_no_database(nowhere: Path) -> None:
    assert tried("STOP my foot is bleeding")["opt_out"] is True

    assert list(nowhere.iterdir()) == []


def test_the_help_carries_an_example() -> None:
    result = CliRunner().invoke(main, ["replies", "try", "--help"])

    assert 'outreach replies try "C but my heel is bleeding" --asked session' in result.output


def test_every_intent_the_json_can_name_is_documented() -> None:
    docs = (ROOT / "docs" / "replies.md").read_text(encoding="utf-8")
    section = docs.split("## Intents", 1)[1].split("\n## ", 1)[0]

    documented = re.findall(r"^- `(\w+)`", section, re.MULTILINE)

    assert documented == [str(intent) for intent in Intent]


def test_trying_a_reply_loads_no_database_web_or_password_library(nowhere: Path) -> None:
    """`replies try` must start fast (bench/startup.py): it needs no database, so it loads
    neither SQLAlchemy nor the password hasher a sign-in uses."""
    probe = (
        "import sys\n"
        "from outreach.cli.main import main\n"
        "try:\n"
        "    main(['replies', 'try', 'my heel is bleeding', '--asked', 'foot_check'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'fastapi', 'uvicorn',\n"
        "         'apscheduler', 'twilio', 'httpx', 'argon2')\n"
        "print(' '.join(name for name in heavy if name in sys.modules) or 'none')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=nowhere, check=True
    )

    assert done.stdout.splitlines()[-1] == "none"
