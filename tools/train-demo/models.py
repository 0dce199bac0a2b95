"""models.py: Mamba-1, Mamba-2, GPT-2 and Llama in plain PyTorch, with the
tensor names and the arithmetic of Hugging Face transformers, so that a
state_dict saved from here is a MambaForCausalLM / Mamba2ForCausalLM /
GPT2LMHeadModel / LlamaForCausalLM checkpoint, and kop (src/model_*.c)
computes the same logits from it.

Each model takes ids (B, T) and returns logits (B, T, V).  Causal throughout,
so right-padded batches give every real position the logits it would have
alone.  The references followed, line for line:
 - Mamba-1: transformers' MambaMixer.slow_forward (RMSNorm block, conv1d,
   x_proj -> dt | B | C, softplus(dt_proj), selective scan, D skip, silu(z)
   gate), the lm_head tied to the embeddings;
 - Mamba-2: Mamba2Mixer.torch_forward (in_proj -> z | xBC | dt, conv1d on
   xBC, softplus(dt + dt_bias) clamped to time_step_limit, SSD with one
   scalar decay per head and B, C shared by the heads of a group, D skip,
   RMSNormGated: y * silu(z) then RMS-normalised per group), untied lm_head;
 - GPT-2: GPT2LMHeadModel (pre-LN blocks, Conv1D weights stored [in, out],
   gelu_new, attention scaled by 1/sqrt(head size)), lm_head tied;
 - Llama: LlamaForCausalLM (RMSNorm blocks, rotary embeddings in the
   rotate-half layout, grouped-query attention with repeat_kv, SwiGLU MLP),
   lm_head tied as in Llama-3.2-1B.
The scans are written for short sequences: Mamba-1 steps through time with
the whole batch at once; Mamba-2 builds the T x T decay matrix of each head
(the quadratic form of SSD), exact for any T.

Initialisation follows the Hugging Face _init_weights of each model (dt
drawn log-uniformly in [0.001, 0.1], A_log = log(1..N), D = 1, output
projections scaled down with depth).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        # hidden_states * torch.rsqrt(variance + eps), then * weight
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def _inverse_softplus_dt(n, dt_min=0.001, dt_max=0.1):
    dt = torch.exp(torch.rand(n) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=1e-4)
    return dt + torch.log(-torch.expm1(-dt))


def _causal_depthwise_conv(conv, x, T):
    """x (B, T, Cc) -> silu(conv1d(x)[..., :T]) as (B, T, Cc)."""
    return F.silu(conv(x.transpose(1, 2))[..., :T]).transpose(1, 2)


# ---------------------------------------------------------------------------
# Mamba-1

class Mamba1Mixer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, D, N, R, K = (cfg["hidden_size"], cfg["intermediate_size"], cfg["state_size"],
                         cfg["time_step_rank"], cfg["conv_kernel"])
        self.N, self.R = N, R
        self.in_proj = nn.Linear(C, 2 * D, bias=False)
        self.conv1d = nn.Conv1d(D, D, K, groups=D, padding=K - 1, bias=True)
        self.x_proj = nn.Linear(D, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, D, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(D, 1))
        self.D = nn.Parameter(torch.ones(D))
        self.out_proj = nn.Linear(D, C, bias=False)
        with torch.no_grad():
            std = R ** -0.5
            self.dt_proj.weight.uniform_(-std, std)
            self.dt_proj.bias.copy_(_inverse_softplus_dt(D))
            self.out_proj.weight /= math.sqrt(cfg["num_hidden_layers"])

    def forward(self, h):
        Bsz, T, _ = h.shape
        # x, z = in_proj(hidden_states).chunk(2)
        x, z = self.in_proj(h).chunk(2, dim=-1)               # (B, T, D) each
        # x = act(conv1d(x)[..., :T])
        x = _causal_depthwise_conv(self.conv1d, x, T)
        # dt, B, C = x_proj(x).split([R, N, N]); dt = softplus(dt_proj(dt))
        dt, Bm, Cm = self.x_proj(x).split([self.R, self.N, self.N], dim=-1)
        dt = F.softplus(self.dt_proj(dt))                      # (B, T, D)
        A = -torch.exp(self.A_log)                             # (D, N)
        dA = torch.exp(dt.unsqueeze(-1) * A)                   # (B, T, D, N)
        dBx = (dt * x).unsqueeze(-1) * Bm.unsqueeze(2)         # (B, T, D, N)
        state = h.new_zeros(Bsz, A.shape[0], self.N)
        states = []
        # unbind, not dA[:, t]: the backward of T slices would write T full-size gradients
        for dA_t, dBx_t in zip(dA.unbind(1), dBx.unbind(1)):
            # ssm_state = discrete_A[:, :, i] * ssm_state + deltaB_u[:, :, i]
            state = dA_t * state + dBx_t
            states.append(state)
        # scan_output = ssm_state @ C[:, i], for every i at once
        y = (torch.stack(states, dim=1) * Cm.unsqueeze(2)).sum(-1) + x * self.D
        # scan_output * act(gate); out_proj
        return self.out_proj(y * F.silu(z))


class MambaBlock(nn.Module):
    def __init__(self, cfg, mixer):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        self.mixer = mixer

    def forward(self, h):
        return h + self.mixer(self.norm(h))


class MambaBackbone(nn.Module):
    def __init__(self, cfg, mixer_class):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(MambaBlock(cfg, mixer_class(cfg)) for _ in range(cfg["num_hidden_layers"]))
        self.norm_f = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])
        nn.init.normal_(self.embeddings.weight, std=0.02)

    def forward(self, ids):
        h = self.embeddings(ids)
        for layer in self.layers:
            h = layer(h)
        return self.norm_f(h)


class Mamba1LM(nn.Module):
    """MambaForCausalLM; the head is the embedding matrix (not saved)."""

    def __init__(self, cfg):
        super().__init__()
        self.backbone = MambaBackbone(cfg, Mamba1Mixer)

    def forward(self, ids):
        return self.backbone(ids) @ self.backbone.embeddings.weight.t()


# ---------------------------------------------------------------------------
# Mamba-2

class RMSNormGated(nn.Module):
    def __init__(self, d, n_groups, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.group_size = d // n_groups
        self.eps = eps

    def forward(self, y, gate):
        # hidden_states = hidden_states * silu(gate), then RMS per group
        y = y * F.silu(gate)
        g = y.view(*y.shape[:-1], -1, self.group_size)
        g = g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * g.view(y.shape)


class Mamba2Mixer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, H, P, N, G, K = (cfg["hidden_size"], cfg["num_heads"], cfg["head_dim"], cfg["state_size"],
                            cfg["n_groups"], cfg["conv_kernel"])
        self.H, self.P, self.N, self.G = H, P, N, G
        self.di = H * P
        self.conv_dim = self.di + 2 * G * N
        self.dt_lo, self.dt_hi = cfg["time_step_limit"]
        self.in_proj = nn.Linear(C, 2 * self.di + 2 * G * N + H, bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, K, groups=self.conv_dim, padding=K - 1, bias=True)
        self.dt_bias = nn.Parameter(_inverse_softplus_dt(H))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, H + 1, dtype=torch.float32)))
        self.D = nn.Parameter(torch.ones(H))
        self.norm = RMSNormGated(self.di, G, cfg["layer_norm_epsilon"])
        self.out_proj = nn.Linear(self.di, C, bias=False)
        with torch.no_grad():
            self.out_proj.weight /= math.sqrt(cfg["num_hidden_layers"])

    def forward(self, h):
        Bsz, T, _ = h.shape
        H, P, N, G = self.H, self.P, self.N, self.G
        # gate, hidden_states_B_C, dt = projected_states.split([di, conv_dim, H])
        z, xBC, dt = self.in_proj(h).split([self.di, self.conv_dim, H], dim=-1)
        xBC = _causal_depthwise_conv(self.conv1d, xBC, T)
        x, Bm, Cm = xBC.split([self.di, G * N, G * N], dim=-1)
        x = x.reshape(Bsz, T, H, P)
        # B, C: (B, T, G, N) -> one copy per head of the group
        Bm = Bm.reshape(Bsz, T, G, N).repeat_interleave(H // G, dim=2)
        Cm = Cm.reshape(Bsz, T, G, N).repeat_interleave(H // G, dim=2)
        # dt = softplus(dt + dt_bias), clamped to time_step_limit
        dt = F.softplus(dt + self.dt_bias).clamp(self.dt_lo, self.dt_hi)   # (B, T, H)
        A = -torch.exp(self.A_log)                                          # (H)
        # decay from j to i: exp(sum_{t=j+1..i} dt_t A), zero above the diagonal
        cs = torch.cumsum(dt * A, dim=1)                                    # (B, T, H)
        seg = cs.unsqueeze(2) - cs.unsqueeze(1)                             # (B, i, j, H)
        causal = torch.ones(T, T, dtype=torch.bool, device=h.device).tril().view(1, T, T, 1)
        decay = torch.exp(seg.masked_fill(~causal, float("-inf")))
        # y_i = sum_j (C_i . B_j) decay_ij dt_j x_j + D x_i
        scores = torch.einsum("bihn,bjhn->bijh", Cm, Bm) * decay * dt.unsqueeze(1)
        y = torch.einsum("bijh,bjhp->bihp", scores, x) + self.D.view(1, 1, H, 1) * x
        y = self.norm(y.reshape(Bsz, T, self.di), z)
        return self.out_proj(y)


class Mamba2LM(nn.Module):
    """Mamba2ForCausalLM with its own lm_head (tie_word_embeddings false)."""

    def __init__(self, cfg):
        super().__init__()
        self.backbone = MambaBackbone(cfg, Mamba2Mixer)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        nn.init.normal_(self.lm_head.weight, std=0.02)

    def forward(self, ids):
        return self.lm_head(self.backbone(ids))


# ---------------------------------------------------------------------------
# GPT-2

class Conv1D(nn.Module):
    """transformers' Conv1D: y = x @ weight + bias, weight stored [in, out]."""

    def __init__(self, n_in, n_out, std=0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * std)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, cfg, proj_std):
        super().__init__()
        C = cfg["n_embd"]
        self.n_head = cfg["n_head"]
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C, proj_std)

    def forward(self, x):
        Bsz, T, C = x.shape
        HS = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (t.view(Bsz, T, self.n_head, HS).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, torch.finfo(att.dtype).min).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bsz, T, C)
        return self.c_proj(y)


