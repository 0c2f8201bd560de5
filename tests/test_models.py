"""Every architecture x objective pair trains a few CPU steps with finite losses; the parts
(conditioning, spectral norm, regularizers, augmentation, ADA) do what they claim."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from ganmodels.build import build_discriminator, build_generator
from ganmodels.ema import make_ema, update_ema
from ganmodels.image.nets import ARCHITECTURES as IMAGE_ARCHITECTURES
from ganmodels.image.sampling import generate
from ganmodels.losses import OBJECTIVES
from ganmodels.regularizers import gradient_penalty, r1_penalty
from pipeline.config import load_params
from pipeline.phases import PHASE_KEYS, Phases, Recipe
from pipeline.streams import seeded
from tests.helpers import write_params


def _cfg(arch: str, num_classes: int = 0, sn: bool = False, size: int = 8) -> dict:
    return {
        "kind": "image",
        "architecture": arch,
        "z_dim": 8,
        "channels": 1,
        "image_size": size,
        "g_channels": 8,
        "d_channels": 8,
        "num_classes": num_classes,
        "spectral_norm": sn,
    }


def _recipe(objective: str, **over: object) -> Recipe:
    base = dict(
        objective=objective, lr_g=2e-4, lr_d=2e-4, betas=(0.0, 0.9), d_steps=1, r1_gamma=0.0,
        r1_interval=2, gp_weight=0.0, ema_decay=0.99, augment=(), augment_p=0.0,
        ada_target=0.0, ada_interval=2, ada_speed_images=100,
    )  # fmt: skip
    return Recipe(**{**base, **over})


def _phases(cfg: dict, recipe: Recipe) -> Phases:
    torch.manual_seed(0)
    G, D = build_generator(cfg), build_discriminator(cfg)
    return Phases(G, D, make_ema(G), recipe)


def _batch(n: int, num_classes: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=gen) * 2 - 1
    y = torch.randint(0, num_classes, (n,), generator=gen) if num_classes else None
    return [(x, y)]


# Each pair also switches on a different mix of options, so every option runs somewhere.
PAIRS = list(itertools.product(IMAGE_ARCHITECTURES, OBJECTIVES))


@pytest.mark.parametrize(("arch", "objective"), PAIRS)
def test_every_architecture_and_objective_trains(arch: str, objective: str) -> None:
    i = PAIRS.index((arch, objective))
    k = 10 if i % 2 else 0
    recipe = _recipe(
        objective,
        gp_weight=10.0 if objective == "wgan" else 0.0,
        r1_gamma=1.0 if i % 3 == 0 else 0.0,
        augment=("translation", "cutout", "color") if i % 2 == 0 else (),
        augment_p=0.5,
        d_steps=2 if i % 4 == 1 else 1,
    )
    phases = _phases(_cfg(arch, k, sn=i % 2 == 1), recipe)
    before = [p.detach().clone() for p in phases.G.parameters()]
    for step in range(4):
        batches = _batch(16, k, step) * recipe.d_steps
        stats = phases.step(batches, step, seeded("latents", 0, 0, step))
        assert stats.shape == (len(PHASE_KEYS),)
        assert torch.isfinite(stats).all(), dict(zip(PHASE_KEYS, stats.tolist(), strict=True))
    if recipe.r1_gamma:
        assert phases.last_reg.item() > 0  # the D_reg phase ran
    moved = [not torch.equal(a, b) for a, b in zip(before, phases.G.parameters(), strict=True)]
    assert any(moved)
    out = generate(phases.G_ema, 6, seed=1, z_dim=8)
    assert out.shape == (6, 1, 8, 8) and torch.isfinite(out).all()


@pytest.mark.parametrize("arch", IMAGE_ARCHITECTURES)
def test_conditional_generator_uses_the_label(arch: str) -> None:
    torch.manual_seed(0)
    g = build_generator(_cfg(arch, num_classes=10, size=16)).eval()
    z = torch.randn(1, 8).repeat(2, 1)
    with torch.no_grad():
        a = g(z, torch.tensor([3, 3]))
        b = g(z, torch.tensor([3, 7]))
    assert torch.equal(a[0], a[1]) and torch.equal(a[0], b[0])
    # Fresh conditional BN gains are ones: the label only matters after training, so perturb.
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, torch.nn.Embedding):
                m.weight.add_(torch.randn_like(m.weight))
        c = g(z, torch.tensor([3, 7]))
    assert not torch.equal(c[0], c[1])
    with pytest.raises(ValueError, match="class-conditional"):
        g(z)
    d = build_discriminator(_cfg(arch, num_classes=10, size=16))
    assert d(torch.zeros(2, 1, 16, 16), torch.tensor([1, 2])).shape == (2,)
    with pytest.raises(ValueError, match="unconditional"):
        build_generator(_cfg(arch))(z, torch.tensor([1, 2]))


def test_generate_balances_labels_and_honours_asked_labels() -> None:
    torch.manual_seed(0)
    g = build_generator(_cfg("dcgan", num_classes=4))
    a = generate(g, 8, seed=0, z_dim=8)
    b = generate(g, 8, seed=0, z_dim=8, labels=torch.tensor([0, 1, 2, 3] * 2))
    assert torch.equal(a, b)  # the default is balanced: 0, 1, 2, 3, 0, ...
    with pytest.raises(ValueError, match="class indices"):
        generate(g, 2, seed=0, z_dim=8, labels=torch.tensor([0, 4]))


def test_spectral_norm_bounds_every_weight() -> None:
    torch.manual_seed(0)
    d = build_discriminator(_cfg("resnet", num_classes=10, sn=True))
    x = torch.randn(8, 1, 8, 8)
    for _ in range(30):  # power iteration converges in training-mode forwards
        d(x, torch.arange(8))
    sigmas = []
    for m in d.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            w = m.weight.detach().flatten(1)
            sigmas.append(torch.linalg.matrix_norm(w, ord=2).item())
    assert sigmas and max(sigmas) == pytest.approx(1.0, abs=0.05)


def test_penalties_match_their_definitions() -> None:
    w = torch.tensor([[1.0, -2.0, 0.5]])
    critic = lambda x: (x * w).sum(1) + (x**2).sum(1)  # noqa: E731
    real = torch.tensor([[0.5, 0.0, 1.0], [1.0, 1.0, -1.0]], requires_grad=True)
    grad = w + 2 * real.detach()  # analytic input gradient
    assert torch.allclose(r1_penalty(critic(real), real), grad.square().sum(1))
    fake = torch.zeros(2, 3)
    alpha = torch.tensor([0.25, 0.5])
    x_hat = alpha[:, None] * real.detach() + (1 - alpha[:, None]) * fake
    want = ((w + 2 * x_hat).norm(dim=1) - 1).square()
    assert torch.allclose(gradient_penalty(critic, real, fake, alpha=alpha), want)


def test_ada_follows_the_sign_of_d_on_reals_and_is_saved() -> None:
    recipe = _recipe("bce", augment=("translation",), ada_target=0.6, ada_speed_images=64)
    phases = _phases(_cfg("dcgan"), recipe)
    phases.step(_batch(16, 0, 0), 0, seeded("latents", 0, 0, 0))
    total, count = phases.ada_stats.tolist()
    assert count == 16 and abs(total) <= 16  # one sign per real sample of D main
    phases.ada_stats = torch.tensor([16.0, 16.0])  # D sure of every real: over the target
    phases.adjust_augment()
    assert phases.augment_p == pytest.approx(16 / 64)
    assert phases.ada_stats.tolist() == [0.0, 0.0]
    other = _phases(_cfg("dcgan"), recipe)
    other.load_state_dict(phases.state_dict())
    assert other.augment_p == phases.augment_p
    phases.ada_stats = torch.tensor([-16.0, 16.0])  # under the target: p comes back down
    phases.adjust_augment()
    assert phases.augment_p == 0.0


def test_ema_update_is_the_weighted_average_of_every_parameter() -> None:
    torch.manual_seed(0)
    G = build_generator(_cfg("dcgan", num_classes=3))
    ema = make_ema(G)
    before = [p.clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(torch.randn_like(p))
    update_ema(ema, G, 0.9)
    for old, new, p in zip(before, ema.parameters(), G.parameters(), strict=True):
        assert torch.allclose(new, 0.9 * old + 0.1 * p, atol=1e-6)
    for b_ema, b in zip(ema.buffers(), G.buffers(), strict=True):
        assert torch.equal(b_ema, b)
    with pytest.raises(ValueError, match="parameters"):
        update_ema(ema, build_generator(_cfg("mlp")), 0.9)


@pytest.mark.parametrize("arch", IMAGE_ARCHITECTURES)
def test_channels_last_step_matches_the_contiguous_step(arch: str) -> None:
    # The loop switches image models to NHWC on GPUs; the step must compute the same thing.
    cfg, recipe = _cfg(arch, num_classes=3, sn=arch != "dcgan"), _recipe("hinge")
    runs = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        phases = _phases(cfg, recipe)
        for model in (phases.G, phases.D, phases.G_ema):
            model.to(memory_format=fmt)
        ((x, y),) = _batch(16, 3, 0)
        stats = phases.step([(x.contiguous(memory_format=fmt), y)], 0, seeded("latents", 0, 0, 0))
        runs.append((stats, torch.cat([p.flatten() for p in phases.G_ema.parameters()])))
    assert torch.allclose(runs[0][0], runs[1][0], atol=1e-5)  # the losses and D's outputs
    # Adam's first update is about lr * sign(grad): a near-zero gradient whose sign flips with
    # the summation order moves a weight by up to 2 lr, nothing beyond that.
    assert (runs[0][1] - runs[1][1]).abs().max() <= 2 * recipe.lr_g


def test_ema_rampup_caps_the_decay_early_and_false_keeps_ema_decay(tmp_path: Path) -> None:
    cfg = _cfg("dcgan")
    ramped = _phases(cfg, _recipe("hinge", ema_decay=0.999))
    assert ramped.ema_decay(0) == pytest.approx(0.1) and ramped.ema_decay(10**5) == 0.999
    flat = _phases(cfg, _recipe("hinge", ema_decay=0.999, ema_rampup=False))
    init = [p.clone() for p in flat.G_ema.parameters()]
    flat.step(_batch(8, 0, 0), 0, seeded("latents", 0, 0, 0))  # step 0: the ramp's 0.1
    for old, new, p in zip(init, flat.G_ema.parameters(), flat.G.parameters(), strict=True):
        assert torch.allclose(new, 0.999 * old + 0.001 * p.detach(), atol=1e-7)
    # params.yaml's default keeps the ramp; false turns it off.
    for rampup, over in ((True, {}), (False, {"train": {"ema_rampup": False}})):
        params = load_params(write_params(tmp_path / f"{rampup}.yaml", over))
        assert Recipe.from_train(params.train).ema_rampup is rampup


def test_the_conv_generator_takes_noise_at_every_step() -> None:
    """tcn's G: a step's own latents change that step (white-noise channels are possible),
    configs without step_noise keep the structure they were saved with."""
    from ganmodels.sequence.nets import build_generator

    cfg = {"architecture": "tcn", "z_dim": 8, "seq_len": 20, "features": 3, "g_channels": 16,
           "d_channels": 16, "step_noise": 3}  # fmt: skip
    g = build_generator(cfg).eval()
    assert g.z_dim == 8 + 20 * 3
    z = torch.randn(1, g.z_dim)
    moved = z.clone()
    moved[0, 8 + 3 * 20 - 1] += 3.0  # noise channel 2 at the last step ([noise, T] layout)
    with torch.no_grad():
        diff = (g(moved) - g(z))[0, :, :-1].abs().sum(1)
    assert diff[-1] > 0 and diff[:15].sum() == 0  # the kernel reaches 2 steps back, no further
    old = build_generator({k: v for k, v in cfg.items() if k != "step_noise"})
    assert old.z_dim == 8 and isinstance(old.out, torch.nn.Conv1d)
