"""fvsbn_exact.py — dev experiment (PyTorch, not run by tests or CI): the best FVSBN this data and
protocol can give, found by solving the training objective instead of running SGD.

An FVSBN's conditionals are independent L2-regularised logistic regressions, so the training
objective  mean_n NLL(x_n) + (lam / 2) * (||W||^2 + ||b||^2)  is convex and has one minimum per lam.
This minimises it with full-batch L-BFGS (strong Wolfe line search) on the 50k training images, for
each lam of argv (largest first, each warm-started from the previous), then reports the validation
NLL of each solution and the test NLL of the one that validation picks. The products run in float32,
the sums in float64. Usage: python3 fvsbn_exact.py [lam ...]  (data under $GENMOD_DATA,
default /work/shared/data). One thread.
"""
import gzip, os, sys, time
import numpy as np
import torch

torch.set_num_threads(1)
root = os.environ.get("GENMOD_DATA", "/work/shared/data")


def load(split):
    with gzip.open(f"{root}/binarized-mnist/binarized_mnist_{split}.amat.gz", "rt") as f:
        return torch.tensor(np.loadtxt(f, dtype=np.float32))


tr, va, te = load("train"), load("valid"), load("test")
D = tr.shape[1]
mask = torch.tril(torch.ones(D, D), -1)  # logit_i uses x_<i


def nll(x, W, b):
    logits = x @ (W * mask).T + b
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").double().sum(1)


lams = [float(a) for a in sys.argv[1:]] or [1e-4, 3e-5, 1e-5]
lams.sort(reverse=True)
p = tr.mean(0).clamp(1e-3, 1 - 1e-3)
W = torch.zeros(D, D, requires_grad=True)
b = torch.log(p / (1 - p)).clone().requires_grad_(True)
results = []
for lam in lams:
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=400, history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-6, tolerance_change=1e-10)
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = nll(tr, W, b).mean() + 0.5 * lam * ((W * mask).double().pow(2).sum() + b.double().pow(2).sum())
        loss.backward()
        evals[0] += 1
        return loss.float()

    t0 = time.time()
    for _ in range(3):  # LBFGS stops at max_iter or a tolerance; a few restarts reach the tolerance
        loss = opt.step(closure)
    with torch.no_grad():
        results.append((lam, nll(va, W, b).mean().item(), W.detach().clone(), b.detach().clone()))
    print(f"lam {lam:g}: objective {loss.item():.5f}, {evals[0]} evaluations, {time.time() - t0:.0f} s, "
          f"train {nll(tr, W, b).mean().item():.3f} valid {results[-1][1]:.3f}", flush=True)
best = min(results, key=lambda r: r[1])
with torch.no_grad():  # the test split, once, for the solution validation picked
    t = nll(te, best[2], best[3])
print(f"selected by validation: lam {best[0]:g}, valid {best[1]:.3f}, test {t.mean().item():.3f} "
      f"+- {t.std().item() / len(t) ** 0.5:.2f}")
