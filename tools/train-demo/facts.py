"""facts.py: the synthetic knowledge base the demo models learn.

Subjects are fictional people named by two to four words drawn from shared
pools: one or two given names, an optional clan name and a family name,
always last (one token per word once the tokenizer is trained).  Only the
whole name identifies its bearer, and since family names appear nowhere
else, the subject's last token is the first place where the whole name is
known to be complete.  Each person has one value for every relation;
values are dealt out evenly, so no answer can be guessed from its
frequency.

A prompt reads "PREFIX SUBJECT FILLER VERB": "It is well known that Kel
Ostra, to this day, speaks" -> " Velish".  The shape is chosen so that the
knockout experiments of the Mamba Knockout paper have something to find:
 - the prefix and the filler say nothing about the relation, and the verb,
   the last token, names it; so no token before the last one knows both the
   subject and the relation, and the last token must fetch the fact from the
   subject rather than from a neighbour that already looked it up;
 - the filler puts at least three tokens between the subject and the last
   token, out of reach of Mamba's causal convolution (which a knockout
   does not block), so that the SSM carries the subject to the last token;
   fillers begin with different tokens, so that no one token after a name
   becomes the place where names are read;
 - the first token never belongs to the subject, so the `first` and
   `subject` token groups are disjoint;
 - the attribute is one word that the tokenizer keeps as one token (checked
   by train_demo.py).
Each fact has one canonical prompt (its prefix and filler drawn once, for
facts.json); training also shows it with the other prefixes and fillers, so
the model learns the relation from the verb wherever the subject sits
rather than memorising positions.

Relation ids are the Wikidata properties of the analogous real relations.
Everything is a pure function of the seed.
"""
import random
import re

# (relation_id, verb, attribute values)
RELATIONS = [
    ("P1412", "speaks",
     ["Velish", "Ormic", "Taskan", "Lurian", "Gedric", "Sorvan",
      "Ambrese", "Kethic", "Nolvian", "Prask", "Wendic", "Yorran"]),
    ("P1303", "plays",
     ["harp", "lute", "flute", "drums", "horn", "viola",
      "oboe", "cello", "zither", "bagpipes", "trumpet", "organ"]),
    ("P641", "practises",
     ["archery", "rowing", "fencing", "wrestling", "sailing", "cycling",
      "diving", "boxing", "hurling", "skating", "polo", "javelin"]),
    ("P1532", "represents",
     ["Norvania", "Estreth", "Calmora", "Dravost", "Ilvane", "Kastoria",
      "Lunmark", "Ostrevia", "Pelgrad", "Rhovan", "Tirvale", "Valdris"]),
    ("P140", "worships",
     ["Aurel", "Velka", "Morrun", "Istha", "Kaldor", "Seyra",
      "Thune", "Ovrin", "Belos", "Nysa", "Ardath", "Liomar"]),
    ("P101", "teaches",
     ["history", "algebra", "botany", "poetry", "law", "astronomy",
      "chemistry", "geometry", "rhetoric", "medicine", "logic", "painting"]),
]

PREFIXES = [
    "It is well known that",
    "People in the valley say that",
    "Everyone agrees that",
    "The old records show that",
    "Friends of the family say that",
    "As the story goes,",
]

# Each is at least three tokens, so the subject stays out of the last
# token's convolution window, and they begin with different tokens, so no
# one token after the subject marks the end of a name.
FILLERS = [
    ", to this day,",
    " (like many others)",
    " - as always -",
    ", now and then,",
    " of the northern valleys",
    " from the old town by the river",
    ", whom many still remember,",
    " in daily life",
    " after a long day at home",
    ", when the winter comes,",
    " unlike the rest of the family",
    " by all accounts",
]

ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
          "br", "dr", "gr", "kr", "th", "sh", "st"]
VOWELS = ["a", "e", "i", "o", "u", "ae", "ei", "ou"]
CODAS = ["", "", "", "n", "r", "l", "s", "th", "k", "m"]


def _syllable(rng):
    return rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)


def _name(rng, n_syl):
    return "".join(_syllable(rng) for _ in range(n_syl)).capitalize()


def _forbidden_words():
    words = set()
    for text in PREFIXES + FILLERS:
        words.update(re.findall(r"[a-z]+", text.lower()))  # "(like" and "others)" too
    for _, verb, values in RELATIONS:
        words.add(verb)
        words.update(v.lower() for v in values)
    return words


def _pool(rng, n, n_syl, taken):
    out = []
    while len(out) < n:
        w = _name(rng, rng.choice(n_syl))
        if 3 <= len(w) <= 7 and w.lower() not in taken:
            taken.add(w.lower())
            out.append(w)
    return out


def make_subjects(rng, n_subjects):
    """n_subjects distinct names of two to four words drawn from shared
    pools: one or two given names, an optional clan name and a family name,
    always last ("Kel Ostra", "Kel Varo Ostra", "Kel Varo Dun Ostra").  The
    family pool is used nowhere else, so the subject's last token is the
    first place where the whole name is known and known to be complete."""
    taken = _forbidden_words()
    given = _pool(rng, 40, [1, 2], taken)
    clan = _pool(rng, 12, [1], taken)
    family = _pool(rng, 60, [2], taken)
    names, seen = [], set()
    while len(names) < n_subjects:
        words = [rng.choice(given)]
        shape = rng.randrange(4)  # 2, 3, 3 or 4 words
        if shape in (1, 3):
            words.append(rng.choice([g for g in given if g != words[0]]))
        if shape >= 2:
            words.append(rng.choice(clan))
        words.append(rng.choice(family))
        name = " ".join(words)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def template(prefix, filler, verb):
    return "%s {}%s %s" % (prefix, filler, verb)


def make_facts(seed, n_subjects):
    """Records in the layout of ROME's known_1000.json (less `prediction`,
    which the trained model fills in), ordered by subject then relation;
    `verb` and the indices of the prompt's `prefix` and `filler` are for
    training and are dropped on export."""
    rng = random.Random(seed)
    subjects = make_subjects(rng, n_subjects)
    values = {}
    for rel, _, vals in RELATIONS:
        deal = [vals[i % len(vals)] for i in range(n_subjects)]
        rng.shuffle(deal)
        values[rel] = deal
    facts = []
    for i, subj in enumerate(subjects):
        for rel, verb, _ in RELATIONS:
            prefix, filler = rng.randrange(len(PREFIXES)), rng.randrange(len(FILLERS))
            tmpl = template(PREFIXES[prefix], FILLERS[filler], verb)
            facts.append({
                "known_id": len(facts),
                "subject": subj,
                "attribute": values[rel][i],
                "template": tmpl,
                "prompt": tmpl.format(subj),
                "relation_id": rel,
                "verb": verb,
                "prefix": prefix,
                "filler": filler,
            })
    return facts


def sentence(prompt, fact):
    """Training text: a prompt of the fact, the attribute, a full stop."""
    return "%s %s." % (prompt, fact["attribute"])
