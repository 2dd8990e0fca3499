"""The Redis cache (sessions, when CACHE_URL is set), with one client object per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` for every cache call, and each one fills its table of
response callbacks (some 200 dictionary entries): measured at about half the CPU of a session read (84 of
173 microseconds), on every logged-in request. A `redis.Redis` over a connection pool is safe to share
between threads, so one per pool is kept; the pools themselves are Django's, as before.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusedClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:  # a race here builds two clients over the same pool: harmless
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ReusedClient
