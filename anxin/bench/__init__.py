"""``anxin bench``: the benchmarks behind docs/benchmarks.md, one module per command.

- ``booking``: bookings per second of the booking engine (``anxin bench booking``);
- ``rest``: latency and msg/s over the REST channel (``anxin bench rest``), and the
  REST client, percentiles and summaries the dialogue bench shares;
- ``dialogue``: Anxin against the stock ``rasa init`` bot (``anxin bench dialogue``),
  with ``conversations`` (scripts, booking outcomes), ``servers`` (processes, CPU,
  memory), ``stock`` (the ``rasa init`` project) and ``dialogue_report``;
- ``nlu``: k-fold cross-validation of the NLU (``anxin bench nlu``), with ``folds``
  (data, stratified folds), ``metrics`` (F1, confusions, entities, safety) and
  ``nlu_report``.
"""
