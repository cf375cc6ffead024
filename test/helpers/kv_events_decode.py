#!/usr/bin/env python3
"""A second, independent reader of the KV-event wire format (Debian's python3-zmq and python3-msgpack), for
test/fleet-*.test.mjs: it shares no code with lib/fleet, so the tests check our encoder against another
implementation of msgpack and ZeroMQ.

  kv_events_decode.py payloads            hex payloads on stdin, one per line -> one JSON batch per line
  kv_events_decode.py subscribe EP N      SUB-connect to EP, read N messages -> one JSON message per line

Output: {"topic", "seq", "batch": {"ts", "events", "data_parallel_rank"}}; hashes as decimal strings (a hash
that is not an unsigned 64-bit integer, e.g. a float or a string, fails).
"""
import json
import sys

import msgpack

STORED = ["block_hashes", "parent_block_hash", "token_ids", "block_size", "lora_id", "medium", "lora_name"]
REMOVED = ["block_hashes", "medium"]


def event(raw):
    if isinstance(raw, list):
        tag, values = raw[0], raw[1:]
        names = STORED if tag == "BlockStored" else REMOVED if tag == "BlockRemoved" else []
        fields = dict(zip(names, values))
    elif isinstance(raw, dict):
        tag = raw["type"]
        fields = {k: v for k, v in raw.items() if k != "type"}
    else:
        raise ValueError("event is neither a tagged array nor a tagged map: %r" % (raw,))
    out = {"type": tag}
    for k, v in fields.items():
        if k in ("block_hashes",):
            if not all(isinstance(h, int) and 0 <= h < 2**64 for h in v):
                raise ValueError("a block hash is not an unsigned 64-bit integer: %r" % (v,))
            out[k] = [str(h) for h in v]
        elif k == "parent_block_hash":
            out[k] = None if v is None else str(v)
        elif k == "lora_id":
            out[k] = None if v is None else str(v)
        else:
            out[k] = v
    return out


def batch(payload):
    raw = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    if not isinstance(raw, list) or len(raw) != 3:
        raise ValueError("batch is not [ts, events, data_parallel_rank]: %r" % (raw,))
    ts, events, rank = raw
    if not isinstance(ts, float):
        raise ValueError("ts is not a float: %r" % (ts,))
    return {"ts": ts, "events": [event(e) for e in events], "data_parallel_rank": rank}


def main():
    mode = sys.argv[1]
    if mode == "payloads":
        for line in sys.stdin:
            line = line.strip()
            if line:
                p = bytes.fromhex(line)
                print(json.dumps({"batch": batch(p)}), flush=True)
    elif mode == "subscribe":
        import zmq

        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.connect(sys.argv[2])
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        print(json.dumps({"ready": True}), flush=True)
        for _ in range(int(sys.argv[3])):
            frames = sub.recv_multipart()
            if len(frames) != 3 or len(frames[1]) != 8:
                raise ValueError("message is not [topic, 8-byte seq, payload]")
            topic, seq, payload = frames
            print(json.dumps({"topic": topic.decode("utf-8"), "seq": int.from_bytes(seq, "big"), "batch": batch(payload)}), flush=True)
        sub.close(linger=0)
    else:
        raise SystemExit("unknown mode %s" % mode)


if __name__ == "__main__":
    main()
