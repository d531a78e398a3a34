"""No comment in the tree points outside the repository: a newcomer reads
the code with only the repository at hand, so design notes, issue numbers
and the reference folder beside the checkout are not named. Public
standards (RFC 5545 §3.3.10) and vendor documentation by title are fine."""
import os
import re
import sys

SOURCE = os.environ["PB_SOURCE_DIR"]
TOPS = ("shared", "services", "tools", "tests", "bench", "scripts", "deploy",
        ".ci", "CMakeLists.txt", "compose.yaml")
OUTSIDE = re.compile(
    r"\bBRIEF\b|\bSTYLE\.md\b|\bPBX-APIS\b|\.\./shared/|\bissue\s+#?\d+",
    re.IGNORECASE)
EXTS = (".c", ".h", ".py", ".txt", ".cmake", ".sh", ".mjs", ".js", ".yaml",
        ".yml", ".conf", ".template", ".service")


def files():
    for top in TOPS:
        path = os.path.join(SOURCE, top)
        if os.path.isfile(path):
            yield path
            continue
        for dirpath, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "fixtures")]
            for name in sorted(names):
                full = os.path.join(dirpath, name)
                if name.endswith(EXTS) or name in ("run", "test", "build.sh"):
                    yield full
                elif os.path.dirname(full).endswith("scripts"):
                    yield full


def main():
    me = os.path.abspath(__file__)
    found = []
    checked = 0
    for path in files():
        if os.path.abspath(path) == me:
            continue
        checked += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = OUTSIDE.search(line)
                if m:
                    found.append(f"{os.path.relpath(path, SOURCE)}:{n}: "
                                 f"points outside the repository: "
                                 f"'{m.group(0)}'")
    for line in found:
        print(line)
    print(f"{checked} files checked")
    print(f"{checked - len(found) if not found else 0} passed, "
          f"{len(found)} failed")
    return 1 if found else 0


sys.exit(main())
