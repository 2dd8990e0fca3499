"""Researchers find the API docs from the menu, and the docs describe only the endpoints the API has."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_menu_links_the_api_docs_for_researchers_and_the_description_matches_the_paths(researcher_client):
    page = researcher_client.get(reverse("readerstudy:home")).content.decode()
    assert f'href="{reverse("api-docs")}"' in page
    schema = researcher_client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    paths = list(schema["paths"])
    assert paths and all(p.startswith(("/study/api/", "/reports/api/perception/")) for p in paths)
    description = schema["info"]["description"]
    assert "no API" in description and "perception statistics" in description


def test_readers_do_not_get_the_api_link(reader_a_client):
    page = reader_a_client.get(reverse("readerstudy:home")).content.decode()
    assert reverse("api-docs") not in page
