/* ast.h: the syntax tree of a .kop recipe, and the arena it lives in.
 *
 * The parser (grammar/kop.y) only builds these nodes; nothing in it looks at
 * names, models or files.  Names stay strings here (a group `subjet`, a
 * metric `prob_chnage`, a variable `j`) so that src/check.c can report them
 * with their location and the closest known name.
 *
 * One node type serves the whole tree: a kind, a source location, up to four
 * children a..d, a `next` link for lists (statements, token ids) and a
 * literal payload.  What the children mean for each kind is listed beside the
 * kind below; ast_dump() prints the tree as one S-expression per statement
 * (`kop check --dump-ast`), which the golden tests compare.
 *
 * Ownership: every node and string is allocated from a KopArena and freed
 * with it, all at once (no per-node frees, so the parser's %destructor has
 * nothing to do and an error halfway through a statement leaks nothing).
 * The compiled plan (src/plan.h) allocates from the same arena. */
#ifndef KOP_AST_H
#define KOP_AST_H

#include <stdio.h>
#include "diag.h"

typedef struct KopArena KopArena;

KopArena *arena_new(void);
void arena_free(KopArena *a);
/* Zeroed, aligned for any type; never NULL. */
void *arena_alloc(KopArena *a, size_t n);
char *arena_strndup(KopArena *a, const char *s, size_t n);

typedef enum {
    /* statements (the file is a `next`-linked list of these) */
    AST_EXPERIMENT,   /* a: STRING name */
    AST_PROMPTS,      /* a: NAME kind (counterfact, jsonl), b: STRING path */
    AST_PROMPT_TEXT,  /* a: STRING text, b: STRING subject, c: STRING target or NULL */
    AST_PROMPT_IDS,   /* a: INT list (next-linked), b: RANGE subject, c: INT target_id or NULL */
    AST_KEEP,         /* a: NAME (correct) */
    AST_LIMIT,        /* a: INT */
    AST_TARGET,       /* a: NAME (prediction, attribute) */
    AST_SWEEP,        /* a: NAME variable, b: RANGE, c: step expression or NULL */
    AST_BLOCK,        /* a: source group, b: destination group, c: layers, d: FEATURES or NULL;
                         str: its `label "TEXT"` or NULL */
    AST_MEASURE,      /* a: NAME metrics (next-linked) */
    AST_OUTPUT,       /* a: NAME kind (csv, heatmap, lines), b: STRING path, c: OPTIONs (next-linked) */
    AST_CORRUPT,      /* a: group, b: NAME method (noise, swap), c: SIGMA or NULL,
                         d: OPTION list (next-linked) or NULL */
    AST_RESTORE,      /* a: NAME hook, b: group, c: layers, d: FREEZE or NULL */
    AST_AGGREGATE,    /* a: NAME variable (t), b: NAME grouping (role) */
    AST_KEEP_IDS,     /* a: INT list (next-linked), or b: STRING file of ids */
    AST_OPTION,       /* a: NAME key, b: NAME or RANGE of two FRACTIONs (numbers) */
    /* token groups */
    AST_GROUP,        /* str: group name (first, last, subject, ...) */
    AST_SUBJ_PART,    /* a: NAME part, `subject.first` / `subject.last` */
    AST_TOKENS,       /* a: index expression, b: end expression or NULL: tokens[a..b], tokens[a] */
    AST_UNION,        /* a | b */
    AST_DIFF,         /* a - b */
    /* integer expressions */
    AST_INT,          /* num */
    AST_VAR,          /* str: k, t, L (or an unknown name) */
    AST_NEG,          /* -a */
    AST_ADD, AST_SUB, AST_MUL, AST_DIV, /* a op b */
    /* layers and features */
    AST_LAYERS,       /* a, b: layers[a..b]; a, b == NULL: layers[*] */
    AST_LAYER,        /* a: layer a, layers[a] */
    AST_FEATURES,     /* a: NAME selection, b: FRACTION or NULL, c: NAME after `except` or NULL */
    AST_FRACTION,     /* real; num/den when written as a ratio (den 0 for a decimal) */
    /* causal tracing */
    AST_SIGMA,        /* a: FRACTION (the number), b: NAME after it (std) or NULL */
    AST_CORRUPT_OPTION, /* str: samples or seed, a: INT */
    AST_FREEZE,       /* a: NAME hook, b: group, c: layers */
    /* leaves */
    AST_NAME,         /* str */
    AST_STRING,       /* str (escapes decoded; may not contain NUL) */
    AST_RANGE,        /* a..b (b may equal a when written [a]) */
    AST_N_KINDS
} AstKind;

typedef struct Ast Ast;
struct Ast {
    AstKind kind;
    KopLoc loc;
    Ast *a, *b, *c, *d;
    Ast *next;
    const char *str;
    long num, den;
    double real;
};

Ast *ast_new(KopArena *ar, AstKind kind, KopLoc loc, Ast *a, Ast *b, Ast *c, Ast *d);
Ast *ast_leaf_str(KopArena *ar, AstKind kind, KopLoc loc, const char *str);
Ast *ast_leaf_int(KopArena *ar, KopLoc loc, long v);
Ast *ast_fraction(KopArena *ar, KopLoc loc, double real, long num, long den);
/* Append item to the list whose head is *head (O(n), lists are short). */
Ast *ast_append(Ast *head, Ast *item);

const char *ast_kind_name(AstKind k);

/* One line per statement: "LINE:COL (kind ...)". */
void ast_dump(FILE *f, Diag *d, const Ast *stmts);
/* A string with C-style escapes, in double quotes. */
void ast_print_string(FILE *f, const char *s);

/* The parser: parse TEXT (reporting through D), return the statement list
 * (NULL for an empty file).  Statements with syntax errors are left out;
 * diag_errors(d) says whether there were any.  Defined in grammar/kop.l. */
Ast *kop_parse(const char *text, size_t len, Diag *d, KopArena *ar);

#endif
