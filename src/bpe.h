/* bpe.h: byte-pair merges over the bytes of one pre-tokenized piece.
 *
 * The model: each byte starts as the token of its byte-level symbol
 * (byte_id[]), then adjacent pairs are merged, always the pair of lowest
 * merge rank first and the leftmost of equal ranks, until no adjacent pair has
 * a merge.  This is Hugging Face's priority-queue BPE (models/bpe/word.rs)
 * including its rule for stale queue entries, so results match it exactly;
 * it is O(n log n) in the piece length, so a long piece without spaces stays
 * cheap.  There is no per-word cache: bpe_word() only reads the Bpe, so one
 * tokenizer can encode from several threads, each with its own scratch.
 *
 * The merge table maps a pair of token ids to (rank, id of the merged token);
 * it is an open-addressing hash table owned by the Bpe. */
#ifndef KOP_BPE_H
#define KOP_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct BpeMerge {
    uint64_t key;     /* (uint64_t)left << 32 | right; BPE_EMPTY when unused */
    int32_t rank;
    int32_t id;       /* the merged token */
} BpeMerge;

typedef struct Bpe {
    BpeMerge *slots;  /* (mask + 1) */
    size_t mask;
    size_t n_merges;
    int byte_id[256]; /* token of each byte's byte-level symbol, -1 if absent */
    int unk_id;       /* used for a byte without a token, -1 if none */
} Bpe;

/* Per-thread working memory for bpe_word; zero-initialize, bpe_scratch_free. */
typedef struct BpeScratch {
    void *syms, *heap;
    size_t cap_syms, cap_heap;
} BpeScratch;

void bpe_init(Bpe *b, size_t expected_merges);
void bpe_free(Bpe *b);
/* Add or replace the merge left+right -> id with the given rank (a later
 * duplicate replaces an earlier one, as in Hugging Face). */
void bpe_add_merge(Bpe *b, int left, int right, int rank, int id);
/* The merge of (left, right), or NULL. */
const BpeMerge *bpe_find(const Bpe *b, int left, int right);

/* Merge the bytes w[0..n) (n >= 1).  Writes up to n tokens: ids[k] and
 * lens[k], the number of bytes of w token k covers.  Returns the token count,
 * or -1 - i when byte w[i] has no token and there is no unk token. */
int bpe_word(const Bpe *b, const unsigned char *w, size_t n, BpeScratch *sc,
             int *ids, uint32_t *lens);
/* Merge n >= 1 initial symbols (ids[k], covering lens[k] > 0 bytes each) in
 * place: the tokens replace them in ids and lens; returns their count.  For
 * models whose symbols are characters (SentencePiece BPE, or byte-level
 * text already written as characters). */
int bpe_merge(const Bpe *b, int *ids, uint32_t *lens, int n, BpeScratch *sc);
void bpe_scratch_free(BpeScratch *sc);

#endif
