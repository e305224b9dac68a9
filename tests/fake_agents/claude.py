"""Prints what ``claude -p ... --output-format json|stream-json`` prints.

Test controls: --fake-multi-model (main model plus a background model),
--fake-no-model-usage (only the top-level ``usage`` block), --fake-no-cache-fields
(usage of 1000 in / 200 out with no cache fields at all, as older Claude Code
versions print), --fake-no-cost (no ``total_cost_usd``/``costUSD``), --fake-total-cost USD
(that ``total_cost_usd``, whatever it is), --fake-subtype S,
--fake-is-error, --fake-exit N, --fake-pretty (indented json). With --verbose,
``json`` prints the array of every message, the result last (as Claude Code does).
"""

import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("-p", "--print", dest="prompt", default="")
parser.add_argument("--output-format", default="text")
parser.add_argument("--model", default="claude-sonnet-4-5-20250929")
parser.add_argument("--fake-multi-model", action="store_true")
parser.add_argument("--fake-no-model-usage", action="store_true")
parser.add_argument("--fake-no-cache-fields", action="store_true")
parser.add_argument("--fake-no-cost", action="store_true")
parser.add_argument("--fake-total-cost", type=float)
parser.add_argument("--fake-subtype", default="success")
parser.add_argument("--fake-is-error", action="store_true")
parser.add_argument("--fake-exit", type=int, default=0)
parser.add_argument("--fake-pretty", action="store_true")
parser.add_argument("--verbose", action="store_true")
args = parser.parse_args()

model_usage = {
    args.model: {
        "inputTokens": 120,
        "outputTokens": 900,
        "cacheReadInputTokens": 20000,
        "cacheCreationInputTokens": 5000,
        "webSearchRequests": 0,
        "costUSD": 0.1134,
        "contextWindow": 200000,
    }
}
total_cost = 0.1134
if args.fake_multi_model:
    model_usage["claude-haiku-4-5-20251001"] = {
        "inputTokens": 800,
        "outputTokens": 50,
        "cacheReadInputTokens": 0,
        "cacheCreationInputTokens": 0,
        "webSearchRequests": 0,
        "costUSD": 0.0011,
        "contextWindow": 200000,
    }
    total_cost = 0.1145

result = {
    "type": "result",
    "subtype": args.fake_subtype,
    "is_error": args.fake_is_error,
    "duration_ms": 5321,
    "duration_api_ms": 5100,
    "num_turns": 4,
    "result": f"Done: {args.prompt}",
    "session_id": "5f0c9e43-0000-4000-8000-000000000000",
    "total_cost_usd": total_cost,
    "usage": {
        "input_tokens": 120,
        "cache_creation_input_tokens": 5000,
        "cache_read_input_tokens": 20000,
        "output_tokens": 900,
        "server_tool_use": {"web_search_requests": 0},
        "service_tier": "standard",
    },
}
if args.fake_no_cache_fields:
    result["usage"] = {"input_tokens": 1000, "output_tokens": 200}
    for figures in model_usage.values():
        figures.update(inputTokens=1000, outputTokens=200)
        del figures["cacheReadInputTokens"], figures["cacheCreationInputTokens"]
if args.fake_total_cost is not None:
    result["total_cost_usd"] = args.fake_total_cost
if args.fake_no_cost:
    del result["total_cost_usd"]
    for figures in model_usage.values():
        del figures["costUSD"]
if not args.fake_no_model_usage:
    result["modelUsage"] = model_usage

init = {"type": "system", "subtype": "init", "model": args.model, "tools": ["Bash", "Edit"]}
assistant = {
    "type": "assistant",
    "message": {
        "model": args.model,
        "content": [{"type": "text", "text": "Working on it"}],
        "usage": {"input_tokens": 3, "output_tokens": 7},
    },
}
if args.output_format == "stream-json":
    print(json.dumps(init), flush=True)
    print(json.dumps(assistant), flush=True)
    print(json.dumps(result))
elif args.output_format == "json" and args.verbose:
    print(json.dumps([init, assistant, result], indent=2 if args.fake_pretty else None))
elif args.output_format == "json":
    print(json.dumps(result, indent=2 if args.fake_pretty else None))
else:
    print(result["result"])
sys.exit(args.fake_exit)
