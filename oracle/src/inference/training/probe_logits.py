"""
PyTorch's last-position logits for a fixed token sequence from the trained weights (weights.safetensors in the form
train_gpt.py saves), as JSON on stdout: the fixture test/oracle/inference/training/torchLogits.json, which the
test compares with the ONNX graph's logits to show the export computes what was trained.

usage: python3 probe_logits.py WEIGHTS.safetensors ID [ID ...] > torchLogits.json
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_gpt import Gpt  # noqa: E402


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, base = json.loads(raw[8:8 + n]), 8 + n
    return {k: torch.frombuffer(bytearray(raw[base + v["data_offsets"][0]:base + v["data_offsets"][1]]), dtype=torch.float32).view(v["shape"]) for k, v in header.items()}


def main():
    torch.set_num_threads(1)
    t = load(sys.argv[1])
    ids = [int(x) for x in sys.argv[2:]]
    vocab, d = t["transformer.wte.weight"].shape
    positions = t["transformer.wpe.weight"].shape[0]
    layers = len({k.split(".")[2] for k in t if k.startswith("transformer.h.")})
    heads = int(os.environ.get("N_HEAD", "4"))
    m = Gpt(vocab, positions, d, layers, heads, 1e-5)
    state = {"wte.weight": t["transformer.wte.weight"], "wpe.weight": t["transformer.wpe.weight"],
             "ln_f.weight": t["transformer.ln_f.weight"], "ln_f.bias": t["transformer.ln_f.bias"]}
    names = {"ln_1": "ln_1", "ln_2": "ln_2", "c_attn": "attn.c_attn", "c_proj": "attn.c_proj", "c_fc": "mlp.c_fc", "mlp_proj": "mlp.c_proj"}
    for i in range(layers):
        for ours, theirs in names.items():
            w = t[f"transformer.h.{i}.{theirs}.weight"]
            state[f"blocks.{i}.{ours}.weight"] = w if ours.startswith("ln_") else w.t().contiguous()
            state[f"blocks.{i}.{ours}.bias"] = t[f"transformer.h.{i}.{theirs}.bias"]
    m.load_state_dict(state)
    m.eval()
    with torch.no_grad():
        logits = m(torch.tensor([ids]))[0]
    json.dump({"ids": ids, "lastLogits": [round(v, 6) for v in logits[-1].tolist()]}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
