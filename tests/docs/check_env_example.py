"""deploy/presencebus.env.example must be exactly what the programs print
with --config-env, so it lists every key with its current default."""
import os
import subprocess
import sys

BUILD = os.environ["PB_BUILD_DIR"]
SOURCE = os.environ["PB_SOURCE_DIR"]
env = subprocess.run([os.path.join(BUILD, "services/scheduler/scheduler"), "--config-env"],
                     capture_output=True, text=True, check=True).stdout
path = os.path.join(SOURCE, "deploy/presencebus.env.example")
with open(path, encoding="utf-8") as f:
    if f.read() != env:
        sys.exit("deploy/presencebus.env.example is out of step with the configuration "
                 "table: regenerate it with `scheduler --config-env`")
# It must also be accepted as it is.
r = subprocess.run([os.path.join(BUILD, "services/scheduler/scheduler"), "--config", path,
                    "--check-config"], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit(f"the env example does not validate: {r.stderr}")
print("1 passed, 0 failed")
