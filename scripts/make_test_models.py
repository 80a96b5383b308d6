#!/usr/bin/python3
"""Generate small ONNX test models + reference data for tinyc.

Usage:
    /usr/bin/python3 scripts/make_test_models.py [OUTDIR]

OUTDIR defaults to <repo>/tests/models.  For every model NAME this writes

    OUTDIR/NAME/model.onnx                          (opset 13, batch fixed at 1)
    OUTDIR/NAME/data/test_data_set_K/input_0.pb     K = 0..4
    OUTDIR/NAME/data/test_data_set_K/output_0.pb    (torch float32 output, eval mode)
    OUTDIR/NAME/data/calib.npy                      [32, *input_shape] float32

The script is fully seeded: running it twice gives byte-identical files
(single-threaded torch, fixed seeds per model).

Weights are randomly initialised and then trained for a few Adam steps on
seeded random data labelled by a fixed random linear "teacher", so they are
not pure init values and the outputs depend on the input.
BatchNorm layers get random (seeded) running_mean / running_var / gamma / beta
and are kept frozen (eval mode) during that training, so the exported
BatchNormalization nodes carry non-trivial statistics.

Export uses training=TrainingMode.PRESERVE with the model in eval() mode: this
exports an inference graph but skips torch's ONNX "eval peephole" pass, which
would otherwise fuse Conv+BatchNorm and hide BatchNormalization from the
compiler under test.
"""

import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 13
NUM_TEST_SETS = 5
NUM_CALIB = 32
TRAIN_STEPS = 150
TRAIN_BATCH = 32
TRAIN_LR = 1e-2


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class CNNBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.flatten(self.gap(x))
        return self.fc(x)


class DSCNN(nn.Module):
    """Keyword-spotting DS-CNN, input [1,1,49,10] (49 frames x 10 MFCCs)."""

    def __init__(self, ch=16, n_classes=12):
        super().__init__()
        self.conv0 = nn.Conv2d(1, ch, (10, 4), stride=2, padding=(5, 1))
        self.bn0 = nn.BatchNorm2d(ch)
        blocks = []
        for _ in range(2):
            blocks += [
                nn.Conv2d(ch, ch, 3, padding=1, groups=ch),  # depthwise
                nn.BatchNorm2d(ch),
                nn.ReLU(),
                nn.Conv2d(ch, ch, 1),  # pointwise
                nn.BatchNorm2d(ch),
                nn.ReLU(),
            ]
        self.blocks = nn.Sequential(*blocks)
        # conv0 output: H = (49 + 2*5 - 10)//2 + 1 = 25, W = (10 + 2*1 - 4)//2 + 1 = 5
        self.pool = nn.AvgPool2d((25, 5))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(ch, n_classes)
        self.softmax = nn.Softmax(dim=1)

    def logits(self, x):
        x = F.relu(self.bn0(self.conv0(x)))
        x = self.blocks(x)
        x = self.flatten(self.pool(x))
        return self.fc(x)

    def forward(self, x):
        return self.softmax(self.logits(x))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )
        else:
            self.proj = None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.proj is None else self.proj(x)
        return F.relu(y + skip)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block1 = ResBlock(8, 8, 1)
        self.block2 = ResBlock(8, 16, 2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        return self.fc(self.flatten(self.gap(x)))


class GRUKWS(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.fc(y[:, -1, :])


class LSTMHAR(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 12, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1, :])


class Heads(nn.Module):
    """The layers around a backbone that keep int8 models honest: Pad (edge), Split, a
    squeeze-and-excitation gate (ReduceMean, Sigmoid, Mul of two tensors), a per-channel gain,
    Sub of two tensors, PReLU (one slope per channel, and one for all), a Linear on a 3-D tensor (MatMul), DepthToSpace, GlobalMaxPool,
    means over NCHW's and NHWC's spatial axes, ReduceMax, Concat and a LogSoftmax head."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3)
        self.gain = nn.Parameter(torch.rand(1, 4, 1, 1) + 0.5)
        self.prelu = nn.PReLU()
        self.prelu4 = nn.PReLU(4, init=0.1)
        self.proj = nn.Linear(4, 4)
        self.fc = nn.Linear(17, 5)

    def forward(self, x):
        x = F.relu(self.c1(x))
        a, b = torch.split(x, 4, dim=1)
        a = self.prelu4(self.c2(F.pad(a, (1, 1, 1, 1), mode="replicate")))
        b = b * torch.sigmoid(b.mean(dim=(2, 3), keepdim=True))
        b = self.prelu(b * self.gain - a)
        t = self.proj(b.flatten(2).transpose(1, 2))
        s = F.pixel_shuffle(a, 2)
        m = F.adaptive_max_pool2d(a, 1).flatten(1)
        v = b.mean(dim=(2, 3))
        w = a.permute(0, 2, 3, 1).mean(dim=(1, 2))
        u = t.mean(dim=1)
        q = s.amax(dim=(2, 3))
        return F.log_softmax(self.fc(torch.cat([m, v, w, u, q], 1)), dim=1)


class UpDown(nn.Module):
    """An encoder-decoder: strided Conv down, ConvTranspose (stride 2, output_padding) and a
    grouped one back up, Conv, GlobalAveragePool and the mean of the channels' Gram matrix (a
    MatMul of two tensors), Linear."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose2d(4, 4, 2, stride=1, dilation=2, groups=2)
        self.head = nn.Conv2d(4, 6, 3)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        x = F.relu(self.down(x))
        x = F.relu(self.up(x))
        x = F.relu(self.up2(x))
        x = F.relu(self.head(x))
        f = x.flatten(2)
        gram = torch.matmul(f, f.transpose(1, 2)).mean(dim=2) / f.shape[2]
        return self.fc(torch.cat([F.adaptive_avg_pool2d(x, 1).flatten(1), gram], 1))


