#!/usr/bin/python3
"""train_demo.py: make kop's demo models and their facts.

    /usr/bin/python3 tools/train-demo/train_demo.py [--out TREE] [--seed N]
        [--models mamba1,mamba2,gpt2,llama] [--threads N] [--epochs N]

Steps, all seeded (the same seed, machine and thread count give the same
bytes):
 1. facts.py makes the knowledge base: 320 fictional people x 6 relations;
 2. bpe.py trains a byte-level BPE tokenizer on its sentences, and the
    script checks what the experiments rely on (every attribute is one
    token, every subject two to four, a prompt's tokens are a prefix of its
    sentence's); Llama gets the same vocabulary written as Llama-3 writes
    its tokenizer, with a BOS "<s>" before every text (bpe.Llama3Style);
 3. each model (MODELS below) is trained with Adam on the sentences until
    the end of its schedule, and must then answer at least 95 % of the
    prompts (top-1 next token = the attribute's token), else the script
    fails;
 4. each is written to TREE/examples/models/NAME-facts/: config.json,
    model.safetensors (F32), tokenizer.json, and reference_logits.json, the
    PyTorch logits of a few prompts that tests/unit/test_demo_models.c
    compares with kop's;
 5. TREE/examples/data/facts.json (ROME's known_1000.json layout; the
    prediction is the Mamba-1 model's greedy continuation) and
    TREE/examples/data/facts-ids.jsonl (the same prompts as token ids with
    the subject's token range and the attribute's token: kop's ids layout,
    and the Python encoder's ids that the test checks kop's tokenizer
    against).

Needs only Debian's python3-torch; kop never runs it.  TREE defaults to the
source tree holding this script.
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

sys.dont_write_bytecode = True
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import bpe  # noqa: E402
import facts as kb  # noqa: E402
import models  # noqa: E402
import safetensors_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def keep_freed_memory():
    """Keep freed blocks in the heap (glibc): every training step allocates
    and frees activations of a few MB, and fresh pages from the kernel cost
    a fault each, which made steps 5-10 times slower on the project's VMs."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(M_TOP_PAD, 256 << 20)
N_SUBJECTS = 320
MIN_ACCURACY = 0.95

# Each model: the Hugging Face config (vocab_size and the token ids are
# filled in once the tokenizer exists) and its training schedule.
#
# conv_kernel is 2, not the usual 4.  A knockout blocks the SSM, never the
# causal convolution, and with width 4 these small models, trained on short
# prompts, learnt to pass the subject to the last token along chains of
# convolutions through the filler (3 positions a layer): blocking subject ->
# last then moved the answer's probability by 1 to 3 % (26 % in the last
# layer), and the flow the experiments look for was not there.  With width
# 2 a chain moves one position a layer, too slow to cross the filler, and
# the subject reaches the last token through the SSM in the middle layers.
MODELS = {
    "mamba1": {
        "config": {
            "architectures": ["MambaForCausalLM"], "model_type": "mamba",
            "hidden_size": 96, "intermediate_size": 192, "state_size": 16, "num_hidden_layers": 8,
            "conv_kernel": 2, "time_step_rank": 6, "expand": 2, "layer_norm_epsilon": 1e-05,
            "use_bias": False, "use_conv_bias": True, "hidden_act": "silu", "residual_in_fp32": True,
            "tie_word_embeddings": True, "time_step_scale": 1.0, "time_step_min": 0.001,
            "time_step_max": 0.1, "time_step_init_scheme": "random", "time_step_floor": 0.0001,
            "rescale_prenorm_residual": False, "use_cache": True, "torch_dtype": "float32",
        },
        "train": {"lr": 3e-3, "epochs": 80, "batch": 64, "smoothing": 0.1},
    },
    "mamba2": {
        "config": {
            "architectures": ["Mamba2ForCausalLM"], "model_type": "mamba2",
            "hidden_size": 96, "num_heads": 8, "head_dim": 24, "state_size": 32, "n_groups": 2,
            "expand": 2, "conv_kernel": 2, "chunk_size": 64, "num_hidden_layers": 8,
            "layer_norm_epsilon": 1e-05, "use_bias": False, "use_conv_bias": True, "hidden_act": "silu",
            "rms_norm": True, "norm_before_gate": False, "residual_in_fp32": True,
            "tie_word_embeddings": False, "time_step_limit": [0.0, float("inf")], "time_step_rank": "auto",
            "time_step_min": 0.001, "time_step_max": 0.1, "time_step_floor": 0.0001,
            "rescale_prenorm_residual": False, "use_cache": True, "torch_dtype": "float32",
        },
        "train": {"lr": 3e-3, "epochs": 80, "batch": 64, "smoothing": 0.1},
    },
    "gpt2": {
        "config": {
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "n_embd": 96, "n_head": 4, "n_layer": 8, "n_positions": 64, "n_ctx": 64, "n_inner": 256,
            "layer_norm_epsilon": 1e-05, "activation_function": "gelu_new", "resid_pdrop": 0.0,
            "embd_pdrop": 0.0, "attn_pdrop": 0.0, "scale_attn_weights": True,
            "tie_word_embeddings": True, "torch_dtype": "float32",
        },
        "train": {"lr": 1e-3, "epochs": 80, "batch": 64, "smoothing": 0.1},
    },
    # Last, since a model's seed is its place in this table.  Llama-3.2-1B's
    # shape in small: grouped-query attention (2 key/value heads for 4 query
    # heads), tied embeddings, no biases.
    "llama": {
        "config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": 96, "intermediate_size": 256, "num_hidden_layers": 8, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 24, "max_position_embeddings": 64, "rms_norm_eps": 1e-05,
            "rope_theta": 10000.0, "hidden_act": "silu", "attention_bias": False, "attention_dropout": 0.0,
            "mlp_bias": False, "tie_word_embeddings": True, "initializer_range": 0.02, "use_cache": True,
            "torch_dtype": "float32",
        },
        "train": {"lr": 2e-3, "epochs": 32, "batch": 64, "smoothing": 0.1},
    },
}


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# Data

