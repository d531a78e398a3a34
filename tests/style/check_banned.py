"""curl's checksrc idea, small: the C sources must not call functions that
cannot be bounded (strcpy, sprintf, strtok, atoi, gets)."""
import os
import re
import sys

SOURCE = os.environ["PB_SOURCE_DIR"]
BANNED = re.compile(r"\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(")
failed = 0
checked = 0
for top in ("shared", "services", "tools", "tests/unit", "bench"):
    for dirpath, _, files in os.walk(os.path.join(SOURCE, top)):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            checked += 1
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    code = line.split("//")[0]
                    m = BANNED.search(code)
                    if m:
                        failed += 1
                        print(f"{os.path.relpath(path, SOURCE)}:{n}: {m.group(1)}() is banned")
print(f"{checked} files checked")
print(f"{checked - failed if failed == 0 else 0} passed, {failed} failed")
sys.exit(1 if failed else 0)
