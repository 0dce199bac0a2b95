## src/tokenizer.mk: (to be filled)
