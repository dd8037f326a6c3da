"""The producer of ``bench/load.py``: sends ``bench.load.quick`` tasks at a steady rate, for a bounded time.

    python bench/load_producer.py --rate 200 --seconds 120

Paced on the clock (every tick sends what the rate owes by then), so a
slow moment is made up at once rather than lowering the rate; stops by
itself after ``--seconds`` or on SIGTERM, and prints how many it sent.
"""
import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICK = 0.02  # seconds between sends


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200, help="tasks per second")
    parser.add_argument("--seconds", type=float, default=120, help="stop after this long")
    args = parser.parse_args()

    import django

    django.setup()
    from bench.load_app import app, quick

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    sent = 0
    with app.connection_for_write() as connection, app.producer_or_acquire() as producer:
        connection.ensure_connection(max_retries=3)
        print(f"producer: sending {args.rate:g} tasks/s for at most {args.seconds:g} s", flush=True)
        start = last_report = time.monotonic()
        while not stopping:
            now = time.monotonic()
            if now - start >= args.seconds:
                break
            owed = int((now - start) * args.rate) - sent
            for _ in range(owed):
                quick.apply_async((sent,), producer=producer)
                sent += 1
            if now - last_report >= 10:
                print(f"producer: {sent:,} sent in {now - start:.0f} s", flush=True)
                last_report = now
            time.sleep(TICK)
        elapsed = time.monotonic() - start
    print(f"producer: {sent:,} sent in {elapsed:.1f} s ({sent / elapsed:,.0f}/s)", flush=True)


if __name__ == "__main__":
    main()
