"""{% load public_text %}: `{{ job.error|public }}` shows an error or a path without server paths or traceback
(common.redact); the details stay in the server log."""

from django import template
from django.conf import settings

from common.redact import public_text

register = template.Library()


def _roots() -> dict[str, str]:
    return {"artifacts": str(settings.ARTIFACT_ROOT)}


@register.filter(name="public")
def public(value) -> str:
    return public_text("" if value is None else str(value), _roots())
