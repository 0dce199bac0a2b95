"""bpe.py: a byte-level BPE tokenizer (GPT-2's scheme), trained and saved
as a Hugging Face tokenizer.json.

The pipeline is GPT-2's: split the text with the GPT-2 pre-tokenizer regex,
map every byte of a piece to its printable stand-in (bytes_to_unicode), then
merge adjacent symbols by rank.  Training counts the pieces of the corpus and
repeatedly merges the most frequent adjacent pair (ties: the pair that sorts
first), so the result is a pure function of the corpus.

The regex is written for ASCII text: \\p{L} and \\p{N} become [A-Za-z] and
[0-9].  The knowledge base is ASCII, and encode() refuses anything else
rather than guess; kop's tokenizer (src/pretok.c) implements the full
Unicode classes and agrees on ASCII.

The saved tokenizer.json holds only what kop's loader accepts (see
src/tokenizer.h): a BPE model, no normalizer, the ByteLevel pre-tokenizer
(without prefix space), post-processor and decoder, and one added special
token "<|endoftext|>" with the last id.
"""
import collections
import json
import re

EOT = "<|endoftext|>"
BOS = "<s>"

PIECE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's table: printable Latin-1 bytes stand for themselves, the other
    68 bytes for U+0100 onwards, in byte order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1))
                 + list(range(0xAE, 0xFF + 1)))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_CHAR = bytes_to_unicode()


# Llama-3's Split regex, as its tokenizer.json writes it, and the same for
# ASCII text in Python's syntax.
LLAMA3_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                r"""\s*[\r\n]+|\s+(?!\S)|\s+""")
LLAMA3_PIECE = re.compile(r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|"""
                          r"""\s*[\r\n]+|\s+(?!\S)|\s+""")


def pieces(text, regex=PIECE):
    if not text.isascii():
        raise ValueError("bpe.py encodes ASCII text only: %r" % text)
    out = regex.findall(text)
    assert "".join(out) == text
    return ["".join(BYTE_CHAR[b] for b in p.encode("ascii")) for p in out]


def _merge_word(word, pair, joined):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            out.append(joined)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


class Tokenizer:
    bos_id = None  # GPT-2's form: no special tokens around a text

    def __init__(self, merges):
        self.merges = list(merges)
        self.rank = {m: i for i, m in enumerate(self.merges)}
        self.vocab = {BYTE_CHAR[b]: b for b in range(256)}
        for a, b in self.merges:  # two merges may spell the same token
            self.vocab.setdefault(a + b, len(self.vocab))
        self.eot_id = len(self.vocab)
        self.inverse = {i: s for s, i in self.vocab.items()}
        self.char_byte = {c: b for b, c in BYTE_CHAR.items()}
        self._cache = {}

    @property
    def n_ids(self):
        return self.eot_id + 1

    def _bpe(self, piece):
        """GPT-2's bpe(): merge the lowest-ranked adjacent pair everywhere it
        occurs, left to right, until no pair has a rank."""
        if piece in self._cache:
            return self._cache[piece]
        word = tuple(piece)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.rank.get(p, float("inf")))
            if best not in self.rank:
                break
            word = _merge_word(word, best, best[0] + best[1])
        self._cache[piece] = word
        return word

    def encode(self, text):
        """The text's tokens, without special tokens."""
        return [self.vocab[s] for p in pieces(text) for s in self._bpe(p)]

    def encode_special(self, text):
        """The ids a model is fed (transformers' add_special_tokens=True)."""
        return self.encode(text)

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            if i == self.bos_id:
                data += BOS.encode()
            elif i == self.eot_id:
                data += EOT.encode()
            else:
                data += bytes(self.char_byte[c] for c in self.inverse[i])
        return data.decode("utf-8", errors="replace")

    def to_json(self):
        vocab = dict(self.vocab)
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": self.eot_id, "content": EOT, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                              "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                               "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "vocab": vocab, "merges": ["%s %s" % m for m in self.merges]},
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")


class Llama3Style(Tokenizer):
    """The same vocabulary and merges written as Llama-3 writes its
    tokenizer: the Split regex pre-tokenizer before a ByteLevel without its
    own regex, ignore_merges (a piece that is a token is not merged up), and
    a TemplateProcessing post-processor that puts the BOS "<s>" (one id
    after "<|endoftext|>") before every text, so a prompt's first token is
    the BOS, as for every Llama.  On the facts' ASCII sentences the Split
    regex cuts the pieces GPT-2's does; train_demo.py checks the ids."""

    def __init__(self, merges):
        super().__init__(merges)
        self.bos_id = self.eot_id + 1

    @property
    def n_ids(self):
        return self.bos_id + 1

    def _bpe(self, piece):
        if piece in self.vocab:  # ignore_merges
            return (piece,)
        return super()._bpe(piece)

    def encode(self, text):
        return [self.vocab[s] for p in pieces(text, LLAMA3_PIECE) for s in self._bpe(p)]

    def encode_special(self, text):
        return [self.bos_id] + self.encode(text)

    def to_json(self):
        j = super().to_json()
        j["added_tokens"].append({"id": self.bos_id, "content": BOS, "single_word": False, "lstrip": False,
                                  "rstrip": False, "normalized": False, "special": True})
        j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        j["post_processor"] = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {BOS: {"id": BOS, "ids": [self.bos_id], "tokens": [BOS]}}}]}
        j["model"]["ignore_merges"] = True
        return j


def train(texts, n_merges):
    """Learn n_merges merges from texts (fewer if every piece is one symbol)."""
    counts = collections.Counter(p for t in texts for p in pieces(t))
    words = {tuple(p): n for p, n in counts.items()}
    merges = []
    while len(merges) < n_merges:
        pair_counts = collections.Counter()
        for w, n in words.items():
            for pair in zip(w, w[1:]):
                pair_counts[pair] += n
        if not pair_counts:
            break
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        joined = best[0] + best[1]
        merges.append(best)
        words = {_merge_word(w, best, joined): n for w, n in words.items()}
    return Tokenizer(merges)