# ---------------------------------------------------------------------------
# Seeded input generators: gen(rng, n) -> float32 array [n, *shape_without_batch]
# ---------------------------------------------------------------------------

def gen_normal(shape):
    def gen(rng, n):
        return rng.standard_normal((n,) + tuple(shape)).astype(np.float32)
    return gen


def gen_image(channels, h, w):
    """Image-like inputs: smooth random field + per-sample/per-channel gain and
    offset + pixel noise.  Unlike i.i.d. noise, the global statistics differ
    from sample to sample, so networks ending in global pooling still produce
    input-dependent outputs.  Roughly zero-mean, unit-variance overall."""
    gh, gw = 4, 4

    def gen(rng, n):
        coarse = rng.standard_normal((n, channels, gh, gw))
        field = np.kron(coarse, np.ones((1, 1, h // gh, w // gw)))
        k = np.array([0.25, 0.5, 0.25])
        for axis in (2, 3):  # two passes of a [1 2 1]/4 blur on each axis
            for _ in range(2):
                pad = [(0, 0)] * 4
                pad[axis] = (1, 1)
                f = np.pad(field, pad, mode="edge")
                sl = [slice(None)] * 4
                parts = []
                for i in range(3):
                    sl[axis] = slice(i, i + field.shape[axis])
                    parts.append(k[i] * f[tuple(sl)])
                field = parts[0] + parts[1] + parts[2]
        gain = rng.uniform(0.3, 1.2, size=(n, 1, 1, 1))
        offset = 0.6 * rng.standard_normal((n, channels, 1, 1))
        x = gain * field + offset + 0.25 * rng.standard_normal((n, channels, h, w))
        return x.astype(np.float32)
    return gen


def gen_mfcc(frames, coeffs, layout):
    """MFCC-like features: per-coefficient offset/scale, smooth over time.

    Coefficient 0 (log energy) has a large negative offset and large spread,
    higher coefficients are smaller, roughly like real KWS front-ends.  Each
    sample also gets its own loudness / spectral-tilt offsets.
    layout: "nchw" -> [1, frames, coeffs]  (channel dim of 1)
            "ntc"  -> [frames, coeffs]
    """
    k = np.arange(coeffs, dtype=np.float64)
    offset = np.where(k == 0, -20.0, 4.0 / (1.0 + k))
    scale = 12.0 / (1.0 + 0.7 * k)

    def gen(rng, n):
        noise = rng.standard_normal((n, frames + 2, coeffs))
        smooth = (noise[:, :-2] + noise[:, 1:-1] + noise[:, 2:]) / np.sqrt(3.0)
        per_sample = 0.6 * scale * rng.standard_normal((n, 1, coeffs))
        x = offset + per_sample + 0.8 * scale * smooth
        x = x.astype(np.float32)
        if layout == "nchw":
            x = x[:, None, :, :]
        return np.ascontiguousarray(x)
    return gen


def gen_imu(frames, channels):
    """Accelerometer/gyro-like signals: sinusoids with random freq/phase + noise."""
    t = np.arange(frames, dtype=np.float64)[None, :, None]

    def gen(rng, n):
        freq = rng.uniform(0.05, 0.4, size=(n, 1, channels))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, channels))
        amp = rng.uniform(0.2, 2.0, size=(n, 1, channels))
        bias = np.zeros((1, 1, channels))
        bias[0, 0, 2] = 1.0  # gravity on z axis of the accelerometer
        x = amp * np.sin(2 * np.pi * freq * t + phase) + bias
        x = x + 0.1 * rng.standard_normal((n, frames, channels))
        return x.astype(np.float32)
    return gen


# ---------------------------------------------------------------------------
# Model table
# ---------------------------------------------------------------------------

MODELS = [
    # name, ctor, input shape (incl. batch 1), input name, input generator,
    # seed, n_classes, softmax=True: forward() ends in Softmax (train on logits())
    dict(name="mlp", ctor=MLP, shape=(1, 64), input_name="input",
         gen=gen_normal((64,)), seed=1001, n_classes=10),
    dict(name="cnn_bn", ctor=CNNBN, shape=(1, 1, 16, 16), input_name="input",
         gen=gen_image(1, 16, 16), seed=1002, n_classes=10),
    # input name deliberately not a valid C identifier (tests name sanitising)
    dict(name="dscnn", ctor=DSCNN, shape=(1, 1, 49, 10), input_name="mfcc-in.1",
         gen=gen_mfcc(49, 10, "nchw"), seed=1003, n_classes=12, softmax=True),
    dict(name="resnet", ctor=ResNet, shape=(1, 3, 16, 16), input_name="input",
         gen=gen_image(3, 16, 16), seed=1004, n_classes=10),
    dict(name="gru_kws", ctor=GRUKWS, shape=(1, 20, 8), input_name="input",
         gen=gen_mfcc(20, 8, "ntc"), seed=1005, n_classes=4),
    dict(name="lstm_har", ctor=LSTMHAR, shape=(1, 24, 6), input_name="input",
         gen=gen_imu(24, 6), seed=1006, n_classes=3),
    dict(name="heads", ctor=Heads, shape=(1, 1, 12, 12), input_name="input",
         gen=gen_image(1, 12, 12), seed=1007, n_classes=5),
    dict(name="updown", ctor=UpDown, shape=(1, 2, 12, 12), input_name="input",
         gen=gen_image(2, 12, 12), seed=1008, n_classes=4),
]


# ---------------------------------------------------------------------------

def randomize_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 1.0 + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)


