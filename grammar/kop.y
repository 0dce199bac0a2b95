/* kop.y: the grammar of .kop recipes (see grammar/GRAMMAR.md).
 *
 * A recipe is a list of statements, one a line.  The actions only build AST
 * nodes (src/ast.h), each with its location; names, variables, layer counts
 * and files are resolved later, in src/check.c and src/plan.c.  Syntax errors
 * are reported through src/diag.h and recovered at the end of the line, so
 * one run lists every broken statement.  A few likely mistakes have rules of
 * their own that say what to write instead: `...` for `..`, a block without
 * `->` or `in`, a block or restore without its layers, a corrupt without
 * `with` and a restore without `at`. */

%code top {
#include "config.h"
}

%code requires {
#include "ast.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* The state shared by the scanner (as its extra data) and the parser. */
typedef struct KopParser {
    Diag *diag;
    KopArena *arena;
    Ast *head, *tail;      /* the statements parsed so far */
    int offset;            /* byte offset of the scanner in the text */
    int at_line_start;     /* the last token was a newline (or none yet) */
} KopParser;

/* A location covering the whole right-hand side (or, for an empty one, the
 * point just after the previous symbol). */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                 \
    do {                                                           \
        if (N) {                                                   \
            (Cur).start = YYRHSLOC(Rhs, 1).start;                  \
            (Cur).end = YYRHSLOC(Rhs, N).end;                      \
        } else {                                                   \
            (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;        \
        }                                                          \
    } while (0)
}

%code provides {
int kop_yylex(KOP_YYSTYPE *yylval, KopLoc *yylloc, yyscan_t scanner, KopParser *p);
}

%code {
#include <string.h>

/* One out-of-memory policy for the whole front end (util.h). */
#define YYMALLOC kop_xmalloc
#define YYFREE free
/* Deep enough for any real recipe; shallow enough that the recursive walks
 * over the tree (check, plan, dump) cannot exhaust the C stack. */
#define YYMAXDEPTH 2000

static void kop_yyerror(const KopLoc *loc, yyscan_t scanner, KopParser *p, const char *msg);

#define NODE(kind, loc, a, b, c, d) ast_new(p->arena, (kind), (loc), (a), (b), (c), (d))
}

// Reentrant: the parser state lives on the stack of kop_yyparse.
%define api.pure full
// Every symbol gets a byte range of the source, for diagnostics.
%locations
%define api.location.type {KopLoc}
// Names the generated symbols kop_yy*, so they cannot clash with a library.
%define api.prefix {kop_yy}
// yyreport_syntax_error below writes our own messages from the expected set.
%define parse.error custom
// Lookahead correction: the expected set at an error is exact, not merged.
%define parse.lac full
// Token enumerators are TOK_*; their aliases are the source spellings.
%define api.token.prefix {TOK_}
// Each token and nonterminal names its C type; no %union.
%define api.value.type union
// yydebug, set by a debugger when needed.
%define parse.trace
%require "3.8"
%expect 0
%param {yyscan_t scanner} {KopParser *p}

%initial-action { @$.start = @$.end = 0; }

%token <char *> STRING "string" IDENT "name"
%token <long> INT "integer"
%token <double> FLOAT "number"
%token NEWLINE "end of line"
%token EXPERIMENT "experiment" PROMPTS "prompts" PROMPT "prompt" IDS "ids"
       SUBJECT "subject" TARGET "target" TARGET_ID "target_id" KEEP "keep"
       LIMIT "limit" SWEEP "sweep" IN "in" STEP "step" BLOCK "block"
       LAYERS "layers" LAYER "layer" FEATURES "features" EXCEPT "except"
       TOKENS "tokens" MEASURE "measure" OUTPUT "output" LABEL "label"
       CORRUPT "corrupt" WITH "with" SAMPLES "samples" SEED "seed" RESTORE "restore"
       AT "at" FREEZE "freeze" AGGREGATE "aggregate" BY "by"
%token ARROW "->" DOTDOT ".." ELLIPSIS "..." DOT "." LBRACKET "[" RBRACKET "]"
       LPAREN "(" RPAREN ")" COMMA "," BAR "|" MINUS "-" PLUS "+" STAR "*" SLASH "/"

%type <Ast *> stmt block layers opt_features fraction opt_fraction
%type <Ast *> corrupt opt_sigma number corrupt_opts corrupt_opt restore opt_freeze hook
%type <Ast *> group expr name string int int_list subj_range opt_target opt_target_id opt_step
%type <Ast *> name_list out_opts out_opt opt_label

/* The tree lives in an arena freed as a whole (ast.h): values popped during
 * error recovery own nothing, so no %destructor is needed. */

%left "|"
%left "+" "-"
%left "*" "/"
%precedence UMINUS

%%

file:
  %empty
| file line
;

line:
  "end of line"
| stmt "end of line"   { if ($1) { if (p->tail) p->tail->next = $1; else p->head = $1; p->tail = $1; } }
| error "end of line"  { yyerrok; }
;

stmt:
  "experiment" string                 { $$ = NODE(AST_EXPERIMENT, @$, $2, NULL, NULL, NULL); }
| "prompts" name string               { $$ = NODE(AST_PROMPTS, @$, $2, $3, NULL, NULL); }
| "prompt" string "subject" string opt_target
                                      { $$ = NODE(AST_PROMPT_TEXT, @$, $2, $4, $5, NULL); }
| "prompt" "ids" "[" int_list "]" "subject" subj_range opt_target_id
                                      { $$ = NODE(AST_PROMPT_IDS, @$, $4, $7, $8, NULL); }
| "keep" name                         { $$ = NODE(AST_KEEP, @$, $2, NULL, NULL, NULL); }
| "keep" "ids" "[" int_list "]"       { $$ = NODE(AST_KEEP_IDS, @$, $4, NULL, NULL, NULL); }
| "keep" "ids" string                 { $$ = NODE(AST_KEEP_IDS, @$, NULL, $3, NULL, NULL); }
| "limit" int                         { $$ = NODE(AST_LIMIT, @$, $2, NULL, NULL, NULL); }
| "target" name                       { $$ = NODE(AST_TARGET, @$, $2, NULL, NULL, NULL); }
| "sweep" name "in" expr dotdot expr opt_step
                                      { Ast *range = NODE(AST_RANGE, ((KopLoc){@4.start, @6.end}), $4, $6, NULL, NULL);
                                        $$ = NODE(AST_SWEEP, @$, $2, range, $7, NULL); }
| block                               { $$ = $1; }
| corrupt                             { $$ = $1; }
| restore                             { $$ = $1; }
| "aggregate" name "by" name          { $$ = NODE(AST_AGGREGATE, @$, $2, $4, NULL, NULL); }
| "measure" name_list                 { $$ = NODE(AST_MEASURE, @$, $2, NULL, NULL, NULL); }
| "output" name string out_opts       { $$ = NODE(AST_OUTPUT, @$, $2, $3, $4, NULL); }
;

block:
  "block" group "->" group "in" layers opt_features opt_label
                                      { $$ = NODE(AST_BLOCK, @$, $2, $4, $6, $7); if ($8) $$->str = $8->str; }
| "block" group group "in" layers opt_features
    { diag_error(p->diag, (KopLoc){@3.start, @3.start},
                 "expected '->' between the source and the destination group");
      $$ = NODE(AST_BLOCK, @$, $2, $3, $5, $6); }
| "block" group "->" group layers opt_features
    { diag_error(p->diag, (KopLoc){@5.start, @5.start}, "expected 'in' before the layers");
      $$ = NODE(AST_BLOCK, @$, $2, $4, $5, $6); }
| "block" group "->" group
    { diag_error(p->diag, (KopLoc){@4.end, @4.end},
                 "a block needs its layers: 'block SRC -> DST in layers[A..B]'");
      $$ = NULL; }
;

/* corrupt GROUP with METHOD [SIGMA [std]] [samples N] [seed S]: the method
 * (noise, swap), `std` and which options go with which method are names and
 * checks of src/check.c, so a misspelt one gets a hint. */
corrupt:
  "corrupt" group "with" name opt_sigma corrupt_opts
                                      { $$ = NODE(AST_CORRUPT, @$, $2, $4, $5, $6); }
| "corrupt" group name opt_sigma corrupt_opts
    { diag_error(p->diag, (KopLoc){@3.start, @3.start},
                 "expected 'with' before the corruption: 'corrupt GROUP with noise SIGMA' or "
                 "'corrupt subject with swap'");
      $$ = NODE(AST_CORRUPT, @$, $2, $3, $4, $5); }
;

opt_sigma:
  %empty                              { $$ = NULL; }
| number                              { $$ = NODE(AST_SIGMA, @$, $1, NULL, NULL, NULL); }
| number name                         { $$ = NODE(AST_SIGMA, @$, $1, $2, NULL, NULL); }
;

opt_label:
  %empty                              { $$ = NULL; }
| "label" string                      { $$ = $2; }
;

name_list:
  name                                { $$ = $1; }
| name_list "," name                  { $$ = ast_append($1, $3); }
;

/* Figure options of an output: `x depth`, `band ci95`, `ylim -0.3..0.3`,
 * `per prompt`; what each means is checked in src/check.c. */
out_opts:
  %empty                              { $$ = NULL; }
| out_opts out_opt                    { $$ = ast_append($1, $2); }
;

out_opt:
  name name                           { $$ = NODE(AST_OPTION, @$, $1, $2, NULL, NULL); }
| name "prompt"                       { $$ = NODE(AST_OPTION, @$, $1, ast_leaf_str(p->arena, AST_NAME, @2, "prompt"), NULL, NULL); }
| name number dotdot number           { $$ = NODE(AST_OPTION, @$, $1,
                                               NODE(AST_RANGE, ((KopLoc){@2.start, @4.end}), $2, $4, NULL, NULL), NULL, NULL); }
;

number:
  "integer"                           { $$ = ast_fraction(p->arena, @$, (double)$1, 0, 0); }
| "number"                            { $$ = ast_fraction(p->arena, @$, $1, 0, 0); }
| "-" "integer"                       { $$ = ast_fraction(p->arena, @$, -(double)$2, 0, 0); }
| "-" "number"                        { $$ = ast_fraction(p->arena, @$, -$2, 0, 0); }
;

corrupt_opts:
  %empty                              { $$ = NULL; }
| corrupt_opts corrupt_opt            { $$ = ast_append($1, $2); }
;

corrupt_opt:
  "samples" int                       { $$ = NODE(AST_CORRUPT_OPTION, @$, $2, NULL, NULL, NULL); $$->str = "samples"; }
| "seed" int                          { $$ = NODE(AST_CORRUPT_OPTION, @$, $2, NULL, NULL, NULL); $$->str = "seed"; }
;

/* restore HOOK at GROUP in LAYERS [freeze HOOK at GROUP in LAYERS] */
restore:
  "restore" hook "at" group "in" layers opt_freeze
                                      { $$ = NODE(AST_RESTORE, @$, $2, $4, $6, $7); }
| "restore" hook group "in" layers opt_freeze
    { diag_error(p->diag, (KopLoc){@3.start, @3.start}, "expected 'at' before the positions: "
                 "'restore HOOK at GROUP in LAYERS'");
      $$ = NODE(AST_RESTORE, @$, $2, $3, $5, $6); }
| "restore" hook "at" group layers opt_freeze
    { diag_error(p->diag, (KopLoc){@5.start, @5.start}, "expected 'in' before the layers");
      $$ = NODE(AST_RESTORE, @$, $2, $4, $5, $6); }
| "restore" hook "at" group
    { diag_error(p->diag, (KopLoc){@4.end, @4.end},
                 "a restore needs its layers: 'restore HOOK at GROUP in layers[A..B]'");
      $$ = NULL; }
;

opt_freeze:
  %empty                              { $$ = NULL; }
| "freeze" hook "at" group "in" layers
                                      { $$ = NODE(AST_FREEZE, @$, $2, $4, $6, NULL); }
;

/* `in` is a keyword and a hook's name. */
hook:
  "name"                              { $$ = ast_leaf_str(p->arena, AST_NAME, @$, $1); }
| "in"                                { $$ = ast_leaf_str(p->arena, AST_NAME, @$, "in"); }
;

opt_target:
  %empty                              { $$ = NULL; }
| "target" string                     { $$ = $2; }
;

opt_target_id:
  %empty                              { $$ = NULL; }
| "target_id" int                     { $$ = $2; }
;

int_list:
  int                                 { $$ = $1; }
| int_list "," int                    { $$ = ast_append($1, $3); }
;

subj_range:
  "[" int dotdot int "]"              { $$ = NODE(AST_RANGE, @$, $2, $4, NULL, NULL); }
| "[" int "]"                         { $$ = NODE(AST_RANGE, @$, $2, $2, NULL, NULL); }
;

opt_step:
  %empty                              { $$ = NULL; }
| "step" expr                         { $$ = $2; }
;

/* `...` is not in the language; accepting it here (with an error) lets the
 * rest of the statement be checked as if `..` had been written. */
dotdot:
  ".."
| "..."  { diag_error(p->diag, @1, "'...' is not a range; write 'A..B' with two dots"); }
;

layers:
  "layers" "[" expr dotdot expr "]"   { $$ = NODE(AST_LAYERS, @$, $3, $5, NULL, NULL); }
| "layers" "[" "*" "]"                { $$ = NODE(AST_LAYERS, @$, NULL, NULL, NULL, NULL); }
| "layers" "[" expr "]"               { $$ = NODE(AST_LAYER, @$, $3, NULL, NULL, NULL); }
| "layer" expr                        { $$ = NODE(AST_LAYER, @$, $2, NULL, NULL, NULL); }
;

opt_features:
  %empty                              { $$ = NULL; }
| "features" name opt_fraction        { $$ = NODE(AST_FEATURES, @$, $2, $3, NULL, NULL); }
| "features" name "except" name fraction
                                      { $$ = NODE(AST_FEATURES, @$, $2, $5, $4, NULL); }
;

opt_fraction:
  %empty                              { $$ = NULL; }
| fraction                            { $$ = $1; }
;

fraction:
  "integer" "/" "integer"             { double f = $3 ? (double)$1 / (double)$3 : 0.0;
                                        $$ = ast_fraction(p->arena, @$, f, $1, $3); }
| "integer"                           { $$ = ast_fraction(p->arena, @$, (double)$1, 0, 0); }
| "number"                            { $$ = ast_fraction(p->arena, @$, $1, 0, 0); }
;

group:
  group "|" group                     { $$ = NODE(AST_UNION, @$, $1, $3, NULL, NULL); }
| group "-" group                     { $$ = NODE(AST_DIFF, @$, $1, $3, NULL, NULL); }
| "(" group ")"                       { $$ = $2; }
| "name"                              { $$ = ast_leaf_str(p->arena, AST_GROUP, @$, $1); }
| "subject"                           { $$ = ast_leaf_str(p->arena, AST_GROUP, @$, "subject"); }
| "subject" "." name                  { $$ = NODE(AST_SUBJ_PART, @$, $3, NULL, NULL, NULL); }
| "tokens" "[" expr dotdot expr "]"   { $$ = NODE(AST_TOKENS, @$, $3, $5, NULL, NULL); }
| "tokens" "[" expr "]"               { $$ = NODE(AST_TOKENS, @$, $3, NULL, NULL, NULL); }
;

expr:
  expr "+" expr                       { $$ = NODE(AST_ADD, @$, $1, $3, NULL, NULL); }
| expr "-" expr                       { $$ = NODE(AST_SUB, @$, $1, $3, NULL, NULL); }
| expr "*" expr                       { $$ = NODE(AST_MUL, @$, $1, $3, NULL, NULL); }
| expr "/" expr                       { $$ = NODE(AST_DIV, @$, $1, $3, NULL, NULL); }
| "-" expr %prec UMINUS               { $$ = NODE(AST_NEG, @$, $2, NULL, NULL, NULL); }
| "(" expr ")"                        { $$ = $2; }
| "integer"                           { $$ = ast_leaf_int(p->arena, @$, $1); }
| "name"                              { $$ = ast_leaf_str(p->arena, AST_VAR, @$, $1); }
;

name:   "name"                        { $$ = ast_leaf_str(p->arena, AST_NAME, @$, $1); } ;
string: "string"                      { $$ = ast_leaf_str(p->arena, AST_STRING, @$, $1); } ;
int:    "integer"                     { $$ = ast_leaf_int(p->arena, @$, $1); } ;

%%

static void kop_yyerror(const KopLoc *loc, yyscan_t scanner, KopParser *p, const char *msg)
{
    (void)scanner;
    if (!strcmp(msg, "memory exhausted")) msg = "nested too deeply";
    diag_error(p->diag, *loc, "%s", msg);
}

static const char *const statement_words[] = {
    "experiment", "prompts", "prompt", "keep", "limit", "target",
    "sweep", "block", "measure", "output", "corrupt", "restore", "aggregate",
};

/* How an expected token is named in a message: source spellings quoted,
 * classes of tokens in words. */
static const char *expected_name(yysymbol_kind_t s, char *buf, size_t n)
{
    switch (s) {
    case YYSYMBOL_IDENT: return "a name";
    case YYSYMBOL_INT: return "an integer";
    case YYSYMBOL_FLOAT: return "a number";
    case YYSYMBOL_STRING: return "a string";
    case YYSYMBOL_NEWLINE: return "the end of the line";
    case YYSYMBOL_YYEOF: return "the end of the file";
    default: break;
    }
    const char *name = yysymbol_name(s);
    size_t len = strlen(name);
    if (len >= 2 && name[0] == '"') { name++; len -= 2; } /* drop bison's quotes */
    snprintf(buf, n, "'%.*s'", (int)len, name);
    return buf;
}

static int in_set(const yysymbol_kind_t *set, int n, yysymbol_kind_t s)
{
    for (int i = 0; i < n; i++)
        if (set[i] == s) return 1;
    return 0;
}

/* Whether the text before offset `at` ends with the word w (blanks skipped). */
static int ends_with_word(const char *text, int at, const char *w)
{
    int n = (int)strlen(w), i = at;
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t')) i--;
    if (i < n || strncmp(text + i - n, w, (size_t)n)) return 0;
    char c = i > n ? text[i - n - 1] : ' ';
    return !(c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
}

/* "unexpected X, expected A, B or C", with special cases for the places
 * where the raw expected set would read badly. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, KopParser *p)
{
    (void)scanner;
    enum { MAXEXP = 64 };
    yysymbol_kind_t exp[MAXEXP], look = yypcontext_token(ctx);
    int n = yypcontext_expected_tokens(ctx, exp, MAXEXP);
    if (n < 0) n = 0;
    KopLoc loc = *yypcontext_location(ctx);
    size_t textlen;
    const char *text = diag_text(p->diag, &textlen);

    char got[96];
    int span = loc.end - loc.start;
    if (look == YYSYMBOL_NEWLINE) snprintf(got, sizeof got, "end of line");
    else if (look == YYSYMBOL_YYEOF) snprintf(got, sizeof got, "end of file");
    else if (span > 40) snprintf(got, sizeof got, "'%.37s...'", text + loc.start);
    else snprintf(got, sizeof got, "'%.*s'", span, text + loc.start);

    /* At the start of a statement the expected set is every statement word. */
    if (in_set(exp, n, YYSYMBOL_EXPERIMENT) && in_set(exp, n, YYSYMBOL_BLOCK)) {
        if (look == YYSYMBOL_IDENT) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", span, text + loc.start);
            const char *near = diag_closest(word, statement_words,
                                            (int)(sizeof statement_words / sizeof *statement_words));
            if (near) {
                diag_error(p->diag, loc, "unknown statement '%s' (did you mean '%s'?)", word, near);
                return 0;
            }
            diag_error(p->diag, loc, "unknown statement '%s'", word);
            return 0;
        }
        diag_error(p->diag, loc, "unexpected %s, expected a statement", got);
        return 0;
    }

    /* After a block's source group the error rule for a missing '->' makes
     * every group start look expected; '->' is what is missing. */
    if (in_set(exp, n, YYSYMBOL_ARROW)) {
        n = 0;
        exp[n++] = YYSYMBOL_ARROW;
    }
    /* After `restore` and `freeze` a hook is expected: a name or `in`. */
    if (n == 2 && in_set(exp, n, YYSYMBOL_IDENT) && in_set(exp, n, YYSYMBOL_IN)) {
        diag_error(p->diag, loc, "unexpected %s, expected a hook (resid, in, conv, ssm, gate, mixer, attn "
                   "or mlp)", got);
        return 0;
    }
    /* After `corrupt GROUP with`, the corruption. */
    if (n == 1 && exp[0] == YYSYMBOL_IDENT && ends_with_word(text, loc.start, "with")) {
        diag_error(p->diag, loc, "unexpected %s, expected the corruption: 'noise SIGMA' or 'swap'", got);
        return 0;
    }
    /* Where a token group may start, say so rather than list its tokens. */
    if (in_set(exp, n, YYSYMBOL_TOKENS)) {
        diag_error(p->diag, loc, "unexpected %s, expected a token group (first, last, subject, "
                   "relation, context, all, tokens[...] or '(')", got);
        return 0;
    }

    char msg[512], buf[32];
    int len = snprintf(msg, sizeof msg, "unexpected %s", got);
    int shown = 0, listed = 0;
    for (int i = 0; i < n; i++)
        if (exp[i] != YYSYMBOL_ELLIPSIS) listed++;
    for (int i = 0; i < n && len < (int)sizeof msg - 64; i++) {
        if (exp[i] == YYSYMBOL_ELLIPSIS) continue; /* accepted only to give a hint */
        const char *sep = shown == 0 ? ", expected " : shown == listed - 1 ? " or " : ", ";
        len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", sep,
                        expected_name(exp[i], buf, sizeof buf));
        shown++;
    }
    diag_error(p->diag, loc, "%s", msg);
    return 0;
}
