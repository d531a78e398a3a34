"""docs/config.md must hold exactly the configuration table the programs
print (--config-markdown), between its two markers."""
import os
import subprocess
import sys

BUILD = os.environ["PB_BUILD_DIR"]
SOURCE = os.environ["PB_SOURCE_DIR"]

table = subprocess.run([os.path.join(BUILD, "services/scheduler/scheduler"),
                        "--config-markdown"], capture_output=True, text=True,
                       check=True).stdout
with open(os.path.join(SOURCE, "docs/config.md"), encoding="utf-8") as f:
    doc = f.read()
begin, end = "<!-- config-table:begin -->\n", "<!-- config-table:end -->"
if begin not in doc or end not in doc:
    sys.exit("docs/config.md has no config-table markers")
documented = doc.split(begin, 1)[1].split(end, 1)[0]
if documented.strip() != table.strip():
    import difflib
    sys.stdout.writelines(difflib.unified_diff(
        documented.strip().splitlines(True), table.strip().splitlines(True),
        "docs/config.md", "scheduler --config-markdown"))
    sys.exit("docs/config.md is out of step with the configuration table: "
             "paste the output of `scheduler --config-markdown`")
print(f"docs/config.md matches the table ({table.count(chr(10)) - 2} keys)")
print("1 passed, 0 failed")
