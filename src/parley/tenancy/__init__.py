"""The organization and who may act in it: callers (``principal``), API and admin keys
(``keys``), the first-start bootstrap (``organization``), workspaces and users
(``workspaces``, ``users``)."""
