"""The thin ASGI layer: parse, authenticate, call one service, serialise, map errors."""
