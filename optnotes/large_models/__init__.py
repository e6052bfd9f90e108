"""What the chapters of the part "Optimizers of large models" compute and show,
a module per chapter: ``layerwise`` (large batches and layer-wise rates),
``sign`` (sign methods), ``factored`` (Adafactor), ``memory`` (bytes of state
per parameter). Each module's
``EXPERIMENTS`` maps an experiment's name to the function that builds it;
``optnotes.experiments`` registers them with the rest.

The rules themselves are in ``optnotes.rules`` (``layerwise``, ``factored``,
``quantized``, ``sign``), where every rule is.
"""
