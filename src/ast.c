/* ast.c: see ast.h.  The arena, node constructors and the AST dumper. */
#include "ast.h"

#include <stdalign.h>
#include <stddef.h>
#include <string.h>

// ---- arena -------------------------------------------------------------------

typedef struct Chunk {
    struct Chunk *prev;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
} Chunk;

struct KopArena {
    Chunk *top;
};

KopArena *arena_new(void)
{
    return kop_xcalloc(1, sizeof(KopArena));
}

void arena_free(KopArena *a)
{
    if (!a) return;
    for (Chunk *c = a->top, *prev; c; c = prev) {
        prev = c->prev;
        free(c);
    }
    free(a);
}

void *arena_alloc(KopArena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = (n + align - 1) / align * align;
    if (!a->top || a->top->cap - a->top->used < n) {
        size_t cap = n > 8192 ? n : 8192;
        Chunk *c = kop_xmalloc(sizeof *c + cap);
        c->prev = a->top;
        c->used = 0;
        c->cap = cap;
        a->top = c;
    }
    void *p = a->top->data + a->top->used;
    a->top->used += n;
    return memset(p, 0, n);
}

char *arena_strndup(KopArena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

// ---- nodes -------------------------------------------------------------------

Ast *ast_new(KopArena *ar, AstKind kind, KopLoc loc, Ast *a, Ast *b, Ast *c, Ast *d)
{
    Ast *n = arena_alloc(ar, sizeof *n);
    n->kind = kind;
    n->loc = loc;
    n->a = a;
    n->b = b;
    n->c = c;
    n->d = d;
    return n;
}

Ast *ast_leaf_str(KopArena *ar, AstKind kind, KopLoc loc, const char *str)
{
    Ast *n = ast_new(ar, kind, loc, NULL, NULL, NULL, NULL);
    n->str = str;
    return n;
}

Ast *ast_leaf_int(KopArena *ar, KopLoc loc, long v)
{
    Ast *n = ast_new(ar, AST_INT, loc, NULL, NULL, NULL, NULL);
    n->num = v;
    return n;
}

Ast *ast_fraction(KopArena *ar, KopLoc loc, double real, long num, long den)
{
    Ast *n = ast_new(ar, AST_FRACTION, loc, NULL, NULL, NULL, NULL);
    n->real = real;
    n->num = num;
    n->den = den;
    return n;
}

Ast *ast_append(Ast *head, Ast *item)
{
    if (!item) return head;
    if (!head) return item;
    Ast *p = head;
    while (p->next) p = p->next;
    p->next = item;
    return head;
}

static const char *const kind_names[AST_N_KINDS] = {
    [AST_EXPERIMENT] = "experiment", [AST_PROMPTS] = "prompts",
    [AST_PROMPT_TEXT] = "prompt", [AST_PROMPT_IDS] = "prompt-ids",
    [AST_KEEP] = "keep", [AST_LIMIT] = "limit", [AST_TARGET] = "target",
    [AST_SWEEP] = "sweep", [AST_BLOCK] = "block", [AST_MEASURE] = "measure",
    [AST_OUTPUT] = "output", [AST_GROUP] = "group", [AST_SUBJ_PART] = "subject",
    [AST_TOKENS] = "tokens", [AST_UNION] = "|", [AST_DIFF] = "-",
    [AST_INT] = "int", [AST_VAR] = "var", [AST_NEG] = "-", [AST_ADD] = "+",
    [AST_SUB] = "-", [AST_MUL] = "*", [AST_DIV] = "/", [AST_LAYERS] = "layers",
    [AST_LAYER] = "layer", [AST_FEATURES] = "features", [AST_FRACTION] = "fraction",
    [AST_NAME] = "name", [AST_STRING] = "string", [AST_RANGE] = "range",
    [AST_CORRUPT] = "corrupt", [AST_RESTORE] = "restore", [AST_AGGREGATE] = "aggregate",
    [AST_SIGMA] = "sigma", [AST_CORRUPT_OPTION] = "corrupt-option", [AST_FREEZE] = "freeze",
    [AST_KEEP_IDS] = "keep-ids", [AST_OPTION] = "option",
};

const char *ast_kind_name(AstKind k)
{
    KOP_ASSERT(k >= 0 && k < AST_N_KINDS);
    return kind_names[k];
}

// ---- dump --------------------------------------------------------------------

void ast_print_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        switch (*s) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if ((unsigned char)*s < 0x20) fprintf(f, "\\x%02x", (unsigned char)*s);
            else fputc(*s, f);
        }
    }
    fputc('"', f);
}

