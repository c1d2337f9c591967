"""Backend events → the API's stream events and final ``Message`` (``messages.assembler``)."""

from __future__ import annotations

import json
from typing import Any

from parley.backends.base import (
    BackendEvent,
    Finished,
    TextChunk,
    ThinkingChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallStart,
)
from parley.messages.assembler import MessageAssembler
from parley.messages.citations import CitableDocument, CitableSearchResult, Citer
from parley.messages.signatures import BlockSigner
from parley.wire.responses import CompactionBlock, Usage
from parley.wire.sse import payload


def assemble(
    events: list[BackendEvent], citer: Citer | None = None
) -> tuple[MessageAssembler, list[dict[str, Any]]]:
    assembler = MessageAssembler(
        message_id="msg_1", model="m", usage=Usage(input_tokens=7, output_tokens=0), citer=citer
    )
    out = [payload(e) for e in assembler.start()]  # each event's data, as sent
    for event in events:
        out += [payload(e) for e in assembler.feed(event)]
    return assembler, out


def kinds(out: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in out]


def test_text_then_the_end() -> None:
    assembler, out = assemble([TextChunk("Hel"), TextChunk("lo"), Finished("end_turn", 2)])
    assert kinds(out) == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert assembler.message.content[0].text == "Hello"  # type: ignore[union-attr]
    assert out[-2]["delta"]["stop_reason"] == "end_turn"
    assert out[-2]["usage"] == {
        "output_tokens": 2,
        "input_tokens": 7,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert assembler.finished and assembler.generated == ["Hel", "lo"]


def test_whitespace_before_a_tool_call_opens_no_text_block() -> None:
    events: list[BackendEvent] = [
        TextChunk("\n"),
        ToolCallStart("f"),
        ToolCallChunk('{"a": '),
        ToolCallChunk("1}"),
        ToolCallEnd({"a": 1}),
        Finished("tool_use", 9),
    ]
    assembler, out = assemble(events)
    starts = [e["content_block"]["type"] for e in out if e["type"] == "content_block_start"]
    assert starts == ["tool_use"]
    fragments = [e["delta"]["partial_json"] for e in out if e["type"] == "content_block_delta"]
    assert json.loads("".join(fragments)) == assembler.message.content[0].input == {"a": 1}  # type: ignore[union-attr]
    assert assembler.message.stop_reason == "tool_use"


def test_text_between_blocks_keeps_its_leading_space() -> None:
    assembler, _ = assemble(
        [
            ToolCallStart("f"),
            ToolCallEnd({}),
            TextChunk(" "),
            TextChunk("after"),
            Finished("end_turn", 3),
        ]
    )
    assert [b.type for b in assembler.message.content] == ["tool_use", "text"]
    assert assembler.message.content[1].text == " after"  # type: ignore[union-attr]


def test_thinking_block_ends_with_a_signature_delta() -> None:
    assembler, out = assemble([ThinkingChunk("hmm"), TextChunk("yes"), Finished("end_turn", 2)])
    deltas = [e["delta"]["type"] for e in out if e["type"] == "content_block_delta"]
    assert deltas == ["thinking_delta", "signature_delta", "text_delta"]
    assert assembler.message.content[0].thinking == "hmm"  # type: ignore[union-attr]


def test_context_window_is_the_apis_stop_reason() -> None:
    assembler, _ = assemble([TextChunk("x"), Finished("context_window", 1)])
    assert assembler.message.stop_reason == "model_context_window_exceeded"


def test_stop_sequence_is_reported() -> None:
    assembler, out = assemble([TextChunk("x"), Finished("stop_sequence", 1, stop_sequence="END")])
    assert assembler.message.stop_sequence == "END"
    assert out[-2]["delta"]["stop_sequence"] == "END"


def test_quoted_text_is_cited() -> None:
    document = CitableDocument(0, "Notes", ("The quick brown fox jumps over the lazy dog.",), False)
    assembler, out = assemble(
        [
            TextChunk("It says: the quick brown fox jumps over the lazy dog."),
            Finished("end_turn", 9),
        ],
        Citer([document]),
    )
    citations = assembler.message.content[0].citations  # type: ignore[union-attr]
    assert citations and citations[0]["type"] == "char_location"
    assert "quick brown fox jumps over the lazy dog" in citations[0]["cited_text"]
    assert "citations_delta" in [
        e["delta"]["type"] for e in out if e["type"] == "content_block_delta"
    ]


def test_not_started_and_not_finished_until_told() -> None:
    assembler = MessageAssembler(
        message_id="msg_1", model="m", usage=Usage(input_tokens=1, output_tokens=0)
    )
    assert not assembler.started and not assembler.finished
    assembler.start()
    assembler.feed(TextChunk("partial"))
    assert assembler.started and not assembler.finished and assembler.generated == ["partial"]


def test_thinking_is_signed_and_counted() -> None:
    signer = BlockSigner(b"secret")
    assembler = MessageAssembler(
        message_id="msg_1",
        model="m",
        usage=Usage(input_tokens=7, output_tokens=0),
        signer=signer,
        context_management={"applied_edits": []},
    )
    out = [payload(e) for e in assembler.start()]
    for event in [
        ThinkingChunk("hmm"),
        TextChunk("yes"),
        Finished("end_turn", 3, thinking_tokens=2),
    ]:
        out += [payload(e) for e in assembler.feed(event)]
    signature = next(
        e["delta"]["signature"] for e in out if e.get("delta", {}).get("type") == "signature_delta"
    )
    assert signer.verify("hmm", signature) and not signer.verify("hmm!", signature)
    message = assembler.message.to_wire()
    assert message["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": signature}
    assert message["usage"]["output_tokens_details"] == {"thinking_tokens": 2}
    assert message["context_management"] == {"applied_edits": []}
    delta = next(e for e in out if e["type"] == "message_delta")
    assert delta["usage"]["output_tokens_details"] == {"thinking_tokens": 2}
    assert delta["context_management"] == {"applied_edits": []}
    assert "context_management" not in out[0]["message"]  # reported at the end only


def test_omitted_thinking_streams_only_its_signature() -> None:
    signer = BlockSigner(b"secret")
    assembler = MessageAssembler(
        message_id="msg_1",
        model="m",
        usage=Usage(input_tokens=7, output_tokens=0),
        signer=signer,
        omit_thinking=True,
    )
    out = [payload(e) for e in assembler.start()]
    for event in [
        ThinkingChunk("hmm, "),
        ThinkingChunk("yes"),
        TextChunk("Yes."),
        Finished("end_turn", 4),
    ]:
        out += [payload(e) for e in assembler.feed(event)]
    thinking_deltas = [e["delta"]["type"] for e in out if e.get("index") == 0 and "delta" in e]
    assert thinking_deltas == ["signature_delta"]
    block = assembler.message.to_wire()["content"][0]
    assert block["thinking"] == ""
    # Sent back as it came (empty text), it verifies; with the hidden text filled in,
    # or under another deployment's secret, it does not.
    assert signer.verify("", block["signature"])
    assert not signer.verify("hmm, yes", block["signature"])
    assert not BlockSigner(b"other").verify("", block["signature"])


def test_a_paused_compaction_is_the_whole_answer() -> None:
    assembler = MessageAssembler(
        message_id="msg_1", model="m", usage=Usage(input_tokens=0, output_tokens=0)
    )
    block = CompactionBlock(content="Earlier: the user asked for a haiku.", signature="sig")
    iteration = {"type": "compaction", "input_tokens": 900, "output_tokens": 12}
    assembler.compacted(block, iteration)
    out = [payload(e) for e in assembler.paused()]
    assert [e["type"] for e in out] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert out[1]["content_block"] == {
        "type": "compaction",
        "content": None,
        "encrypted_content": None,
        "signature": "sig",
    }
    assert out[2]["delta"]["content"] == block.content
    assert out[4]["delta"]["stop_reason"] == "compaction"
    assert out[4]["usage"]["iterations"] == [iteration]
    message = assembler.message.to_wire()
    assert message["content"] == [{**out[1]["content_block"], "content": block.content}]
    assert assembler.finished


def test_quoted_search_results_are_cited_by_block() -> None:
    result = CitableSearchResult(
        2,
        "https://example.com/valves",
        "Valve manual",
        ("Valve 7 opens at 40 bar.", "The relief valve must be tested every spring."),
    )
    assembler, _ = assemble(
        [
            TextChunk("The manual says the relief valve must be tested every spring."),
            Finished("end_turn", 12),
        ],
        Citer([result]),
    )
    (citation,) = assembler.message.content[0].citations  # type: ignore[union-attr]
    assert citation == {
        "type": "search_result_location",
        "cited_text": "The relief valve must be tested every spring.",
        "search_result_index": 2,
        "source": "https://example.com/valves",
        "title": "Valve manual",
        "start_block_index": 1,
        "end_block_index": 2,
    }
