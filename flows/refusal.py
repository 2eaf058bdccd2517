"""The refusal of an answer that does not parse, shared by every parser of answers."""


class ParseError(ValueError):
    """Refuse an answer; str(err) is the whole message to show the person, with an example."""
