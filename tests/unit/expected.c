/* expected.c: see expected.h. */
#include "expected.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "util.h"

const char *ref_model_dir(const char *model)
{
    static char buf[4096];
    char sub[256];
    snprintf(sub, sizeof sub, "reference/%s/config.json", model);
    const char *cfg = shared_dir_or_skip(sub);
    snprintf(buf, sizeof buf, "%.*s", (int)(strlen(cfg) - strlen("/config.json")), cfg);
    return buf;
}

json_object *ref_expected(const char *model)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/expected.json", ref_model_dir(model));
    json_object *o = json_object_from_file(path);
    if (!o) KOP_ABORT("cannot parse %s", path);
    return o;
}

json_object *ref_get(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) KOP_ABORT("expected.json: no key '%s'", key);
    return v;
}

int ref_int_array(json_object *arr, int **out)
{
    int n = (int)json_object_array_length(arr);
    *out = kop_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) (*out)[i] = json_object_get_int(json_object_array_get_idx(arr, i));
    return n;
}

float *ref_matrix(json_object *arr, int *rows, int *cols)
{
    int n = (int)json_object_array_length(arr);
    json_object *first = json_object_array_get_idx(arr, 0);
    int nested = json_object_is_type(first, json_type_array);
    int c = nested ? (int)json_object_array_length(first) : n, r = nested ? n : 1;
    float *m = kop_xmalloc(sizeof(float) * (size_t)r * c);
    for (int i = 0; i < r; i++) {
        json_object *row = nested ? json_object_array_get_idx(arr, i) : arr;
        for (int j = 0; j < c; j++) m[(size_t)i * c + j] = (float)json_object_get_double(json_object_array_get_idx(row, j));
    }
    *rows = r;
    *cols = c;
    return m;
}

double ref_max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}