class GPT2MLP(nn.Module):
    def __init__(self, cfg, proj_std):
        super().__init__()
        C = cfg["n_embd"]
        inner = cfg["n_inner"] or 4 * C
        self.c_fc = Conv1D(C, inner)
        self.c_proj = Conv1D(inner, C, proj_std)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        proj_std = 0.02 / math.sqrt(2 * cfg["n_layer"])
        self.ln_1 = nn.LayerNorm(C, eps=eps)
        self.attn = GPT2Attention(cfg, proj_std)
        self.ln_2 = nn.LayerNorm(C, eps=eps)
        self.mlp = GPT2MLP(cfg, proj_std)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=cfg["layer_norm_epsilon"])
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LM(nn.Module):
    """GPT2LMHeadModel; the head is wte (not saved)."""

    def __init__(self, cfg):
        super().__init__()
        self.transformer = GPT2Model(cfg)

    def forward(self, ids):
        return self.transformer(ids) @ self.transformer.wte.weight.t()


# ---------------------------------------------------------------------------
# Llama

def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg, proj_std):
        super().__init__()
        C = cfg["hidden_size"]
        self.NH, self.NKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.HS = cfg.get("head_dim") or C // self.NH
        self.q_proj = nn.Linear(C, self.NH * self.HS, bias=False)
        self.k_proj = nn.Linear(C, self.NKV * self.HS, bias=False)
        self.v_proj = nn.Linear(C, self.NKV * self.HS, bias=False)
        self.o_proj = nn.Linear(self.NH * self.HS, C, bias=False)
        # LlamaRotaryEmbedding (default rope type): 1 / theta^(2i / d)
        self.register_buffer("inv_freq", 1.0 / cfg["rope_theta"] ** (
            torch.arange(0, self.HS, 2, dtype=torch.int64).float() / self.HS), persistent=False)
        for lin in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.normal_(lin.weight, std=0.02)
        nn.init.normal_(self.o_proj.weight, std=proj_std)

    def forward(self, x):
        Bsz, T, _ = x.shape
        q = self.q_proj(x).view(Bsz, T, self.NH, self.HS).transpose(1, 2)
        k = self.k_proj(x).view(Bsz, T, self.NKV, self.HS).transpose(1, 2)
        v = self.v_proj(x).view(Bsz, T, self.NKV, self.HS).transpose(1, 2)
        # cos, sin of position * inv_freq, each frequency twice (cat(freqs, freqs))
        freqs = torch.arange(T, dtype=torch.float32, device=x.device).unsqueeze(1) * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: key/value head j serves query heads j*n_rep .. (j+1)*n_rep-1
        rep = self.NH // self.NKV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.HS)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, torch.finfo(att.dtype).min).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bsz, T, self.NH * self.HS)
        return self.o_proj(y)


