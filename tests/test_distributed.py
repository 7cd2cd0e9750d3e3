"""DistributedDataParallel over two CPU processes (gloo): a built module trains in lock-step."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parent.parent
WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out_dir: str) -> None:
    """One training step of ResNet-20 on a different batch per rank; saves parameters before and after."""
    import resdsl

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)  # two processes on two cores
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        torch.manual_seed(100 + rank)  # different initial weights: DDP must broadcast rank 0's
        model = resdsl.build(ROOT / "specs/cifar/resnet20.res")
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(4, 3, 32, 32)  # each rank its own data
        y = torch.randint(0, 10, (4,))
        loss = torch.nn.functional.cross_entropy(ddp(x), y)
        loss.backward()
        optimizer.step()
        after = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save({"before": before, "after": after, "loss": loss.item()}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="no gloo backend")
def test_ddp_step_keeps_parameters_equal_across_ranks(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    assert ranks[0]["loss"] != ranks[1]["loss"]  # the ranks really saw different data
    names = [k for k in ranks[0]["after"] if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for name in names:
        assert torch.equal(ranks[0]["before"][name], ranks[1]["before"][name]), name  # broadcast at wrap
        assert torch.equal(ranks[0]["after"][name], ranks[1]["after"][name]), name    # all-reduced grads
    changed = [n for n in names if not torch.equal(ranks[0]["before"][n], ranks[0]["after"][n])]
    assert len(changed) == len(names)  # every parameter took the step
