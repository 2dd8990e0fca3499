"""The login backend: Django's ModelBackend, with the per-request user look-up in one plain query.

Every request of a logged-in user loads the user from the session's id. Through the ORM that look-up built
and compiled a query each time, the largest single cost of a reader's request after issue 22's other work;
`raw()` with a fixed statement still applies the fields' database converters (time zones, booleans); on
PostgreSQL, which needs none, a plain fetch builds the user with `from_db` (raw() cost twice as much CPU)."""

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
        user = _user_row(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def _user_row(user_id) -> AbstractBaseUser | None:
    model = get_user_model()
    if connection.vendor != "postgresql":  # SQLite returns text for datetimes: raw() applies the converters
        return next(iter(model._default_manager.raw(_user_sql(connection.vendor), [user_id])), None)
    # psycopg returns every column as its Python type already: a plain fetch and from_db (half raw()'s CPU).
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(connection.vendor), [user_id])
        row = cursor.fetchone()
    return None if row is None else model.from_db(connection.alias, _attnames(), row)


@cache
def _attnames() -> list[str]:
    return [f.attname for f in get_user_model()._meta.concrete_fields]
