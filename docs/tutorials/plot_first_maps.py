"""
Essential and adversarial maps from Python
==========================================

The workflow (``make run``) does everything below for hundreds of images, with shards, nulls, a verdict
and a report. Here the same library calls run by hand on a handful of Fashion-MNIST images, on the CPU,
in well under a minute: train a tiny classifier, attack it, learn each image's *essential* map (the
frequencies the model needs to keep its label) and *adversarial* map (the frequencies the attacked image
needs to keep the attack's label), and ask whether the two are related beyond chance.

The calls are those of :doc:`/api/index`; the method is :doc:`/METHOD`.
"""

# %%
# A tiny classifier of your own
# ------------------------------
# :func:`freqmaps.data.load_dataset` reads the four IDX files of the Debian package
# ``dataset-fashion-mnist`` (``make run`` installs it). Images are ``uint8 [N, C, H, W]``;
# :meth:`~freqmaps.data.ImageSet.floats` gives them in [0, 1].
#
# The model is any ``torch.nn.Module`` that takes images in [0, 1] and returns logits; here a small
# convolutional network of our own, trained for one pass over 6,400 images. Its first layer,
# :class:`freqmaps.models.Normalize`, applies the dataset's normalisation inside the model, so attacks and
# Fourier masks act on the pixels the model sees. Your own model goes here; the workflow's models come
# from :mod:`freqmaps.models` (built-in, torchvision, timm, RobustBench, or a checkpoint).
import time

import matplotlib.pyplot as plt
import torch
from torch import nn

from freqmaps import attacks, data, maps, models, stats

started = time.time()
torch.manual_seed(0)
device = torch.device("cpu")

root = {"root": data.DEBIAN_FASHION_MNIST}
train = data.load_dataset("fashion_mnist", "train", root)
test = data.load_dataset("fashion_mnist", "test", root)
info = train.info

