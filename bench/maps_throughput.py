"""Map-engine throughput: the batched engine against the per-image reference loop, same images, same run.

Both run a fixed number of Adam steps per image (tol = 0: no early stop), so images*steps/s compare
directly. FLOPs of one mask step (classifier forward + input-gradient backward; the FFTs are not counted)
come from torch's FlopCounterMode; the achieved rate is set against this device's measured fp32
matrix-multiply rate. Prints one JSON object.

    python bench/maps_throughput.py [--device cpu|cuda] [--steps 20] [--images 64]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from freqmaps.data import CIFAR10, FASHION_MNIST
from freqmaps.fourier import apply_mask
from freqmaps.maps import MapSettings, learn_maps, reference_map
from freqmaps.models import build_model, freeze
from freqmaps.runtime import library_versions


def matmul_rate(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 GEMM rate in FLOP/s."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_mask_step(model, images: torch.Tensor, targets: torch.Tensor) -> float:
    mask = torch.ones_like(images).requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        loss = torch.nn.functional.cross_entropy(model(apply_mask(images, mask, "per_channel")), targets)
        torch.autograd.grad(loss, mask)
    return counter.get_total_flops() / len(images)


def measure(name, info, arch, device, n_images, steps, batch_size, mkldnn, settings_extra):
    torch.manual_seed(0)
    model = freeze(build_model(arch, info).to(device))
    images = torch.rand(n_images, info.channels, info.size, info.size, device=device)
    targets = torch.randint(0, info.num_classes, (n_images,), device=device)
    settings = MapSettings(
        lam=0.01, min_steps=steps, max_steps=steps - 1, tol=0.0, batch_size=batch_size, **settings_extra
    )
    flops = flops_per_mask_step(model, images[:8], targets[:8])
    with torch.backends.mkldnn.flags(enabled=mkldnn):
        learn_maps(
            model,
            images[:batch_size],
            targets[:batch_size],
            MapSettings(**{**settings.__dict__, "max_steps": 1, "min_steps": 1}),
            device,
            info.num_classes,
            progress=False,
        )  # warm-up
        sync(device)
        start = time.perf_counter()
        batched = learn_maps(model, images, targets, settings, device, info.num_classes, progress=False)
        sync(device)
        batched_seconds = time.perf_counter() - start
        n_ref = min(n_images, 16)
        start = time.perf_counter()
        ref_steps = sum(reference_map(model, images[i], int(targets[i]), settings, device)[1] for i in range(n_ref))
        sync(device)
        reference_seconds = time.perf_counter() - start
    batched_rate = int(batched.steps.sum()) / batched_seconds
    reference_rate = ref_steps / reference_seconds
    return {
        "model": name,
        "mkldnn": mkldnn,
        "images": n_images,
        "steps_per_image": int(batched.steps[0]),
        "batch_size": batch_size,
        "flops_per_image_step": flops,
        "batched_image_steps_per_s": batched_rate,
        "reference_image_steps_per_s": reference_rate,
        "speedup": batched_rate / reference_rate,
        "batched_gflops": batched_rate * flops / 1e9,
        "reference_gflops": reference_rate * flops / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = matmul_rate(device)
    runs = []
    for name, info, arch in (
        ("small_cnn_28x28", FASHION_MNIST, "small_cnn"),
        ("resnet20_32x32x3", CIFAR10, "resnet20"),
    ):
        for mkldnn in (True, False) if device.type == "cpu" else (True,):
            run = measure(name, info, arch, device, args.images, args.steps, args.batch_size, mkldnn, {})
            run["batched_fraction_of_matmul_peak"] = run["batched_gflops"] * 1e9 / peak
            runs.append(run)
    print(
        json.dumps(
            {
                "benchmark": "maps_throughput",
                "device": str(device),
                "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                "threads": torch.get_num_threads(),
                "matmul_fp32_gflops": peak / 1e9,
                "versions": library_versions(),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
