"""A cache backend whose server is down: every call raises redis-py's ConnectionError, as Django's
RedisCache does when Redis cannot be reached."""

from __future__ import annotations

from django.core.cache.backends.base import BaseCache
from redis.exceptions import ConnectionError as RedisConnectionError


def _refused(*args, **kwargs):
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class UnreachableCache(BaseCache):
    def __init__(self, location, params):
        super().__init__(params)

    add = get = set = touch = delete = clear = get_many = set_many = delete_many = has_key = _refused
    incr = decr = _refused
