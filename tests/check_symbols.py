#!/usr/bin/env python3
"""The exported dynamic symbols of libllm.so, the version script and the LLM_API declarations of
the public headers must be the same set of names, all starting with llm_."""
import re
import subprocess
import sys

lib, map_file, *headers = sys.argv[1:]

out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True,
                     text=True).stdout
exported = {line.split()[-1].split("@")[0] for line in out.splitlines()
            if len(line.split()) >= 3 and line.split()[1] in "TtDdBbRrVvWwi"}
exported.discard("LIBLLM_0.1")
exported = {s for s in exported if not s.startswith("LIBLLM_")}

map_text = re.sub(r"/\*.*?\*/", "", open(map_file).read(), flags=re.S)
in_map = set(re.findall(r"^\s*(llm_\w+)\s*;", map_text, flags=re.M))

declared = set()
for h in headers:
    declared |= set(re.findall(r"LLM_API\s[^;]*?\b(llm_\w+)\s*\(", open(h).read()))

ok = True
def report(title, names):
    global ok
    if names:
        ok = False
        print(f"{title}: {', '.join(sorted(names))}")

report("exported but not llm_", {s for s in exported if not s.startswith("llm_")})
report("exported but not in the map", exported - in_map)
report("in the map but not exported", in_map - exported)
report("declared in a header but not in the map", declared - in_map)
report("in the map but not declared in a header", in_map - declared)
print(f"{len(exported)} exported, {len(in_map)} in the map, {len(declared)} declared")
sys.exit(0 if ok else 1)
