"""
Trains the seed's GPT (token + position embeddings -> pre-LayerNorm blocks -> final LayerNorm -> output layer tied
to the token embedding) on token ids written by `npm run model:train`, and saves the weights as safetensors with
transformers' GPT2LMHeadModel names and layout (linear weights as [in, out], like GPT-2's Conv1D), which the
TypeScript graph builder turns into the ONNX model.

Run with Debian's python3 (python3-torch). Reproducibility: one thread, a fixed seed, deterministic algorithms
and a fixed batch order give the same weights, bit for bit, on the same CPU and torch build; another CPU (other
SIMD kernels) or torch version gives different bits and a held-out loss within the tolerance stated in
docs/inference.md.

usage: python3 train_gpt.py --data DIR --out DIR [--steps N] [--seed S] ...  (see --help)
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def linear(x, layer):
    """x @ W^T + b as a 1x1 convolution over one-pixel images: Debian's torch links the reference BLAS
    (~5 GFLOP/s on one core), while convolutions with a batch of 16 or more run through oneDNN (30-80 GFLOP/s)."""
    n, d_in = x.numel() // x.shape[-1], x.shape[-1]
    out = F.conv2d(x.reshape(n, d_in, 1, 1), layer.weight.view(-1, d_in, 1, 1), getattr(layer, "bias", None))
    return out.view(*x.shape[:-1], -1)


def batched_matmul(a, b):
    """a [B, H, T, K] @ b [B, H, K, N] as a grouped 1x1 convolution (one group per head) with the T rows as the
    batch, for the same reason as `linear` (bmm goes through the reference BLAS)."""
    bsz, heads, t, k = a.shape
    n = b.shape[-1]
    inp = a.permute(2, 0, 1, 3).reshape(t, bsz * heads * k, 1, 1)
    weight = b.transpose(-1, -2).reshape(bsz * heads * n, k, 1, 1)
    return F.conv2d(inp, weight, groups=bsz * heads).view(t, bsz, heads, n).permute(1, 2, 0, 3)


class Block(nn.Module):
    def __init__(self, d, heads, eps):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, causal):
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = linear(self.ln_1(x), self.c_attn).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        scores = batched_matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        scores = scores.masked_fill(causal[:t, :t], float("-inf"))
        context = batched_matmul(F.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, d)
        x = x + linear(context, self.c_proj)
        # exact (erf) GELU, as the ONNX graph computes it
        return x + linear(F.gelu(linear(self.ln_2(x), self.c_fc)), self.mlp_proj)


class Gpt(nn.Module):
    def __init__(self, vocab, positions, d, layers, heads, eps):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.blocks = nn.ModuleList(Block(d, heads, eps) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=eps)
        self.register_buffer("causal", torch.triu(torch.ones(positions, positions, dtype=torch.bool), diagonal=1), persistent=False)
        # GPT-2's initialization: N(0, 0.02), residual projections scaled by 1/sqrt(2 * layers)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif ".ln_" in name or name.startswith("ln_f"):
                nn.init.ones_(p)
            else:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("c_proj.weight") or name.endswith("mlp_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(t))
        for block in self.blocks:
            x = block(x, self.causal)
        return linear(self.ln_f(x), self.wte)


def read_ids(path):
    with open(path, "rb") as f:
        data = f.read()
    return torch.tensor(memoryview(data).cast("H"), dtype=torch.int64)


def gpt2_state(model):
    """transformers' GPT2LMHeadModel names; linear weights transposed to [in, out] (GPT-2's Conv1D layout)."""
    out = {"transformer.wte.weight": model.wte.weight, "transformer.wpe.weight": model.wpe.weight}
    for i, b in enumerate(model.blocks):
        p = f"transformer.h.{i}"
        out[f"{p}.ln_1.weight"], out[f"{p}.ln_1.bias"] = b.ln_1.weight, b.ln_1.bias
        out[f"{p}.attn.c_attn.weight"], out[f"{p}.attn.c_attn.bias"] = b.c_attn.weight.t(), b.c_attn.bias
        out[f"{p}.attn.c_proj.weight"], out[f"{p}.attn.c_proj.bias"] = b.c_proj.weight.t(), b.c_proj.bias
        out[f"{p}.ln_2.weight"], out[f"{p}.ln_2.bias"] = b.ln_2.weight, b.ln_2.bias
        out[f"{p}.mlp.c_fc.weight"], out[f"{p}.mlp.c_fc.bias"] = b.c_fc.weight.t(), b.c_fc.bias
        out[f"{p}.mlp.c_proj.weight"], out[f"{p}.mlp.c_proj.bias"] = b.mlp_proj.weight.t(), b.mlp_proj.bias
    out["transformer.ln_f.weight"], out["transformer.ln_f.bias"] = model.ln_f.weight, model.ln_f.bias
    return {k: v.detach().contiguous().float() for k, v in out.items()}


def save_safetensors(tensors, path):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.numpy().astype("<f4").tobytes() if hasattr(t, "numpy") else bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


@torch.no_grad()
def mean_loss(model, ids, context, batch):
    """Mean next-token loss over consecutive non-overlapping windows of `ids` (every target counted once)."""
    model.eval()
    n = (len(ids) - 1) // context
    total, count = 0.0, 0
    for start in range(0, n, batch):
        rows = range(start, min(n, start + batch))
        x = torch.stack([ids[r * context:(r + 1) * context] for r in rows])
        y = torch.stack([ids[r * context + 1:(r + 1) * context + 1] for r in rows])
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder with train.bin, heldout.bin (uint16 ids) and meta.json")
    ap.add_argument("--out", required=True, help="folder for weights.safetensors and training.json")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--eval-tokens", type=int, default=131072, help="tokens of each split the final losses are measured on")
    ap.add_argument("--log-every", type=int, default=100)
    a = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)
    with open(os.path.join(a.data, "meta.json")) as f:
        meta = json.load(f)
    train, heldout = read_ids(os.path.join(a.data, "train.bin")), read_ids(os.path.join(a.data, "heldout.bin"))
    vocab = meta["vocab_size"]
    model = Gpt(vocab, a.context, a.n_embd, a.n_layer, a.n_head, 1e-5)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    schedule = lambda s: min(1.0, (s + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    gen = torch.Generator().manual_seed(a.seed)
    print(f"params {params:,}, train {len(train):,} tokens, held-out {len(heldout):,} tokens, {a.steps} steps of {a.batch}x{a.context}", flush=True)
    started, running, log = time.time(), 0.0, []
    for step in range(a.steps):
        for group in opt.param_groups:
            group["lr"] = a.lr * schedule(step)
        starts = torch.randint(0, len(train) - a.context - 1, (a.batch,), generator=gen)
        x = torch.stack([train[s:s + a.context] for s in starts.tolist()])
        y = torch.stack([train[s + 1:s + a.context + 1] for s in starts.tolist()])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        if (step + 1) % a.log_every == 0:
            log.append({"step": step + 1, "loss": round(running / a.log_every, 4)})
            print(f"step {step + 1}/{a.steps} loss {running / a.log_every:.4f} ({time.time() - started:.0f} s)", flush=True)
            running = 0.0
    train_seconds = time.time() - started
    train_loss = mean_loss(model, train[: a.eval_tokens + 1], a.context, 64)
    heldout_loss = mean_loss(model, heldout[: a.eval_tokens + 1], a.context, 64)
    print(f"train loss {train_loss:.4f} (ppl {math.exp(train_loss):.2f}), held-out loss {heldout_loss:.4f} (ppl {math.exp(heldout_loss):.2f}), {train_seconds:.0f} s", flush=True)
    os.makedirs(a.out, exist_ok=True)
    save_safetensors(gpt2_state(model), os.path.join(a.out, "weights.safetensors"))
    summary = {
        "params": params,
        "hyperparameters": {k: getattr(a, k) for k in ("steps", "batch", "context", "n_embd", "n_layer", "n_head", "lr", "warmup", "weight_decay", "seed", "eval_tokens")},
        "train_tokens_seen": a.steps * a.batch * a.context,
        "train_loss": round(train_loss, 4),
        "heldout_loss": round(heldout_loss, 4),
        "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__,
        "log": log,
    }
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
