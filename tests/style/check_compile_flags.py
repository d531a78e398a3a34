"""Every C file of the tree is compiled with the project's warning set
(CMakeLists.txt), and -Werror in a PB_WERROR build (CI): read from the
build's compile_commands.json. Each warning the set promises is also shown
to fire: a small probe that breaks the rule is compiled with one of the
project's own commands and must be refused (PB_WERROR) or warned about."""
import json
import os
import shlex
import subprocess
import sys
import tempfile

BUILD = os.environ["PB_BUILD_DIR"]
SOURCE = os.path.realpath(os.environ["PB_SOURCE_DIR"])
WARNINGS = ["-Wall", "-Wextra", "-Wconversion", "-Wshadow", "-Wformat=2",
            "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wvla",
            "-Wcast-qual"]
PROBES = {
    "-Wmissing-prototypes": "int probe(void);\nint probe2(void) { return 1; }\n"
                            "int probe(void) { return probe2(); }\n",
    "-Wvla": "int probe(int n);\nint probe(int n) { char b[n]; b[0] = 0; "
             "return b[0]; }\n",
    "-Wcast-qual": "char *probe(const char *s);\n"
                   "char *probe(const char *s) { return (char *)s; }\n",
}


def cache(name):
    with open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split("=", 1)[1].strip()
    return ""


def main():
    with open(os.path.join(BUILD, "compile_commands.json"), encoding="utf-8") as f:
        commands = json.load(f)
    werror = cache("PB_WERROR") in ("ON", "TRUE", "1")
    failed = 0
    ours = [c for c in commands
            if os.path.realpath(c["file"]).startswith(SOURCE + os.sep)
            and c["file"].endswith(".c")]
    for c in ours:
        args = shlex.split(c["command"]) if "command" in c else c["arguments"]
        missing = [w for w in WARNINGS if w not in args]
        if werror and "-Werror" not in args:
            missing.append("-Werror")
        if missing:
            failed += 1
            print(f"{os.path.relpath(c['file'], SOURCE)}: compiled without "
                  f"{' '.join(missing)}")
    print(f"{len(ours)} compile commands checked")
    # The probes, compiled with the first command's compiler and flags.
    args = shlex.split(ours[0]["command"]) if "command" in ours[0] else list(ours[0]["arguments"])
    compiler = args[0]
    flags = [a for a in args[1:] if a.startswith(("-W", "-std", "-D", "-f"))
             and not a.startswith("-fsanitize")]
    with tempfile.TemporaryDirectory() as tmp:
        for flag, code in PROBES.items():
            src = os.path.join(tmp, "probe.c")
            with open(src, "w", encoding="utf-8") as f:
                f.write(code)
            r = subprocess.run([compiler, *flags, "-c", src, "-o",
                                os.path.join(tmp, "probe.o")],
                               capture_output=True, text=True)
            said = f"{flag[2:]}]" in r.stderr  # [-Wvla] or [-Werror=vla]
            refused = r.returncode != 0
            ok = said and (refused or not werror)
            print(f"probe {flag}: {'caught' if ok else 'NOT caught'}"
                  f"{' (refused)' if refused else ''}")
            failed += not ok
    total = len(ours) + len(PROBES)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(main())
