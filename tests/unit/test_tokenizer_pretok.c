/* test_tokenizer_pretok.c: each normalizer and pre-tokenizer component on
 * its own, against the examples the Hugging Face tokenizers crate documents
 * in its source (the #[test] functions and doc comments of the files in
 * tokenizers/src/pre_tokenizers/ and normalizers/, and of
 * tokenizer/normalizer.rs); each case names the one it comes from.  Cases
 * marked "derived" are not in the crate: their expected pieces follow from
 * the crate's documented rules, step by step in the comment.
 *
 * A piece prints as TEXT@START:END with the byte offsets in the ORIGINAL
 * text (the crate's get_splits(OffsetReferential::Original, Byte)). */
#include "tap.h"

#include <json-c/json.h>

#include "tokenizer_impl.h"
#include "tokenizer_parts.h"

/* A Tokenizer holding only the normalizer and pre-tokenizer of `json`. */
static Tokenizer *parts(const char *json)
{
    json_object *root = json_tokener_parse(json);
    KOP_ASSERT(root);
    Tokenizer *t = kop_xcalloc(1, sizeof *t);
    KopError err = {0, ""};
    if (tokp_read_normalizer(t, "test.json", root, &err) < 0 || tokp_read_pre_tokenizer(t, "test.json", root, &err) < 0)
        KOP_ABORT("%s", err.msg);
    json_object_put(root);
    return t;
}

static char out[8192];

/* The pieces of text through the pre-tokenizer (and normalizers) of t. */
static const char *pieces_of(const Tokenizer *t, const char *text)
{
    TokText tx = {0};
    TokPieces p = {0}, scratch = {0};
    KopError err = {0, ""};
    toktext_set(&tx, text, strlen(text), 0);
    if (toknorm_apply(t->norms, t->n_norms, &tx, &err) < 0 ||
        tokpre_apply(t->pres, t->n_pres, &tx, 0, tx.n, &p, &scratch, &err) < 0)
        KOP_ABORT("%s", err.msg);
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p.n; i++)
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s@%zu:%zu", i ? "|" : "", (int)(p.end[i] - p.start[i]),
                              p.t.s + p.start[i], p.t.org[p.start[i]], p.org_end[i]);
    toktext_free(&tx);
    tokpieces_free(&p);
    tokpieces_free(&scratch);
    return out;
}

static void check(const char *pre_json, const char *text, const char *want, const char *what)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"pre_tokenizer\": %s}", pre_json);
    Tokenizer *t = parts(json);
    is_str(pieces_of(t, text), want, "%s", what);
    tokenizer_free(t);
}

static const char *normalized(const char *norm_json, const char *text)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"normalizer\": %s}", norm_json);
    Tokenizer *t = parts(json);
    TokText tx = {0};
    KopError err = {0, ""};
    toktext_set(&tx, text, strlen(text), 0);
    if (toknorm_apply(t->norms, t->n_norms, &tx, &err) < 0) KOP_ABORT("%s", err.msg);
    snprintf(out, sizeof out, "%s", tx.s);
    toktext_free(&tx);
    tokenizer_free(t);
    return out;
}

// ---- Split (pre_tokenizers/split.rs) ---------------------------------------------

