"""Inference backends behind one narrow protocol (``base.Backend``).

Backends speak only the neutral vocabulary of ``base.py``: they never see API JSON,
and never import ``wire``, ``http`` or ``storage``.
"""
