"""Prints what ``gemini -p ... --output-format json`` prints (one indented document).

Test controls: --fake-minimal-tokens (each model's ``tokens`` holds only ``prompt``,
``candidates`` and ``total``: no ``cached``, ``thoughts`` or ``tool`` counts),
--fake-tool-tokens N (the main model's tool-use prompt tokens; default 0).
"""

import argparse
import json

parser = argparse.ArgumentParser()
parser.add_argument("-p", "--prompt", default="")
parser.add_argument("--output-format", default="text")
parser.add_argument("-m", "--model", default="gemini-2.5-pro")
parser.add_argument("--fake-minimal-tokens", action="store_true")
parser.add_argument("--fake-tool-tokens", type=int, default=0)
args = parser.parse_args()


def model_stats(prompt, candidates, cached, thoughts, tool):
    tokens = {
        "prompt": prompt,
        "candidates": candidates,
        "total": prompt + candidates + thoughts + tool,
        "cached": cached,
        "thoughts": thoughts,
        "tool": tool,
    }
    if args.fake_minimal_tokens:
        del tokens["cached"], tokens["thoughts"], tokens["tool"]
    return {
        "api": {"totalRequests": 2, "totalErrors": 0, "totalLatencyMs": 8123},
        "tokens": tokens,
    }


document = {
    "response": f"Answer to: {args.prompt}",
    "stats": {
        "models": {
            args.model: model_stats(30000, 1200, 12000, 800, args.fake_tool_tokens),
            "gemini-2.5-flash-lite": model_stats(2000, 40, 0, 0, 0),
        },
        "tools": {"totalCalls": 1, "totalSuccess": 1, "totalFail": 0},
        "files": {"totalLinesAdded": 3, "totalLinesRemoved": 1},
    },
}
print(json.dumps(document, indent=2))
