/* tokenizer_impl.h: the Tokenizer struct, shared by src/tokenizer_load.c
 * (files -> struct) and src/tokenizer.c (encode, decode).  Not API. */
#ifndef KOP_TOKENIZER_IMPL_H
#define KOP_TOKENIZER_IMPL_H

#include <stdint.h>

#include "bpe.h"
#include "tok_text.h"
#include "tokenizer.h"

/* Ids are below this: it bounds the token table a hostile file can ask for. */
#define TOK_MAX_ID (1 << 24)

typedef struct AddedTok {
    char *text;          /* content to match (NFC'd when normalized and the
                            tokenizer normalizes) */
    size_t len;
    int id;
    unsigned char lstrip, rstrip, single_word;
} AddedTok;

/* Added tokens of one kind, sorted by first byte then longest first, so the
 * first that matches at a position is the longest there. */
typedef struct AddedSet {
    AddedTok *v;
    int n;
    int first[257];      /* tokens starting with byte c: v[first[c] .. first[c + 1]) */
} AddedSet;

/* A string -> id hash table (open addressing). */
typedef struct StrEntry {
    const char *s;  /* NULL when unused */
    size_t len;
    int id;
} StrEntry;

typedef struct StrMap {
    StrEntry *v;
    size_t mask;
} StrMap;

void tokp_strmap_init(StrMap *m, size_t n);
/* Insert s -> id; returns the id already stored for s, or -1. */
int tokp_strmap_put(StrMap *m, const char *s, size_t n, int id);
int tokp_strmap_get(const StrMap *m, const char *s, size_t n);

struct Tokenizer {
    char *source;        /* what was loaded, for messages */
    int nfc;             /* the normalizers are NFC or nothing */
    TokNorm *norms;      /* (n_norms) the normalizer, in order */
    int n_norms;
    TokPre *pres;        /* (n_pres) the pre-tokenizer, in order */
    int n_pres;
    int fast;            /* GPT-2 / NeoX form: NFC or nothing, ByteLevel alone
                            (src/pretok.h when split), BPE over bytes */
    int split;           /* fast: the GPT-2 regex (ByteLevel use_regex) */
    int byte_level;      /* tokens are byte-level text (ByteLevel) */
    int byte_fallback, fuse_unk, ignore_merges;
    int fallback_id[256];/* byte_fallback: the id of "<0xNN>", -1 if absent */
    char space_mark[5];  /* the character decoded as a space (e.g. "\u2581") */
    size_t space_mark_len;
    int prefix_space;    /* a leading space marker is added (Prepend, Metaspace
                            first/always, ByteLevel add_prefix_space) */
    int *prefix_ids, n_prefix;  /* the template's special tokens before $A */
    int *suffix_ids, n_suffix;  /* and after it */
    StrMap vocab;        /* model vocabulary (strings in vocab_blob) */
    char *vocab_blob;
    Bpe bpe;
    AddedSet raw;        /* added tokens matched in the original text */
    AddedSet norm;       /* added tokens matched in the normalized text */
    int n_ids;           /* 1 + largest id */
    uint32_t *tok_start; /* (n_ids) decoded bytes of token i: */
    uint32_t *tok_len;   /* (n_ids)   bytes[tok_start[i] .. + tok_len[i]) */
    unsigned char *known;/* (n_ids) 1 if id i is in the vocabulary */
    char *bytes;
};

/* Sort set->v (n tokens) and fill set->first. */
void tokp_added_index(AddedSet *set);

/* Tests: take the general path (Oniguruma, characters) even where the
 * GPT-2 fast path applies, to check that both give the same tokens. */
void tokp_disable_fast_path(Tokenizer *t);

#endif
