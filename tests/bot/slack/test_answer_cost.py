"""What one answer costs: its SQL statements, from the Slack event in to the next question sent."""

import sqlalchemy as sa

from bench.ticks import Counter
from storage.models import Answer, ProcessedEvent

# The turn: workspace, project, its latest answers and the speaker read at once; the event's
# id; the project's compare-and-set; the answer's version; the next question queued. The
# sender: a claim that reads where the question goes, then its outcome.
ANSWER = 7
# A retried event: the same read, and its id found already: nothing stored, nothing sent.
RETRY = 2


async def test_an_answered_message_costs_seven_statements_and_its_retry_two(slack):
    thread = await slack.start()
    await slack.say("Customers cancel without warning", thread=thread)  # asks users.info once
    await slack.settle()
    engine = slack.runtime.engine
    with Counter(engine) as answered:
        response, ts = await slack.say("Store managers", thread=thread, event_id="EvCOST")
        await slack.settle()
    assert response.status == 200
    assert slack.last_question()["metadata"]["event_payload"]["question_id"] == "value_proposition"
    event = {
        "type": "message",
        "channel": "C1",
        "user": "U2",
        "text": "Store managers",
        "ts": ts,
        "thread_ts": thread,
        "channel_type": "channel",
    }
    questions = len(slack.posted("mlplan_question"))
    with Counter(engine) as retried:
        again = await slack.event(event, event_id="EvCOST", retry=1)
        await slack.settle()
    assert again.status == 200 and len(slack.posted("mlplan_question")) == questions
    async with slack.runtime.sessions() as session:
        stored = await session.scalar(sa.select(sa.func.count()).select_from(Answer))
        events = await session.scalar(sa.select(sa.func.count()).select_from(ProcessedEvent))
    assert (stored, events) == (2, 2)
    assert (answered.count, retried.count) == (ANSWER, RETRY)
