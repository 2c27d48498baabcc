#!/usr/bin/env python3
"""Writes the chat-template fixtures: published chat templates of the families MoEKit loads,
taken from the templates llama.cpp keeps (models/templates in the llama-cpp-python source
archive that scripts/llamacpp.sh downloads; LLAMACPP names its llama.cpp folder), each rendered
by `transformers`' own Jinja setup (`_compile_jinja_template`: trim_blocks, lstrip_blocks,
loopcontrols, its tojson, raise_exception, strftime_now) on a few dozen conversations — system
prompts, multi-turn, tool calls and results, reasoning, Unicode, with and without the generation
prompt. Output: Tests/ModelIOTests/Fixtures/chat_templates/<name>.jinja and cases.json (each
case: template, messages, add_generation_prompt, extra variables, and the text, or the error
the template raises)."""
import json
import os
import shutil

from transformers.utils.chat_template_utils import _compile_jinja_template

OUT = "Tests/ModelIOTests/Fixtures/chat_templates"
TEMPLATES = {
    "qwen3": "Qwen-Qwen3-0.6B.jinja",
    "qwen2.5": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "deepseek-v3.1": "deepseek-ai-DeepSeek-V3.1.jinja",
    "glm-4.6": "GLM-4.6.jinja",
    "gpt-oss": "openai-gpt-oss-120b.jinja",
    "mistral-nemo": "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "llama-3.1": "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "granite-3.3": "ibm-granite-granite-3.3-2B-Instruct.jinja",
    "phi-3.5": "microsoft-Phi-3.5-mini-instruct.jinja",
    "kimi-k2": "moonshotai-Kimi-K2.jinja",
}

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
                       "required": ["city"]}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}

CONVERSATIONS = [
    ([{"role": "user", "content": "Hello!"}], {}),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is MoE?"}], {}),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
      {"role": "user", "content": "Tell me a joke."}], {}),
    ([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "One"},
      {"role": "assistant", "content": "Two"}, {"role": "user", "content": "Three"},
      {"role": "assistant", "content": "Four"}], {}),
    ([{"role": "user", "content": "Ünïcödé — 日本語 😀 \"quotes\" and 'apostrophes'\nnew line\ttab"}], {}),
    ([{"role": "user", "content": ""}], {}),
    ([{"role": "user", "content": "  spaced  "}, {"role": "assistant", "content": "  answer  "},
      {"role": "user", "content": "again"}], {}),
    ([{"role": "user", "content": "Weather in Paris?"}], {"tools": [TOOL]}),
    ([{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris?"}], {"tools": [TOOL]}),
    ([{"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "", "tool_calls": [CALL]},
      {"role": "tool", "content": "{\"temperature\": 21}", "tool_call_id": "call_1", "name": "get_weather"},
      {"role": "user", "content": "Thanks"}], {"tools": [TOOL]}),
    ([{"role": "user", "content": "2+2?"},
      {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}, {"role": "user", "content": "3+3?"}], {}),
    ([{"role": "user", "content": "2+2?"},
      {"role": "assistant", "content": "4", "reasoning_content": "Adding two and two."},
      {"role": "user", "content": "Sure?"}], {}),
    ([{"role": "user", "content": "Think?"}], {"enable_thinking": False}),
    ([{"role": "user", "content": "Think?"}], {"enable_thinking": True}),
    ([{"role": "developer", "content": "Answer in French."}, {"role": "user", "content": "Hello"}], {}),
    ([{"role": "user", "content": "Reasoning?"}], {"reasoning_effort": "high"}),
]


def canonical(value, message=False):
    """The value with its dictionaries' keys in the order MoEKit passes them: a message's
    `role` and `content` first, then the other keys sorted; keys inside sorted."""
    if isinstance(value, dict):
        first = [k for k in ["role", "content"] if message and k in value]
        keys = first + sorted(k for k in value if k not in first)
        return {k: canonical(value[k]) for k in keys}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def main():
    llamacpp = os.environ["LLAMACPP"]
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for name, file in TEMPLATES.items():
        source_path = os.path.join(llamacpp, "models", "templates", file)
        shutil.copy(source_path, f"{OUT}/{name}.jinja")
        with open(source_path) as f:
            template = _compile_jinja_template(f.read())
        for messages, extra in CONVERSATIONS:
            messages = [canonical(m, message=True) for m in messages]
            extra = canonical(extra)
            for generation in [True, False]:
                variables = {"bos_token": "<s>", "eos_token": "</s>", "date_string": "26 Jul 2024", **extra}
                case = dict(template=name, messages=messages, add_generation_prompt=generation, variables=variables)
                try:
                    case["text"] = template.render(messages=messages, add_generation_prompt=generation, **variables)
                except Exception as error:  # the template's own refusal, or a failure on this conversation
                    case["error"] = f"{type(error).__name__}: {error}"
                cases.append(case)
    with open(f"{OUT}/cases.json", "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    rendered = sum("text" in c for c in cases)
    print(f"{len(TEMPLATES)} templates, {len(cases)} cases ({rendered} rendered, {len(cases) - rendered} refused)")


if __name__ == "__main__":
    main()
