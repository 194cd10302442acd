#!/usr/bin/python3
"""PyTorch side of the training speed comparison: nanoGPT's CPU "baby GPT" on tinyshakespeare.

The model and recipe are those of nanoGPT's README for a CPU (config/train_shakespeare_char.py
with --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
--lr_decay_iters=2000 --dropout=0.0), with byte tokens instead of nanoGPT's 65 characters
(256 bytes + end-of-text; the text is ASCII, so the two are the same task), the GELU in its
tanh form (libllm's GPT-2), and everything else as nanoGPT has it: pre-norm GPT-2 blocks without
biases, LayerNorm without bias, tied output, N(0, 0.02) init with the residual projections at
0.02/sqrt(2·n_layer), AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on 2-D tensors only,
100 linear warmup steps then cosine to 1e-4 at step 2000, gradient clipping at 1.0.

It is the same recipe as examples/recipes/shakespeare-char.yaml, so `llm bench train` and this
script measure the same work: tokens/s = batch · context · steps / seconds of the training steps
(evaluation excluded). It is a benchmark, not a test: run it by hand, niced, on a quiet machine.

  nice -n 10 /usr/bin/python3 tools/bench/train_torch.py --threads 1,2 --steps 200      # speed only
  nice -n 10 /usr/bin/python3 tools/bench/train_torch.py --threads 1 --steps 2000       # + final val loss

Install Debian's torch with OpenBLAS (`apt-get install python3-torch libopenblas0-pthread`):
with the reference BLAS torch is several times slower, which would flatter the comparison. The
script prints which BLAS library torch loaded and which kernel OpenBLAS chose; unset
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE first so that OpenBLAS picks its kernel for the CPU itself.
"""
import argparse
import json
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None,
                   help="the text (default: ../shared/data/text/tinyshakespeare.txt beside the "
                        "repository)")
    p.add_argument("--threads", default="1,2", help="thread counts to run, e.g. 1,2")
    p.add_argument("--steps", type=int, default=2000,
                   help="training steps per run (the schedule stays the 2000-step one)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--eval-batches", type=int, default=200,
                   help="random validation batches for nanoGPT's estimate (default 200)")
    p.add_argument("--json", default=None, help="also write the results to this file")
    return p.parse_args()