def set_bn_eval(model):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def train_briefly(model, spec, rng):
    """A few Adam steps on seeded random data; BN statistics stay frozen.

    Labels come from a fixed random linear "teacher" on the (normalised,
    flattened) input, so the trained network's output actually depends on its
    input (random labels would just teach it the class prior, giving nearly
    constant outputs that hide compiler bugs).
    """
    probe = spec["gen"](rng, 256).reshape(256, -1).astype(np.float64)
    mu, sd = probe.mean(0), probe.std(0) + 1e-6
    teacher = rng.standard_normal((probe.shape[1], spec["n_classes"]))

    opt = torch.optim.Adam(model.parameters(), lr=TRAIN_LR)
    model.train()
    set_bn_eval(model)
    for _ in range(TRAIN_STEPS):
        xn = spec["gen"](rng, TRAIN_BATCH)
        y = (((xn.reshape(TRAIN_BATCH, -1) - mu) / sd) @ teacher).argmax(1)
        x = torch.from_numpy(xn)
        y = torch.from_numpy(y.astype(np.int64))
        logits = model.logits(x) if spec.get("softmax") else model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def build(spec):
    torch.manual_seed(spec["seed"])
    model = spec["ctor"]()
    bn_gen = torch.Generator().manual_seed(spec["seed"] + 500)
    randomize_batchnorm(model, bn_gen)
    train_rng = np.random.default_rng(spec["seed"] + 100)
    train_briefly(model, spec, train_rng)
    model.eval()
    return model


