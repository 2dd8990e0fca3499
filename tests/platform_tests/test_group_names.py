"""Role checks ask the group table once per user object (config.roles.group_names); a membership changed
through that object is asked again."""

import pytest
from django.contrib.auth.models import Group

from config.roles import READERS, RESEARCHERS, is_dual_role, is_reader, is_researcher

pytestmark = pytest.mark.django_db


def test_group_names_are_asked_once_and_forgotten_on_change(reader_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert is_reader(reader_a) and not is_researcher(reader_a) and not is_dual_role(reader_a)
    reader_a.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    assert is_researcher(reader_a) and is_dual_role(reader_a) and not is_reader(reader_a)
    reader_a.groups.remove(Group.objects.get(name=READERS))
    assert is_researcher(reader_a) and not is_dual_role(reader_a)
    reader_a.groups.clear()
    assert not is_researcher(reader_a) and not is_reader(reader_a)
