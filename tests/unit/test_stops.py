"""StopMatcher: stop sequences found across any chunking, never leaked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.common.stops import StopMatcher


def run(chunks: list[str], stops: tuple[str, ...]) -> tuple[str, str | None]:
    matcher = StopMatcher(stops)
    out = []
    for chunk in chunks:
        text, stop = matcher.feed(chunk)
        out.append(text)
        if stop is not None:
            return "".join(out), stop
    return "".join(out) + matcher.flush(), None


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(text[last:p])
        last = p
    pieces.append(text[last:])
    return pieces


def test_stop_split_across_chunks() -> None:
    assert run(["Hello wo", "rld! more"], ("world",)) == ("Hello ", "world")


def test_earliest_stop_wins() -> None:
    assert run(["a b c"], ("c", "b")) == ("a ", "b")


def test_partial_match_released_at_end() -> None:
    assert run(["abc wor"], ("world",)) == ("abc wor", None)


def test_no_stops_passes_through() -> None:
    assert run(["x", "y"], ()) == ("xy", None)


@given(
    text=st.text(alphabet="abc xyz", max_size=40),
    stop=st.text(alphabet="abcxyz", min_size=1, max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
)
def test_any_chunking_matches_whole_text(text: str, stop: str, cuts: list[int]) -> None:
    expected_at = text.find(stop)
    emitted, matched = run(split(text, cuts), (stop,))
    if expected_at >= 0:
        assert (emitted, matched) == (text[:expected_at], stop)
    else:
        assert (emitted, matched) == (text, None)
