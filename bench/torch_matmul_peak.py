"""The BLAS side of `cargo run --release --example gemm_peak`: PyTorch's matrix product (MKL or oneDNN on x86) on
the same shapes, at 1 and 2 threads, and W2's floor at the best rate it reached. Needs only `torch`.

    python bench/torch_matmul_peak.py
    python bench/torch_matmul_peak.py --w1   # W1's own products, each timed, and their sum
"""
import sys
import time

import torch

SHAPES = [  # m, k, n, transpose A, transpose B: as in examples/gemm_peak.rs
    (1024, 1024, 1024, False, False),
    (196, 800, 64, False, False), (800, 196, 64, True, False), (196, 64, 800, False, True),
    (32, 3136, 512, False, False), (3136, 32, 512, True, False), (32, 512, 3136, False, True),
    (64, 800, 196, True, True), (64, 196, 800, False, False), (800, 64, 196, False, True),
    (512, 3136, 32, True, True), (512, 32, 3136, False, False), (3136, 512, 32, False, True),
]


def w2_flop(batch):
    conv1, conv2, fc = 784 * 25 * 32, 196 * 800 * 64, 3136 * 512 + 512 * 10
    return 2.0 * batch * (2 * conv1 + 3 * conv2 + 3 * fc)


def w1_shapes(batch):
    """As `w1_shapes` in examples/gemm_peak.rs: forward, weight gradient and (but for layer 1) input gradient."""
    shapes = []
    for layer, (i, o) in enumerate([(784, 200), (200, 100), (100, 10)]):
        shapes += [(batch, i, o, False, False), (i, batch, o, True, False)]
        if layer > 0:
            shapes.append((batch, o, i, False, True))
    return shapes


def w1_products():
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (64, 512):
            total = flop = 0.0
            for m, k, n, ta, tb in w1_shapes(batch):
                a = torch.rand((k, m) if ta else (m, k))
                b = torch.rand((n, k) if tb else (k, n))
                a, b = (a.t() if ta else a), (b.t() if tb else b)
                reps = int(2e9 / (2 * m * k * n)) + 1
                torch.mm(a, b)
                runs = []
                for _ in range(15):
                    t = time.perf_counter()
                    for _ in range(reps):
                        torch.mm(a, b)
                    runs.append((time.perf_counter() - t) / reps)
                s = sorted(runs)[7]
                total, flop = total + s, flop + 2 * m * k * n
                print(f"{threads} thread(s) W1 b{batch} {m}x{k}x{n} ta={ta} tb={tb}: {s * 1e3:.3f} ms, "
                      f"{2 * m * k * n / s / 1e9:.1f} GFLOP/s")
            print(f"W1 at batch {batch} on {threads} thread(s): its products take {total * 1e3:.3f} ms "
                  f"({flop / total / 1e9:.1f} GFLOP/s over {flop / 1e6:.1f} MFLOP)")


def main():
    unknown = [a for a in sys.argv[1:] if a != "--w1"]
    if unknown:
        sys.exit(f"torch_matmul_peak.py: unknown argument(s) {' '.join(unknown)} (known: --w1)")
    torch.manual_seed(0)
    if "--w1" in sys.argv:
        return w1_products()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        best = 0.0
        for m, k, n, ta, tb in SHAPES:
            a = torch.full((k, m) if ta else (m, k), 0.5)
            b = torch.full((n, k) if tb else (k, n), 0.5)
            a, b = (a.t() if ta else a), (b.t() if tb else b)
            reps = int(2e9 / (2 * m * k * n)) + 1
            torch.mm(a, b)
            t = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            s = (time.perf_counter() - t) / reps
            rate = 2 * m * k * n / s / 1e9
            best = max(best, rate)
            print(f"{threads} thread(s) {m}x{k}x{n} ta={ta} tb={tb}: {s * 1e3:.3f} ms, {rate:.1f} GFLOP/s")
        print(f"best rate on {threads} thread(s): {best:.1f} GFLOP/s")
        for batch in (32, 128):
            g = w2_flop(batch) / 1e9
            print(f"W2 at batch {batch}: {g:.2f} GFLOP per step; floor at {best:.1f} GFLOP/s: {g / best * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
