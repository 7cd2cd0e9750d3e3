#!/usr/bin/env python3
"""Write tests/reference/torchvision/<model>.json: what torchvision's own model code says about every
CNN classifier it ships (the reference figures the tests compare the specs with).

    python3 scripts/make_reference.py            # all models
    python3 scripts/make_reference.py resnet18   # some

Each file records how the model was built (builder and keyword arguments), the input size (the crop
size of torchvision's default weights), parameters, buffers, MACs (FlopCounterMode FLOPs / 2 for one
image at that size), the output shape, the state_dict keys and shapes in order, and the figures
torchvision publishes with its weights (num_params, GFLOPS).  Everything is measured on the meta
device: nothing is allocated, so even RegNetY-128GF takes a second.

torchvision's compiled ops do not load against every torch build; its model code does not need them,
so `torchvision._meta_registrations` is kept from loading: the script uses tests/oracles.py's import
and meta-device helpers (it needs pytest importable, as the tests do).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "reference" / "torchvision"

CNNS = (
    "alexnet "
    "convnext_tiny convnext_small convnext_base convnext_large "
    "densenet121 densenet161 densenet169 densenet201 "
    "efficientnet_b0 efficientnet_b1 efficientnet_b2 efficientnet_b3 efficientnet_b4 efficientnet_b5 "
    "efficientnet_b6 efficientnet_b7 efficientnet_v2_s efficientnet_v2_m efficientnet_v2_l "
    "googlenet inception_v3 "
    "mnasnet0_5 mnasnet0_75 mnasnet1_0 mnasnet1_3 "
    "mobilenet_v2 mobilenet_v3_small mobilenet_v3_large "
    "regnet_x_400mf regnet_x_800mf regnet_x_1_6gf regnet_x_3_2gf regnet_x_8gf regnet_x_16gf regnet_x_32gf "
    "regnet_y_400mf regnet_y_800mf regnet_y_1_6gf regnet_y_3_2gf regnet_y_8gf regnet_y_16gf regnet_y_32gf "
    "regnet_y_128gf "
    "resnet18 resnet34 resnet50 resnet101 resnet152 resnext50_32x4d resnext101_32x8d resnext101_64x4d "
    "wide_resnet50_2 wide_resnet101_2 "
    "shufflenet_v2_x0_5 shufflenet_v2_x1_0 shufflenet_v2_x1_5 shufflenet_v2_x2_0 "
    "squeezenet1_0 squeezenet1_1 "
    "vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn"
).split()

# name -> (builder, keyword arguments).  Without weights, torchvision's googlenet() and inception_v3()
# build the auxiliary heads; googlenet's pretrained model drops them (so does our googlenet spec by
# default), inception_v3's keeps AuxLogits (so does our inception_v3 spec: compared with inception_v3_aux).
VARIANTS: dict[str, tuple[str, dict]] = {
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": True}),
    "googlenet_aux": ("googlenet", {"aux_logits": True, "init_weights": True}),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": True}),
    "inception_v3_aux": ("inception_v3", {"aux_logits": True, "init_weights": True}),
}


def measure(models, name: str) -> dict:
    import torch
    from oracles import flop_counter_macs, meta_parameters

    builder, kwargs = VARIANTS.get(name, (name, {}))
    weights = models.get_model_weights(builder).DEFAULT
    crop = weights.transforms.keywords["crop_size"]
    shape = [3, crop, crop]
    with meta_parameters():
        model = getattr(models, builder)(**kwargs).eval()
    macs, out = flop_counter_macs(model, torch.empty(1, *shape, device="meta"))
    return {
        "model": name,
        "builder": builder,
        "kwargs": kwargs,
        "input": shape,
        "params": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "macs": macs,
        "output": list(out.shape[1:]),
        "published": {"weights": str(weights).split(".")[-1], "num_params": weights.meta["num_params"],
                      "gflops": weights.meta.get("_ops")},
        "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="model names (default: every CNN and variant)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from oracles import torch, torchvision_models   # the oracle tests' import of torchvision's model code

    models = torchvision_models()
    import torchvision

    names = args.models or CNNS + sorted(set(VARIANTS) - set(CNNS))
    OUT.mkdir(parents=True, exist_ok=True)
    command = "python3 scripts/make_reference.py" + "".join(f" {n}" for n in args.models)
    for name in names:
        record = {"generated_by": f"{command}  (torchvision {torchvision.__version__.split('+')[0]}, "
                                  f"torch {torch.__version__.split('+')[0]}, meta device)", **measure(models, name)}
        path = OUT / f"{name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, separators=(",", ":")).replace('],["', '],\n["') + "\n")
        tmp.replace(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