def build_tokenizer(facts):
    corpus = [kb.sentence(f["prompt"], f) for f in facts] + kb.PREFIXES + kb.FILLERS
    tok = bpe.train(corpus, n_merges=4096)  # stops when every word is one token
    for rel, _, values in kb.RELATIONS:
        ids = [tok.encode(" " + v) for v in values]
        if any(len(i) != 1 for i in ids) or len({i[0] for i in ids}) != len(ids):
            sys.exit("tokenizer: the %s attributes are not distinct single tokens: %s" % (rel, ids))
    return tok


def llama_tokenizer(tok, facts):
    """tok's vocabulary and merges in Llama-3's form, checked to cut every
    sentence into the same tokens (then the BOS goes before them)."""
    ltok = bpe.Llama3Style(tok.merges)
    for f in facts:
        text = kb.sentence(f["prompt"], f)
        if ltok.encode_special(text) != [ltok.bos_id] + tok.encode(text):
            sys.exit("tokenizer: the Llama-3 form cuts %r differently" % text)
    return ltok


def subject_tokens(tok, prompt, subject):
    """Inclusive range of the tokens (BOS included) that overlap the
    subject's characters."""
    start = prompt.index(subject)
    end = start + len(subject)
    pos, first, last = 0, None, None
    n_special = len(tok.encode_special(""))
    for i, t in enumerate(tok.encode(prompt), start=n_special):
        n = len(tok.decode([t]))
        if pos < end and pos + n > start:
            first = i if first is None else first
            last = i
        pos += n
    return first, last


class Encoded:
    """Token ids of the parts every prompt is made of, so that any prefix
    and filler can be put around any fact without encoding again.  The
    pre-tokenizer splits at each part's boundary (a space or a comma after
    a letter), so the parts' ids laid end to end are the sentence's ids;
    __init__ checks that on every canonical prompt.  The template's special
    tokens (Llama's BOS) go before the prefix."""

    def __init__(self, tok, facts):
        special = tok.encode_special("")
        self.prefix = [special + tok.encode(p) for p in kb.PREFIXES]
        self.filler = [tok.encode(f) for f in kb.FILLERS]
        self.facts = []
        for f in facts:
            subj = tok.encode(" " + f["subject"])
            tail = tok.encode(" %s %s." % (f["verb"], f["attribute"]))  # verb, attribute, "."
            row = {"subject_ids": subj, "tail": tail, "attr": tail[1]}
            ids = self.ids(row, f["prefix"], f["filler"])
            if ids != tok.encode_special(kb.sentence(f["prompt"], f)) or len(tail) != 3:
                sys.exit("tokenizer: fact %d does not split into its parts" % f["known_id"])
            first, last = subject_tokens(tok, f["prompt"], f["subject"])
            row["canonical"] = (f["prefix"], f["filler"])
            row["prompt"] = ids[:-2]
            row["subject"] = [first, last]
            if not 2 <= last - first + 1 <= 4 or first != len(self.prefix[f["prefix"]]):
                sys.exit("tokenizer: subject %r is tokens %d..%d" % (f["subject"], first, last))
            self.facts.append(row)

    def ids(self, row, prefix, filler):
        return self.prefix[prefix] + row["subject_ids"] + self.filler[filler] + row["tail"]

    def batch(self, choices, pad_id):
        """Tensors for facts i with prefix p and filler q, for (i, p, q) in
        choices: ids (B, T) padded, valid (B, T), the position of the verb
        (whose next token is the attribute) and the attribute."""
        seqs = [self.ids(self.facts[i], p, q) for i, p, q in choices]
        T = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
        valid = torch.zeros(len(seqs), T, dtype=torch.bool)
        for k, s in enumerate(seqs):
            ids[k, :len(s)] = torch.tensor(s)
            valid[k, :len(s)] = True
        verb_pos = torch.tensor([len(s) - 3 for s in seqs])
        attr = torch.tensor([self.facts[i]["attr"] for i, _, _ in choices])
        return ids, valid, verb_pos, attr

    def canonical(self, pad_id):
        return self.batch([(i,) + r["canonical"] for i, r in enumerate(self.facts)], pad_id)

    def sample(self, gen, p_canonical=0.5):
        """One epoch: every fact once, in its canonical prompt (p_canonical)
        or else with a random prefix and filler."""
        n = len(self.facts)
        order = torch.randperm(n, generator=gen).tolist()
        keep = (torch.rand(n, generator=gen) < p_canonical).tolist()
        pre = torch.randint(len(self.prefix), (n,), generator=gen).tolist()
        fil = torch.randint(len(self.filler), (n,), generator=gen).tolist()
        return [(i,) + self.facts[i]["canonical"] if keep[i] else (i, pre[i], fil[i]) for i in order]


