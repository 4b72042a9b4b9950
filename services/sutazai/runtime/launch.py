"""Start the SutazAI server with the environment `sutazai up` wrote (a JSON file only its owner
can read): supervisord runs this, so secrets never appear in its configuration or command line."""

from __future__ import annotations

import json
import os
import sys

from sutazai.runtime.stack import APP_HINT


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        env = json.load(handle)
    os.execve(sys.executable, [sys.executable, "-m", APP_HINT], env)  # noqa: S606 - our interpreter and module


if __name__ == "__main__":
    main()
