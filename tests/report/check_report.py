#!/usr/bin/python3
"""The HTML report as a person sees it: compile the own DS-CNN to int8 with a per-layer profile,
render the page in headless Chromium, and check that the page runs without script errors, that
each chart's SVG is there and carries the JSON report's numbers (arena, lower bound, the layer
the planner names as the peak, MACs, SQNR), that the table sorts, and that the page is offline,
deterministic (byte-identical on a second compile) and under 500 KB for a 100-layer model.

    /usr/bin/python3 tests/report/check_report.py --tinyc build/tinyc --work build/report [--keep-screenshot F]

The profile is measured under qemu by tests/mcu/run_on_qemu.py --profile when the Arm toolchain
and qemu are installed, else made up (said so). Without Chromium (Debian package `chromium`) the
browser checks are skipped with a message and exit code 77 (CTest: skipped); the others still run.
"""
import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DSCNN = os.path.join(REPO, "tests", "models", "dscnn")
CHARTS = ("chart-budget", "chart-memory", "chart-cost", "chart-sqnr")
SKIP = 77
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL {' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r


class Dom(html.parser.HTMLParser):
    """Elements as (tag, attrs, path of enclosing element ids) and the text under each id."""

    def __init__(self):
        super().__init__()
        self.elements, self.stack, self.text = [], [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        ids = [e[1].get("id") for e in self.stack if e[1].get("id")]
        self.elements.append((tag, a, ids))
        if tag not in ("meta", "br", "input", "link", "img"):  # HTML's void elements
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        ids = [e[1].get("id") for e in self.stack if e[1].get("id")]
        self.elements.append((tag, dict(attrs), ids))

    def handle_endtag(self, tag):
        if all(t != tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        for _, a in self.stack:
            if a.get("id"):
                self.text[a["id"]] = self.text.get(a["id"], "") + data

    def find(self, tag=None, inside=None, **attrs):
        out = []
        for t, a, ids in self.elements:
            if tag and t != tag:
                continue
            if inside and inside not in ids:
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(a)
        return out


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(browser, page, *args):
    """Runs headless Chromium on a local page; returns (stdout, page console lines)."""
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
           "--no-first-run", "--disable-extensions", *args, "file://" + os.path.abspath(page)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    return r.stdout, console


def make_profile(args, work, compile_args):
    """A per-layer profile of the DS-CNN: measured under qemu if possible, else made up."""
    have = shutil.which("arm-none-eabi-g++") and shutil.which("qemu-system-arm")
    if have:
        mcu = os.path.join(work, "mcu")
        r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "mcu", "run_on_qemu.py"), "--tinyc", args.tinyc,
                            "--target", "cortex-m4", "--sets", "1", "--work", mcu, "--model", DSCNN, "--profile",
                            "--tinyc-args", " ".join(compile_args), "--run-args", " ".join(compile_args),
                            "--atol", "0", "--rtol", "0"], capture_output=True, text=True)
        print(r.stdout.strip())
        path = os.path.join(mcu, "cortex-m4", "dscnn", "profile.csv")
        if r.returncode == 0 and os.path.exists(path):
            return path, True
        print(f"note: run_on_qemu.py --profile failed ({r.stderr.strip()[:200]}): a made-up profile instead")
    path = os.path.join(work, "made_up_profile.csv")
    with open(path, "w") as f:
        f.write("layer,instructions\n" + "".join(f"{i},{1000 * (i + 1)}\n" for i in range(9)))
    return path, False


