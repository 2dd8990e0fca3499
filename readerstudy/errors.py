"""The reader study's errors. Each derives from `common.errors.AppError` through the class that says what
kind of refusal it is (NotAllowed, Conflict); the API's exception handler and the views map those to HTTP
statuses, so nothing here knows one."""

from common.errors import AppError, Conflict, NotAllowed


class ReaderStudyError(AppError):
    """Bad input or a forbidden action in a reader study."""


class NotAssignedError(ReaderStudyError, NotAllowed):
    """The case is not on the reader's form (or the study is not readable to them)."""


class StudyNotOpenError(ReaderStudyError, Conflict):
    """The study is a draft or closed, so it takes no answers or flags now."""


class NotAllowedError(ReaderStudyError, Conflict):
    """The study's state or rules forbid this step now (skip ahead, go back, change a finished case)."""


class QuestionLockedError(ReaderStudyError, Conflict):
    """The question already has answers, so it can no longer change."""


class NotYoursError(ReaderStudyError, Conflict):
    """Answers queued under another reader's login on the same computer."""
