"""How much the relative logit margin of the same images moves with the implementation, the batch, the CPU kernels
and the thread count: the measurement behind ``freqmaps.attacks.BOUNDARY_BAND`` (docs/METHOD.md §3).

The model is the attack tests' fixed checkpoint (tests/fixtures/small_cnn_fashion_mnist.safetensors: ``trained_cnn``'s
recipe). Its first N test images are attacked once (the batched DeepFool, foolbox's L2 DeepFool as it ends and as
``leave_boundary_band`` moves it, foolbox's L-inf FMN through the backend, PGD); then, in one
subprocess per ATEN_CPU_CAPABILITY value this CPU supports x 1 and 2 threads, every stored image is judged again
(batches of 1, of 40 and all at once, and through the maps stage's FFT round trip) and the batched DeepFool is run
again from the clean images. Printed as JSON:

- ``evaluation``: the largest change of a margin when the same image is judged in another batch, kernel or thread
  count (what a threshold on stored images must stand above);
- ``attack_rerun``: the largest change of a DeepFool adversarial's margin when the attack itself ran under another
  kernel or thread count, and whether any success decision changed;
- ``implementations``: ours versus foolbox's DeepFool on the same images (the images differ, so this is an upper
  bound mixing the step at which each stops with rounding);
- ``leave_band_scales``: the factors by which ``leave_boundary_band`` grew foolbox DeepFool's perturbations.

    PYTHONPATH=src python bench/boundary_noise.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def _model(state: dict[str, torch.Tensor]):
    from freqmaps.data import FASHION_MNIST
    from freqmaps.models import build_model, freeze

    model = build_model("small_cnn", FASHION_MNIST)
    model.load_state_dict(state)
    return freeze(model)


def _margins(model, images, labels, batch_size):
    from freqmaps.attacks import decisions

    return decisions(model, images, labels, torch.device("cpu"), batch_size=batch_size)[1]


def evaluate(folder: Path) -> None:
    """In this process's kernels and threads: every stored image judged in several batchings, and DeepFool rerun."""
    from freqmaps.attacks import BatchedDeepFool

    model = _model(load_file(folder / "model.safetensors"))
    data = load_file(folder / "images.safetensors")
    labels = data.pop("labels")
    out = {}
    for name, images in data.items():
        out[f"{name}/all"] = _margins(model, images, labels, 4096)
        out[f"{name}/40"] = _margins(model, images, labels, 40)
        out[f"{name}/1"] = _margins(model, images, labels, 1)
        out[f"{name}/fft"] = _margins(model, torch.fft.ifft2(torch.fft.fft2(images)).real, labels, 4096)
    rerun = BatchedDeepFool(model, steps=50, overshoot=0.02)(data["clean"], labels)
    out["rerun/all"] = _margins(model, rerun, labels, 4096)
    tag = f"{os.environ['ATEN_CPU_CAPABILITY']}-{os.environ['OMP_NUM_THREADS']}"
    save_file({k: v.contiguous() for k, v in out.items()}, str(folder / f"margins-{tag}.safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--evaluate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate:
        evaluate(args.evaluate)
        return
    import foolbox
    import torchattacks

    from freqmaps.attacks import BOUNDARY_BAND, BatchedDeepFool, build_attack, leave_boundary_band
    from freqmaps.data import head, load_split
    from freqmaps.io import load_tensors
    from freqmaps.runtime import cpu_capabilities

    state, meta = load_tensors(
        Path(__file__).resolve().parents[1] / "tests/fixtures/small_cnn_fashion_mnist.safetensors"
    )
    model = _model(state)
    test = head(load_split("fashion_mnist", "test"), args.n)
    x, y = test.floats(), test.labels
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    foolbox_deepfool = foolbox.attacks.L2DeepFoolAttack(steps=50, candidates=None, overshoot=0.02)(
        fmodel, x, y, epsilons=None
    )[1]
    images = {
        "clean": x,
        "ours": BatchedDeepFool(model, steps=50, overshoot=0.02)(x, y),
        "foolbox_deepfool": foolbox_deepfool,
        "foolbox_deepfool_moved": leave_boundary_band(model, x, foolbox_deepfool, y, torch.device("cpu")),
        "foolbox_fmn": build_attack(model, "LInfFMNAttack", {"steps": 50}, 10, "foolbox")(x, y),
        "pgd": torchattacks.PGD(model, eps=8 / 255, alpha=2 / 255, steps=10)(x, y),
    }
    grown = (images["foolbox_deepfool_moved"] - x).flatten(1).norm(dim=1) / (foolbox_deepfool - x).flatten(1).norm(
        dim=1
    ).clamp(min=1e-12)
    metrics = {"test_accuracy": meta["test_accuracy_first_1000"]}
    results: dict = {"test_accuracy": metrics["test_accuracy"], "n_images": args.n, "band": BOUNDARY_BAND}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
        save_file({**{k: v.contiguous() for k, v in images.items()}, "labels": y}, str(folder / "images.safetensors"))
        tags = []
        for capability in cpu_capabilities():
            for threads in (1, 2):
                env = {**os.environ, "ATEN_CPU_CAPABILITY": capability, "OMP_NUM_THREADS": str(threads)}
                subprocess.run([sys.executable, __file__, "--evaluate", str(folder)], env=env, check=True)
                tags.append(f"{capability}-{threads}")
        runs = {tag: load_file(folder / f"margins-{tag}.safetensors") for tag in tags}
    reference = runs[tags[-1]]
    evaluation = {}
    for name in images:
        keys = [f"{name}/{b}" for b in ("all", "40", "1", "fft")]
        ref = reference[f"{name}/all"]
        evaluation[name] = max(float((run[k] - ref).abs().max()) for run in runs.values() for k in keys)
    rerun_ref = reference["rerun/all"]
    rerun = {tag: float((run["rerun/all"] - rerun_ref).abs().max()) for tag, run in runs.items()}
    margins = {name: reference[f"{name}/all"] for name in images}
    results["evaluation"] = {"max_abs_margin_change": evaluation, "capabilities": cpu_capabilities()}
    results["attack_rerun"] = {
        "max_abs_margin_change": rerun,
        "smallest_margin_of_a_rerun_success": min(
            float(run["rerun/all"][run["rerun/all"] > 0].min()) for run in runs.values()
        ),
    }
    fooled = {name: m[m > 0] for name, m in margins.items() if name != "clean"}
    results["smallest_positive_margin"] = {name: float(m.min()) if len(m) else None for name, m in fooled.items()}
    results["share_with_margin_in_band"] = {
        name: float(((m > 0) & (m <= BOUNDARY_BAND)).float().mean()) for name, m in margins.items()
    }
    both = (margins["ours"] > 0) & (margins["foolbox_deepfool"] > 0)
    results["implementations"] = {
        "max_abs_pixel_difference": float((images["ours"] - images["foolbox_deepfool"]).abs().max()),
        "max_abs_margin_difference_where_both_fooled": float(
            (margins["ours"] - margins["foolbox_deepfool"])[both].abs().max()
        ),
    }
    moved = grown[grown > 1 + 1e-6]
    results["leave_band_scales"] = {
        "n_moved": len(moved),
        "median": float(moved.median()) if len(moved) else None,
        "max": float(moved.max()) if len(moved) else None,
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
