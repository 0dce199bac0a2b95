/* test_render_csv.c: reading summary.csv (RFC 4180 quoting, any column
 * order, optional metric column) and arranging it as PlotData. */
#include <math.h>

#include "summary_csv.h"
#include "tap.h"

#define HEAD "experiment,model,statement,k,t,n,mean,stderr,ci95\n"

static int parse(const char *text, Summary *s, KopError *err)
{
    return summary_parse(text, strlen(text), "s.csv", s, err);
}

/* Parse text expecting failure; the message must contain want. */
static void parse_fails(const char *text, const char *want, const char *what)
{
    Summary s;
    KopError err = {0};
    int rc = parse(text, &s, &err);
    ok(rc == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, want), "%s: %s", what, err.msg);
}

static double at(const SummaryPlot *p, int s, int r, int i) { return PLOT_AT(&p->d, p->d.mean, s, r, i); }

int main(void)
{
    Summary s;
    SummaryPlot p;
    KopError err = {0};

    /* quoting: commas, doubled quotes, a line break; CRLF; a BOM */
    const char *quoted = "\xef\xbb\xbf" HEAD
                         "flow,m,\"block subject -> last in layers[k-4..k+4]\",3,,672,-0.25,0.01,0.02\r\n"
                         "flow,m,\"say \"\"hi\"\", then, go\",,,672,0.5,,\r\n"
                         "flow,m,\"two\nlines\",1,,10,nan,0.1,0.2\r\n";
    ok(parse(quoted, &s, &err) == 0, "quoted fields, CRLF and a BOM parse (%s)", err.msg);
    is_int(s.n_rows, 3, "three rows");
    is_str(s.rows[1].statement, "say \"hi\", then, go", "doubled quotes and commas inside quotes");
    is_str(s.rows[2].statement, "two\nlines", "a line break inside quotes");
    is_int(s.rows[2].line, 4, "rows remember their line");
    ok(s.rows[0].has_k && s.rows[0].k == 3 && !s.rows[0].has_t, "k is read, empty t is absent");
    ok(!s.rows[1].has_k && isnan(s.rows[1].se) && isnan(s.rows[1].ci95), "empty k and empty numbers");
    ok(isnan(s.rows[2].mean) && s.rows[2].n == 10, "'nan' is a missing mean");
    is_float(s.rows[0].mean, -0.25, 0, "mean");
    ok(s.rows[0].metric == NULL, "no metric column, no metric");
    summary_free(&s);

    /* columns in another order, an unknown column, a metric column */
    ok(parse("mean,stderr,n,t,k,statement,model,experiment,extra,metric\n0.5,0.1,5,,2,a,m,e,zz,prob\n", &s, &err) == 0,
       "columns may come in any order, with unknown ones ignored");
    ok(s.rows[0].k == 2 && s.rows[0].n == 5 && !strcmp(s.rows[0].metric, "prob") && !strcmp(s.rows[0].model, "m"),
       "and are found by name");
    summary_free(&s);

    parse_fails("", "empty file", "an empty file");
    parse_fails(HEAD, "no data rows", "a header alone");
    parse_fails("experiment,model,statement,k,t,n,stderr\n", "no 'mean' column", "a missing column");
    parse_fails(HEAD "e,m,s,1,,5,0.1,0.1\n", "s.csv:2: expected 9 fields like the header, got 8", "a short row");
    parse_fails(HEAD "e,m,s,1,,5,0.1,0.1,0.2\ne,m,s,2,,5,abc,0.1,0.2\n", "s.csv:3: column 'mean': expected a number, got 'abc'",
                "a bad number");
    parse_fails(HEAD "e,m,s,x,,5,0.1,0.1,0.2\n", "s.csv:2: column 'k'", "a bad k");
    parse_fails(HEAD "e,m,s,1,,-5,0.1,0.1,0.2\n", "column 'n'", "a negative n");
    parse_fails(HEAD "e,m,\"open,1,,5,0.1,0.1,0.2\n", "s.csv:2: quoted field never closed", "an unclosed quote");
    parse_fails(HEAD "e,m,a\"b,1,,5,0.1,0.1,0.2\n", "s.csv:2: quote inside an unquoted field", "a stray quote");
    parse_fails(HEAD "e,m,\"a\"b,1,,5,0.1,0.1,0.2\n", "after a closing quote", "text after a closing quote");

    /* arranging: rows in order of appearance, k sorted, a statement without k fills every column */
    const char *flow = HEAD "f,m,B,5,,10,0.5,0.05,0.1\n"
                            "f,m,A,3,,12,-0.2,0.01,0.02\n"
                            "f,m,B,3,,10,0.4,0.04,0.08\n"
                            "f,m,A,5,,12,-0.1,0.01,0.02\n"
                            "f,m,C,,,12,0.7,0.01,0.02\n";
    ok(parse(flow, &s, &err) == 0 && summary_plot(&s, NULL, NULL, 0, &p, &err) == 0, "a summary is arranged (%s)", err.msg);
    ok(p.d.n_series == 1 && p.d.n_rows == 3 && p.d.n_x == 2, "1 series, 3 rows, 2 columns");
    ok(p.d.x[0] == 3 && p.d.x[1] == 5, "x is the sorted set of k");
    ok(!strcmp(p.d.row_labels[0], "B") && !strcmp(p.d.row_labels[1], "A"), "rows keep the file's order");
    ok(at(&p, 0, 0, 0) == 0.4 && at(&p, 0, 0, 1) == 0.5 && at(&p, 0, 1, 0) == -0.2, "means land in their cells");
    ok(at(&p, 0, 2, 0) == 0.7 && at(&p, 0, 2, 1) == 0.7, "a statement without k is constant along k");
    is_float(PLOT_AT(&p.d, p.d.se, 0, 0, 1), 0.05, 0, "standard errors too");
    ok(p.d.n_prompts == 12 && !strcmp(p.d.model, "m") && !strcmp(p.d.experiment, "f"), "title pieces: f, m, n = 12");
    is_str(p.d.metric, "prob_change", "the metric defaults to prob_change");
    ok(!p.d.verbatim_labels, "statement labels may be shortened");
    summary_plot_free(&p);
    ok(summary_plot(&s, "prob", NULL, 0, &p, &err) == 0 && !strcmp(p.d.metric, "prob"),
       "--metric names the metric of a file without a metric column");
    summary_plot_free(&p);
    summary_free(&s);

    ok(parse(HEAD "f,m,only,,,3,0.1,0.1,0.1\n", &s, &err) == 0 && summary_plot(&s, NULL, NULL, 0, &p, &err) == 0 &&
       p.d.n_x == 1 && isnan(p.d.x[0]), "no k anywhere: one column with x = NaN");
    summary_plot_free(&p);
    summary_free(&s);

    /* several models: a comparison */
    const char *cmp = HEAD "f,mamba,s,0,,672,0.1,0.1,0.1\n"
                           "f,gpt2,s,0,,598,0.2,0.1,0.1\n"
                           "f,mamba,s,1,,672,0.3,0.1,0.1\n";
    ok(parse(cmp, &s, &err) == 0 && summary_plot(&s, NULL, NULL, 0, &p, &err) == 0, "a two-model summary");
    ok(p.d.n_series == 2 && p.d.n_rows == 1 && p.d.n_x == 2, "2 series, 1 row, 2 columns");
    is_str(p.d.series_labels[1], "gpt2 (n = 598)", "series are labelled with their n");
    ok(p.d.model == NULL && p.d.n_prompts == 0, "and the title names neither model nor n");
    ok(at(&p, 1, 0, 0) == 0.2 && isnan(at(&p, 1, 0, 1)), "a point a model lacks is NaN");
    summary_plot_free(&p);
    summary_free(&s);

    /* a tokens[t] sweep: one row per t, ordered by t, token labels */
    const char *tok = HEAD "f,m,block tokens[t] -> last in layers[k..k],0,2,1,0.2,,\n"
                           "f,m,block tokens[t] -> last in layers[k..k],0,0,1,0.0,,\n"
                           "f,m,block tokens[t] -> last in layers[k..k],0,1,1,0.1,,\n";
    const char *labels[] = {"The", " Eiffel", " Tower"};
    ok(parse(tok, &s, &err) == 0 && summary_plot(&s, NULL, labels, 3, &p, &err) == 0, "a tokens[t] summary");
    ok(p.d.n_rows == 3 && !strcmp(p.d.row_labels[0], "The") && !strcmp(p.d.row_labels[2], " Tower"),
       "rows are the tokens, in order of t, labelled with their text");
    ok(at(&p, 0, 1, 0) == 0.1 && p.d.verbatim_labels && !strcmp(p.d.row_title, "token"), "values follow t; labels are verbatim");
    summary_plot_free(&p);
    ok(summary_plot(&s, NULL, labels, 2, &p, &err) == 0 && !strcmp(p.d.row_labels[2], "t = 2"),
       "a position without a label is 't = N'");
    summary_plot_free(&p);
    summary_free(&s);

    /* several experiments */
    ok(parse(HEAD "e1,m,s,0,,1,0.1,,\ne2,m,s,0,,1,0.2,,\n", &s, &err) == 0 &&
       summary_plot(&s, NULL, NULL, 0, &p, &err) == 0 && p.d.n_rows == 2 && !strcmp(p.d.row_labels[1], "e2: s") &&
       !strcmp(p.d.experiment, "e1 + e2"), "statements of several experiments are told apart");
    summary_plot_free(&p);
    summary_free(&s);

    /* duplicates and metrics */
    ok(parse(HEAD "f,m,s,0,,1,0.1,,\nf,m,s,0,,1,0.2,,\n", &s, &err) == 0 && summary_plot(&s, NULL, NULL, 0, &p, &err) == -1 &&
       strstr(err.msg, "s.csv:3: a second value") && strstr(err.msg, "line 2"), "a duplicate point is an error: %s", err.msg);
    summary_free(&s);
    const char *mixed = "experiment,model,statement,k,t,n,mean,stderr,ci95,metric\n"
                        "f,m,s,0,,1,0.1,,,prob\nf,m,s,0,,1,-0.2,,,prob_change\n";
    ok(parse(mixed, &s, &err) == 0 && summary_plot(&s, NULL, NULL, 0, &p, &err) == -1 && strstr(err.msg, "--metric"),
       "mixed metrics ask for --metric: %s", err.msg);
    ok(summary_plot(&s, "prob_change", NULL, 0, &p, &err) == 0 && p.d.n_rows == 1 && at(&p, 0, 0, 0) == -0.2,
       "--metric picks that metric's rows");
    summary_plot_free(&p);
    ok(summary_plot(&s, "kl", NULL, 0, &p, &err) == -1 && strstr(err.msg, "no rows have metric 'kl'"),
       "a metric the file lacks is an error: %s", err.msg);
    summary_free(&s);

    ok(summary_read("/nonexistent/summary.csv", &s, &err) == -1 && err.status == KOP_EXIT_USAGE &&
       strstr(err.msg, "/nonexistent/summary.csv"), "an unreadable file names its path: %s", err.msg);
    return done_testing();
}
