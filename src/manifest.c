/* manifest.c: see manifest.h. */
#include "config.h"
#include "manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "buildinfo.h"
#include "sha256.h"

void manifest_init(Manifest *man, const char *recipe_path, const char *recipe_text, const char *model_dir,
                   const char *model_name, const Model *m, int threads)
{
    memset(man, 0, sizeof *man);
    man->recipe_path = recipe_path;
    man->recipe_text = recipe_text;
    man->model_dir = model_dir;
    man->model_name = model_name;
    man->model = m;
    man->threads = threads;
    size_t len;
    char *cfg = kop_path_join(model_dir, "config.json");
    man->config_text = kop_read_file(cfg, &len, NULL);
    if (man->config_text) sha256_hex(man->config_text, len, man->config_sha256);
    free(cfg);
    time_t now = time(NULL);
    strftime(man->started, sizeof man->started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
}

void manifest_skip_line(Manifest *man, const char *line)
{
    man->skipped = kop_xrealloc(man->skipped, sizeof *man->skipped * (size_t)(man->n_skipped + 1));
    man->skipped[man->n_skipped++] = kop_xstrdup(line);
}

void manifest_skip(Manifest *man, const Prompt *p, const char *reason)
{
    /* sized to fit: a cut could split a character */
    size_t n = strlen(p->source) + strlen(reason) + 48;
    char *buf = kop_xmalloc(n);
    if (p->line) snprintf(buf, n, "%s:%d: %s", p->source, p->line, reason);
    else snprintf(buf, n, "%s: record %d: %s", p->source, p->record, reason);
    man->skipped = kop_xrealloc(man->skipped, sizeof *man->skipped * (size_t)(man->n_skipped + 1));
    man->skipped[man->n_skipped++] = buf;
}

void manifest_free(Manifest *man)
{
    for (int i = 0; i < man->n_skipped; i++) free(man->skipped[i]);
    free(man->skipped);
    free(man->config_text);
    memset(man, 0, sizeof *man);
}

// ---- emitting ---------------------------------------------------------------

typedef struct Out {
    yaml_emitter_t e;
    int ok;
} Out;

/* Emit an event made by an initializer that returned INIT: libyaml leaves
 * the event undefined when an initializer fails (invalid UTF-8, no memory),
 * and emitting it corrupts the heap or never returns. */
static void ev(Out *o, int init, yaml_event_t *event)
{
    if (!init) {
        o->ok = 0;
        return;
    }
    if (o->ok && !yaml_emitter_emit(&o->e, event)) o->ok = 0;
    else if (!o->ok) yaml_event_delete(event);
}

/* Any text: recipe files, paths and folder names are bytes, not always
 * UTF-8, and YAML is; bytes that are not UTF-8 are written as \xNN. */
static void scalar_style(Out *o, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t event;
    if (!s) s = "";
    size_t n = strlen(s);
    char *esc = kop_utf8_valid(s, n) ? NULL : kop_utf8_escape(s, n);
    if (esc) s = esc, n = strlen(esc);
    ev(o, yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style), &event);
    free(esc);
}

static void scalar(Out *o, const char *s) { scalar_style(o, s, YAML_ANY_SCALAR_STYLE); }

/* A block of text: literal style keeps it readable; libyaml falls back to a
 * quoted style for text a literal block cannot hold. */
static void text_block(Out *o, const char *s) { scalar_style(o, s, YAML_LITERAL_SCALAR_STYLE); }

static void kv(Out *o, const char *k, const char *v) { scalar(o, k); scalar(o, v); }

static void kvf(Out *o, const char *k, const char *fmt, ...) KOP_PRINTF(3, 4);
static void kvf(Out *o, const char *k, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kv(o, k, buf);
}

static void map_start(Out *o)
{
    yaml_event_t event;
    ev(o, yaml_mapping_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE), &event);
}

static void map_end(Out *o)
{
    yaml_event_t event;
    ev(o, yaml_mapping_end_event_initialize(&event), &event);
}

static int write_handler(void *data, unsigned char *buf, size_t size)
{
    return fwrite(buf, 1, size, data) == size;
}

