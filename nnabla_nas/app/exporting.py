"""Exporting a run: the retrained network of a ``nnabla-nas train`` folder, as NNP or ONNX."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..contrib.model import Model
from ..contrib.space import Space
from ..dataset.transforms import Transform
from ..export import DEFAULT_OPSET, export, infer_format
from ..module import mismatch_text, read_parameter_attrs
from .build import FINGERPRINT, fingerprint, make_dataset, make_transform, normalization
from .config import TrainConfig, load_config, space_of
from .run import RunError, RunFolder

__all__ = ["TrainedRun", "check_fingerprint", "export_run", "load_run", "run_metadata"]

logger = logging.getLogger("nnabla_nas")


@dataclass
class TrainedRun:
    """The retrained network of a run, with what it was trained on."""

    model: Model
    config: TrainConfig
    space: Space
    sample_shape: tuple[int, int, int]  # (C, H, W) of one input
    classes: int
    arch: Any = None  # the architecture, validated by the space

    @property
    def transform(self) -> Transform | None:
        """The run's input pipeline in inference mode (its normalisation), if any."""
        return make_transform(self.config.dataset)

    @property
    def metadata(self) -> dict[str, Any]:
        """What an export of the network says about it (see `run_metadata`)."""
        return run_metadata(self.config, self.space, self.arch, self.sample_shape, self.classes)


def run_metadata(
    cfg: TrainConfig, space: Space, arch: Any, sample_shape: Sequence[int], classes: int
) -> dict[str, Any]:
    """The facts a deployer needs beside the graph of a run's exported network.

    The exported graph normalises its input itself (``normalization: in_graph``), so it
    takes images as the dataset gives them, ``NCHW``; ``input_mean`` and ``input_std`` say
    with what (null without normalisation). The output is the logits of `classes` classes.
    The space, architecture (JSON) and model options rebuild the network; the fingerprint
    is the one its weights carry.
    """
    stats = normalization(cfg.dataset)
    return {
        "space": space.name,
        "architecture": space.describe(arch),
        "model_options": cfg.model.options,
        "fingerprint": fingerprint(space.name, cfg.model.options, space.validate(arch)),
        "dataset": cfg.dataset.name,
        "sample_shape": list(sample_shape),
        "input_layout": "NCHW",
        "input_mean": stats[0] if stats else None,
        "input_std": stats[1] if stats else None,
        "normalization": "in_graph" if stats else "none",
        "output": "logits",
        "classes": classes,
    }


def _files(
    run_dir: str | None, arch: str | None, weights: str | None, config: str | None
) -> tuple[str, str, str | None]:
    if run_dir is None:
        if arch is None or weights is None:
            raise ValueError("without a run folder, give both the arch file and the weights")
        return arch, weights, config
    run = RunFolder(run_dir)
    manifest = run.manifest()
    if manifest.command != "train":
        raise RunError(
            f"'{run_dir}' is a {manifest.kind} search, whose weights are a supernet's; export "
            "the run of `nnabla-nas train --arch <search>/arch.json`, which retrains it"
        )
    files = {
        "arch": arch or run.file("arch"),
        "weights": weights or run.file("weights"),
        "config": config or run.file("config"),
    }
    for what, path in files.items():
        if not os.path.isfile(path):
            status = manifest.status
            raise FileNotFoundError(
                f"{what} file '{path}' does not exist; the run in '{run_dir}' is {status}"
            )
    return files["arch"], files["weights"], files["config"]


