"""PyTorch eager GPT-2 over the weights of a model built by `npm run model:build` (bench/gpu/run.ts calls this).

Reads the weight manifest written by run.ts (name, dims, offset/length in onnx/model.onnx_data), runs the same
architecture as the ONNX graph (pre-LayerNorm blocks, exact GELU, tied output layer, left padding with
position ids = cumsum(mask) - 1, KV cache) and prints one JSON line:
{"backend", "device", "ids": [[...] per prompt], "tokPerSecB1", "tokPerSecB8"}.

--backend numpy runs the same code on numpy (CPU) so the dry run can check the weight loading and the
architecture against onnxruntime on a machine without PyTorch.
"""
import argparse
import json
import math
import sys
import time

import numpy as np


def load_weights(manifest_path):
    with open(manifest_path) as f:
        manifest = json.load(f)
    files = {}
    weights = {}
    for t in manifest["tensors"]:
        if t["file"] not in files:
            files[t["file"]] = np.memmap(t["file"], dtype=np.uint8, mode="r")
        raw = files[t["file"]][t["offset"] : t["offset"] + t["length"]]
        weights[t["name"]] = np.frombuffer(raw.tobytes(), dtype="<f4").reshape(t["dims"])
    return manifest["config"], weights


def erf(x):
    """Vectorized erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, below float32 resolution of GELU here)."""
    sign = np.sign(x)
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


class Ops:
    """The few array operations the model needs, for torch or numpy."""

    def __init__(self, backend, device):
        self.backend = backend
        if backend == "torch":
            import torch

            self.torch = torch
            self.device = torch.device(device)

    def tensor(self, array):
        if self.backend == "torch":
            return self.torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        return np.asarray(array)

    def layer_norm(self, x, w, b, eps):
        if self.backend == "torch":
            return self.torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w + b

    def gelu(self, x):
        if self.backend == "torch":
            return self.torch.nn.functional.gelu(x)
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    def softmax(self, x):
        if self.backend == "torch":
            return self.torch.softmax(x, dim=-1)
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def cat(self, a, b, axis):
        if self.backend == "torch":
            return self.torch.cat([a, b], dim=axis)
        return np.concatenate([a, b], axis=axis)

    def transpose_last(self, x):
        return x.transpose(-1, -2) if self.backend == "torch" else np.swapaxes(x, -1, -2)

    def permute(self, x, perm):
        return x.permute(*perm) if self.backend == "torch" else np.transpose(x, perm)

    def sync(self):
        if self.backend == "torch" and self.device.type == "cuda":
            self.torch.cuda.synchronize()


class Gpt2:
    def __init__(self, config, weights, ops):
        self.ops = ops
        self.cfg = config
        self.w = {name: ops.tensor(array) for name, array in weights.items()}
        self.n_head = config["n_head"]
        self.n_layer = config["n_layer"]
        self.eps = config["layer_norm_epsilon"]

    def forward(self, ids, mask, pos, past):
        """ids, pos: [B, S] int; mask: [B, T] float (1 keep, 0 pad); past: list of (k, v) or None."""
        o, w = self.ops, self.w
        x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][pos]
        batch, seq = ids.shape
        total = mask.shape[1]
        past_len = total - seq
        query_pos = np.arange(past_len, total)[:, None]
        key_pos = np.arange(total)[None, :]
        causal = np.where(key_pos > query_pos, -1e9, 0.0).astype(np.float32)
        bias = o.tensor(causal[None, None]) + (1 - mask)[:, None, None, :] * -1e9
        d = x.shape[-1]
        hd = d // self.n_head
        presents = []
        for i in range(self.n_layer):
            p = f"transformer.h.{i}"
            h = o.layer_norm(x, w[f"{p}.ln_1.weight"], w[f"{p}.ln_1.bias"], self.eps)
            qkv = h @ w[f"{p}.attn.c_attn.weight"] + w[f"{p}.attn.c_attn.bias"]
            q, k, v = (o.permute(qkv[..., j * d : (j + 1) * d].reshape(batch, seq, self.n_head, hd), (0, 2, 1, 3)) for j in range(3))
            if past is not None:
                k = o.cat(past[i][0], k, 2)
                v = o.cat(past[i][1], v, 2)
            presents.append((k, v))
            att = o.softmax((q @ o.transpose_last(k)) * (1 / math.sqrt(hd)) + bias)
            ctx = o.permute(att @ v, (0, 2, 1, 3)).reshape(batch, seq, d)
            x = x + ctx @ w[f"{p}.attn.c_proj.weight"] + w[f"{p}.attn.c_proj.bias"]
            h = o.layer_norm(x, w[f"{p}.ln_2.weight"], w[f"{p}.ln_2.bias"], self.eps)
            up = o.gelu(h @ w[f"{p}.mlp.c_fc.weight"] + w[f"{p}.mlp.c_fc.bias"])
            x = x + up @ w[f"{p}.mlp.c_proj.weight"] + w[f"{p}.mlp.c_proj.bias"]
        x = o.layer_norm(x[:, -1:, :], w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], self.eps)
        logits = x @ o.transpose_last(w["transformer.wte.weight"])
        return logits[:, -1, :], presents

    def generate(self, prompts, new_tokens):
        """Greedy decoding with KV cache for a left-padded batch; returns the new ids per prompt."""
        o = self.ops
        length = max(len(p) for p in prompts)
        ids = np.array([[0] * (length - len(p)) + list(p) for p in prompts], dtype=np.int64)
        mask = np.array([[0] * (length - len(p)) + [1] * len(p) for p in prompts], dtype=np.float32)
        pos = np.maximum(np.cumsum(mask, axis=1) - 1, 0).astype(np.int64)
        out = [[] for _ in prompts]
        past = None
        feed_ids, feed_pos = ids, pos
        for _ in range(new_tokens):
            logits, past = self.forward(o.tensor(feed_ids), o.tensor(mask), o.tensor(feed_pos), past)
            best = logits.argmax(-1)
            best = best.cpu().numpy() if o.backend == "torch" else best
            for b, t in enumerate(best.tolist()):
                out[b].append(int(t))
            feed_ids = best.reshape(-1, 1).astype(np.int64)
            feed_pos = feed_pos[:, -1:] + 1
            mask = np.concatenate([mask, np.ones((len(prompts), 1), dtype=np.float32)], axis=1)
        return out


def decode_rate(model, prompts, tokens, repeats):
    best = 0.0
    for _ in range(repeats):
        model.ops.sync()
        t = time.perf_counter()
        model.generate(prompts, 1)
        model.ops.sync()
        one = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(prompts, tokens)
        model.ops.sync()
        full = time.perf_counter() - t
        best = max(best, len(prompts) * (tokens - 1) / max(full - one, 1e-9))
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--prompts", required=True, help="JSON file: list of prompt token id lists")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--backend", choices=["torch", "numpy"], default="torch")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    config, weights = load_weights(args.manifest)
    ops = Ops(args.backend, args.device)
    model = Gpt2(config, weights, ops)
    with open(args.prompts) as f:
        prompts = json.load(f)
    context = None
    if args.backend == "torch":
        context = ops.torch.inference_mode()
        context.__enter__()
    ids = [model.generate([p], args.tokens)[0] for p in prompts]
    result = {"backend": args.backend, "device": args.device, "ids": ids}
    if not args.skip_speed:
        model.generate(prompts[:8], 2)  # warm-up (CUDA kernels, allocator)
        result["tokPerSecB1"] = decode_rate(model, prompts[:1], args.tokens, args.repeats)
        result["tokPerSecB8"] = decode_rate(model, (prompts * 8)[:8], args.tokens, args.repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
