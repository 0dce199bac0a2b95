#!/usr/bin/python3
"""check_reference.py: check models.py against the independent references.

Loads each checkpoint of ../shared/reference (random-weight Mamba-1, Mamba-2,
GPT-2 and Llama models with logits computed by mamba-minimal, mamba2-minimal,
minGPT and llama2.c's model.py) into the PyTorch models of models.py and
compares the logits of every "forward" case.  Run it after touching models.py:

    /usr/bin/python3 tools/train-demo/check_reference.py [SHARED_DIR]

SHARED_DIR defaults to $KOP_SHARED or ../shared beside the source tree.
Exits 1 when any case differs by more than the reference's tolerance.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402

import models  # noqa: E402
import safetensors_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def load_reference(path):
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    model = models.build(cfg)
    weights = safetensors_io.load(os.path.join(path, "model.safetensors"))
    if cfg["model_type"] == "gpt2":
        weights = {k if k.startswith("transformer.") else "transformer." + k: v for k, v in weights.items()}
    model.load_state_dict(weights, strict=True)
    return model.eval()


def main():
    shared = (sys.argv[1] if len(sys.argv) > 1
              else os.environ.get("KOP_SHARED") or os.path.join(HERE, "..", "..", "..", "shared"))
    worst_all = 0.0
    failed = False
    for name in ("mamba1-tiny", "mamba2-tiny", "gpt2-tiny", "llama-tiny"):
        path = os.path.join(shared, "reference", name)
        model = load_reference(path)
        with open(os.path.join(path, "expected.json")) as f:
            expected = json.load(f)
        tol = expected["tolerance"]["logits_abs"]
        for case in expected["cases"]:
            if case["kind"] != "forward":
                continue
            with torch.no_grad():
                got = model(torch.tensor([case["ids"]]))[0]
            diff = (got - torch.tensor(case["logits"])).abs().max().item()
            worst_all = max(worst_all, diff)
            ok = diff <= tol
            failed |= not ok
            print("%-4s %s %s: max |diff| %.3g (tolerance %g)" % ("ok" if ok else "FAIL", name, case["name"], diff, tol))
    print("worst %.3g" % worst_all)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