def export(model, spec, path):
    dummy = torch.zeros(spec["shape"], dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            path,
            export_params=True,
            opset_version=OPSET,
            do_constant_folding=True,
            # PRESERVE + model.eval(): inference graph, but no Conv+BN fusion.
            training=torch.onnx.TrainingMode.PRESERVE,
            input_names=[spec["input_name"]],
            output_names=["output"],
            dynamic_axes=None,
        )


def run_torch(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(np.array(x, dtype=np.float32))).numpy().astype(np.float32)


def write_tensor(arr, name, path):
    t = numpy_helper.from_array(arr, name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def make_one(spec, outdir):
    name = spec["name"]
    mdir = os.path.join(outdir, name)
    ddir = os.path.join(mdir, "data")
    os.makedirs(ddir, exist_ok=True)

    model = build(spec)
    assert not model.training
    onnx_path = os.path.join(mdir, "model.onnx")
    export(model, spec, onnx_path)

    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    graph_inputs = [i.name for i in m.graph.input
                    if i.name not in {t.name for t in m.graph.initializer}]
    graph_outputs = [o.name for o in m.graph.output]
    assert graph_inputs == [spec["input_name"]], graph_inputs
    assert graph_outputs == ["output"], graph_outputs
    in_name, out_name = graph_inputs[0], graph_outputs[0]

    data_rng = np.random.default_rng(spec["seed"] + 200)
    for k in range(NUM_TEST_SETS):
        x = spec["gen"](data_rng, 1).reshape(spec["shape"]).astype(np.float32)
        y = run_torch(model, x)
        sdir = os.path.join(ddir, "test_data_set_%d" % k)
        os.makedirs(sdir, exist_ok=True)
        write_tensor(x, in_name, os.path.join(sdir, "input_0.pb"))
        write_tensor(y, out_name, os.path.join(sdir, "output_0.pb"))

    calib_rng = np.random.default_rng(spec["seed"] + 300)
    calib = spec["gen"](calib_rng, NUM_CALIB).reshape((NUM_CALIB,) + tuple(spec["shape"]))
    np.save(os.path.join(ddir, "calib.npy"), calib.astype(np.float32))

    verify(model, spec, mdir)
    return model


def load_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def verify(model, spec, mdir):
    m = onnx.load(os.path.join(mdir, "model.onnx"))
    onnx.checker.check_model(m)
    ddir = os.path.join(mdir, "data")
    for k in range(NUM_TEST_SETS):
        sdir = os.path.join(ddir, "test_data_set_%d" % k)
        xn, x = load_tensor(os.path.join(sdir, "input_0.pb"))
        yn, y = load_tensor(os.path.join(sdir, "output_0.pb"))
        assert xn == spec["input_name"] and yn == "output", (xn, yn)
        assert x.dtype == np.float32 and tuple(x.shape) == tuple(spec["shape"])
        y2 = run_torch(model, x)
        assert y.dtype == np.float32 and y.shape == y2.shape
        assert np.array_equal(y, y2), "reference mismatch in %s set %d" % (spec["name"], k)
    calib = np.load(os.path.join(ddir, "calib.npy"))
    assert calib.dtype == np.float32
    assert calib.shape == (NUM_CALIB,) + tuple(spec["shape"]), calib.shape


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(os.path.dirname(here), "tests", "models")
    outdir = argv[1] if len(argv) > 1 else default_out
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(outdir, exist_ok=True)
    for spec in MODELS:
        make_one(spec, outdir)
        m = onnx.load(os.path.join(outdir, spec["name"], "model.onnx"))
        ops = sorted({n.op_type for n in m.graph.node})
        size = os.path.getsize(os.path.join(outdir, spec["name"], "model.onnx"))
        print("%-9s %7d bytes  ops: %s" % (spec["name"], size, " ".join(ops)))


if __name__ == "__main__":
    main(sys.argv)
