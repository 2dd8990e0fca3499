"""Researchers find the API docs from the menu, and the docs describe only the endpoints the API has."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_menu_links_the_api_docs_for_researchers_and_the_description_matches_the_paths(researcher_client):
    page = researcher_client.get(reverse("readerstudy:home")).content.decode()
    assert f'href="{reverse("api-docs")}"' in page
    schema = researcher_client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    paths = list(schema["paths"])
    description = schema["info"]["description"]
    # Every served path is named in the description, by its family's prefix or, for one-off paths, in full.
    families = ("/study/api/", "/reports/api/perception/")
    assert paths and all(p.startswith(families) or p in description for p in paths)
    assert all(prefix in description for prefix in families)
    assert "/reports/api/experiments/{id}/methods/" in paths and "/reports/api/reports/{id}/who/" in paths
    assert "no API" in description and "perception statistics" in description


def test_readers_do_not_get_the_api_link(reader_a_client):
    page = reader_a_client.get(reverse("readerstudy:home")).content.decode()
    assert reverse("api-docs") not in page
