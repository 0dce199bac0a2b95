/* pipeline.h: YAML pipelines -- models x recipes -> an output tree, plus
 * figures that compare the models.
 *
 * A pipeline is one YAML mapping (libyaml reads it; no other YAML library):
 *
 *     name: demo                     # default: the file name without .yaml
 *     output: results/demo           # default: results/NAME under the current folder
 *     prompts: ${KNOWN_1000}         # optional: replaces every recipe's prompt sources
 *     limit: 200                     # optional: at most N prompts per run (a recipe's own
 *                                    #   smaller `limit` still applies)
 *     threads: 2                     # optional (kop run --threads wins)
 *     models:                        # required, at least one
 *       - name: mamba-130m           # unique; the folder of its results
 *         dir: ${MODELS}/mamba-130m  # required: a Hugging Face model folder
 *         arch: mamba1               # optional: mamba1, falcon_mamba, mamba2, gpt2, llama, mistral, gpt_neox
 *         layers: 24                 # optional: the layer count
 *         tokenizer: PATH            # optional: tokenizer file or folder (default: dir)
 *       - ../examples/models/gpt2-facts   # shorthand: dir only, named after its folder
 *     recipes:                       # required, at least one
 *       - ../examples/flow.kop
 *       - {file: ../examples/features.kop, archs: [mamba1, mamba2]}
 *       - {file: paper/window-15.kop, min_layers: 15}   # only on models that deep
 *       - {file: paper/flow-own.kop, keep: own}  # not the pipeline's `keep`: its own
 *     figures:                       # optional
 *       - recipe: flow-to-last       # an experiment name, or a list of them
 *         statement: "block subject -> last in layers[k..k+8]"   # or a list; default: all
 *         models: [mamba-130m, gpt2-xl]   # default: every model that ran the recipe(s)
 *         lines: flow-subject.png    # a line plot, one line per model and statement
 *         heatmap: flow-subject-map.png   # and/or a heatmap, one panel per model
 *         title: "subject -> last"   # default: the experiment name(s)
 *         line_by: recipe            # what varies along the lines (recipe, model or
 *         panel_by: statement        #   statement; default model) and across panels
 *                                    #   (default statement); heatmaps: rows and panels
 *         metric: hit                # the metric (default: the recipes' first)
 *         x: depth                   # k (default) or relative depth (models of any depth
 *                                    #   on one axis); band: stderr | ci95 | none;
 *         ylim: [-100, 20]           #   ylim, clim: [A, B]; colors: rdylgn | rdbu | viridis
 *     keep: correct on all           # optional, needs prompts: the clean forward of every
 *                                    #   model first; every recipe then runs on the prompts
 *                                    #   that every model answers correctly (OUTPUT/prompts.csv)
 *
 * Paths written in the file are relative to the file's folder (absolute ones
 * are used as they are); figure paths are relative to the output folder and
 * stay inside it.  The default output folder and `kop run --out DIR` are
 * relative to the current folder, like every command-line path.
 *
 * Variables: every scalar value may use ${NAME} and ${NAME:-DEFAULT} (the
 * default, which may itself use variables, applies when NAME is unset or
 * empty); `$$` is a literal `$`, and a `$` before anything else is kept.
 * NAME comes from `--set NAME=VALUE` first (the last one given wins), then
 * the environment: the command line wins.  An undefined variable without a
 * default is an error.  Keys are not expanded.  An optional key whose value
 * is empty after expansion (`limit: ${LIMIT:-}`) is as if it were absent.
 *
 * `archs` limits a recipe to some architectures (features on a transformer
 * are an error, so feature-knockout recipes list mamba1 and mamba2).  A model
 * whose `arch` is not given goes with every recipe until its config.json is
 * read (at run time).
 * `arch` and `layers` let `kop check PIPELINE.yaml` compile every recipe for
 * every model without the models present; at run time they must agree with
 * the model's config.json.
 *
 * Errors are diagnostics at FILE:LINE:COL (src/diag.h), with the source line
 * and a caret, for YAML syntax (libyaml's problem mark), unknown keys (with
 * the closest known one), missing required keys (at the mapping that lacks
 * one), values of the wrong type and variables; reading goes on after an
 * error so one run lists them all (libyaml itself stops at its first syntax
 * error).  The Pipeline keeps its text and Diag so
 * that later stages (pipeline_run.c: a missing model folder, a recipe that
 * does not compile for a model, an unknown experiment in a figure) report at
 * the place in the file where the thing was written.
 *
 * Ownership: a Pipeline owns everything it points to (an arena, the text,
 * the Diag); pipeline_free releases it all. */
#ifndef KOP_PIPELINE_H
#define KOP_PIPELINE_H

#include <stdio.h>

#include "ast.h"
#include "diag.h"
#include "model.h"
#include "render.h"
#include "util.h"

typedef struct PipeModel {
    const char *name;          /* unique, a valid folder name */
    const char *dir;           /* resolved against the pipeline's folder */
    const char *tokenizer;     /* resolved, or NULL: the model folder */
    Arch arch;                 /* 0: not stated */
    int layers;                /* 0: not stated */
    KopLoc loc, dir_loc, arch_loc, layers_loc;
} PipeModel;

typedef struct PipeRecipe {
    const char *path;          /* resolved */
    unsigned archs;            /* bit (1u << arch) per allowed arch; 0: all */
    int min_layers;            /* runs only on models of at least this many layers (0: any) */
    int keep_own;              /* `keep: own`: its own prompts, not the pipeline's `keep` */
    KopLoc loc;
} PipeRecipe;

