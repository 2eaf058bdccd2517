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
