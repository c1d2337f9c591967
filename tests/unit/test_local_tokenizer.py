"""Token counts on Parley's machine for upstreams without a tokenizer endpoint: a Hugging
Face model directory built here (vocabulary, special tokens, chat template) counted by
hand, through the tokenizer and through the SDK's ``count_tokens``."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from parley.app import create_app
from parley.backends.base import GenerationRequest, TextPart, Turn
from parley.backends.common.local_tokenizer import load_tokenizer
from parley.errors import InvalidRequestError
from tests.support import API_KEY, ServerThread, make_settings

TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WORDS = ["[UNK]", "system", "user", "assistant", "Be", "brief", ".", "Hello", "there", "friend"]
# <s> <|im_start|> system Be brief . <|im_end|> <|im_start|> user Hello there friend
# <|im_end|> <|im_start|> assistant
EXPECTED = 15


def model_directory(root: Path, *, template_file: bool = False) -> Path:
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(["<s>", "<|im_start|>", "<|im_end|>"])
    root.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(root / "tokenizer.json"))
    config: dict[str, object] = {"bos_token": {"content": "<s>"}, "eos_token": "<|im_end|>"}
    if template_file:
        (root / "chat_template.jinja").write_text(TEMPLATE)
        config["chat_template"] = "{{ 'ignored' }}"
    else:
        config["chat_template"] = [
            {"name": "tool_use", "template": "x"},
            {"name": "default", "template": TEMPLATE},
        ]
    (root / "tokenizer_config.json").write_text(json.dumps(config))
    return root


def request() -> GenerationRequest:
    turns = (Turn("user", (TextPart("Hello there friend"),)),)
    return GenerationRequest(model="m", system="Be brief.", turns=turns, max_tokens=8)


@pytest.mark.parametrize("template_file", [False, True])
def test_hf_directory_counts_the_rendered_prompt(tmp_path: Path, template_file: bool) -> None:
    tokenizer = load_tokenizer(f"hf:{model_directory(tmp_path, template_file=template_file)}")
    assert tokenizer.count_prompt(request()) == EXPECTED
    assert tokenizer.count_text("Hello there friend.") == 4
    assert tokenizer.count_text("") == 0


def test_gguf_counts_prompt_and_generated_text() -> None:
    gguf = load_tokenizer("gguf:bundled:smollm2")
    try:
        assert gguf.count_prompt(request()) > gguf.count_text("Hello there friend") == 3
    finally:
        gguf.close()


def test_a_directory_without_vocabulary_or_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no tokenizer\.json"):
        load_tokenizer(f"hf:{tmp_path}")
    with pytest.raises(InvalidRequestError, match="unknown tokenizer"):
        load_tokenizer("sentencepiece:/x")


def test_sdk_count_tokens_for_an_upstream_without_a_tokenizer(tmp_path: Path) -> None:
    model = {
        "id": "up",
        "backend": "openai",
        "options": {
            "urls": ["http://127.0.0.1:9"],  # never asked: counting happens here
            "model": "m",
            "tokenizer": f"hf:{model_directory(tmp_path / 'model')}",
        },
    }
    with ServerThread(create_app(make_settings(tmp_path, models=[model]))) as server:
        client = anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url)
        counted = client.messages.count_tokens(
            model="up",
            system="Be brief.",
            messages=[{"role": "user", "content": "Hello there friend"}],
        )
    assert counted.input_tokens == EXPECTED