/* A scalar or a list of scalars, with where each was written. */
typedef struct PipeList {
    const char **v;
    KopLoc *loc;
    int n;
} PipeList;

typedef struct PipeFigure {
    PipeList recipes;          /* experiment names, at least one */
    PipeList statements;       /* block labels (blanks collapsed); none: all */
    PipeList models;           /* model names; none: every model that ran them */
    const char *lines;         /* relative to the output folder; NULL: none */
    const char *heatmap;
    const char *title;         /* NULL: the experiment name(s) */
    int line_by, panel_by;     /* PIPE_BY_*: what varies along lines, across panels */
    FigureOpts fig;            /* x, band, limits, colours; fig.metric -1: the recipes' first */
    KopLoc loc, metric_loc;
} PipeFigure;

enum { PIPE_BY_RECIPE, PIPE_BY_MODEL, PIPE_BY_STATEMENT };

typedef struct Pipeline {
    const char *path;          /* as given, for messages */
    const char *dir;           /* the file's folder ("." when none) */
    const char *name;
    const char *output;        /* resolved; NULL: results/NAME */
    const char *prompts;       /* resolved; NULL: the recipes' own */
    KopLoc prompts_loc;
    long limit;                /* at most this many prompts per run; 0: no cap */
    int keep_all_correct;      /* `keep: correct on all` */
    KopLoc keep_loc;
    int threads;               /* 0: not given */
    PipeModel *models;
    int n_models;
    PipeRecipe *recipes;
    int n_recipes;
    PipeFigure *figures;
    int n_figures;
    const char *const *sets;   /* the --set NAME=VALUE strings (borrowed) */
    int n_sets;
    Diag *diag;                /* bound to text; reports at FILE:LINE:COL */
    FILE *diag_out;            /* where diagnostics go (recipes' too), or NULL */
    char *text;
    size_t len;
    KopArena *ar;
} Pipeline;

/* Is PATH a pipeline (ends in .yaml or .yml) rather than a recipe? */
int pipeline_is_file(const char *path);

/* Check one --set argument: NAME=VALUE with NAME a variable name.  0, or -1
 * and err (status KOP_EXIT_USAGE). */
int pipeline_check_set(const char *def, KopError *err);

/* Read a pipeline file, expanding variables from sets (n_sets "NAME=VALUE"
 * strings, borrowed: they must outlive the Pipeline) and the environment.
 * Diagnostics go to diag_out (NULL: none).  NULL and err (status 1 after
 * diagnostics, 2 when the file cannot be read) on failure. */
Pipeline *pipeline_load(const char *path, const char *const *sets, int n_sets, FILE *diag_out, KopError *err);
/* The same from text in memory (copied); path names it in messages. */
Pipeline *pipeline_parse(const char *path, const char *text, size_t len, const char *const *sets, int n_sets,
                         FILE *diag_out, KopError *err);
void pipeline_free(Pipeline *p);

// ---- internal to pipeline*.c ----------------------------------------------------

/* A growing NUL-terminated text: {0} is empty; the owner frees s. */
typedef struct PipeBuf {
    char *s;
    size_t n, cap;
} PipeBuf;
void pipelinep_add(PipeBuf *b, const char *s, size_t n);

/* The index of the model named NAME, or -1. */
int pipelinep_model_index(const Pipeline *p, const char *name);

/* Report "unknown WHAT 'NAME'WHERE" at loc, with the closest of names as a
 * hint, or the list of them when none is close. */
void pipelinep_unknown(Diag *d, KopLoc loc, const char *what, const char *name, const char *where,
                       const char *const *names, int n);

/* `keep: correct on all` (pipeline_keep.c): every model's clean forward on
 * the pipeline's prompts; *keep (n_keep, malloc'ed) marks the prompts every
 * model answers correctly; writes OUT/prompts.csv.  0 or -1 with err. */
int pipelinep_keep_all(const Pipeline *p, const char *out, int threads, int quiet, FILE *log, unsigned char **keep,
                       int *n_keep, KopError *err);

// ---- checking and running (pipeline_run.c) -------------------------------------

typedef struct PipelineRunOptions {
    const char *out_dir;       /* NULL: the pipeline's output */
    int threads;               /* 0: the pipeline's, else OpenMP's default */
    int quiet;                 /* no progress on stderr */
    FILE *log;                 /* one line per run and per figure, or NULL */
    long max_tokens;           /* RunOptions.max_tokens of every run */
} PipelineRunOptions;

/* Validate without models: compile every recipe (for each model whose arch
 * and layer count are given, with them), check names in figures.  Prints a
 * summary on out (may be NULL).  0, or -1 and err after diagnostics. */
int pipeline_check(Pipeline *p, FILE *out, KopError *err);

/* Check every model folder and recipe first (nothing runs if anything is
 * wrong), then run each model x recipe into OUTPUT/EXPERIMENT/MODEL/ (the
 * executor's outputs), write OUTPUT/EXPERIMENT/summary.csv (every model's
 * summary, for `kop render`), the figures, and OUTPUT/pipeline.yaml (the
 * file as run, with the --set values).  0, or -1 and err. */
int pipeline_run(Pipeline *p, const PipelineRunOptions *o, KopError *err);

#endif