static void split(void)
{
    // split.rs `basic`: the regex \w+|[^\w\s]+ inverted, on "How are you doing?".
    static const char *const behaviours[5] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    static const char *const want[5] = {
        "How@0:3|are@4:7|you@8:11|doing@12:17|?@17:18",
        "How@0:3| @3:4|are@4:7| @7:8|you@8:11| @11:12|doing@12:17|?@17:18",
        "How @0:4|are @4:8|you @8:12|doing@12:17|?@17:18",
        "How@0:3| are@3:7| you@7:11| doing@11:17|?@17:18",
        "How@0:3| @3:4|are@4:7| @7:8|you@8:11| @11:12|doing?@12:18",
    };
    for (int b = 0; b < 5; b++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\w+|[^\\\\w\\\\s]+\"}, \"behavior\": \"%s\", \"invert\": true}",
                 behaviours[b]);
        char what[128];
        snprintf(what, sizeof what, "Split %s, inverted (split.rs basic)", behaviours[b]);
        check(json, "How are you doing?", want[b], what);
    }
    // split.rs `regex_string`: \s+ as a regex and " " as a string, Removed.
    check("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"Removed\", \"invert\": false}",
          "Hey, man!", "Hey,@0:4|man!@5:9", "Split regex \\s+ Removed (split.rs regex_string)");
    check("{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Removed\", \"invert\": false}",
          "Hey, man!", "Hey,@0:4|man!@5:9", "Split string \" \" Removed (split.rs regex_string)");
    // split.rs `invert`: " " Removed equals "Hello" Removed inverted.
    check("{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Removed\", \"invert\": false}",
          "Hello Hello Hello", "Hello@0:5|Hello@6:11|Hello@12:17", "Split \" \" Removed (split.rs invert)");
    check("{\"type\": \"Split\", \"pattern\": {\"String\": \"Hello\"}, \"behavior\": \"Removed\", \"invert\": true}",
          "Hello Hello Hello", "Hello@0:5|Hello@6:11|Hello@12:17", "Split \"Hello\" Removed inverted (split.rs invert)");
    // normalizer.rs, the doc of SplitDelimiterBehavior: '-' in "the-final--countdown".
    static const char *const dash[5] = {
        "the@0:3|final@4:9|countdown@11:20",
        "the@0:3|-@3:4|final@4:9|-@9:10|-@10:11|countdown@11:20",
        "the-@0:4|final-@4:10|-@10:11|countdown@11:20",
        "the@0:3|-final@3:9|-@9:10|-countdown@10:20",
        "the@0:3|-@3:4|final@4:9|--@9:11|countdown@11:20",
    };
    for (int b = 0; b < 5; b++) {
        char json[512], what[160];
        snprintf(json, sizeof json, "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"%s\", \"invert\": false}",
                 behaviours[b]);
        snprintf(what, sizeof what, "Split \"-\" %s (normalizer.rs SplitDelimiterBehavior doc)", behaviours[b]);
        check(json, "the-final--countdown", dash[b], what);
        // The same on Punctuation, whose predicate '-' satisfies.
        snprintf(json, sizeof json, "{\"type\": \"Punctuation\", \"behavior\": \"%s\"}", behaviours[b]);
        snprintf(what, sizeof what, "Punctuation %s (same doc example)", behaviours[b]);
        check(json, "the-final--countdown", dash[b], what);
    }
    // A string pattern is literal: "." is no wildcard (the crate escapes it).
    check("{\"type\": \"Split\", \"pattern\": {\"String\": \".\"}, \"behavior\": \"Isolated\", \"invert\": false}",
          "a.b", "a@0:1|.@1:2|b@2:3", "Split string \".\" is literal (derived: regex::escape)");
    check("{\"type\": \"Split\", \"pattern\": {\"String\": \"-#&~[(*\\\\\"}, \"behavior\": \"Isolated\", \"invert\": false}",
          "x-#&~[(*\\y", "x@0:1|-#&~[(*\\@1:9|y@9:10", "Split string of regex metacharacters is literal (derived)");
    // pattern.rs `onig_regex`: \s+ on "   a   b   " tiles it.
    check("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false}",
          "   a   b   ", "   @0:3|a@3:4|   @4:7|b@7:8|   @8:11", "Split \\s+ Isolated (pattern.rs onig_regex)");
    // An empty match: (?=b) matches before each b; Isolated drops the empty
    // pieces, so the text is cut before each b (derived: find_matches, then
    // the empty-split filter of PreTokenizedString::split).
    check("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?=b)\"}, \"behavior\": \"Isolated\", \"invert\": false}",
          "abab", "a@0:1|ba@1:3|b@3:4", "Split on an empty lookahead match (derived)");
}

// ---- Punctuation, Digits, Whitespace ---------------------------------------------

