"""The Redis cache backend keeps one client per connection pool (Django's makes one per operation)."""

import pytest
from django.core.cache.backends.redis import RedisCacheClient

from mtm.redis_cache import RedisCache


def test_one_client_serves_every_operation_of_a_cache_object():
    cache = RedisCache("redis://127.0.0.1:6379/9", {"OPTIONS": {"socket_timeout": 1.0}})
    client = cache._cache.get_client("a", write=True)
    assert cache._cache.get_client("b") is client  # one server: reads and writes share its pool
    assert client.connection_pool is cache._cache._get_connection_pool(True)
    django_own = RedisCacheClient(["redis://127.0.0.1:6379/9"])
    assert django_own.get_client("a") is not django_own.get_client("a")  # what this replaces


@pytest.mark.services
def test_the_reused_client_reads_what_it_wrote_on_the_real_server():
    import os

    url = os.environ["REDIS_URL"]
    cache = RedisCache(url, {"KEY_PREFIX": "redis-cache-test"})
    cache.set("k", {"n": 1}, 30)
    assert cache.get("k") == {"n": 1}
    assert cache.add("k", 2, 30) is False
    cache.delete("k")
    assert cache.get("k") is None
