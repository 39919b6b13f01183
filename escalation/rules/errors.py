"""The errors the service reports to people. Each carries a message fit to show as it is."""


class EscalationError(Exception):
    """Base for every error that is the user's or the data's fault, never the code's."""


class PolicyError(EscalationError):
    """A policy file is unreadable or invalid; the message names the file and the field."""


class DirectoryError(EscalationError):
    """The directory cannot supply what is needed (e.g. nobody holds a role), or a bad import."""


class NotAllowed(EscalationError):
    """An event is not allowed in the disagreement's current state; nothing was changed."""


class NotFound(EscalationError):
    """No such disagreement, person or policy."""


class InvalidInput(EscalationError):
    """Input failed validation; `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
