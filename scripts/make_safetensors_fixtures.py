"""Writes safetensors test files with an independent writer (struct + json + numpy, not ours),
so the reader is checked against bytes it did not produce.

    /usr/bin/python3 scripts/make_safetensors_fixtures.py     (needs numpy; CI runs no Python)
"""
import json, struct, numpy as np

def write(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

# a PyTorch model's state_dict as safetensors.torch.save_file would write it: submodule 'rnn.'
import glob, os
for path in sorted(glob.glob("test/fixtures/torch/*.json")):
    name = os.path.basename(path)[:-5]
    if not name.startswith(("rnn_", "lstm_", "gru_")):
        continue
    fx = json.load(open(path))
    out = "lstm_2layer_bidir" if name == "lstm_2layer_bidir_h0" else name
    write(f"test/fixtures/safetensors/{out}.safetensors",
          {f"rnn.{k}": ("F32", np.asarray(v["data"], dtype="<f4").reshape(v["shape"])) for k, v in fx["params"].items()},
          {"format": "pt", "fixture": name})

# every dtype the reader converts, with values exact in each
vals = np.array([[1.5, -2.0, 0.15625], [0.0, 65504.0, -0.000244140625]], dtype=np.float32)
bf = (vals.view(np.uint32) >> 16).astype("<u2")
zoo = {
    "f16": ("F16", vals.astype("<f2")),
    "bf16": ("BF16", bf),
    "f64": ("F64", np.array([1e-300, -3.25, 2.0 ** 60], dtype="<f8")),
    "i32": ("I32", np.array([[-2147483648, 7], [0, 2147483647]], dtype="<i4")),
    "i64": ("I64", np.array([-5, 0, 2147483647], dtype="<i8")),
    "empty": ("F32", np.zeros((0, 3), dtype="<f4")),
    "scalar": ("F32", np.array(3.25, dtype="<f4")),
}
write("test/fixtures/safetensors/dtypes.safetensors", zoo, {"note": "values exact in every dtype"})
bf_values = (bf.astype(np.uint32) << 16).view(np.float32)  # what the bf16 bits hold (65504 truncates)
expect = {"f16": vals, "bf16": bf_values}
json.dump({k: {"shape": list(a.shape), "data": np.asarray(expect.get(k, a), dtype=np.float64).ravel().tolist()} for k, (d, a) in zoo.items()},
          open("test/fixtures/safetensors/dtypes.expected.json", "w"))
print("wrote test/fixtures/safetensors")
