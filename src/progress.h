/* progress.h: progress of a long run on stderr.  On a terminal, one line
 * redrawn in place with a bar, the rate and the time left; otherwise (a log
 * file, CI) one line each time another 10 % is done, so logs stay short. */
#ifndef KOP_PROGRESS_H
#define KOP_PROGRESS_H

typedef struct Progress {
    const char *what;   /* e.g. "prompts" */
    long total, done;
    int tty, quiet, last_decile;
    double t0, last_draw;
} Progress;

void progress_start(Progress *p, const char *what, long total, int quiet);
void progress_update(Progress *p, long done);
void progress_end(Progress *p);

#endif
