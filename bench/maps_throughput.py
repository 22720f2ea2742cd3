"""Map-engine throughput: the batched engine against the per-image reference loop, same images, same run.

Both run a fixed number of Adam steps per image (tol = 0: no early stop), so images*steps/s compare
directly. FLOPs of one mask step (classifier forward + input-gradient backward; the FFTs are not counted)
come from torch's FlopCounterMode; the achieved rate is set against this device's measured fp32
matrix-multiply rate. Prints one JSON object.

    python bench/maps_throughput.py [--device cpu|cuda] [--steps 20] [--images 64] [--models resnet20]
        [--precisions fp32 tf32 bf16] [--compile off on] [--reference-images 16] [--sync-every 1]

Issue 9's GPU target (10,000 ResNet-20 images x 1,000 steps in under 5 minutes) is
``--device cuda --models resnet20 --images 10000 --steps 1000 --batch-size 2048 --reference-images 0``;
every (precision, compile) pair is a separate run in the JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from measure import bench_report, matmul_rate, synchronize
from torch.utils.flop_counter import FlopCounterMode

from freqmaps.data import CIFAR10, FASHION_MNIST
from freqmaps.fourier import apply_mask
from freqmaps.maps import MapSettings, learn_maps, reference_map
from freqmaps.models import build_model, freeze


def flops_per_mask_step(model, images: torch.Tensor, targets: torch.Tensor) -> float:
    mask = torch.ones_like(images).requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        loss = torch.nn.functional.cross_entropy(model(apply_mask(images, mask, "per_channel")), targets)
        torch.autograd.grad(loss, mask)
    return counter.get_total_flops() / len(images)


def measure(name, info, arch, device, n_images, steps, batch_size, mkldnn, settings_extra, n_reference=16):
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
        synchronize(device)
        start = time.perf_counter()
        batched = learn_maps(model, images, targets, settings, device, info.num_classes, progress=False)
        synchronize(device)
        batched_seconds = time.perf_counter() - start
        n_ref = min(n_images, n_reference)
        start = time.perf_counter()
        ref_steps = sum(reference_map(model, images[i], int(targets[i]), settings, device)[1] for i in range(n_ref))
        synchronize(device)
        reference_seconds = time.perf_counter() - start
    batched_rate = int(batched.steps.sum()) / batched_seconds
    reference_rate = ref_steps / reference_seconds if n_ref else None  # None: no per-image run asked for
    return {
        "model": name,
        **settings_extra,
        "mkldnn": mkldnn,
        "batched_seconds": batched_seconds,
        "images": n_images,
        "steps_per_image": int(batched.steps[0]),
        "batch_size": batch_size,
        "flops_per_image_step": flops,
        "batched_image_steps_per_s": batched_rate,
        "reference_image_steps_per_s": reference_rate,
        "speedup": batched_rate / reference_rate if reference_rate else None,
        "batched_gflops": batched_rate * flops / 1e9,
        "reference_gflops": reference_rate * flops / 1e9 if reference_rate else None,
    }


MODELS = {"small_cnn": ("small_cnn_28x28", FASHION_MNIST), "resnet20": ("resnet20_32x32x3", CIFAR10)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "tf32", "bf16", "fp16"], default=["fp32"])
    parser.add_argument("--compile", nargs="+", choices=["off", "on"], default=["off"])
    parser.add_argument("--reference-images", type=int, default=16, help="images through the per-image loop (0: none)")
    parser.add_argument("--sync-every", type=int, default=1)
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = matmul_rate(device)
    runs = []
    for arch in args.models:
        name, info = MODELS[arch]
        for precision in args.precisions:
            for compiled in args.compile:
                extra = {"precision": precision, "compile": compiled == "on", "sync_every": args.sync_every}
                both_backends = device.type == "cpu" and precision == "fp32" and compiled == "off"  # the two CPU rows
                for mkldnn in (True, False) if both_backends else (True,):
                    run = measure(
                        name,
                        info,
                        arch,
                        device,
                        args.images,
                        args.steps,
                        args.batch_size,
                        mkldnn,
                        extra,
                        args.reference_images,
                    )
                    run["batched_fraction_of_matmul_peak"] = run["batched_gflops"] * 1e9 / peak
                    runs.append(run)
                    print(json.dumps(run), flush=True)
    print(bench_report("maps_throughput", device, runs, matmul_fp32_gflops=peak / 1e9))


if __name__ == "__main__":
    main()
