"""The login backend: Django's ModelBackend, with the per-request user look-up in one plain query.

Every request of a logged-in user loads the user from the session's id. Through the ORM that look-up built
and compiled a query each time, the largest single cost of a reader's request after issue 22's other work;
`raw()` with a fixed statement still applies the fields' database converters (time zones, booleans)."""

from functools import cache

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection


@cache
def _user_sql(vendor: str) -> str:
    meta = get_user_model()._meta
    q = connection.ops.quote_name
    cols = ", ".join(q(f.column) for f in meta.concrete_fields)
    return f"SELECT {cols} FROM {q(meta.db_table)} WHERE {q(meta.pk.column)} = %s"


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id) -> AbstractBaseUser | None:
        try:
            user_id = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:  # a malformed id in a session: nobody
            return None
        user = next(iter(get_user_model()._default_manager.raw(_user_sql(connection.vendor), [user_id])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
