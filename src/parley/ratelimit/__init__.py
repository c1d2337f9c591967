"""Rate limits as the API defines them: continuously refilling token buckets.

``buckets.py`` is the arithmetic and the in-process store, ``redis_store.py`` the
same state in Redis for several Parley processes, ``policy.py`` which limits apply
(tiers, per-model groups, organization and workspace overrides), and ``limiter.py``
the service the request path calls: admit before any model work, settle after.
"""
