"""The terminal renderer: commands as `mlplan chat` takes them, people by name."""

from bot.terminal.render import TerminalRenderer, command_text
from flows.replies import Card, CommandRef, Field, Say, Show

PLAIN = TerminalRenderer(colour=False)


def test_a_command_is_written_as_a_chat_slash_command():
    assert command_text(CommandRef("status", ("Churn",))) == "`/status Churn`"
    say = Say(("Use ", CommandRef("ask", ("<project>", "<section>")), " to answer them."))
    assert PLAIN.render(say) == "Use `/ask <project> <section>` to answer them."


def test_a_card_writes_commands_in_its_fields_and_footer_and_names_people():
    ana = {"id": "U024BE7LH", "name": "ana"}
    card = Card(
        title="Plan",
        fields=(Field("Sign-off", "@ana", person=ana), Field("More", ("see ", CommandRef("list")))),
        footer=(CommandRef("status", ("Churn",)), " · `mlplan export Churn`"),
    )

    text = PLAIN.render(Show(card))

    assert "  Sign-off: @ana" in text and "  More: see `/list`" in text
    assert "  `/status Churn` · `mlplan export Churn`" in text
    assert "<@" not in text


def test_a_follow_up_points_at_itself_and_a_confirmation_is_ticked():
    from flows.model import default_flow
    from flows.replies import Ask

    flow = default_flow()
    follow_up = Ask(
        question=flow.questions["outcome_target"],
        section=flow.section_of["outcome_target"],
        number=9,
        total=29,
        current="Improve retention",
        follow_up="That names no figure and no time frame. By how much, measured how, by when?",
    )
    lines = PLAIN.render(follow_up).splitlines()
    assert lines[0] == (
        "👉 That names no figure and no time frame. By how much, measured how, by when?"
    )
    assert lines[1].startswith("[question 9 of 29] What target for that outcome")
    assert "  Current answer: Improve retention (reply to change it, `keep` to keep it)" in lines

    saved = Ask(
        question=flow.questions["ms_baseline_owner"],
        section=flow.section_of["ms_baseline_owner"],
        number=19,
        total=29,
        confirmation="Saved: Fri 11 Dec 2026.",
    )
    assert PLAIN.render(saved).splitlines()[0] == "✓ Saved: Fri 11 Dec 2026."