int manifest_write(const char *path, const Manifest *man, KopError *err)
{
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    if (!f) return -1;
    Out o = {.ok = 1};
    yaml_emitter_initialize(&o.e);
    yaml_emitter_set_output(&o.e, write_handler, f);
    yaml_emitter_set_unicode(&o.e, 1);
    yaml_emitter_set_width(&o.e, 100);
    yaml_event_t event;
    ev(&o, yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING), &event);
    ev(&o, yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1), &event);
    map_start(&o);

    kv(&o, "status", man->complete ? "complete" : "running");
    kv(&o, "experiment", man->experiment);
    kv(&o, "started", man->started);
    if (man->complete) kvf(&o, "wall_seconds", "%.3f", man->wall_seconds);
    kvf(&o, "threads", "%d", man->threads);
    if (man->n_shards > 1) kvf(&o, "shard", "%d of %d", man->shard, man->n_shards);
    if (man->ranks > 1) kvf(&o, "ranks", "%d", man->ranks);

    scalar(&o, "kop");
    map_start(&o);
    kv(&o, "version", PACKAGE_VERSION);
    kv(&o, "compiler", KOP_BUILD_CC);
    kv(&o, "cflags", KOP_BUILD_CFLAGS);
    kv(&o, "configure", KOP_BUILD_CONFIGURE_ARGS);
    kv(&o, "blis", KOP_BLIS_SOURCE);
    kv(&o, "openmp", KOP_OPENMP_STATUS);
    kv(&o, "mpi", KOP_MPI_STATUS);
    map_end(&o);

    scalar(&o, "recipe");
    map_start(&o);
    kv(&o, "path", man->recipe_path);
    scalar(&o, "text");
    text_block(&o, man->recipe_text);
    map_end(&o);

    const Config *c = &man->model->cfg;
    scalar(&o, "model");
    map_start(&o);
    kv(&o, "name", man->model_name);
    kv(&o, "dir", man->model_dir);
    kv(&o, "architecture", arch_name(c->arch));
    kvf(&o, "layers", "%d", c->n_layer);
    kvf(&o, "d_model", "%d", c->d_model);
    kvf(&o, "vocab_size", "%d", c->vocab_size);
    kv(&o, "weight_dtype", man->model->weight_dtype);
    kvf(&o, "parameters", "%zu", man->model->n_params);
    kv(&o, "config_sha256", man->config_sha256);
    scalar(&o, "config");
    text_block(&o, man->config_text ? man->config_text : "");
    map_end(&o);

    scalar(&o, "prompts");
    map_start(&o);
    kvf(&o, "max_tokens", "%ld", man->max_tokens);
    kvf(&o, "measured", "%d", man->n_used);
    kvf(&o, "seen", "%d", man->n_seen);
    kvf(&o, "skipped", "%d", man->n_skipped);
    kvf(&o, "resumed", "%d", man->n_resumed);
    if (man->n_kept_ids >= 0 && man->kept_by) {
        kv(&o, "kept_by", man->kept_by);
        scalar(&o, "kept_ids");
        ev(&o, yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE), &event);
        for (int i = 0; i < man->n_kept_ids; i++) {
            char num[32];
            snprintf(num, sizeof num, "%ld", man->kept_ids[i]);
            scalar(&o, num);
        }
        ev(&o, yaml_sequence_end_event_initialize(&event), &event);
    }
    scalar(&o, "skipped_records");
    ev(&o, yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE), &event);
    for (int i = 0; i < man->n_skipped; i++) scalar(&o, man->skipped[i]);
    ev(&o, yaml_sequence_end_event_initialize(&event), &event);
    map_end(&o);

    map_end(&o);
    ev(&o, yaml_document_end_event_initialize(&event, 1), &event);
    ev(&o, yaml_stream_end_event_initialize(&event), &event);
    yaml_emitter_delete(&o.e);
    if (!o.ok) {
        fclose(f);
        remove(tmp);
        free(tmp);
        return kop_fail(err, KOP_EXIT_USAGE, "%s: cannot write the manifest", path);
    }
    return kop_commit_tmp(f, tmp, path, err);
}