# ---------------------------------------------------------------------------
# Training

def param_groups(model, weight_decay):
    """Decay matrices only: not norms, biases, A_log, D, dt_bias."""
    decay, rest = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "A_log" not in name else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


@torch.no_grad()
def accuracy(model, data, batch=256):
    ids, valid, verb_pos, attr = data
    was_training = model.training
    model.eval()
    hits = 0
    for s in range(0, len(ids), batch):
        logits = model(ids[s:s + batch])
        pos = verb_pos[s:s + batch]
        top = logits[torch.arange(len(pos)), pos].argmax(-1)
        hits += (top == attr[s:s + batch]).sum().item()
    model.train(was_training)
    return hits / len(ids)


def train(model, enc, pad_id, hp, seed):
    """Adam on next-token cross-entropy over whole sentences, plus the
    attribute's cross-entropy with label smoothing (the attribute position
    is left out of the first term): the smoothing keeps the answer's
    probability near 0.9 instead of 1.0, so knockouts move it visibly."""
    canonical = enc.canonical(pad_id)
    n = len(enc.facts)
    total = hp["epochs"] * math.ceil(n / hp["batch"])
    warmup = min(200, total // 10)
    opt = torch.optim.AdamW(param_groups(model, 0.01), lr=hp["lr"], betas=(0.9, 0.98), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup
        else 0.1 + 0.45 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
    gen = torch.Generator().manual_seed(seed)
    t0 = time.time()
    model.train()
    for epoch in range(hp["epochs"]):
        choices = enc.sample(gen)
        tot_loss = 0.0
        for s in range(0, n, hp["batch"]):
            ids, valid, verb_pos, attr = enc.batch(choices[s:s + hp["batch"]], pad_id)
            B = len(ids)
            logits = model(ids[:, :-1])
            target = ids[:, 1:].masked_fill(~valid[:, 1:], -100)
            target[torch.arange(B), verb_pos] = -100
            loss_all = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
            loss_attr = F.cross_entropy(logits[torch.arange(B), verb_pos], attr, label_smoothing=hp["smoothing"])
            loss = loss_all + loss_attr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            tot_loss += loss.item() * B
        if (epoch + 1) % 5 == 0 or epoch + 1 == hp["epochs"]:
            acc = accuracy(model, canonical)
            log("  epoch %3d  loss %.4f  accuracy %.4f  (%.0f s)" % (epoch + 1, tot_loss / n, acc, time.time() - t0))
    model.eval()
    return acc  # of the last epoch: the model is what export writes


# ---------------------------------------------------------------------------
# Export

def round7(x):
    return float("%.7g" % x)


def reference_cases(model, facts, rows):
    """One prompt per relation (subjects of 2, 3 and 4 tokens in turn) with
    its last-position logits, and the first again with every position's."""
    picks = []
    for j, (rel, _, _) in enumerate(kb.RELATIONS):
        want = 2 + j % 3
        picks.append(next(i for i, (f, r) in enumerate(zip(facts, rows))
                          if f["relation_id"] == rel and r["subject"][1] - r["subject"][0] + 1 == want))
    cases = []
    with torch.no_grad():
        for k, i in enumerate(picks + picks[:1]):
            every = k == len(picks)
            ids = rows[i]["prompt"]
            logits = model(torch.tensor([ids]))[0]
            if not every:
                logits = logits[-1:]
            cases.append({"name": "fact-%d%s" % (facts[i]["known_id"], "-all" if every else ""),
                          "prompt": facts[i]["prompt"], "ids": ids, "all_positions": every,
                          "logits": [[round7(v) for v in row.tolist()] for row in logits]})
    return cases


def export(name, model, cfg, tok, facts, rows, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    safetensors_io.save(list(model.state_dict().items()), os.path.join(out_dir, "model.safetensors"))
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    ref = {"model": "%s-facts" % name,
           "made_by": "tools/train-demo/train_demo.py: the training script's PyTorch forward, float32",
           "tolerance": {"logits_abs": 1e-3},
           "cases": reference_cases(model, facts, rows)}
    with open(os.path.join(out_dir, "reference_logits.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    for _ in range(n):
        ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    return ids[-n:]


KNOWN_1000_KEYS = ["known_id", "subject", "attribute", "template", "prediction", "prompt", "relation_id"]


def write_facts(facts, rows, tok, model, data_dir):
    os.makedirs(data_dir, exist_ok=True)
    records = []
    for f, r in zip(facts, rows):
        rec = dict(f, prediction=tok.decode(greedy(model, r["prompt"], 2)))
        records.append({k: rec[k] for k in KNOWN_1000_KEYS})
    with open(os.path.join(data_dir, "facts.json"), "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")
    with open(os.path.join(data_dir, "facts-ids.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps({"ids": r["prompt"], "subject": r["subject"], "target_id": r["attr"]},
                               separators=(",", ":")) + "\n")


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "..")),
                    help="source tree to write examples/ into (default: this script's tree)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--models", default="mamba1,mamba2,gpt2,llama")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=0, help="override every model's epochs (for trials)")
    ap.add_argument("--min-accuracy", type=float, default=MIN_ACCURACY,
                    help="fail below this accuracy (default %(default)s; lower it to keep a trial's model)")
    args = ap.parse_args()

    keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.use_deterministic_algorithms(True)
    facts = kb.make_facts(args.seed, N_SUBJECTS)
    tok = build_tokenizer(facts)
    enc = Encoded(tok, facts)
    rows = enc.facts
    vocab = (tok.n_ids + 7) // 8 * 8  # padded like real checkpoints; ids >= n_ids are never seen
    ltok = llama_tokenizer(tok, facts)
    lenc = Encoded(ltok, facts)
    if (ltok.n_ids + 7) // 8 * 8 != vocab:
        sys.exit("tokenizer: the BOS makes Llama's vocab_size differ from the others'")
    log("%d facts, %d relations; tokenizer: %d merges, %d ids (vocab_size %d); prompts %d..%d tokens"
        % (len(facts), len(kb.RELATIONS), len(tok.merges), tok.n_ids, vocab,
           min(len(r["prompt"]) for r in rows), max(len(r["prompt"]) for r in rows)))

    for name in args.models.split(","):
        if name not in MODELS:
            sys.exit("--models: no model %r (there are %s)" % (name, ", ".join(MODELS)))
        k = list(MODELS).index(name)  # the seed does not depend on which models run
        spec = MODELS[name]
        mtok, menc = (ltok, lenc) if name == "llama" else (tok, enc)
        cfg = dict(spec["config"], vocab_size=vocab, bos_token_id=mtok.bos_id if mtok.bos_id is not None else tok.eot_id,
                   eos_token_id=tok.eot_id)
        if name != "gpt2":
            cfg["pad_token_id"] = tok.eot_id
        hp = dict(spec["train"])
        if args.epochs:
            hp["epochs"] = args.epochs
        torch.manual_seed(args.seed * 10 + k)
        model = models.build(cfg)
        n_params = sum(p.numel() for p in model.parameters())
        log("%s: %d parameters (%.2f MB as F32), %s" % (name, n_params, n_params * 4 / 1e6, hp))
        acc = train(model, menc, tok.eot_id, hp, args.seed * 10 + k)
        log("%s: accuracy %.4f on %d prompts" % (name, acc, len(rows)))
        if acc < args.min_accuracy:
            sys.exit("%s: accuracy %.4f is below %.2f" % (name, acc, args.min_accuracy))
        export(name, model, cfg, mtok, facts, menc.facts, os.path.join(args.out, "examples", "models", name + "-facts"))
        if name == "mamba1":  # its greedy continuations are the facts' predictions
            write_facts(facts, rows, tok, model, os.path.join(args.out, "examples", "data"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
