/* bpe.c: see bpe.h. */
#include "bpe.h"

#include <string.h>

#include "util.h"

#define BPE_EMPTY UINT64_MAX

static size_t slot_of(uint64_t key, size_t mask)
{
    key ^= key >> 31;
    key *= 0x9E3779B97F4A7C15ull;  // Fibonacci hashing spreads sequential ids
    return (size_t)(key >> 17) & mask;
}

void bpe_init(Bpe *b, size_t expected)
{
    size_t cap = 64;
    while (cap < 2 * expected) cap *= 2;  // load factor <= 1/2
    b->slots = kop_xmalloc(sizeof *b->slots * cap);
    for (size_t i = 0; i < cap; i++) b->slots[i].key = BPE_EMPTY;
    b->mask = cap - 1;
    b->n_merges = 0;
    for (int i = 0; i < 256; i++) b->byte_id[i] = -1;
    b->unk_id = -1;
}

void bpe_free(Bpe *b)
{
    free(b->slots);
    b->slots = NULL;
}

static void grow(Bpe *b)
{
    BpeMerge *old = b->slots;
    size_t old_cap = b->mask + 1;
    b->slots = kop_xmalloc(sizeof *b->slots * old_cap * 2);
    b->mask = old_cap * 2 - 1;
    for (size_t i = 0; i <= b->mask; i++) b->slots[i].key = BPE_EMPTY;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key == BPE_EMPTY) continue;
        size_t s = slot_of(old[i].key, b->mask);
        while (b->slots[s].key != BPE_EMPTY) s = (s + 1) & b->mask;
        b->slots[s] = old[i];
    }
    free(old);
}

void bpe_add_merge(Bpe *b, int left, int right, int rank, int id)
{
    KOP_ASSERT(left >= 0 && right >= 0);
    if (2 * (b->n_merges + 1) > b->mask + 1) grow(b);
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t s = slot_of(key, b->mask);
    while (b->slots[s].key != BPE_EMPTY && b->slots[s].key != key) s = (s + 1) & b->mask;
    if (b->slots[s].key == BPE_EMPTY) b->n_merges++;
    b->slots[s] = (BpeMerge){key, rank, id};
}

const BpeMerge *bpe_find(const Bpe *b, int left, int right)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t s = slot_of(key, b->mask);; s = (s + 1) & b->mask) {
        if (b->slots[s].key == key) return &b->slots[s];
        if (b->slots[s].key == BPE_EMPTY) return NULL;
    }
}

// ---- merging one word ------------------------------------------------------------

/* A symbol of the word being merged: a doubly linked list over the bytes;
 * len == 0 marks a symbol merged into its left neighbour. */
typedef struct Sym {
    int id, prev, next;
    uint32_t len;
} Sym;

/* A candidate merge of the symbols at pos and its next; min-heap on
 * (rank, pos). */
typedef struct Cand {
    int rank, pos, id;
} Cand;

static int cand_less(Cand a, Cand b) { return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos); }

static void heap_push(Cand *h, size_t *n, Cand c)
{
    size_t i = (*n)++;
    while (i > 0 && cand_less(c, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static Cand heap_pop(Cand *h, size_t *n)
{
    Cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_less(h[c + 1], h[c])) c++;
        if (!cand_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static void push_pair(const Bpe *b, const Sym *sy, int pos, Cand *h, size_t *nh)
{
    const BpeMerge *m = bpe_find(b, sy[pos].id, sy[sy[pos].next].id);
    if (m) heap_push(h, nh, (Cand){m->rank, pos, m->id});
}

/* Room for n symbols and their candidates in sc. */
static void reserve(BpeScratch *sc, size_t n)
{
    if (sc->cap_syms < n) {
        free(sc->syms);
        sc->syms = kop_xmalloc(sizeof(Sym) * (sc->cap_syms = n));
    }
    // Each merge pushes at most two candidates: 3n bounds the heap.
    if (sc->cap_heap < 3 * n) {
        free(sc->heap);
        sc->heap = kop_xmalloc(sizeof(Cand) * (sc->cap_heap = 3 * n));
    }
}

/* Merge the n symbols already in sc->syms and write the result. */
static int merge_all(const Bpe *b, size_t n, BpeScratch *sc, int *ids, uint32_t *lens)
{
    Sym *sy = sc->syms;
    Cand *h = sc->heap;
    size_t nh = 0;
    for (size_t i = 0; i + 1 < n; i++) push_pair(b, sy, (int)i, h, &nh);
    while (nh) {
        Cand c = heap_pop(h, &nh);
        Sym *s = &sy[c.pos];
        if (s->len == 0 || s->next < 0) continue;
        // A stale candidate: the pair changed since it was pushed.
        const BpeMerge *m = bpe_find(b, s->id, sy[s->next].id);
        if (!m || m->id != c.id) continue;
        Sym *r = &sy[s->next];
        s->id = c.id;
        s->len += r->len;
        s->next = r->next;
        r->len = 0;
        if (s->next >= 0) sy[s->next].prev = c.pos;
        if (s->prev >= 0) push_pair(b, sy, s->prev, h, &nh);
        if (s->next >= 0) push_pair(b, sy, c.pos, h, &nh);
    }
    int k = 0;
    for (int i = 0; i >= 0; i = sy[i].next) {
        ids[k] = sy[i].id;
        lens[k++] = sy[i].len;
    }
    return k;
}

int bpe_word(const Bpe *b, const unsigned char *w, size_t n, BpeScratch *sc,
             int *ids, uint32_t *lens)
{
    KOP_ASSERT(n >= 1 && n < (size_t)1 << 30);
    reserve(sc, n);
    Sym *sy = sc->syms;
    for (size_t i = 0; i < n; i++) {
        int id = b->byte_id[w[i]];
        if (id < 0) id = b->unk_id;
        if (id < 0) return -1 - (int)i;
        sy[i] = (Sym){id, (int)i - 1, i + 1 < n ? (int)i + 1 : -1, 1};
    }
    return merge_all(b, n, sc, ids, lens);
}

int bpe_merge(const Bpe *b, int *ids, uint32_t *lens, int n, BpeScratch *sc)
{
    KOP_ASSERT(n >= 1 && n < 1 << 30);
    reserve(sc, (size_t)n);
    Sym *sy = sc->syms;
    for (int i = 0; i < n; i++) {
        KOP_ASSERT(lens[i] > 0);
        sy[i] = (Sym){ids[i], i - 1, i + 1 < n ? i + 1 : -1, lens[i]};
    }
    return merge_all(b, (size_t)n, sc, ids, lens);
}

void bpe_scratch_free(BpeScratch *sc)
{
    free(sc->syms);
    free(sc->heap);
    memset(sc, 0, sizeof *sc);
}