static void punctuation_digits_whitespace(void)
{
    // punctuation.rs `punctuation_basic`: Isolated by default.
    check("{\"type\": \"Punctuation\"}", "Hey friend!     How are you?!?",
          "Hey friend@0:10|!@10:11|     How are you@11:27|?@27:28|!@28:29|?@29:30", "Punctuation (punctuation.rs basic)");
    // Derived: Contiguous keeps "?!?" together (a run of punctuation).
    check("{\"type\": \"Punctuation\", \"behavior\": \"Contiguous\"}", "Hey friend!     How are you?!?",
          "Hey friend@0:10|!@10:11|     How are you@11:27|?!?@27:30", "Punctuation Contiguous (derived)");
    // Derived: ASCII symbols count ($ is is_ascii_punctuation), and so do
    // Unicode P* characters (the guillemets), but not other symbols (the euro sign).
    check("{\"type\": \"Punctuation\"}", "a$b\xc2\xab" "c\xc2\xbb\xe2\x82\xac",
          "a@0:1|$@1:2|b@2:3|\xc2\xab@3:5|c@5:6|\xc2\xbb@6:8|\xe2\x82\xac@8:11", "Punctuation: ASCII and Unicode P (derived)");
    // digits.rs `numbers` and `individual_digits`.
    check("{\"type\": \"Digits\", \"individual_digits\": false}", "Hey 123 friend!", "Hey @0:4|123@4:7| friend!@7:15",
          "Digits (digits.rs numbers)");
    check("{\"type\": \"Digits\", \"individual_digits\": true}", "Hey 123 friend!",
          "Hey @0:4|1@4:5|2@5:6|3@6:7| friend!@7:15", "Digits individual (digits.rs individual_digits)");
    // Derived: char::is_numeric is \p{N}: Arabic-Indic digits and the one-half sign.
    check("{\"type\": \"Digits\", \"individual_digits\": false}", "x\xd9\xa3\xd9\xa4\xc2\xbdy",
          "x@0:1|\xd9\xa3\xd9\xa4\xc2\xbd@1:7|y@7:8", "Digits: Unicode numbers (derived)");
    // whitespace.rs `basic` and `whitespace_split`.
    check("{\"type\": \"Whitespace\"}", "Hey man!", "Hey@0:3|man@4:7|!@7:8", "Whitespace (whitespace.rs basic)");
    check("{\"type\": \"Whitespace\"}", "How are you doing?", "How@0:3|are@4:7|you@8:11|doing@12:17|?@17:18",
          "Whitespace (whitespace.rs basic)");
    check("{\"type\": \"Whitespace\"}", "\n", "", "Whitespace on a newline gives nothing (whitespace.rs basic)");
    // Derived: the Rust regex crate's \w includes Alphabetic, so the letter
    // number XII (U+216B, not \w in Oniguruma's own sense) stays in its word.
    check("{\"type\": \"Whitespace\"}", "a\xe2\x85\xab" "b c", "a\xe2\x85\xab" "b@0:5|c@6:7",
          "Whitespace: \\w as Rust's regex crate has it (derived)");
    check("{\"type\": \"WhitespaceSplit\"}", "Hey man!", "Hey@0:3|man!@4:8", "WhitespaceSplit (whitespace.rs)");
    check("{\"type\": \"WhitespaceSplit\"}", "Hey, man, Good?", "Hey,@0:4|man,@5:9|Good?@10:15",
          "WhitespaceSplit (whitespace.rs)");
}

// ---- ByteLevel (pre_tokenizers/byte_level.rs) ------------------------------------

static void byte_level(void)
{
    const char *bl = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}";
    check(bl, "Hello my friend, how is your day going?",
          "Hello@0:5|Ġmy@5:8|Ġfriend@8:15|,@15:16|Ġhow@16:20|Ġis@20:23|Ġyour@23:28|Ġday@28:32|Ġgoing@32:38|?@38:39",
          "ByteLevel (byte_level.rs pre_tokenization)");
    check("{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"use_regex\": false}",
          "Hello my friend, how is your day going?", "ĠHelloĠmyĠfriend,ĠhowĠisĠyourĠdayĠgoing?@0:39",
          "ByteLevel without the regex (byte_level.rs pre_tokenization_no_regex)");
    // byte_level.rs `add_prefix_space`: with or without a leading space, the same pieces.
    const char *aps = "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"use_regex\": true}";
    check(aps, " Hello my friend, how is your day going?",
          "ĠHello@0:6|Ġmy@6:9|Ġfriend@9:16|,@16:17|Ġhow@17:21|Ġis@21:24|Ġyour@24:29|Ġday@29:33|Ġgoing@33:39|?@39:40",
          "ByteLevel add_prefix_space, text with a space (byte_level.rs add_prefix_space)");
    check(aps, "Hello my friend, how is your day going?",
          "ĠHello@0:5|Ġmy@5:8|Ġfriend@8:15|,@15:16|Ġhow@16:20|Ġis@20:23|Ġyour@23:28|Ġday@28:32|Ġgoing@32:38|?@38:39",
          "ByteLevel add_prefix_space, text without (byte_level.rs add_prefix_space)");
    check(bl, "Hello there\nHello there", "Hello@0:5|Ġthere@5:11|Ċ@11:12|Hello@12:17|Ġthere@17:23",
          "ByteLevel newlines (byte_level.rs handling_of_newlines)");
    check(bl, "Hello there       dear", "Hello@0:5|Ġthere@5:11|ĠĠĠĠĠĠ@11:17|Ġdear@17:22",
          "ByteLevel spaces (byte_level.rs handling_of_multiple_whitespaces)");
    check(bl, "i\xe2\xad\xa2j", "i@0:1|âŃ¢@1:4|j@4:5", "ByteLevel splits a character's bytes (byte_level.rs offsets_when_char_split_up)");
}

