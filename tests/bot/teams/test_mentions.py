"""What a Teams person typed becomes neutral text: mention entities become neutral mentions."""

from bot.teams.handlers import message_text
from flows.parse import parse_user
from tests.fakes.bot_connector import BOT_ID


def mention(user_id: str, name: str) -> dict:
    """Return a Teams mention entity as Teams sends it."""
    return {
        "type": "mention",
        "text": f"<at>{name}</at>",
        "mentioned": {"id": user_id, "name": name},
    }


def test_a_mention_entity_becomes_a_neutral_mention_that_answers_a_user_question():
    body = {
        "text": "<at>mlplan</at> <at>Ana Lima</at>",
        "recipient": {"id": BOT_ID},
        "entities": [mention(BOT_ID, "mlplan"), mention("29:1abc", "Ana Lima")],
    }

    text = message_text(body)

    assert text == "@{29:1abc|Ana Lima}"
    assert parse_user(text) == {"id": "29:1abc", "name": "Ana Lima"}


def test_a_mention_with_an_unreadable_id_keeps_only_the_name():
    body = {"text": "<at>Ana</at>", "entities": [mention("29:a b", "Ana")]}

    assert message_text(body) == "Ana"
