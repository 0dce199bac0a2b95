/* tok_json.c: see tok_json.h. */
#include "tok_json.h"

#include <limits.h>

json_object *tokjson_parse(const char *path, int first_line, const char *buf, size_t len, KopError *err)
{
    if (len > INT_MAX) {
        kop_fail(err, KOP_EXIT_DATA, "%s: too large for the JSON reader (%zu bytes)", path, len);
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) KOP_ABORT("out of memory creating a JSON parser");
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    const char *what = NULL;
    if (je == json_tokener_continue) what = "unexpected end of input";
    else if (je != json_tokener_success) what = json_tokener_error_desc(je);
    else {
        while (end < len && (buf[end] == ' ' || buf[end] == '\t' || buf[end] == '\n' || buf[end] == '\r'))
            end++;
        if (end < len) what = "unexpected text after the JSON value";
    }
    json_tokener_free(tok);
    if (!what) return obj;
    json_object_put(obj);
    int line = first_line, col = 1;
    for (size_t i = 0; i < end && i < len; i++) {
        if (buf[i] == '\n') { line++; col = 1; }
        else col++;
    }
    kop_fail(err, KOP_EXIT_DATA, "%s:%d:%d: invalid JSON: %s", path, line, col, what);
    return NULL;
}

const char *tokjson_string(json_object *obj, const char *key, size_t *len, int *present)
{
    json_object *v = NULL;
    int has = json_object_object_get_ex(obj, key, &v);
    if (present) *present = has;
    if (!has || !json_object_is_type(v, json_type_string)) return NULL;
    if (len) *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}
