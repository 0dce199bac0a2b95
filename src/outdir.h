/* outdir.h: the output folder of a run or a pipeline, kept safe from
 * other runs, from an earlier run's leftovers and from symbolic links.
 *
 * outdir_open() makes the folder (mkdir -p), then takes an advisory lock on
 * FOLDER/.lock (fcntl, so it holds on NFS too and vanishes when the process
 * dies, however it dies).  The lock file holds the holder's pid, host, start
 * time and command, so a second run into a locked folder is refused with an
 * error naming the run that holds it (exit 2).  With the lock held it clears
 * what an earlier run left that the new one would otherwise show as its
 * own: the files that run recorded as its outputs (FOLDER/.kop-outputs:
 * figures, summary copies), its summary.csv, and every temporary file
 * (NAME.tmp, NAME.tmpPID-N) of those and of the standard files.  rows.csv
 * and manifest.yaml are left to the caller, which rewrites them first thing.
 *
 * Files are written only inside the folder.  outdir_file() turns the name of
 * an output (relative, from a recipe or a pipeline) into its path: the name
 * is checked again (outdir_name_problem), every subfolder on the way is made
 * or must be a real folder (never a symbolic link, and its resolved path
 * must lie inside the folder's), and the name is recorded in .kop-outputs
 * before anything is written, so a run killed while writing it still leaves
 * a record for the next run to clear.  outdir_create() opens a file for
 * writing without following a symbolic link of that name (O_NOFOLLOW);
 * files written under a temporary name and renamed (util.h) replace a link
 * rather than write through it.
 *
 * The folder given by the user (or made from results/EXPERIMENT/MODEL) is
 * taken as it is: a link there was put there on purpose. */
#ifndef KOP_OUTDIR_H
#define KOP_OUTDIR_H

#include <stdio.h>

#include "util.h"

typedef struct OutDir {
    char *path;     /* the folder (owned) */
    int lock_fd;    /* FOLDER/.lock, locked; -1 when not open */
} OutDir;

/* Make and lock the folder PATH for a run described by RUN_LABEL (the
 * command, for the lock file).  0, or -1 and err: status 2 with the other
 * run named when the folder is locked. */
int outdir_open(OutDir *o, const char *path, const char *run_label, KopError *err);
/* Clear what an earlier run left that this one will write again: its
 * summary, the outputs it recorded, temporary files.  rows.csv and the
 * journal stay (run.c resumes from them or starts them over). */
void outdir_clear(OutDir *o);
/* Unlock and free; the lock file stays (removing it would race with a run
 * that opened it and waits for the lock). */
void outdir_release(OutDir *o);

/* What is wrong with REL as the name of an output written inside the
 * folder, as a phrase ("is empty", "is the standard file rows.csv"), or
 * NULL when it is fine: empty, absolute, a '.' or '..' or empty component, a
 * trailing slash, a standard file of the folder, a temporary name. */
const char *outdir_name_problem(const char *rel);

/* The path of output REL inside folder DIR (new string, caller frees),
 * subfolders made, REL recorded as an output; NULL and err (status 1 for a
 * bad name or a symbolic link on the way, 2 for system errors). */
char *outdir_file(const char *dir, const char *rel, KopError *err);

/* Open DIR/NAME for writing, truncated, never through a symbolic link. */
FILE *outdir_create(const char *dir, const char *name, KopError *err);

#endif
