"""FID InceptionV3: weights-file checks, pytorch-fid key names, preprocessing (random init)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganmodels.image.inception import (
    FEATURE_DIM,
    build_inception,
    inception_features,
    load_inception,
)


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    """A random-init state dict with the FID weights file's layout (built once: ~95 MB)."""
    torch.manual_seed(0)
    return build_inception().state_dict()


@pytest.fixture(scope="module")
def weights(state: dict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inception") / "pt_inception.pth"
    torch.save(state, path)
    return path


def test_missing_file_says_where_to_get_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "pt_inception-2015-12-05-6726825d.pth"
    with pytest.raises(FileNotFoundError) as e:
        load_inception(path)
    assert str(path) in str(e.value)
    assert "evaluate.inception_weights" in str(e.value)
    assert "github.com/mseitzer/pytorch-fid" in str(e.value)


def test_state_dict_has_pytorch_fid_names(state: dict[str, torch.Tensor]) -> None:
    assert "Mixed_7c.branch_pool.conv.weight" in state
    assert "Conv2d_1a_3x3.bn.running_mean" in state
    assert "Mixed_6e.branch7x7dbl_5.bn.running_var" in state
    assert "Mixed_7b.branch3x3dbl_3b.conv.weight" in state
    assert tuple(state["fc.weight"].shape) == (1008, 2048)
    assert tuple(state["Conv2d_1a_3x3.conv.weight"].shape) == (32, 3, 3, 3)
    assert tuple(state["Mixed_7c.branch_pool.conv.weight"].shape) == (192, 2048, 1, 1)
    # BasicConv2d convs carry no bias (BN follows), and no aux classifier is kept.
    assert not any(k.endswith("conv.bias") for k in state)
    assert not any(k.startswith("AuxLogits") for k in state)


def test_loads_and_features_match_the_specified_preprocessing(weights: Path) -> None:
    model = load_inception(weights)
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    g = torch.Generator().manual_seed(1)
    images = torch.rand(2, 1, 8, 8, generator=g) * 2 - 1
    feats = inception_features(model, images, batch_size=1)
    assert feats.shape == (2, FEATURE_DIM)
    assert feats.dtype == np.float64
    assert np.isfinite(feats).all()
    # Reference: channel repeat + bilinear upsample to 299 (pytorch-fid's resize), then the model.
    x = F.interpolate(
        images.repeat(1, 3, 1, 1), size=(299, 299), mode="bilinear", align_corners=False
    )
    with torch.no_grad():
        direct = model(x).double().numpy()
    assert feats.std() > 0
    np.testing.assert_allclose(feats, direct, rtol=1e-4, atol=1e-6)


def test_wrong_shape_names_path_and_key(state: dict[str, torch.Tensor], tmp_path: Path) -> None:
    bad = dict(state)
    bad["Mixed_6b.branch7x7_2.conv.weight"] = torch.zeros(1, 2, 3)
    path = tmp_path / "bad_shape.pth"
    torch.save(bad, path)
    with pytest.raises(ValueError) as e:
        load_inception(path)
    assert str(path) in str(e.value)
    assert "Mixed_6b.branch7x7_2.conv.weight" in str(e.value)


def test_missing_and_unexpected_keys_are_named(
    state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    partial = {k: v for k, v in state.items() if k != "fc.bias"}
    path = tmp_path / "partial.pth"
    torch.save(partial, path)
    with pytest.raises(ValueError, match="fc.bias"):
        load_inception(path)
    torch.save({**state, "AuxLogits.fc.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="AuxLogits.fc.weight"):
        load_inception(path)


def test_not_a_dict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError) as e:
        load_inception(path)
    assert str(path) in str(e.value)
    assert "Tensor" in str(e.value)


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def test_pickle_with_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": _Payload()}, path)
    with pytest.raises(ValueError) as e:
        load_inception(path)
    assert str(path) in str(e.value)
    assert "not a plain weights file" in str(e.value)


def test_bad_image_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="1 or 3"):
        inception_features(build_inception().eval(), torch.zeros(1, 2, 8, 8))


def test_evaluate_stage_uses_the_configured_weights(weights: Path, tmp_path: Path) -> None:
    """evaluate.feature_extractor: inception reads evaluate.inception_weights (relative to the
    project root) and names the FD `fid`; a missing file fails before any sampling."""
    import yaml

    from pipeline.config import load_params
    from pipeline.kinds.image.evaluate import feature_extractor
    from pipeline.kinds.image.metrics import fd_key

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
    raw["evaluate"].update(feature_extractor="inception", inception_weights="w/fid.pth")
    raw["register"]["primary_metric"] = "fid"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_params(tmp_path / "params.yaml").evaluate
    with pytest.raises(FileNotFoundError, match="w/fid.pth"):
        feature_extractor(cfg, tmp_path)
    (tmp_path / "w").mkdir()
    os.link(weights, tmp_path / "w" / "fid.pth")
    features = feature_extractor(cfg, tmp_path)
    assert features is not None
    assert features(torch.zeros(3, 1, 8, 8)).shape == (3, FEATURE_DIM)
    assert fd_key("digits", "inception") == "fid" and fd_key("digits") == "fd_digits"
