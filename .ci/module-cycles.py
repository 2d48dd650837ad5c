#!/usr/bin/env python3
"""Fails when the top-level modules of src/ import each other in a cycle.

Reads every `crate::a::b` path in src/ (test modules and tests.rs files left out: a
test may reach anywhere), keeps the top-level module `a`, and looks for a cycle in the
graph of "module x uses module y". Prints each cycle with the edges that make it.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "src"
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def top_module(path):
    parts = os.path.relpath(path, ROOT)[: -len(".rs")].split(os.sep)
    if parts[0] in ("lib", "main"):
        return None
    return parts[0]


edges = {}
for folder, _, files in os.walk(ROOT):
    for name in files:
        if not name.endswith(".rs") or name == "tests.rs":
            continue
        path = os.path.join(folder, name)
        here = top_module(path)
        if here is None:
            continue
        text = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
        for there in PATH.findall(text):
            known = os.path.exists(os.path.join(ROOT, there + ".rs")) or os.path.isdir(
                os.path.join(ROOT, there)
            )
            if known and there != here:
                edges.setdefault(here, set()).add(there)

# Strongly connected components (Tarjan).
index, low, stack, on_stack, cycles = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1:
            cycles.append(sorted(component))


for v in sorted(edges):
    if v not in index:
        visit(v)
for component in cycles:
    print("cycle: " + " <-> ".join(component))
    for a in component:
        for b in sorted(edges.get(a, ())):
            if b in component:
                print(f"   {a} -> {b}")
modules = set(edges) | {m for targets in edges.values() for m in targets}
print(f"{len(modules)} top-level modules, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
