#!/usr/bin/env python3
"""Independent prompt-cache reader (standard library only), mirroring mlx-lm's load_prompt_cache:
parses the safetensors container with struct + json, rebuilds the metadata tree the way
mlx.utils.tree_unflatten does, and prints a JSON summary on stdout:
{"tensors": {name: {"dtype", "shape", "nbytes"}}, "classes": [...], "meta_states": [...],
 "user_metadata": {...}, "header_is_compact_sorted": bool, "data_is_packed": bool}."""
import json
import struct
import sys

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I8": 1, "I16": 2, "I32": 4, "I64": 8,
         "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}


def unflatten(items):
    """mlx.utils.tree_unflatten: integer keys become lists, others dicts."""
    root = {}
    for key, value in items:
        node = root
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return listify(root)


def listify(node):
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        out = [{}] * (max(int(k) for k in node) + 1)
        for k, v in node.items():
            out[int(k)] = listify(v)
        return out
    return {k: listify(v) for k, v in node.items()}


def main(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    text = blob[8:8 + n].decode("utf-8")
    header = json.loads(text)
    compact = json.dumps(header, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    metadata = header.pop("__metadata__")
    tensors = {}
    end = 0
    spans = []
    for name, e in header.items():
        begin, stop = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        assert stop - begin == count * SIZES[e["dtype"]], name
        tensors[name] = {"dtype": e["dtype"], "shape": e["shape"], "nbytes": stop - begin}
        spans.append((begin, stop))
        end = max(end, stop)
    spans.sort()
    packed = all(a[1] == b[0] for a, b in zip(spans, spans[1:])) and (not spans or spans[0][0] == 0)
    packed = packed and len(blob) == 8 + n + end
    info, user, classes = unflatten(sorted(metadata.items()))
    print(json.dumps({
        "tensors": tensors,
        "classes": classes,
        "meta_states": info,
        "user_metadata": user,
        "header_is_compact_sorted": compact == text,
        "data_is_packed": packed,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
