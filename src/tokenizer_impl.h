/* tokenizer_impl.h: the Tokenizer struct, shared by src/tokenizer_load.c
 * (files -> struct) and src/tokenizer.c (encode, decode).  Not API. */
#ifndef KOP_TOKENIZER_IMPL_H
#define KOP_TOKENIZER_IMPL_H

#include <stdint.h>

#include "bpe.h"
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

struct Tokenizer {
    char *source;        /* what was loaded, for messages */
    int nfc;             /* normalizer: NFC */
    int split;           /* pre-tokenizer regex (ByteLevel use_regex) */
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

#endif
