"""What the chapters of the part "Optimizers of large models" compute and show,
a module per chapter: ``layerwise`` (large batches and layer-wise rates),
``sign`` (sign methods), ``factored`` (Adafactor), ``kronecker`` (matrix
preconditioners: Shampoo, SOAP), ``orthogonal`` (Muon), ``schedule_free``
(training without a schedule), ``memory`` (bytes of state per parameter); and
``digits``, the deep digits network on which the chapters compare rules. Each
chapter module's ``EXPERIMENTS`` maps an experiment's name to the function that
builds it; ``optnotes.experiments`` registers them with the rest.

The rules themselves are in ``optnotes.rules`` (``layerwise``, ``factored``,
``quantized``, ``sign``, ``kronecker``, ``orthogonal``, ``schedule_free``),
where every rule is.
"""