def blas_info(torch):
    """The BLAS library torch loaded and OpenBLAS's kernel, read from the process itself."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if ("blas" in name or "lapack" in name) and name not in libs:
                    libs.append(name)
    except OSError:
        pass
    core = "unknown"
    try:
        import ctypes
        for lib in ("libopenblas.so.0", "libopenblasp.so.0", "libblas.so.3"):
            try:
                h = ctypes.CDLL(lib)
                f = h.openblas_get_corename
                f.restype = ctypes.c_char_p
                core = f().decode()
                cfg = h.openblas_get_config
                cfg.restype = ctypes.c_char_p
                core += " (" + cfg().decode().strip() + ")"
                break
            except (OSError, AttributeError):
                continue
    except ImportError:
        pass
    return libs, core


def main():
    args = parse_args()
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} is set; unset it so that OpenBLAS picks its "
                  f"kernel for this CPU", file=sys.stderr)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = args.data or os.path.join(root, "..", "shared", "data", "text", "tinyshakespeare.txt")
    raw = open(path, "rb").read()
    data = torch.tensor(list(raw), dtype=torch.long)
    n_train = int(0.9 * len(data))
    train_data, val_data = data[:n_train], data[n_train:]

    n_layer, n_head, n_embd, block, batch, vocab = 4, 4, 128, 64, 12, 257
    lr, min_lr, warmup, decay_steps = 1e-3, 1e-4, 100, 2000

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)  # its bias is dropped in GPT.__init__
            self.attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
            self.proj = nn.Linear(n_embd, n_embd, bias=False)
            self.ln_2 = nn.LayerNorm(n_embd)
            self.fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
            self.fc_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.attn(self.ln_1(x)).split(n_embd, dim=2)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
            if hasattr(F, "scaled_dot_product_attention"):
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
                mask = torch.ones(T, T, dtype=torch.bool).tril()
                att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
                y = att @ v
            x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.fc_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, n_embd)
            self.wpe = nn.Embedding(block, n_embd)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("proj.weight",)) \
                        else 0.02
                    nn.init.normal_(p, 0.0, std)
            # LayerNorm without bias (nanoGPT's bias=False; torch 1.13 has no bias= argument)
            for m in self.modules():
                if isinstance(m, nn.LayerNorm) and m.bias is not None:
                    m.bias = None

        def forward(self, idx, targets):
            T = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(T))
            for b in self.blocks:
                x = b(x)
            logits = self.ln_f(x) @ self.wte.weight.t()  # tied output
            return F.cross_entropy(logits.view(-1, vocab), targets.reshape(-1))

    def lr_at(it):  # it is 0-based; libllm's schedule, which is nanoGPT's get_lr()
        if it < warmup:
            return lr * (it + 1) / warmup
        if it >= decay_steps:
            return min_lr
        ratio = (it - warmup) / (decay_steps - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)

    def get_batch(src, gen):
        ix = torch.randint(len(src) - block, (batch,), generator=gen)
        x = torch.stack([src[i:i + block] for i in ix])
        y = torch.stack([src[i + 1:i + 1 + block] for i in ix])
        return x, y

    @torch.no_grad()
    def val_losses(model, gen):
        model.eval()
        est = sum(model(*get_batch(val_data, gen)).item() for _ in range(args.eval_batches))
        est /= args.eval_batches
        # every token of the validation text once: consecutive windows of `block` + 1
        total, count = 0.0, 0
        n_win = (len(val_data) - 1) // block
        for s in range(0, n_win, 64):
            w = torch.arange(s, min(s + 64, n_win))
            x = torch.stack([val_data[i * block:i * block + block] for i in w])
            y = torch.stack([val_data[i * block + 1:i * block + block + 1] for i in w])
            total += model(x, y).item() * x.numel()
            count += x.numel()
        model.train()
        return est, total / count

    libs, core = blas_info(torch)
    print(f"torch {torch.__version__}; BLAS libraries loaded: {', '.join(libs) or 'none seen'}; "
          f"OpenBLAS kernel: {core}")
    results = []
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        torch.manual_seed(args.seed)
        model = GPT()
        n_params = sum(p.numel() for p in model.parameters())
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=lr, betas=(0.9, 0.99))
        gen = torch.Generator().manual_seed(args.seed)
        t_train, loss = 0.0, float("nan")
        for it in range(args.steps):
            for g in opt.param_groups:
                g["lr"] = lr_at(it)
            x, y = get_batch(train_data, gen)
            t0 = time.perf_counter()
            loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            dt = time.perf_counter() - t0
            if it >= 5:  # the first steps warm caches and allocators
                t_train += dt
            if it % 100 == 0 or it == args.steps - 1:
                print(f"  threads {threads} step {it}/{args.steps} loss {loss.item():.4f}",
                      file=sys.stderr, flush=True)
        tok_s = batch * block * (args.steps - 5) / t_train
        est, full = val_losses(model, torch.Generator().manual_seed(args.seed + 1))
        r = {"threads": threads, "steps": args.steps, "params": n_params,
             "tokens_per_s": round(tok_s, 1), "train_loss": round(loss.item(), 4),
             "val_loss_est": round(est, 4), "val_loss_full": round(full, 4)}
        results.append(r)
        print(f"torch threads {threads}: {tok_s:.0f} tokens/s over {args.steps} steps "
              f"({n_params} parameters); train loss {loss.item():.4f}, val loss {est:.4f} "
              f"({args.eval_batches} random batches), {full:.4f} (whole validation text)",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"blas": libs, "openblas_core": core, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
