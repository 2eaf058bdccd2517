"""`mlplan chat` and `mlplan export` as a person runs them: subprocesses on the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.transcript import PROJECT, plan_inputs

# The console script installed beside this interpreter, as a user runs it.
_SCRIPT = Path(sys.executable).with_name("mlplan")
MLPLAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot"]


def run_mlplan(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run the installed console script's entry point with the test database."""
    env = {**os.environ, "DATABASE_URL": database_url, "NO_COLOR": "1", "MLPLAN_TIMEZONE": "UTC"}
    env.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run(
        [*MLPLAN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_whole_intake_in_two_sittings_then_export(engine, database_url, flow):
    # The subprocess reads the real clock (in UTC, as run_mlplan sets): so does the oracle.
    started = datetime.now(UTC)
    inputs, final, refusals = plan_inputs(flow, now=started)
    # One refused answer for each kind the core has that can be malformed (no yes/no in it).
    assert len(refusals) == 6
    half = len(inputs) // 2

    first = run_mlplan(
        database_url,
        "chat",
        "--user",
        "alice",
        stdin="\n".join([f"/new {PROJECT}", *inputs[:half], "/quit"]) + "\n",
    )
    assert first.returncode == 0, first.stderr
    assert "[question 1 of" in first.stdout and "[question 7 of" in first.stdout
    assert (
        "Current answer: Our answer to target_users" in first.stdout
    )  # `back` shows what it changes

    second = run_mlplan(
        database_url, "chat", "--user", "alice", stdin="\n".join(inputs[half:]) + "\n"
    )
    assert second.returncode == 0, second.stderr
    assert f"Resuming {PROJECT!r}" in second.stdout
    assert "Plan complete" in second.stdout
    shown = first.stdout + second.stdout
    # A refusal's example date is relative to today, and the run may have crossed midnight.
    later = plan_inputs(flow, now=datetime.now(UTC))[2]
    for refusal, refusal_later in zip(refusals, later, strict=True):
        assert refusal in shown or refusal_later in shown
    assert "Status: Churn model" in shown
    assert "Section 3 of 4 done: Costs" in shown
    # The core done, the deep dives are offered with what to type.
    assert "Deep dives for 'Churn model'" in second.stdout
    assert "  - Screening and workflow (7 open): screening" in second.stdout
    assert "/assign <project> <section> @name" in second.stdout

    exported = run_mlplan(database_url, "export", PROJECT, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    stored = {
        q["id"]: q["value"]
        for s in document["sections"]
        for q in s["questions"]
        if q["answered"] or q["skipped"]
    }
    assert stored == dict(final.answers)
    assert (
        stored["decisions"] is None
        and stored["value_proposition"] == "Our answer to value_proposition"
    )
    assert stored["target_users"] == "Customers leave without warning"
    versions = {q["id"]: q["history"] for s in document["sections"] for q in s["questions"]}
    assert [v["value"] for v in versions["target_users"]] == [
        "Our answer to target_users",
        "Customers leave without warning",
    ]
    assert [v["version"] for v in versions["target_users"]] == [1, 2]
    assert all(v["author"]["id"] == "alice" for v in versions["target_users"])
    assert versions["decisions"][0]["skipped"] is True
    assert document["costs"]["one_time"] > 0
    assert {m["key"] for m in document["milestones"]} == {
        "data_pipeline",
        "baseline",
        "deployment",
        "success_review",
    }
    # The deep dives' cost lines are not answered yet: the estimate says what it counted as 0.
    assert (
        "Not estimated (counted as 0): Domain experts, System integration, Training users,"
        " Monitoring and operations (yearly), External data (yearly)." in document["warnings"]
    )

    markdown = run_mlplan(database_url, "export", PROJECT)
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith(f"# {PROJECT}\n")
    for section in document["sections"]:
        assert f"## {section['title']}" in markdown.stdout
        for question in section["questions"]:
            if question["answered"]:
                assert f"- **{question['label']}**: {question['display']}" in markdown.stdout


def test_export_of_an_unknown_project_fails_with_one_line(engine, database_url):
    result = run_mlplan(database_url, "export", "Nothing here")
    assert result.returncode == 1
    assert result.stderr.strip() == "mlplan: no project called 'Nothing here'"


def test_chat_says_how_to_start_and_refuses_answers_without_a_project(engine, database_url):
    result = run_mlplan(database_url, "chat", "--user", "dana", stdin="hello\n/frobnicate\n")
    assert result.returncode == 0, result.stderr
    assert "Start a project with `/new <project name>`" in result.stdout
    assert "No project is open" in result.stdout
    assert "I don't know the command `frobnicate`" in result.stdout
