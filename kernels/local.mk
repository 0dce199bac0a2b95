## kernels/local.mk: numeric kernels (pure functions) and their tests.
