"""The reader's review of their answers against the reference labels (readerstudy.review): HTTP only."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from readerstudy import selectors
from readerstudy.review import review_allowed, review_open, review_rows
from readerstudy.views import _assignment_or_404


def review(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the review (or, before it is opened, what opening it means); POST: open it, locking the answers.
    Only the study's own readers, only where the study allows it (404 otherwise), only once they finished."""
    assignment = _assignment_or_404(request, pk)
    if not review_allowed(assignment.study):
        raise Http404("This study has no review.")
    if not selectors.reader_progress(assignment=assignment).finished:
        return redirect("readerstudy:read_resume", pk=pk)
    if request.method == "POST":
        review_open(assignment=assignment)
        return redirect("readerstudy:review", pk=pk)
    if request.method != "GET":
        raise Http404
    context = {"study": assignment.study, "opened": assignment.review_opened_at is not None}
    if context["opened"]:
        context["questions"], context["rows"] = review_rows(assignment=assignment)
    return render(request, "readerstudy/review.html", context)