model = nn.Sequential(
    models.Normalize(info.mean, info.std),
    nn.Conv2d(1, 16, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(32 * 7 * 7, info.num_classes),
)
optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
for batch in torch.randperm(len(train))[:6_400].split(64):
    loss = nn.functional.cross_entropy(model(train.floats(batch)), train.labels[batch])
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
model = models.freeze(model)  # eval() and no parameter gradients: a fixed function from here on

with torch.no_grad():
    accuracy = (model(test.floats(slice(0, 1000))).argmax(1) == test.labels[:1000]).float().mean().item()
print(f"test accuracy after one pass over 6,400 images: {accuracy:.3f}")

# %%
# Attack it
# ---------
# :func:`freqmaps.attacks.run_attack` runs any torchattacks (or foolbox) attack by name and judges success
# once: an attack succeeds on an image the model classifies correctly that, attacked, gets another label.
images = test.subset(torch.arange(48))
tensors, metrics = attacks.run_attack(
    model, images, "PGD", {"eps": 16 / 255, "alpha": 4 / 255, "steps": 10, "random_start": True}, device
)
print(f"PGD succeeded on {metrics['n_success']} of {metrics['n_clean_correct']} correctly classified images")

# %%
# Learn the maps
# --------------
# :func:`freqmaps.maps.learn_maps` optimises one Fourier mask per image, many side by side. The essential
# map of a correctly classified image keeps its true label; the adversarial map of a successfully attacked
# image keeps the adversarial label. The settings here are small, CPU-sized steps (the schema's defaults
# are the paper's CIFAR-10 values: see :doc:`/guide/configuration`).
#
# The masks come back **shifted** (zero frequency at the centre, index ``[H // 2, W // 2]``), exactly as
# every maps file of the workflow stores them, so they compare with a workflow file and plot as they are.
# ``layout="unshifted"`` gives ``torch.fft.fft2``'s layout (zero frequency at ``[0, 0]``), the one
# ``freqmaps.fourier.apply_mask`` takes.
settings = maps.MapSettings(lam=0.05, min_steps=50, max_steps=150, batch_size=48)
both = tensors["success"]  # correct clean and successfully attacked: both maps can exist
clean, adversarial = tensors["clean"][both], tensors["adversarial"][both]
labels, adversarial_labels = tensors["labels"][both], tensors["adversarial_labels"][both]

essential = maps.learn_maps(model, clean, labels, settings, device, info.num_classes, progress=False)
adversarial_maps = maps.learn_maps(
    model, adversarial, adversarial_labels, settings, device, info.num_classes, progress=False
)
kept = essential.kept & adversarial_maps.kept
E, A = essential.masks[kept], adversarial_maps.masks[kept]
print(f"{int(kept.sum())} images with both maps kept")

# %%
# Look at them
# ------------
# Each column: an image, its essential map, the attacked image and its adversarial map. Map axes are
# frequencies in cycles per image, zero frequency (DC) at the centre.
names = info.class_names
n_show = 4
fig, axes = plt.subplots(4, n_show, figsize=(2.2 * n_show, 8.4), layout="constrained")
extent = (-14.5, 13.5, 13.5, -14.5)
for column in range(n_show):
    i = kept.nonzero()[column].item()
    rows = [
        (clean[i, 0], "gray", None, f"{names[labels[i]]}"),
        (E[column, 0], "viridis", extent, "essential map"),
        (adversarial[i, 0], "gray", None, f"attacked: {names[adversarial_labels[i]]}"),
        (A[column, 0], "viridis", extent, "adversarial map"),
    ]
    for row, (picture, cmap, ext, title) in enumerate(rows):
        ax = axes[row, column]
        shown = ax.imshow(picture, cmap=cmap, vmin=0, vmax=1, extent=ext)
        ax.set_title(title, fontsize=9)
        if ext is None:
            ax.set_axis_off()
        else:
            ax.plot(0, 0, "r+", markersize=6)  # DC
            ax.set_xlabel("cycles / image", fontsize=8)
fig.colorbar(shown, ax=axes[[1, 3], :].ravel().tolist(), shrink=0.6, label="mask value")
plt.show()

# %%
# Are they related?
# -----------------
# :func:`freqmaps.stats.compare` computes every configured statistic between the paired rows of E and A,
# each against re-pairing nulls: *random* (another image's adversarial map) and *within-class* (another
# image of the same class). :func:`freqmaps.stats.features` turns maps into rows (here the flattened maps).
# Few images and few null draws make wide intervals: this shows the calls, not a result.
stats_settings = stats.StatsSettings(
    statistics=["cosine", "cka", "information_imbalance"], n_null=50, n_bootstrap=100, n_half_samples=20
)
result = stats.compare(stats.features(E), stats.features(A), labels[kept], stats_settings, seed=0, device=device)
for row in result.rows:
    name = row["statistic"] + (f" {row['direction']}" if row["direction"] else "")
    print(
        f"{name:<34} {row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]  "
        f"random null {row['random_null_mean']:.3f} (p {row['random_p_value']:.3f})  "
        f"within-class null {row['within_class_null_mean']:.3f} (p {row['within_class_p_value']:.3f})"
    )

# %%
# The per-image cosine against its random null, as the report draws it. A value to the right of the null
# draws (larger = more related for a similarity) means an image's adversarial map resembles its own
# essential map more than another image's.
cosine = next(row for row in result.rows if row["statistic"] == "cosine")
draws = [d["value"] for d in result.null_draws if d["statistic"] == "cosine" and d["null"] == "random"]
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.hist(draws, bins=15, color="0.6", label="random re-pairing (null)")
ax.axvline(cosine["value"], color="C3", label="true pairing")
ax.set_xlabel("mean cosine of E and A")
ax.set_ylabel("null draws")
ax.legend()
plt.show()

print(f"tutorial ran in {time.time() - started:.0f} s")
