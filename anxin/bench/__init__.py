"""``anxin bench``: the benchmarks behind docs/benchmarks.md, one module per command.

- ``booking``: bookings per second of the booking engine (``anxin bench booking``);
- ``rest``: latency and msg/s over the REST channel (``anxin bench rest``), and the
  REST client, percentiles and summaries the dialogue bench shares;
- ``dialogue``: Anxin against the stock ``rasa init`` bot (``anxin bench dialogue``),
  with ``conversations`` (scripts, booking outcomes), ``servers`` (processes, CPU,
  memory), ``stock`` (the ``rasa init`` project) and ``dialogue_report``;
- ``channels``: WeChat acknowledgement latency with 20 users at once (``anxin bench
  channels``), with ``wechat_fake`` (WeChat's side: signed, encrypted messages and a
  loopback API) and ``channels_report``;
- ``nlu``: k-fold cross-validation of the NLU (``anxin bench nlu``), with ``folds``
  (data, stratified folds), ``metrics`` (F1, confusions, entities, safety) and
  ``nlu_report``;
- ``safety``: labelled messages through the real stack, how the safety layer did
  (``anxin bench safety``), with ``safety_cases`` (the case file, ``cases/safety.yml``),
  ``safety_score`` (outcomes, verdicts, targets) and ``safety_report``.
"""
