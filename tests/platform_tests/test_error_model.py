"""One error model: every error a user can cause derives from common.errors.AppError, the API's one exception
handler answers each with the status of its kind, and management commands translate it once."""

import ast
import re

import pytest
from django.core.management.base import CommandError

from common.errors import AppError, Conflict, NotAllowed, NotFound
from config.api import status_of
from config.commands import user_errors
from readerstudy import errors

from .test_app_dependencies import APPS, ROOT, app_modules

# An HTTP status in code: `status = 409`, `status=403`, `HTTP_404_...`, `status_code`, Django's HTTP classes.
HTTP = re.compile(r"\bstatus\s*=\s*[1-5]\d\d\b|\bHTTP_[1-5]\d\d|status_code|Http404|HttpResponse|JsonResponse")
ERROR_BASES = ("Error", "Exception", "Kind", "Conflict", "NotFound", "NotAllowed")
BUILTIN_ROOTS = {"ValueError", "Exception", "RuntimeError", "TypeError", "LookupError"}
# Signals that interrupt work on purpose (a cancelled job, a parent waiting for its children), not errors.
SIGNALS = {"Cancelled", "WaitForChildren"}
# A demo stage that failed is a failed job the demo reports, not bad input.
NOT_USER_ERRORS = {"DemoStageError"}


def _exception_classes() -> list[tuple[str, str, list[str]]]:
    """(module path, class name, base names) of every class named *Error/*Exception or deriving from one."""
    found = []
    for app in APPS:
        for path in app_modules(app):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b) for b in node.bases]
                    if any(
                        b.endswith(("Error", "Exception", "Kind", "Conflict", "NotFound", "NotAllowed")) for b in bases
                    ):
                        found.append((str(path.relative_to(ROOT)), node.name, bases))
    return found


def test_every_error_class_of_the_project_derives_from_app_error():
    classes = _exception_classes()
    assert len(classes) >= 20  # the walk found the project's errors (ReaderStudyError ... UnknownJobKind)
    roots = [
        (path, name, bases)
        for path, name, bases in classes
        if name not in SIGNALS | NOT_USER_ERRORS
        and any(b in {"ValueError", "Exception", "RuntimeError"} for b in bases)
    ]
    assert roots == [("common/errors.py", "AppError", ["ValueError"])]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ReaderStudyError("bad"), 400),
        (errors.NotAssignedError("not yours"), 403),
        (errors.StudyNotOpenError("closed"), 409),
        (errors.NotAllowedError("finish case 1 first"), 409),
        (errors.QuestionLockedError("answered"), 409),
        (errors.NotYoursError("other login"), 409),
        (NotFound("gone"), 404),
        (NotAllowed("no"), 403),
        (Conflict("busy"), 409),
        (AppError("bad"), 400),
    ],
)
def test_the_api_answers_each_kind_of_error_with_its_status(error, status):
    assert status_of(error) == status


def test_a_command_prints_a_user_error_as_one_line_not_a_traceback():
    with pytest.raises(CommandError, match="^Study 'X' is closed.$"), user_errors():
        raise errors.StudyNotOpenError("Study 'X' is closed.")


def test_a_command_keeps_the_traceback_of_a_bug():
    with pytest.raises(KeyError), user_errors():
        raise KeyError("a bug, not bad input")


def test_no_service_or_selector_module_names_an_http_status():
    offenders = []
    for app in APPS:
        for path in app_modules(app):
            if path.stem.startswith(("services", "selectors")) or path.stem in {"answering", "errors", "builder"}:
                offenders += [f"{path.relative_to(ROOT)}: {m[0]}" for m in HTTP.finditer(path.read_text())]
    assert offenders == []