def load_run(
    run_dir: str | None = None,
    *,
    arch: str | None = None,
    weights: str | None = None,
    config: str | None = None,
) -> TrainedRun:
    """Rebuilds the retrained network of a ``nnabla-nas train`` run and loads its weights.

    The network is built as `run_train` builds it, from the config's dataset (input
    channels, classes) and model sections and the architecture file.

    Args:
        run_dir: the run folder, holding ``run.json``, ``config.yaml``, ``arch.json`` and
            ``weights.h5``.
        arch: the architecture file, instead of the run folder's.
        weights: the weights (``.h5``), instead of the run folder's.
        config: the train config (YAML), instead of the run folder's; without a run folder
            and without it, the defaults of `TrainConfig`.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a bad config or architecture, or weights that do not fit the network.
    """
    arch_path, weights_path, config_path = _files(run_dir, arch, weights, config)
    cfg = load_config(TrainConfig, config_path)
    dataset = make_dataset(cfg.dataset)
    space_name = cfg.model.name
    space = space_of(cfg)
    genotype = space.read(arch_path)
    model = space.make_train_net(
        dataset.sample_shape[0], dataset.classes, genotype, seed=cfg.seed,
        options=cfg.model.options, drop_path=cfg.drop_path,
    )  # fmt: skip
    check_fingerprint(weights_path, fingerprint(space.name, cfg.model.options, genotype), arch_path)
    try:
        model.load_parameters(weights_path, raise_if_missing=True)
    except (KeyError, ValueError) as err:
        raise ValueError(
            f"weights '{weights_path}' do not fit the {space_name} network of '{arch_path}' "
            f"built with the model section of the config: {mismatch_text(err)}"
        ) from None
    return TrainedRun(model, cfg, space, dataset.sample_shape, dataset.classes, genotype)


def check_fingerprint(weights: str, expected: str, arch: str) -> None:
    """Refuses weights trained for another network than the one `expected` names."""
    found = read_parameter_attrs(weights).get(FINGERPRINT)
    if found is None:
        logger.warning(
            f"weights '{weights}' carry no network fingerprint (not written by a run of this "
            "version); they are only checked by their shapes"
        )
    elif found != expected:
        raise ValueError(
            f"weights '{weights}' were trained for another network (fingerprint {found}) than "
            f"the one of '{arch}' and the config's model section ({expected}); give the "
            "weights, arch and config of one train run"
        )


def export_run(
    run_dir: str | None = None,
    *,
    output: str,
    format: str | None = None,
    arch: str | None = None,
    weights: str | None = None,
    config: str | None = None,
    batch_size: int = 1,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = False,
) -> str:
    """Exports the retrained network of a ``nnabla-nas train`` run as NNP or ONNX.

    The graph includes the run's input normalisation, so it takes images as the dataset
    gives them, ``(batch_size, C, H, W)`` in ``[0, 1]``, as ``x`` and returns the logits
    as ``y``. The file carries the run's `run_metadata` (space, architecture, input
    normalisation, ...) with the export's own. A file of the run itself (its weights,
    config, ...) is never overwritten.

    Args:
        run_dir: the run folder.
        output: the file to write.
        format: ``'nnp'`` or ``'onnx'``; by default, the extension of `output`.
        arch: an architecture file to use instead of the run folder's (see `load_run`);
            without a run folder, `arch` and `weights` are needed.
        weights: a weights file to use instead of the run folder's.
        config: a config file to use instead of the run folder's.
        batch_size: the batch size of the exported graph.
        opset: the ONNX opset.
        dynamic_batch: ONNX only: the batch dimension is the symbol ``batch`` instead of
            `batch_size`, so that one file runs any batch size.

    Returns:
        `output`.

    Example:
        >>> export_run("runs/train", output="runs/train/model.onnx")
        'runs/train/model.onnx'
    """
    kind = infer_format(output, format)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    inputs = [p for p in (arch, weights, config) if p]
    if (run_dir is not None and RunFolder(run_dir).owns(output)) or any(
        os.path.abspath(output) == os.path.abspath(p) for p in inputs
    ):
        raise ValueError(
            f"'{output}' is a file of the run; write the export elsewhere, e.g. "
            f"{os.path.join(run_dir or '.', 'model.' + kind)}"
        )
    if dynamic_batch and kind != "onnx":
        raise ValueError(
            f"a dynamic batch is an ONNX option; '{output}' is {kind.upper()}: export ONNX "
            "(--format onnx) or leave out --dynamic-batch"
        )
    run = load_run(run_dir, arch=arch, weights=weights, config=config)
    shape = (batch_size, *run.sample_shape)
    return export(
        run.model, shape, output, format=kind, opset=opset, transform=run.transform,
        metadata=run.metadata, dynamic_batch=dynamic_batch,
    )  # fmt: skip