static void dump(FILE *f, const Ast *n);

/* " child" for each non-NULL child, in order. */
static void dump_children(FILE *f, const Ast *a, const Ast *b, const Ast *c)
{
    const Ast *kids[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (kids[i]) {
            fputc(' ', f);
            dump(f, kids[i]);
        }
}

static void dump(FILE *f, const Ast *n)
{
    switch (n->kind) {
    case AST_INT: fprintf(f, "%ld", n->num); return;
    case AST_VAR: case AST_NAME: case AST_GROUP: fputs(n->str, f); return;
    case AST_STRING: ast_print_string(f, n->str); return;
    case AST_SUBJ_PART: fprintf(f, "subject.%s", n->a->str); return;
    case AST_RANGE: dump(f, n->a); fputc(' ', f); dump(f, n->b); return;
    case AST_FRACTION:
        if (n->den) fprintf(f, "%ld/%ld", n->num, n->den);
        else fprintf(f, "%g", n->real);
        return;
    case AST_LAYERS:
        if (!n->a) { fputs("(layers *)", f); return; }
        break;
    case AST_PROMPT_TEXT:
        fputs("(prompt ", f);
        dump(f, n->a);
        fputs(" (subject ", f);
        dump(f, n->b);
        fputc(')', f);
        if (n->c) { fputs(" (target ", f); dump(f, n->c); fputc(')', f); }
        fputc(')', f);
        return;
    case AST_PROMPT_IDS:
        fputs("(prompt-ids (", f);
        for (const Ast *i = n->a; i; i = i->next) fprintf(f, "%s%ld", i == n->a ? "" : " ", i->num);
        fputs(") (subject ", f);
        dump(f, n->b);
        fputc(')', f);
        if (n->c) fprintf(f, " (target-id %ld)", n->c->num);
        fputc(')', f);
        return;
    case AST_SWEEP:
        fputs("(sweep", f);
        dump_children(f, n->a, n->b, NULL);
        if (n->c) { fputs(" (step ", f); dump(f, n->c); fputc(')', f); }
        fputc(')', f);
        return;
    case AST_CORRUPT:
        fputs("(corrupt", f);
        dump_children(f, n->a, n->b, n->c);
        for (const Ast *o = n->d; o; o = o->next) fprintf(f, " (%s %ld)", o->str, o->a->num);
        fputc(')', f);
        return;
    case AST_MEASURE:
        fputs("(measure", f);
        for (const Ast *m = n->a; m; m = m->next) { fputc(' ', f); dump(f, m); }
        fputc(')', f);
        return;
    case AST_KEEP_IDS:
        fputs("(keep-ids ", f);
        if (n->b) dump(f, n->b);
        else {
            fputc('(', f);
            for (const Ast *i = n->a; i; i = i->next) fprintf(f, "%s%ld", i == n->a ? "" : " ", i->num);
            fputc(')', f);
        }
        fputc(')', f);
        return;
    case AST_OUTPUT:
        fputs("(output", f);
        dump_children(f, n->a, n->b, NULL);
        for (const Ast *o = n->c; o; o = o->next) { fputc(' ', f); dump(f, o); }
        fputc(')', f);
        return;
    case AST_OPTION:
        fputc('(', f);
        dump(f, n->a);
        dump_children(f, n->b, NULL, NULL);
        fputc(')', f);
        return;
    case AST_FEATURES:
        fputs("(features ", f);
        dump(f, n->a);
        if (n->c) { fputs(" except ", f); dump(f, n->c); }
        if (n->b) { fputc(' ', f); dump(f, n->b); }
        fputc(')', f);
        return;
    default:
        break;
    }
    /* Generic: (kind child...) */
    fprintf(f, "(%s", ast_kind_name(n->kind));
    dump_children(f, n->a, n->b, n->c);
    if (n->d) { fputc(' ', f); dump(f, n->d); }
    if (n->kind == AST_BLOCK && n->str) { fputs(" (label ", f); ast_print_string(f, n->str); fputc(')', f); }
    fputc(')', f);
}

void ast_dump(FILE *f, Diag *d, const Ast *stmts)
{
    for (const Ast *s = stmts; s; s = s->next) {
        int line, col;
        diag_line_col(d, s->loc.start, &line, &col);
        fprintf(f, "%d:%d ", line, col);
        dump(f, s);
        fputc('\n', f);
    }
}
