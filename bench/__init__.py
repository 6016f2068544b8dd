"""``python -m bench`` (``make bench``): how fast the sandbox receives mail, and what its
checks cost.

One run measures, on loopback:

1. SMTP throughput and latency of (a) a bare aiosmtpd server whose handler only answers
   250 and (b) the full sandbox (Gmail profile, every check), driven by the same load
   client (:mod:`bench.load`) in a process of its own, and the ratio b/a;
2. the delivery store alone (:mod:`bench.store_load`): deliveries per second with group
   commit and with one commit per save, in the same run, and their ratio.

It prints a table and writes ``bench/results.json``. Nothing here is imported by the
sandbox itself.
"""