// ---- Metaspace (pre_tokenizers/metaspace.rs) -------------------------------------

static void metaspace(void)
{
    const char *always = "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"always\", \"split\": true}";
    check(always, "Hey friend!", "▁Hey@0:3|▁friend!@3:11", "Metaspace (metaspace.rs basic)");
    check(always, "Hey   friend!", "▁Hey@0:3|▁@3:4|▁@4:5|▁friend!@5:13", "Metaspace (metaspace.rs multiple_spaces)");
    // The file format before prepend_scheme: add_prefix_space true = always.
    check("{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"add_prefix_space\": true}", "Hey friend!",
          "▁Hey@0:3|▁friend!@3:11", "Metaspace, legacy add_prefix_space (metaspace.rs serialization)");
    // Derived from `PrependScheme::First if needs_prefix && offsets_original().0 == 0`:
    // only a piece that starts the text gets the prefix.
    const char *first_ws = "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"WhitespaceSplit\"}, "
                           "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": true}]}";
    check(first_ws, "Hey friend", "▁Hey@0:3|friend@4:10", "Metaspace first after WhitespaceSplit (derived)");
    check(first_ws, " Hey friend", "Hey@1:4|friend@5:11", "Metaspace first: a piece at offset 1 gets none (derived)");
    check("{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"never\", \"split\": true}", "Hey friend",
          "Hey@0:3|▁friend@3:10", "Metaspace never (derived)");
    check("{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": false}", "Hey friend",
          "▁Hey▁friend@0:10", "Metaspace first, split false: one piece (derived)");
    check("{\"type\": \"Metaspace\", \"replacement\": \"_\", \"prepend_scheme\": \"always\", \"split\": true}", "a b",
          "_a@0:1|_b@1:3", "Metaspace with another replacement (derived)");
}

// ---- normalizers -----------------------------------------------------------------

static void normalizers(void)
{
    // normalizers/replace.rs `replace` and `replace_regex`.
    is_str(normalized("{\"type\": \"Replace\", \"pattern\": {\"String\": \"''\"}, \"content\": \"\\\"\"}", "This is a ''test''"),
           "This is a \"test\"", "Replace string (replace.rs replace)");
    is_str(normalized("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \" \"}", "This     is   a         test"),
           "This is a test", "Replace regex (replace.rs replace_regex)");
    // normalizers/prepend.rs: "▁" before a text, nothing for an empty one.
    is_str(normalized("{\"type\": \"Prepend\", \"prepend\": \"▁\"}", "Hello"), "▁Hello", "Prepend (prepend.rs)");
    is_str(normalized("{\"type\": \"Prepend\", \"prepend\": \"▁\"}", ""), "", "Prepend on an empty text (prepend.rs)");
    // Llama-2's normalizer: Prepend then Replace " " with "▁".
    const char *llama = "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}, "
                        "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"▁\"}]}";
    is_str(normalized(llama, "Hello  world"), "▁Hello▁▁world", "Sequence Prepend + Replace (Llama-2's)");
    is_str(normalized("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"Replace\", "
                      "\"pattern\": {\"String\": \"\\u00e9\"}, \"content\": \"E\"}]}", "cafe\xcc\x81"),
           "cafE", "NFC, then Replace sees the composed character");
    // Origins: the prepended and replaced characters take those of what they
    // precede or replace, so token ranges stay in the original text.
    char json[512];
    snprintf(json, sizeof json, "{\"normalizer\": %s, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", "
                                "\"prepend_scheme\": \"never\", \"split\": true}}", llama);
    Tokenizer *t = parts(json);
    is_str(pieces_of(t, "Hello world"), "▁Hello@0:5|▁world@5:11", "origins through Prepend and Replace");
    tokenizer_free(t);
}

int main(void)
{
    split();
    punctuation_digits_whitespace();
    byte_level();
    metaspace();
    normalizers();
    return done_testing();
}
