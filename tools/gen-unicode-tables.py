#!/usr/bin/env python3
"""gen-unicode-tables.py: make src/unicode_tables.h from the Unicode Character Database.

Usage: tools/gen-unicode-tables.py [UCD_DIR] > src/unicode_tables.h
UCD_DIR defaults to /usr/share/unicode (Debian package `unicode-data`).

The tokenizer needs, per code point: the general-category classes \\p{L} and
\\p{N}, the White_Space property (what \\s means in the Rust `regex` crate that
Hugging Face tokenizers use), and for NFC the canonical combining class, the
full canonical decomposition, the primary composites and whether an NFC
"boundary" may be placed before the character.  Everything comes from
UnicodeData.txt, PropList.txt, DerivedNormalizationProps.txt and
CompositionExclusions.txt; nothing from Python's own unicodedata module, whose
Unicode version is whatever the interpreter was built with.

The output is deterministic: run it again and diff to check the committed file.
Developer tool only; the build never runs it.
"""
import os
import sys

UCD = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
MAX_CP = 0x110000

# Hangul syllables are decomposed and composed algorithmically (UAX #15).
S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
S_COUNT = L_COUNT * V_COUNT * T_COUNT


def ucd_lines(name):
    with open(os.path.join(UCD, name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield [field.strip() for field in line.split(";")]


def cp_range(field):
    if ".." in field:
        a, b = field.split("..")
        return range(int(a, 16), int(b, 16) + 1)
    return range(int(field, 16), int(field, 16) + 1)


def ucd_version():
    with open(os.path.join(UCD, "DerivedNormalizationProps.txt"), encoding="utf-8") as f:
        first = f.readline()
    # "# DerivedNormalizationProps-15.0.0.txt"
    return first.split("-", 1)[1].rsplit(".txt", 1)[0]


def main():
    gc = ["Cn"] * MAX_CP
    ccc = [0] * MAX_CP
    decomp = {}  # canonical decompositions only (one level)
    first_of_range = None
    for f in ucd_lines("UnicodeData.txt"):
        cp, name, cat, cc, dm = int(f[0], 16), f[1], f[2], int(f[3]), f[5]
        if name.endswith(", First>"):
            first_of_range = cp
            continue
        lo = first_of_range if name.endswith(", Last>") else cp
        first_of_range = None
        for c in range(lo, cp + 1):
            gc[c] = cat
            ccc[c] = cc
        if dm and not dm.startswith("<"):
            decomp[cp] = [int(x, 16) for x in dm.split()]

    white = [False] * MAX_CP
    for f in ucd_lines("PropList.txt"):
        if f[1] == "White_Space":
            for c in cp_range(f[0]):
                white[c] = True

    nfc_qc = ["Y"] * MAX_CP
    full_excl = set()
    for f in ucd_lines("DerivedNormalizationProps.txt"):
        if f[1] == "NFC_QC":
            for c in cp_range(f[0]):
                nfc_qc[c] = f[2]
        elif f[1] == "Full_Composition_Exclusion":
            full_excl.update(cp_range(f[0]))

    # Full_Composition_Exclusion = CompositionExclusions.txt + singletons +
    # non-starter decompositions; check the derived file agrees with that.
    excl = set()
    for f in ucd_lines("CompositionExclusions.txt"):
        excl.update(cp_range(f[0]))
    for c, d in decomp.items():
        if len(d) == 1 or ccc[c] != 0 or ccc[d[0]] != 0:
            excl.add(c)
    if excl != full_excl:
        sys.exit("gen-unicode-tables: Full_Composition_Exclusion disagrees with CompositionExclusions.txt")

    def full_decomp(c):
        if c not in decomp:
            return [c]
        out = []
        for x in decomp[c]:
            out.extend(full_decomp(x))
        return out

    full = {c: full_decomp(c) for c in decomp}
    compose = {}
    for c, d in decomp.items():
        if len(d) == 2 and c not in full_excl:
            compose[(d[0], d[1])] = c
    second = {b for (_, b) in compose}

    # A boundary may go before c when NFC(x + c + y) == NFC(x) + NFC(c + y) for
    # every x: c is a starter, stays as it is under NFC, its decomposition
    # starts with a starter, and that starter never combines with what precedes.
    def boundary(c):
        if ccc[c] != 0 or nfc_qc[c] != "Y":
            return False
        if S_BASE <= c < S_BASE + S_COUNT:
            return True  # LV/LVT syllables only combine forward (with a T jamo)
        head = full.get(c, [c])[0]
        return ccc[head] == 0 and head not in second and nfc_qc[head] == "Y"

    # Per code point record: flags + ccc.  Records are deduplicated, then the
    # 0x110000 record indexes are split in blocks of 256, deduplicated again.
    F_L, F_N, F_WS, F_BOUNDARY, F_DECOMP, F_SECOND = 1, 2, 4, 8, 16, 32
    records, rec_index, cp_rec = [], {}, [0] * MAX_CP
    for c in range(MAX_CP):
        flags = 0
        if gc[c][0] == "L":
            flags |= F_L
        if gc[c][0] == "N":
            flags |= F_N
        if white[c]:
            flags |= F_WS
        if boundary(c):
            flags |= F_BOUNDARY
        if c in full:
            flags |= F_DECOMP
        if c in second:
            flags |= F_SECOND
        key = (flags, ccc[c])
        if key not in rec_index:
            rec_index[key] = len(records)
            records.append(key)
        cp_rec[c] = rec_index[key]
    if len(records) > 256:
        sys.exit("gen-unicode-tables: more than 256 distinct records")

    blocks, block_index, stage1 = [], {}, []
    for hi in range(MAX_CP >> 8):
        blk = tuple(cp_rec[hi << 8:(hi + 1) << 8])
        if blk not in block_index:
            block_index[blk] = len(blocks)
            blocks.append(blk)
        stage1.append(block_index[blk])

    decomp_cps = sorted(full)
    decomp_data, decomp_idx = [], []
    for c in decomp_cps:
        d = full[c]
        if len(d) > 7:
            sys.exit("gen-unicode-tables: decomposition longer than 7")
        decomp_idx.append((len(decomp_data) << 3) | len(d))
        decomp_data.extend(d)
    if len(decomp_data) >= 1 << 13:
        sys.exit("gen-unicode-tables: decomposition data too large for uint16 index")
    comp = sorted(((a << 21) | b, c) for (a, b), c in compose.items())

    out = sys.stdout
    w = out.write
    w("/* unicode_tables.h: GENERATED by tools/gen-unicode-tables.py from the Unicode\n")
    w(" * Character Database %s (Debian package unicode-data).  Do not edit;\n" % ucd_version())
    w(" * regenerate with: tools/gen-unicode-tables.py > src/unicode_tables.h\n")
    w(" * Included only by src/unicode.c, which explains the layout. */\n")
    w("#define UNI_UCD_VERSION \"%s\"\n" % ucd_version())
    w("#define UNI_F_L %d\n#define UNI_F_N %d\n#define UNI_F_WS %d\n" % (F_L, F_N, F_WS))
    w("#define UNI_F_BOUNDARY %d\n#define UNI_F_DECOMP %d\n#define UNI_F_SECOND %d\n"
      % (F_BOUNDARY, F_DECOMP, F_SECOND))

    def emit(ctype, name, values, per_line=16):
        w("static const %s %s[%d] = {\n" % (ctype, name, len(values)))
        for i in range(0, len(values), per_line):
            w("  " + ",".join(str(v) for v in values[i:i + per_line]) + ",\n")
        w("};\n")

    emit("uint8_t", "uni_rec_flags", [r[0] for r in records])
    emit("uint8_t", "uni_rec_ccc", [r[1] for r in records])
    emit("uint16_t", "uni_stage1", stage1)
    emit("uint8_t", "uni_stage2", [v for blk in blocks for v in blk], 32)
    emit("uint32_t", "uni_decomp_cp", decomp_cps, 10)
    emit("uint16_t", "uni_decomp_idx", decomp_idx, 12)
    emit("uint32_t", "uni_decomp_data", decomp_data, 10)
    emit("uint64_t", "uni_comp_key", [k for k, _ in comp], 6)
    emit("uint32_t", "uni_comp_val", [v for _, v in comp], 10)


if __name__ == "__main__":
    main()
