"""Imported once by the analysis pool's forkserver, before it forks any worker
(multiprocessing's set_forkserver_preload): the imports and the model warm-up happen there,
so every worker, the replacement of a killed one included, starts ready in milliseconds and
shares those pages copy-on-write instead of loading its own copy."""

from bot.analysis.pipeline.worker import preload

preload()
