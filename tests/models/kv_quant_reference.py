#!/usr/bin/env python3
"""Independent reference for generation with a quantized KV cache (issue 5).

A float64 Hugging Face Llama forward pass (rotate-half RoPE, GQA, RMSNorm, SwiGLU, tied
embeddings) written from the HF modelling code's definitions with the standard library only,
plus an emulation of mlx's affine KV quantization (mx.quantize: per group of `group_size`
values, the edge of larger magnitude becomes the bias, zero stays exactly representable; codes
rounded half to even; scales and biases in float32, as mlx keeps them for a float32 model).

Decoding follows mlx-lm's generate_step with quantized_kv_start=0: every prompt token but the
last is prefilled in float, the cache is quantized, then each step attends over the dequantized
cache (its own key and value included, quantized on arrival).

With BITS "bf16" the cache instead holds every key and value rounded to bfloat16 (float32, then
round to nearest even), from the first prefill token on, as the cache of a bfloat16 model does.

Usage: kv_quant_reference.py MODEL_DIR GOLDEN_JSONL BITS GROUP_SIZE STEPS   (BITS 0: float cache)
Prints one JSON object per golden prompt: {"id", "tokens", "logits", "margins"}.
"""
import json
import math
import struct
import sys
from operator import mul


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        flat = list(struct.unpack("<%df" % ((b - a) // 4), data[a:b]))
        shape = info["shape"]
        if len(shape) == 2:
            cols = shape[1]
            tensors[name] = [flat[r * cols:(r + 1) * cols] for r in range(shape[0])]
        else:
            tensors[name] = flat
    # Tied embeddings stored once and aliased through __metadata__ (alias -> stored name).
    for alias, stored in header.get("__metadata__", {}).items():
        if stored in tensors and alias not in tensors:
            tensors[alias] = tensors[stored]
    return tensors


def matvec(w, x):
    return [sum(map(mul, row, x)) for row in w]


def rms_norm(x, w, eps):
    s = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [v * s * g for v, g in zip(x, w)]


def rope(x, pos, theta):
    d = len(x)
    half = d // 2
    out = list(x)
    for i in range(half):
        angle = pos * theta ** (-2.0 * i / d)
        c, s = math.cos(angle), math.sin(angle)
        out[i] = x[i] * c - x[i + half] * s
        out[i + half] = x[i + half] * c + x[i] * s
    return out


def bf16(x):
    """x rounded to float32, then to bfloat16 (round to nearest, ties to even)."""
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("<f", struct.pack("<I", u))[0]


def quantize_dequantize(v, group_size, bits):
    """mx.quantize then mx.dequantize of one vector, with mlx's float32 arithmetic."""
    n_bins = float((1 << bits) - 1)
    out = []
    for g in range(0, len(v), group_size):
        w = [f32(x) for x in v[g:g + group_size]]
        mn, mx = min(w), max(w)
        scale = f32(max(f32(f32(mx - mn) / n_bins), 1e-7))
        side = abs(mn) > abs(mx)
        scale = scale if side else -scale
        edge = mn if side else mx
        q0 = round(f32(edge / scale))  # Python rounds half to even, like rint
        bias = 0.0
        if q0 != 0:
            scale = f32(edge / q0)
            bias = edge
        for x in w:
            code = min(max(round(f32(f32(x - bias) / scale)), 0), int(n_bins))
            out.append(f32(f32(code * scale) + bias))
    return out


class Model:
    def __init__(self, model_dir):
        with open(model_dir + "/config.json") as f:
            self.cfg = json.load(f)
        self.w = load_safetensors(model_dir + "/model.safetensors")
        c = self.cfg
        self.heads = c["num_attention_heads"]
        self.kv_heads = c["num_key_value_heads"]
        self.head_dim = c["hidden_size"] // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        self.theta = c["rope_theta"]

    def step(self, token, pos, cache, quantize):
        """One token through the model; cache[l] = (keys, values) lists of per-head vectors."""
        w, hd = self.w, self.head_dim
        x = list(w["model.embed_tokens.weight"][token])
        for l in range(self.layers):
            p = "model.layers.%d." % l
            h = rms_norm(x, w[p + "input_layernorm.weight"], self.eps)
            q = matvec(w[p + "self_attn.q_proj.weight"], h)
            k = matvec(w[p + "self_attn.k_proj.weight"], h)
            v = matvec(w[p + "self_attn.v_proj.weight"], h)
            keys, values = cache[l]
            new_k, new_v = [], []
            for j in range(self.kv_heads):
                kj = rope(k[j * hd:(j + 1) * hd], pos, self.theta)
                vj = v[j * hd:(j + 1) * hd]
                new_k.append(quantize(kj))
                new_v.append(quantize(vj))
            keys.append(new_k)
            values.append(new_v)
            attn = []
            group = self.heads // self.kv_heads
            for i in range(self.heads):
                qi = rope(q[i * hd:(i + 1) * hd], pos, self.theta)
                j = i // group
                scores = [sum(map(mul, qi, kt[j])) / math.sqrt(hd) for kt in keys]
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                z = sum(e)
                o = [0.0] * hd
                for p_t, vt in zip(e, values):
                    for d in range(hd):
                        o[d] += p_t / z * vt[j][d]
                attn.extend(o)
            o = matvec(w[p + "self_attn.o_proj.weight"], attn)
            x = [a + b for a, b in zip(x, o)]
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], self.eps)
            gate = matvec(w[p + "mlp.gate_proj.weight"], h)
            up = matvec(w[p + "mlp.up_proj.weight"], h)
            act = [g / (1.0 + math.exp(-g)) * u for g, u in zip(gate, up)]
            d = matvec(w[p + "mlp.down_proj.weight"], act)
            x = [a + b for a, b in zip(x, d)]
        x = rms_norm(x, w["model.norm.weight"], self.eps)
        return matvec(w["lm_head.weight"], x)


def main():
    model_dir, golden, bits, group, steps = sys.argv[1:6]
    group, steps = int(group), int(steps)
    model = Model(model_dir)
    identity = lambda v: v
    if bits == "bf16":
        quant = lambda v: [bf16(x) for x in v]
        prefill = quant
    else:
        bits = int(bits)
        quant = (lambda v: quantize_dequantize(v, group, bits)) if bits > 0 else identity
        prefill = identity
    with open(golden) as f:
        cases = [json.loads(line) for line in f if line.strip()]
    for case in cases:
        prompt = case["prompt_ids"]
        cache = [([], []) for _ in range(model.layers)]
        for pos, t in enumerate(prompt[:-1]):
            model.step(t, pos, cache, prefill)
        # The cache becomes quantized once the prefill is done.
        for keys, values in cache:
            for lst in (keys, values):
                for t in range(len(lst)):
                    lst[t] = [quant(head) for head in lst[t]]
        token, pos = prompt[-1], len(prompt) - 1
        out = {"id": case["id"], "tokens": [], "logits": [], "margins": []}
        for _ in range(steps):
            logits = model.step(token, pos, cache, quant)
            order = sorted(range(len(logits)), key=lambda i: -logits[i])
            token, pos = order[0], pos + 1
            out["tokens"].append(token)
            out["logits"].append(logits)
            out["margins"].append(logits[order[0]] - logits[order[1]])
        print(json.dumps(out))


if __name__ == "__main__":
    main()
