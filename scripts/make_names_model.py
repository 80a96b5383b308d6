#!/usr/bin/python3
"""Writes tests/models/names: a small torch MLP whose every ONNX name is hostile to C code (C
keywords, `*/`, newlines, quotes, backslashes, a trigraph, unicode, two names that collide once
sanitized), with torch-made references. The generated code must build warning-free and give
torch's outputs (the `models` test and the qemu runs).

  /usr/bin/python3 scripts/make_names_model.py tests/models
"""
import os
import sys
import warnings

import numpy as np
import onnx
import torch
from onnx import numpy_helper

SEED = 7
NAMES = {  # torch's name -> the hostile one
    "input": "int",
    "output": "out */ int x; /*",
}
NODE_NAMES = ["line\nbreak", 'quote"and\\backslash', "ünïcödé→", "class", "a-b"]
TENSOR_NAMES = ["a-b", "a_b", "??=trigraph", "*/"]  # the intermediate tensors, in node order
INIT_NAMES = ["default", "x y", "a b", "return", "typedef"]


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(8, 6)
        self.fc2 = torch.nn.Linear(6, 6)
        self.fc3 = torch.nn.Linear(6, 4)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        return self.fc3(h + torch.relu(self.fc2(h)))


def rename(m):
    g = m.graph
    mapping = dict(NAMES)
    inits = [t.name for t in g.initializer]
    mapping.update({old: INIT_NAMES[i % len(INIT_NAMES)] + ("" if i < len(INIT_NAMES) else str(i))
                    for i, old in enumerate(inits)})
    inner = [o for n in g.node for o in n.output if o not in mapping]
    mapping.update({old: TENSOR_NAMES[i] if i < len(TENSOR_NAMES) else f"{TENSOR_NAMES[i % 4]}#{i}"
                    for i, old in enumerate(inner)})
    for i, n in enumerate(g.node):
        n.name = NODE_NAMES[i % len(NODE_NAMES)] + ("" if i < len(NODE_NAMES) else f" {i}")
        n.input[:] = [mapping.get(x, x) for x in n.input]
        n.output[:] = [mapping.get(x, x) for x in n.output]
    for t in g.initializer:
        t.name = mapping[t.name]
    for v in list(g.input) + list(g.output):
        v.name = mapping.get(v.name, v.name)
    g.name = "main */ evil"
    m.doc_string = "*/ #error boom /*\n\"\\"
    return m


def main():
    out = os.path.join(sys.argv[1], "names")
    torch.manual_seed(SEED)
    model = Mlp().eval()
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    path = os.path.join(out, "model.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 8),), path, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
    m = rename(onnx.load(path))
    onnx.checker.check_model(m)
    onnx.save(m, path)
    rng = np.random.default_rng(SEED)
    for k in range(3):
        x = rng.standard_normal((1, 8)).astype(np.float32)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy().astype(np.float32)
        d = os.path.join(out, "data", f"test_data_set_{k}")
        os.makedirs(d, exist_ok=True)
        for name, arr, f in ((NAMES["input"], x, "input_0.pb"), (NAMES["output"], y, "output_0.pb")):
            with open(os.path.join(d, f), "wb") as fh:
                fh.write(numpy_helper.from_array(arr, name).SerializeToString())
    np.save(os.path.join(out, "data", "calib.npy"), rng.standard_normal((32, 1, 8)).astype(np.float32))


if __name__ == "__main__":
    main()
