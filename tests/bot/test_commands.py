"""The command grammar of `assign`: a project name with spaces, a section, the person last."""

import pytest

from bot.commands import Command, CommandError, parse_command


@pytest.mark.parametrize(
    ("text", "project", "section", "person"),
    [
        ("assign churn model data @{U3|Carol Ann}", "churn model", "data", "@{U3|Carol Ann}"),
        (
            "assign Churn deployment @{29:1ben|Ben Okafor}",
            "Churn",
            "deployment",
            "@{29:1ben|Ben Okafor}",
        ),
        ("assign a b c 5 carol@example.com", "a b c", "5", "carol@example.com"),
        ("ASSIGN churn   costs_detail   @ann ", "churn", "costs_detail", "@ann"),
    ],
)
def test_assign_reads_project_section_and_person(text, project, section, person):
    assert parse_command(text) == Command(
        "assign", project=project, section=section, fields=(person,)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("assign churn model data", "Name the person last, as a mention."),
        ("assign data @ann", "Usage: `/mlplan assign <project> <section> <@person>`"),
        ("assign", "Usage: `/mlplan assign <project> <section> <@person>`"),
    ],
)
def test_assign_without_project_section_or_person_says_what_to_type(text, message):
    with pytest.raises(CommandError) as refused:
        parse_command(text, prefix="/mlplan")
    assert message in str(refused.value)
