"""The loop every Python worker of benches/compare runs (the protocol of
main.rs): prove the equivalence answers, print "ready", then answer
"batch OPERATION N" with the mean ns per call of N calls (inputs made
untimed before), "quit" or end of input to stop. An operation a
contender has no endpoint for answers "n/a".

A contender is an object with:
  check()                      raises AssertionError on a wrong answer
  inputs(op, n) -> list|None   N inputs for op (None: not supported)
  call(op) -> function         the timed call, input -> bool (True: as expected)
"""

import sys
import time

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
WRONG_VERIFIER = "xBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
UNKNOWN_TOKEN = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg"
REDIRECT = "https://client.example.com/cb"
REDIRECT_ENCODED = "https%3A%2F%2Fclient.example.com%2Fcb"


def scattered(tokens):
    """The tokens in an order far from issue order (a stride coprime with
    the count), as the Rust worker visits them."""
    import math
    n = len(tokens)
    stride = next(s for s in range(n // 2 + 1, n * 2 + 2) if math.gcd(s, n) == 1)
    return [tokens[(i * stride) % n] for i in range(n)]


def live_count(argv):
    return int(argv[argv.index("--live") + 1]) if "--live" in argv else 40000


def serve(contender):
    contender.check()
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            break
        if len(words) != 3 or words[0] != "batch":
            raise SystemExit("unknown command %r" % line)
        op, n = words[1], int(words[2])
        inputs = contender.inputs(op, n)
        if inputs is None:
            out.write("n/a\n")
            out.flush()
            continue
        call = contender.call(op)
        start = time.perf_counter_ns()
        for item in inputs:
            if not call(item):
                raise SystemExit("%s failed" % op)
        out.write("%.1f\n" % ((time.perf_counter_ns() - start) / n))
        out.flush()
