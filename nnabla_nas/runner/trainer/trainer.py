"""`Trainer`: retrains a fixed architecture from scratch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nnabla as nn

from ...contrib.model import Model
from ...module.misc import DropPath
from ...optimizer import Optimizer
from ...utils.distributed import Communicator
from ..algorithm import Algorithm, Batch, Transform, cross_entropy


class Trainer(Algorithm):
    """Trains the weights of a fixed network on the ``'train'`` loader.

    Args:
        aux_weight: weight of the auxiliary head's loss, for models that return
            ``(logits, aux_logits)`` in training mode.
        drop_path: the final drop-path probability of every `DropPath` of the model; it
            grows linearly from 0 over `epochs`.
        epochs: the length of the drop-path schedule.
    """

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        *,
        aux_weight: float = 0.0,
        drop_path: float = 0.0,
        epochs: int = 1,
        transform: Transform | None = None,
        context: nn.Context | None = None,
        communicator: Communicator | None = None,
        sync_batch_norm: bool = False,
    ) -> None:
        super().__init__(
            model, {"weights": optimizer}, transform=transform, context=context,
            communicator=communicator, sync_batch_norm=sync_batch_norm,
        )  # fmt: skip
        self.aux_weight, self.drop_path, self.epochs = aux_weight, drop_path, epochs

    def loss(self, output: Any, y: nn.Variable) -> tuple[nn.Variable, nn.Variable]:
        if not isinstance(output, tuple):
            return output, cross_entropy(output, y)
        logits, aux_logits = output
        return logits, cross_entropy(logits, y) + self.aux_weight * cross_entropy(aux_logits, y)

    def on_epoch_start(self, epoch: int) -> None:
        rate = self.drop_path * epoch / max(self.epochs, 1)
        for _, module in self.model.get_modules():
            if isinstance(module, DropPath):
                module.drop_prob = rate

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        graph = self.graph("train", batch["train"][0].shape)
        self.feed(graph, batch["train"])
        self.minimize(graph, self.optimizers["weights"])
        return self.metrics(graph)
