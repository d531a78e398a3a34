"""Every C file of the tree is formatted as .clang-format says: the check
clang-format itself makes (--dry-run --Werror), one line per file that
differs. Format the tree with scripts/format."""
import os
import shutil
import subprocess
import sys

SOURCE = os.environ["PB_SOURCE_DIR"]
TOPS = ("shared", "services", "tools", "tests/unit", "tests/fuzz", "bench")


def c_files():
    for top in TOPS:
        for dirpath, dirs, files in os.walk(os.path.join(SOURCE, top)):
            dirs[:] = [d for d in dirs if d != "node_modules"]
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    yield os.path.join(dirpath, name)


def main():
    tool = os.environ.get("PB_CLANG_FORMAT") or shutil.which("clang-format")
    if not tool:
        print("clang-format not found (scripts/deps.sh test installs it)")
        return 1
    files = list(c_files())
    failed = []
    for path in files:
        r = subprocess.run([tool, "--dry-run", "--Werror", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            first = (r.stderr.strip().splitlines() or ["differs"])[0]
            failed.append(f"{os.path.relpath(path, SOURCE)}: not formatted "
                          f"({first.split(': ', 1)[-1][:80]})")
    for line in failed:
        print(line)
    if failed:
        print("run scripts/format to format the tree")
    print(f"{len(files)} files checked")
    print(f"{len(files) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


sys.exit(main())
