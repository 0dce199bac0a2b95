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


def pieces(text):
    if not text.isascii():
        raise ValueError("bpe.py encodes ASCII text only: %r" % text)
    out = PIECE.findall(text)
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
        return [self.vocab[s] for p in pieces(text) for s in self._bpe(p)]

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            if i == self.eot_id:
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
