## src/render.mk: (to be filled)
