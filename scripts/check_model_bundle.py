#!/usr/bin/env python3
"""Reads a DEARLi Lab model bundle the way PyTorch's `safetensors` would, with numpy and the format
spec only (8-byte little-endian header length, JSON header, contiguous data offsets), and checks that
`model.safetensors` holds exactly the tensors, dtypes and shapes that `model.json` lists, and the
sha256 and size the card records.

Usage: python3 scripts/check_model_bundle.py BUNDLE_DIR
Exit 0 and one line per check when the bundle is sound; exit 1 with the reason otherwise.
"""
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main(bundle):
    card = json.loads((bundle / "model.json").read_text())
    raw = (bundle / "model.safetensors").read_bytes()
    weights = card["weights"]
    if len(raw) != weights["size"]:
        fail(f"model.safetensors has {len(raw)} bytes, the card says {weights['size']}")
    if hashlib.sha256(raw).hexdigest() != weights["sha256"]:
        fail("model.safetensors does not have the sha256 the card records")
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = memoryview(raw)[8 + n :]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    at = 0
    for begin, end, name in spans:
        if begin != at:
            fail(f"tensor {name} starts at {begin}, expected {at} (data must be contiguous)")
        at = end
    if at != len(data):
        fail(f"tensors cover {at} data bytes of {len(data)}")
    listed = {t["name"]: t for t in weights["tensors"]}
    if set(listed) != set(header):
        missing = sorted(set(listed) - set(header))[:3]
        extra = sorted(set(header) - set(listed))[:3]
        fail(f"names differ from the card: missing {missing}, not listed {extra}")
    for name, info in header.items():
        want = listed[name]
        if info["dtype"] != want["dtype"] or list(info["shape"]) != list(want["shape"]):
            fail(f"{name}: file {info['dtype']} {info['shape']}, card {want['dtype']} {want['shape']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        if not np.all(np.isfinite(array)):
            fail(f"{name} holds non-finite values")
    print(f"ok: {len(header)} tensors, names, dtypes and shapes as model.json lists")
    print(f"ok: size {len(raw)} bytes and sha256 as model.json records")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    main(Path(sys.argv[1]))
