"""How the analysis app serves a file of a report or statistics folder (one rule for both)."""

import mimetypes
from pathlib import Path

from django.http import FileResponse, HttpRequest


def artifact_response(request: HttpRequest, path: Path) -> FileResponse:
    """PNGs inline (the page's <img>) unless ``?download``; everything else, SVG included (it could carry
    script), as an attachment; never sniffed."""
    inline = path.suffix.lower() == ".png" and "download" not in request.GET
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), as_attachment=not inline, filename=path.name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