class LlamaMLP(nn.Module):
    def __init__(self, cfg, proj_std):
        super().__init__()
        C, inner = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(C, inner, bias=False)
        self.up_proj = nn.Linear(C, inner, bias=False)
        self.down_proj = nn.Linear(inner, C, bias=False)
        nn.init.normal_(self.gate_proj.weight, std=0.02)
        nn.init.normal_(self.up_proj.weight, std=0.02)
        nn.init.normal_(self.down_proj.weight, std=proj_std)

    def forward(self, x):
        # down_proj(act_fn(gate_proj(x)) * up_proj(x))
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        proj_std = 0.02 / math.sqrt(2 * cfg["num_hidden_layers"])
        self.input_layernorm = RMSNorm(C, eps)
        self.self_attn = LlamaAttention(cfg, proj_std)
        self.post_attention_layernorm = RMSNorm(C, eps)
        self.mlp = LlamaMLP(cfg, proj_std)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(LlamaLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        nn.init.normal_(self.embed_tokens.weight, std=0.02)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class LlamaLM(nn.Module):
    """LlamaForCausalLM with tie_word_embeddings: the head is embed_tokens
    (not saved)."""

    def __init__(self, cfg):
        super().__init__()
        if not cfg.get("tie_word_embeddings"):
            raise ValueError("models.py writes Llama with tied embeddings only")
        self.model = LlamaModel(cfg)

    def forward(self, ids):
        return self.model(ids) @ self.model.embed_tokens.weight.t()


CLASSES = {"mamba": Mamba1LM, "mamba2": Mamba2LM, "gpt2": GPT2LM, "llama": LlamaLM}


def build(cfg):
    return CLASSES[cfg["model_type"]](cfg)
