#!/usr/bin/env python3
"""Finds circular imports between the source files of each crate in the workspace, and `#[path]`
attributes (a module whose file is not where its name says hides the tree on disk).

A file imports another when it names one of that file's modules in a path (`use crate::a::b`,
`super::x`, `self::y`, or a path written inline in code). Declaring a child (`mod x;`) is not an
import, so a parent and its `tests.rs` or its private children may refer to each other one way.
Two files that import each other, directly or through others, are printed with the path between
them, and the exit status is 1.

Usage: scripts/import-cycles.py [CRATE_DIR ...]   (default: every crate of the workspace)
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = [".", "forest", "codec", "training", "forwarder", "shutdown", "fuzz"]
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)
PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::\w+)*)::\{([^;]*)\};", re.S)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def module_files(crate):
    """Module path (tuple) -> file, following `mod x;` declarations from each crate root."""
    src = os.path.join(ROOT, crate, "src")
    roots = []
    for name in ("lib.rs", "main.rs"):
        if os.path.exists(os.path.join(src, name)):
            roots.append(os.path.join(src, name))
    for sub in ("bin", "fuzz_targets"):
        d = os.path.join(ROOT, crate, "src" if sub == "bin" else "", sub)
        if os.path.isdir(d):
            roots += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".rs")]
    trees = []
    for root in roots:
        files = {}
        stack = [((), root)]
        while stack:
            path, file = stack.pop()
            files[path] = file
            base = os.path.basename(file)
            if base in ("lib.rs", "main.rs", "mod.rs") or file in roots:
                folder = os.path.dirname(file)
            else:
                folder = file[:-3]
            for m in MOD_DECL.finditer(strip_comments(open(file).read())):
                name = m.group(1)
                for cand in (os.path.join(folder, name + ".rs"), os.path.join(folder, name, "mod.rs")):
                    if os.path.exists(cand):
                        stack.append((path + (name,), cand))
                        break
        trees.append(files)
    return trees


def resolve(files, here, anchor, rest):
    """The file of the longest module prefix of the path `anchor::rest` seen from module `here`."""
    base = {"crate": (), "self": here, "super": here[:-1]}[anchor]
    while rest and rest[0] == "super":
        base, rest = base[:-1], rest[1:]
    path = base
    best = files.get(path)
    for part in rest:
        path = path + (part,)
        if path not in files:
            break
        best = files[path]
    return best


def edges(files):
    by_file = {f: p for p, f in files.items()}
    graph = {f: set() for f in by_file}
    for file, here in by_file.items():
        text = strip_comments(open(file).read())
        paths = [(m.group(1), m.group(2)) for m in PATH.finditer(text)]
        for m in USE_GROUP.finditer(text):
            for item in m.group(3).split(","):
                item = item.strip().split(" as ")[0].split("::")[0].strip("{} \n")
                if item and item != "self" and item != "*":
                    paths.append((m.group(1), m.group(2) + "::" + item))
        for anchor, rest in paths:
            parts = [p for p in rest.split("::") if p]
            target = resolve(files, here, anchor, parts)
            if target and target != file:
                graph[file].add(target)
    return graph


def cycles(graph):
    """Strongly connected components of more than one file (Tarjan), each as a sorted list."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    crates = sys.argv[1:] or CRATES
    bad = 0
    for crate in crates:
        for files in module_files(crate):
            for file in sorted(set(files.values())):
                for n, line in enumerate(open(file), 1):
                    if re.match(r"\s*#\[path\s*=", line):
                        bad += 1
                        print("#[path] attribute: %s:%d" % (os.path.relpath(file, ROOT), n))
    for crate in crates:
        for files in module_files(crate):
            for cycle in cycles(edges(files)):
                bad += 1
                print("import cycle among: " + ", ".join(os.path.relpath(f, ROOT) for f in cycle))
    if bad:
        sys.exit(1)
    print("no import cycles and no #[path] in %s" % ", ".join(crates))


if __name__ == "__main__":
    main()
