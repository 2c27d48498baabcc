#!/usr/bin/env python3
"""The `openai` Python package against a running moe-serve (MOESERVE_URL, MOESERVE_MODEL):
models, completions and chat, each whole and streamed (the streamed text must equal the whole
one at temperature 0), and the errors the client raises for bad requests. Prints one line per
check; exits non-zero on the first that fails."""
import os
import sys

import openai

client = openai.OpenAI(base_url=os.environ["MOESERVE_URL"] + "/v1", api_key="none", max_retries=0)
model = os.environ["MOESERVE_MODEL"]


def check(name, condition, detail=""):
    print(f"{'ok' if condition else 'FAILED'}: {name} {detail}")
    if not condition:
        sys.exit(1)


check("models.list", [m.id for m in client.models.list()] == [model])

whole = client.completions.create(model=model, prompt="The experts", max_tokens=8, temperature=0)
check("completions", whole.choices[0].finish_reason in ("stop", "length") and whole.usage.completion_tokens > 0,
      repr(whole.choices[0].text))
streamed = "".join(chunk.choices[0].text for chunk in client.completions.create(
    model=model, prompt="The experts", max_tokens=8, temperature=0, stream=True))
check("completions, streamed", streamed == whole.choices[0].text)

messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
chat = client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0)
check("chat", chat.choices[0].message.role == "assistant" and chat.object == "chat.completion",
      repr(chat.choices[0].message.content))
pieces = [chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(
    model=model, messages=messages, max_tokens=8, temperature=0, stream=True)]
check("chat, streamed", "".join(pieces) == chat.choices[0].message.content)
logprobs = client.completions.create(model=model, prompt="The experts", max_tokens=2, temperature=0, logprobs=2)
check("logprobs", len(logprobs.choices[0].logprobs.token_logprobs) == 2)

for name, call, error in [
    ("bad temperature", lambda: client.completions.create(model=model, prompt="x", temperature=-1), openai.BadRequestError),
    ("unknown model", lambda: client.completions.create(model="gpt-4", prompt="x"), openai.NotFoundError),
    ("empty messages", lambda: client.chat.completions.create(model=model, messages=[]), openai.BadRequestError),
    ("too many tokens", lambda: client.completions.create(model=model, prompt="x", max_tokens=10**6), openai.BadRequestError),
]:
    try:
        call()
        check(name, False, "was accepted")
    except error as e:
        check(name, True, f"({e.status_code}: {e.message[:60]}…)")
