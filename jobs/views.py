"""Job pages: HTTP only (auth, validate, call a service, render)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.roles import admin_required, researcher_required
from jobs import selectors, services
from jobs.broker import broker_status
from jobs.kinds import JOB_KINDS, UnknownJobKind
from jobs.models import Job


@researcher_required
def job_list(request: HttpRequest) -> HttpResponse:
    broker_ok, broker_detail = broker_status()
    online = selectors.online_by_queue()
    jobs = list(selectors.job_list(user=request.user))
    for job in jobs:
        job.where = selectors.job_waiting_text(job, online)
    return render(
        request,
        "jobs/job_list.html",
        {
            "jobs": jobs,
            "queues": selectors.queue_overview() if broker_ok else selectors.queue_overview(broker=False),
            "startable": [k for k in JOB_KINDS.values() if k.startable_without_params],
            # Every other kind is listed too (disabled), so an admin sees what the platform runs and where.
            "with_params": [k for k in JOB_KINDS.values() if not k.startable_without_params],
            "broker_ok": broker_ok,
            "broker_detail": broker_detail,
        },
    )


@researcher_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(selectors.jobs_visible_to(request.user), pk=pk)
    broker_ok, broker_detail = broker_status() if job.is_active else (True, "")
    job.where = selectors.job_waiting_text(job, selectors.online_by_queue())
    return render(
        request,
        "jobs/job_detail.html",
        {
            "job": job,
            "children": selectors.jobs_visible_to(request.user).filter(parent=job),
            "attempt_log": job.attempt_log.all(),
            "params": selectors.readable_fields(job.params),
            "result": selectors.readable_fields(job.result),
            "broker_ok": broker_ok,
            "broker_detail": broker_detail,
        },
    )


@researcher_required
def job_status(request: HttpRequest) -> JsonResponse:
    """Polled by the progress bars: ?ids=1,2,3"""
    try:
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip()][:500]
    except ValueError:
        return JsonResponse({"error": "ids must be a comma-separated list of integers"}, status=400)
    online = selectors.online_by_queue()
    jobs = list(selectors.jobs_visible_to(request.user).filter(pk__in=ids))
    waiting = selectors.waiting_reasons(jobs)
    return JsonResponse({"jobs": [selectors.job_status_payload(j, online, waiting.get(j.pk, "")) for j in jobs]})


@admin_required
@require_POST
def job_start(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    try:
        job = services.job_create(kind=kind, user=request.user)
    except UnknownJobKind as exc:
        messages.error(request, str(exc))
        return redirect("jobs:job_list")
    messages.success(request, f"Started job #{job.pk}: {job.kind_label}.")
    return redirect("jobs:job_detail", pk=job.pk)


@admin_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    if services.job_cancel(job_id=job.pk):
        messages.success(request, f"Job #{job.pk} cancelled. Work it already finished is kept.")
    else:
        messages.error(request, f"Job #{job.pk} is {job.status}; only queued or running jobs can be cancelled.")
    return redirect("jobs:job_detail", pk=job.pk)


@admin_required
@require_POST
def job_requeue(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    if services.job_requeue(job_id=job.pk):
        messages.success(request, f"Job #{job.pk} queued again; it resumes from its last finished step.")
    else:
        messages.error(request, f"Job #{job.pk} is {job.status}; only failed or cancelled jobs can be retried.")
    return redirect("jobs:job_detail", pk=job.pk)