def hundred_layer_model(path):
    """A chain of 50 Conv + 50 Sigmoid on 8x16x16: 100 layers that no pass fuses."""
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(50):
        w = helper.make_tensor(f"w{i}", TensorProto.FLOAT, [8, 8, 3, 3], (rng.standard_normal(576) * 0.2).tolist())
        b = helper.make_tensor(f"b{i}", TensorProto.FLOAT, [8], (rng.standard_normal(8) * 0.1).tolist())
        inits += [w, b]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], name=f"conv_{i}", pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Sigmoid", [f"c{i}"], [f"s{i}"], name=f"sigmoid_{i}"))
        x = f"s{i}"
    g = helper.make_graph(nodes, "chain100", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 8, 16, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)
    np.save(os.path.join(os.path.dirname(path), "calib.npy"), rng.standard_normal((4, 1, 8, 16, 16)).astype(np.float32))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tinyc", default=os.path.join(REPO, "build", "tinyc"))
    ap.add_argument("--work", default=os.path.join(REPO, "build", "report"))
    ap.add_argument("--keep-screenshot", help="copy the DS-CNN report's screenshot here")
    args = ap.parse_args()
    args.tinyc = os.path.abspath(args.tinyc)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    quant = ["--quantize", "int8", "--calibration", os.path.join(DSCNN, "data", "calib.npy")]
    profile, measured = make_profile(args, work, quant)
    base = [args.tinyc, "compile", os.path.join(DSCNN, "model.onnx"), "--target", "cortex-m4", "--name", "dscnn", "-q",
            *quant, "--profile", profile]
    page, report_json = os.path.join(work, "dscnn.html"), os.path.join(work, "dscnn.json")
    t0 = time.monotonic()
    run([*base, "-o", os.path.join(work, "gen1"), "--report", report_json, "--report", page])
    print(f"compile with both reports: {time.monotonic() - t0:.2f} s")
    run([*base, "-o", os.path.join(work, "gen2"), "--report", os.path.join(work, "again.html")])
    html_bytes = open(page, "rb").read()
    check(html_bytes == open(os.path.join(work, "again.html"), "rb").read(), "HTML byte-identical on a second compile")
    r = json.load(open(report_json))
    layers, totals = r["layers"], r["totals"]

    # The JSON: the timeline's buffers add up to what the planner counts; the peak is its layer.
    check(all(sum(b["bytes"] for b in l["live"]) == l["live_bytes"] for l in layers),
          "every layer's live buffers sum to its live_bytes")
    live = [l["live_bytes"] for l in layers]
    peak = live.index(max(live))
    check(max(live) == totals["arena_lower_bound_bytes"], "the largest live sum is the lower bound")
    check(layers[peak]["name"] == totals["peak_layer"], f"peak layer {totals['peak_layer']!r} is layer {peak}")
    check(totals["arena_bytes"] >= totals["arena_lower_bound_bytes"], "arena >= lower bound")
    sqnr = {l["index"]: l["sqnr_db"] for l in layers if "sqnr_db" in l}
    check(len(sqnr) >= len(layers) - 1, f"SQNR for {len(sqnr)} of {len(layers)} layers")
    check(all(v is None or 10 < v < 80 for v in sqnr.values()), "SQNR values plausible for int8 (10..80 dB)")
    profiled = {l["index"]: l["instructions"] for l in layers if "instructions" in l}
    check(len(profiled) > 0 and totals["profiled_instructions"] == sum(profiled.values()),
          f"profile: {len(profiled)} layers, {totals['profiled_instructions']} instructions"
          f" ({'measured under qemu' if measured else 'made up'})")

    # The page as a file: offline and small.
    text = html_bytes.decode()
    external = re.findall(r"(?:src|href)\s*=|@import|url\(|https?://(?!www\.w3\.org/2000/svg)", text)
    check(not external, f"no external resources ({external[:3]})")
    check(len(html_bytes) < 500_000, f"DS-CNN report {len(html_bytes)} B")

    # A 100-layer model, float and int8: under 500 KB.
    big = os.path.join(work, "chain100")
    os.makedirs(big)
    hundred_layer_model(os.path.join(big, "model.onnx"))
    for label, extra in (("float", []), ("int8", ["--quantize", "int8", "--calibration", os.path.join(big, "calib.npy")])):
        out = os.path.join(big, f"{label}.html")
        t0 = time.monotonic()
        run([args.tinyc, "compile", os.path.join(big, "model.onnx"), "--target", "cortex-m4", "-q", "-o",
             os.path.join(big, f"gen_{label}"), "--report", out, "--report", out[:-5] + ".json", *extra])
        seconds = time.monotonic() - t0
        n = len(json.load(open(out[:-5] + ".json"))["layers"])
        size = os.path.getsize(out)
        check(n >= 100 and size < 500_000, f"{n}-layer {label} report {size} B (< 500,000), compiled in {seconds:.2f} s")

    browser = chromium_binary()
    if not browser:
        print("SKIP the browser checks: Chromium is not installed (Debian: apt-get install chromium; "
              "scripts/setup.sh installs it)")
        sys.exit(1 if failures else SKIP)

    # The page in the browser: no console messages, the four charts with the report's numbers.
    dom_text, console = chromium(browser, page, "--dump-dom")
    check(not console, f"no script errors or console messages ({console[:2]})")
    dom = Dom()
    dom.feed(dom_text)
    for c in CHARTS:
        check(len(dom.find("svg", id=c)) == 1, f"svg#{c} is in the page")
    mem = (dom.find("svg", id="chart-memory") or [{}])[0]
    check(mem.get("data-arena") == str(totals["arena_bytes"]), f"memory chart: arena {mem.get('data-arena')}")
    check(mem.get("data-lower-bound") == str(totals["arena_lower_bound_bytes"]),
          f"memory chart: lower bound {mem.get('data-lower-bound')}")
    check(mem.get("data-peak-layer") == totals["peak_layer"] and mem.get("data-peak-index") == str(peak),
          f"memory chart: peak layer {mem.get('data-peak-layer')!r}")
    shown = dom.text.get("chart-memory", "")
    for words in (f"planned arena {totals['arena_bytes']:,} B", f"lower bound {totals['arena_lower_bound_bytes']:,} B",
                  f"peak: layer {peak} '{totals['peak_layer']}'"):
        check(words in shown, f"memory chart says {words!r}")
    check(len(dom.find("g", inside="chart-memory", **{"class": "layer"})) +
          len(dom.find("g", inside="chart-memory", **{"class": "layer peak"})) == len(layers),
          "memory chart: one bar per layer")
    check(len(dom.find("rect", inside="chart-memory")) == sum(len(l["live"]) for l in layers),
          "memory chart: one rectangle per live buffer")
    budget = (dom.find("svg", id="chart-budget") or [{}])[0]
    check(budget.get("data-flash") == str(totals["flash_bytes"]) and budget.get("data-ram") == str(totals["ram_bytes"]),
          f"budget chart: flash {budget.get('data-flash')} B, RAM {budget.get('data-ram')} B")
    check("typical part" in dom.text.get("chart-budget", ""), "budget chart names the budget it uses")
    cost = (dom.find("svg", id="chart-cost") or [{}])[0]
    check(cost.get("data-macs") == str(totals["macs"]), f"cost chart: {cost.get('data-macs')} MACs")
    for key in ("macs", "weight_bytes", "instructions"):
        want = sum(1 for l in layers if l.get(key, 0) > 0)
        check(len(dom.find("g", inside="chart-cost", **{"data_key": key})) == 1 and want > 0,
              f"cost chart: band {key} ({want} bars)")
    check(len([1 for t, a, ids in dom.elements if t == "rect" and "chart-cost" in ids]) ==
          sum(sum(1 for k in ("macs", "weight_bytes", "instructions") if l.get(k, 0) > 0) for l in layers),
          "cost chart: one bar per layer and measure")
    sq = (dom.find("svg", id="chart-sqnr") or [{}])[0]
    finite = {i: v for i, v in sqnr.items() if v is not None}
    worst = min(finite, key=lambda i: (finite[i], i))
    check(sq.get("data-min-layer") == layers[worst]["name"] and abs(float(sq.get("data-min-sqnr", "nan")) - finite[worst]) < 0.01,
          f"SQNR chart: lowest {sq.get('data-min-layer')!r} {sq.get('data-min-sqnr')} dB")
    check(len(dom.find("rect", inside="chart-sqnr")) == len(sqnr), "SQNR chart: one bar per measured layer")
    table = (dom.find("table", id="layers") or [{}])[0]
    check(table.get("data-sortable") == "ready", "the table's script ran")
    check(len(dom.find("tr", inside="layers")) == len(layers) + 1, "the table has one row per layer")

    # Sorting: click "MACs" twice (descending); the first row must be the layer with the most MACs.
    probe = os.path.join(work, "sort_probe.html")
    with open(probe, "w") as f:
        f.write(text.replace("</body>", "<script>var th = Array.prototype.find.call(document.querySelectorAll("
                                        "'#layers th'), function (h) { return h.textContent === 'MACs'; });"
                                        "th.click(); th.click(); document.body.setAttribute('data-first', "
                                        "document.querySelector('#layers tbody tr').cells[6].getAttribute('data-v'));"
                                        "</script></body>"))
    dom_text, console = chromium(browser, probe, "--dump-dom")
    first = re.search(r'<body[^>]*data-first="(\d+)"', dom_text)
    check(not console and first and int(first.group(1)) == max(l["macs"] for l in layers),
          f"sorting by MACs puts {first.group(1) if first else None} first")

    # A screenshot, as a person would see the page.
    shot = os.path.join(work, "dscnn.png")
    chromium(browser, page, "--hide-scrollbars", "--window-size=1040,2400", f"--screenshot={shot}")
    ok = os.path.exists(shot) and open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(shot) > 20_000
    check(ok, f"screenshot {shot} ({os.path.getsize(shot) if os.path.exists(shot) else 0} B)")
    if ok and args.keep_screenshot:
        shutil.copyfile(shot, args.keep_screenshot)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
