## grammar/local.mk: (to be filled)
