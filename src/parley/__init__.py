"""Parley: a self-hosted implementation of the Claude API platform."""

__version__ = "0.1.0"
