"""What a Slack person typed becomes neutral text: mentions, linked emails and group pings."""

import pytest

from bot.slack.translate import _people, _typed
from flows.parse import parse_user


@pytest.mark.parametrize(
    ("typed", "neutral"),
    [
        ("<@U024BE7LH>", "@{U024BE7LH}"),
        ("<@U024BE7LH|ana>", "@{U024BE7LH|ana}"),
        ("ask <@W1|ana> &amp; <@U2>", "ask @{W1|ana} & @{U2}"),
        ("<mailto:a.b@example.com|a.b@example.com>", "a.b@example.com"),
        ("<!here> and <!channel|channel>", "@here and @channel"),
        ("<!subteam^S123|@ml-team>", "@ml-team"),
        ("a &lt;b&gt; c", "a <b> c"),
    ],
)
def test_typed_makes_slack_markup_neutral_and_undoes_its_escaping(typed, neutral):
    assert _typed(typed) == neutral


def test_a_slack_mention_answers_a_user_question_and_a_group_ping_is_refused():
    assert parse_user(_typed("<@U024BE7LH|ana>")) == {"id": "U024BE7LH", "name": "ana"}
    for group in ("<!here>", "<!channel>", "<!everyone>"):
        with pytest.raises(ValueError, match="group"):
            parse_user(_typed(group))


def test_a_commands_people_become_neutral_and_the_rest_stays_as_slack_sent_it():
    assert _people("milestone add x; T; <@U3|cai>; <!channel> &amp;") == (
        "milestone add x; T; @{U3|cai}; <!channel> &amp;"
    )
