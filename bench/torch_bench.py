"""PyTorch's time per training step on the workloads of `cargo run --release --bin bench`, for the
performance page's ratios. Written for zerodl; needs only `torch` (CPU) from PyPI:

    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch
    .venv-torch/bin/python bench/torch_bench.py --workloads mlp,cnn --threads 1,2

One step = zero_grad + forward + loss + backward + optimizer step, on fixed random inputs (speed does not
depend on the values). Prints one JSON line per (workload, batch, threads), with the same fields as zerodl's
bench: median, min and max milliseconds per step over `--runs` timed runs, and the peak resident memory.
"""
import argparse
import json
import platform
import resource
import statistics
import time

import torch
import torch.nn as nn


def conv_net(batch_norm):
    """The book's CNN (chapters 5 and 6): two 5x5 same convolutions (32, 64 channels), each followed by
    batch norm when asked, ReLU and 2x2 max pooling; FC 3136 -> 512 -> 10."""
    layers = []
    for cin, cout in [(1, 32), (32, 64)]:
        layers.append(nn.Conv2d(cin, cout, 5, padding=2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 10))


class Lstm(nn.Module):
    """Two LSTM layers of 64 over 30 steps of 4 features; the last state to one output (MSE)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 64, num_layers=2, batch_first=True)
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1, :])


class BiGru(nn.Module):
    """One bidirectional GRU layer of 64 over 100 steps of 50 features; both last states, dropout 0.5, FC -> 2."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(50, 64, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(128, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.head(self.drop(torch.cat((h[0], h[1]), dim=1)))


def workload(name, batch, g):
    ce = nn.CrossEntropyLoss()
    labels = lambda k: torch.randint(0, k, (batch,), generator=g)  # noqa: E731
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 100), nn.ReLU(), nn.Linear(100, 10))
        opt, x, y, loss = torch.optim.SGD(model.parameters(), lr=0.01), torch.rand(batch, 784, generator=g), labels(10), ce
    elif name in ("cnn", "cnnbn"):
        model = conv_net(name == "cnnbn")
        opt, x, y, loss = torch.optim.Adam(model.parameters(), lr=1e-3), torch.rand(batch, 1, 28, 28, generator=g), labels(10), ce
    elif name == "lstm":
        model = Lstm()
        opt, x, y, loss = (torch.optim.Adam(model.parameters(), lr=1e-3), torch.randn(batch, 30, 4, generator=g),
                           torch.randn(batch, 1, generator=g), nn.MSELoss())
    elif name == "bigru":
        model = BiGru()
        opt, x, y, loss = torch.optim.Adam(model.parameters(), lr=1e-3), torch.randn(batch, 100, 50, generator=g), labels(2), ce
    else:
        raise SystemExit(f"unknown workload {name!r}: mlp, cnn, cnnbn, lstm, bigru")
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss(model(x), y).backward()
        opt.step()

    return step


def timed(step, runs, seconds):
    """Milliseconds per step in each of `runs` runs, each long enough to last about `seconds`."""
    for _ in range(3):
        step()
    t = time.perf_counter()
    step()
    per = max(time.perf_counter() - t, 1e-6)
    k = max(1, round(seconds / per))
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(k):
            step()
        out.append((time.perf_counter() - t) * 1e3 / k)
    return out, k


BATCHES = {"mlp": [64, 512], "cnn": [32, 128], "cnnbn": [32, 128], "lstm": [32], "bigru": [32]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="mlp,cnn,cnnbn,lstm,bigru")
    ap.add_argument("--batches", default="", help="comma-separated; default: the workload's own")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="length of one timed run")
    a = ap.parse_args()
    print(json.dumps({"kind": "env", "peer": "torch", "torch": torch.__version__, "python": platform.python_version(),
                      "cpu_capability": torch.backends.cpu.get_cpu_capability(), "machine": platform.machine()}))
    for name in a.workloads.split(","):
        for batch in [int(b) for b in a.batches.split(",")] if a.batches else BATCHES[name]:
            for threads in [int(t) for t in a.threads.split(",")]:
                torch.set_num_threads(threads)
                torch.manual_seed(0)
                ms, k = timed(workload(name, batch, torch.Generator().manual_seed(0)), a.runs, a.seconds)
                peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                print(json.dumps({"kind": "result", "peer": "torch", "workload": name, "batch": batch, "threads": threads,
                                  "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                                  "steps_per_run": k, "peak_rss_mib": round(peak_kib / 1024, 1)}), flush=True)


if __name__ == "__main__":
    main()
