#!/usr/bin/env python3
"""Regenerates the seed corpora of wal_record, blob_frame, wal_replay, salvage, cli_args and
ops_differential (fuzz/seeds/<what>/) from small real databases made with the loci CLI, and
hand-written operation scripts, the dropped-field seeds of record_codec, checkpoint and
index_page (a batch record that drops a field, a checkpoint with a dropped field and its index
snapshot), record_codec's batch that logs its blobs (format 3), and the trace graph's: format 4
batches (links, an unlink, versions with an episode) for record_codec and wal_record, a
checkpoint with episode-version and edge entries for checkpoint, and databases holding both for
wal_replay (and so salvage). The older targets' other seeds were harvested by hand and are left
alone. Seeds are kilobytes: preallocated zero tails
are cut.

Usage: fuzz/make_seeds.py [path/to/loci]   (default: build/debug/tools/loci/loci)
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
LOCI = sys.argv[1] if len(sys.argv) > 1 else os.path.join(FUZZ, "..", "build/debug/tools/loci/loci")
BLOCK = 4096  # segment / generation header block, sync alignment


def loci(*args):
    subprocess.run([LOCI, *args], check=True, stdout=subprocess.DEVNULL)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_seed(what, name, data):
    d = os.path.join(FUZZ, "seeds", what)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def records(segment):
    """(offset, bytes of the whole record span) of each record after the header block."""
    out, pos = [], BLOCK
    while pos + 40 <= len(segment):
        length, lsn = struct.unpack_from("<I", segment, pos + 8)[0], struct.unpack_from("<Q", segment, pos + 16)[0]
        if lsn == 0:
            break
        span = 40 + ((length + 7) & ~7)
        out.append((pos, segment[pos:pos + span]))
        pos += span
    return out


def batches(segment):
    """records(segment) of type batch (1): not padding, not the seal a clean close appends."""
    return [(pos, rec) for pos, rec in records(segment) if rec[12] == 1]


def payload(rec):
    return rec[40:40 + struct.unpack_from("<I", rec, 8)[0]]


def trim_segment(segment):
    """The segment up to the end of its last record (sync groups end on 4 KiB boundaries)."""
    recs = records(segment)
    return segment[:recs[-1][0] + len(recs[-1][1])] if recs else segment[:BLOCK]


def frames(arena):
    out, pos = [], BLOCK
    while pos + 24 <= len(arena) and struct.unpack_from("<I", arena, pos)[0] == 0x424F4C42:
        span = (24 + struct.unpack_from("<I", arena, pos + 4)[0] + 7) & ~7
        out.append((pos, arena[pos:pos + span]))
        pos += span
    return out


def trim_arena(arena):
    fs = frames(arena)
    return arena[:fs[-1][0] + len(fs[-1][1])] if fs else arena[:BLOCK]


def trim_superblock(sb):
    """Slot 0 whole, slot 1 without its zero tail (a short slot still decodes)."""
    return sb[:BLOCK] + sb[BLOCK:].rstrip(b"\0")


def seed_of(segment):
    segment_no, salt = struct.unpack_from("<QQ", segment, 32)
    return segment_no ^ salt


def image(sb, segments, arena=None, checkpoints=(), flags=0, probes=b""):
    """The wal_replay container (see fuzz_wal_replay.cc)."""
    assert len(segments) <= 3 and len(checkpoints) <= 2
    flags |= len(segments) | (4 if arena else 0)
    flags |= (8 if len(checkpoints) >= 1 else 0) | (0x80 if len(checkpoints) == 2 else 0)
    out = bytes([flags]) + u32(len(sb)) + sb
    for n, data in segments:
        out += u32(n) + u32(len(data)) + data
    if arena:
        out += u32(arena[0]) + u32(len(arena[1])) + arena[1]
    for n, data in checkpoints:
        out += u32(n) + u32(len(data)) + data
    return out + probes


def snapshot(db):
    files = {}
    for name in os.listdir(db):
        data = read(os.path.join(db, name))
        if name.startswith("wal-"):
            data = trim_segment(data)
        elif name.startswith("arena-"):
            data = trim_arena(data)
        elif name == "SUPERBLOCK":
            data = trim_superblock(data)
        files[name] = data
    return files


def main():
    tmp = tempfile.mkdtemp(prefix="loci-seeds-")
    try:
        a = os.path.join(tmp, "a")  # the design.md §1 example
        loci("init", a)
        loci("put", a, "--space", "me", "--text", "likes green tea", "--valid-from", "2023-05-08T00:00:00Z")
        loci("update", a, "1", "--text", "likes black coffee", "--valid-from", "2023-06-01T00:00:00Z")
        loci("retire", a, "1")
        b = os.path.join(tmp, "b")  # vectors, attributes, kinds, states, parents, expiry
        loci("init", b)
        loci("put", b, "--space", "a", "--text", "hello", "--vector", "mini=0.1,0.2,0.3", "--attr", "n=3",
             "--attr-string", "s=x", "--attr", "b=true", "--source", "msg1", "--agent", "bot",
             "--importance", "0.5", "--state", "archived", "--metric", "l2")
        loci("put", b, "--space", "b", "--kind", "activation", "--text", "")
        loci("update", b, "1", "--remove-attr", "n", "--vector", "mini=1,2,3")
        loci("put", b, "--space", "a", "--text", "third", "--parent", "1", "--valid-to",
             "2030-01-01T00:00:00Z", "--expires-at", "2031-01-01T00:00:00Z")
        c = os.path.join(tmp, "c")  # checkpoints: segments 1, 2, 3 and a base + delta
        loci("init", c)
        loci("put", c, "--space", "x", "--text", "one")
        s0 = snapshot(c)
        loci("checkpoint", c)
        loci("put", c, "--space", "x", "--text", "two")
        loci("update", c, "1", "--text", "uno")
        s1 = snapshot(c)
        loci("checkpoint", c)
        loci("put", c, "--space", "y", "--text", "three")
        s2 = snapshot(c)
        d = os.path.join(tmp, "d")  # a vector field dropped, defined again, then a checkpoint
        loci("init", d)
        loci("put", d, "--space", "s", "--text", "old model", "--vector", "e=1,0,0", "--metric", "l2")
        loci("update", d, "1", "--vector", "n=1,0", "--metric", "l2")
        loci("drop-field", d, "--space", "s", "--field", "e")
        loci("put", d, "--space", "s", "--vector", "e=0,1", "--metric", "ip")
        sd0 = snapshot(d)
        loci("checkpoint", d)
        loci("put", d, "--space", "s", "--vector", "n=0,1")
        sd1 = snapshot(d)
        e = os.path.join(tmp, "e")  # the trace graph: episodes, links, an unlink, a checkpoint
        loci("init", e)
        loci("put", e, "--space", "alice", "--text", "turn one", "--episode", "s1",
             "--valid-from", "2023-05-08T00:00:00Z")
        loci("put", e, "--space", "alice", "--text", "turn two", "--episode", "s1")
        loci("put", e, "--space", "alice", "--text", "summary")
        loci("link", e, "3", "1", "--type", "derived_from", "--weight", "0.5")
        loci("link", e, "3", "2", "--type", "derived_from", "--valid-from", "2023-05-09T00:00:00Z")
        loci("unlink", e, "3", "2", "--type", "derived_from")
        loci("update", e, "2", "--episode", "s2")
        se0 = snapshot(e)
        loci("checkpoint", e)
        loci("link", e, "1", "2", "--type", "1000", "--space", "alice")
        loci("put", e, "--space", "alice", "--text", "turn three", "--episode", "s1")
        se1 = snapshot(e)
        sa, sb_ = snapshot(a), snapshot(b)

        seg = "wal-{:08d}.log".format
        gen = "arena-00000001.blob"
        ckpt = "ckpt-{:08d}.ckpt".format
        probes = bytes([1, 0x40, 2, 0xC5, 1, 0x81, 3, 0x00])

        # wal_replay: whole directories, then crash and damage states.
        write_seed("wal_replay", "design_example", image(sa["SUPERBLOCK"], [(1, sa[seg(1)])], (1, sa[gen]), probes=probes))
        write_seed("wal_replay", "vectors_attrs", image(sb_["SUPERBLOCK"], [(1, sb_[seg(1)])], (1, sb_[gen]), flags=0x20, probes=probes))
        write_seed("wal_replay", "three_segments", image(
            s0["SUPERBLOCK"], [(1, s0[seg(1)]), (2, s1[seg(2)]), (3, s2[seg(3)])], (1, s2[gen]), flags=0x60, probes=probes))
        write_seed("wal_replay", "base_and_delta", image(
            s2["SUPERBLOCK"], [(3, s2[seg(3)])], (1, s2[gen]), [(1, s2[ckpt(1)]), (2, s2[ckpt(2)])], probes=probes))
        # salvage reads the wal_replay images too (fuzz/CMakeLists.txt); its own are two of them
        # damaged where salvage goes on and recovery stops: a checkpoint entry (resynchronised
        # past), a segment's salt (corrected by one bit) and a record after it (lost).
        damaged_ckpt = bytearray(s2[ckpt(1)])
        damaged_ckpt[len(damaged_ckpt) // 2] ^= 0x04
        write_seed("salvage", "damaged_checkpoint_entry", image(
            s2["SUPERBLOCK"], [(3, s2[seg(3)])], (1, s2[gen]), [(1, bytes(damaged_ckpt)), (2, s2[ckpt(2)])]))
        damaged_live = bytearray(s2[seg(3)])
        damaged_live[43] ^= 0x20
        damaged_live[BLOCK + 50] ^= 0x01
        write_seed("salvage", "damaged_salt_and_record", image(
            s2["SUPERBLOCK"], [(3, bytes(damaged_live))], (1, s2[gen]), [(1, s2[ckpt(1)]), (2, s2[ckpt(2)])]))
        write_seed("wal_replay", "obsolete_segment", image(
            s1["SUPERBLOCK"], [(1, s0[seg(1)]), (2, s1[seg(2)])], (1, s1[gen]), [(1, s1[ckpt(1)])], flags=0x20))
        write_seed("wal_replay", "drop_field", image(sd0["SUPERBLOCK"], [(1, sd0[seg(1)])], (1, sd0[gen]), probes=probes))
        write_seed("wal_replay", "drop_field_checkpoint", image(
            sd1["SUPERBLOCK"], [(2, sd1[seg(2)])], (1, sd1[gen]), [(1, sd1[ckpt(1)])], probes=probes))
        # record_codec: the batch payload that drops the field (format 2); checkpoint: the file.
        drops = [r for _, r in batches(sd0[seg(1)]) if payload(r)[:1] == b"\2"]
        assert len(drops) == 1, "expected one batch record in format 2"
        write_seed("record_codec", "drop_batch", payload(drops[0]))
        # record_codec: a put's batch, which logs its payload's bytes (format 3).
        logged = [r for _, r in batches(sa[seg(1)]) if payload(r)[:1] == b"\3"]
        assert logged, "expected a batch record in format 3"
        write_seed("record_codec", "logged_blobs_batch", payload(logged[0]))
        write_seed("checkpoint", "ckpt_drop", sd1[ckpt(1)])
        # The trace graph: format 4 batches (puts into an episode, links, an unlink, an update
        # that moves a cube to another episode), whole databases before and after a checkpoint
        # (whose file has episode-version and edge entries), and that checkpoint alone.
        graph = [r for _, r in batches(se0[seg(1)]) if payload(r)[:1] == b"\4"]
        assert len(graph) == 6, "expected 6 batch records in format 4, not %d" % len(graph)
        for name, rec in zip(("episode_put_batch", "episode_put2_batch", "link_batch", "link2_batch",
                              "unlink_batch", "episode_update_batch"), graph):
            write_seed("record_codec", name, payload(rec))
        for i in (0, 2, 4):
            write_seed("wal_record", "e_record%d" % i, u64(seed_of(se0[seg(1)])) + graph[i])
        write_seed("wal_replay", "trace_graph", image(se0["SUPERBLOCK"], [(1, se0[seg(1)])], (1, se0[gen]), probes=probes))
        write_seed("wal_replay", "trace_graph_checkpoint", image(
            se1["SUPERBLOCK"], [(2, se1[seg(2)])], (1, se1[gen]), [(1, se1[ckpt(1)])], probes=probes))
        write_seed("checkpoint", "ckpt_trace_graph", se1[ckpt(1)])
        # checkpoint: a delta with a chain-start entry (loci prune keeps the newest version).
        r = os.path.join(tmp, "r")
        loci("init", r)
        loci("put", r, "--space", "s", "--text", "one")
        loci("checkpoint", r)
        for text in ("two", "three"):
            loci("update", r, "1", "--text", text)
        loci("prune", r, "--keep-versions", "1", "--yes")
        write_seed("checkpoint", "ckpt_chain_start", snapshot(r)[ckpt(2)])
        # index_page: the index snapshot written with that checkpoint (two flat partitions; the
        # clustered seed is written by index_snapshot_test, see fuzz/README.md).
        write_seed("index_page", "flat_two_fields", b"\0" + sd1["atlas-00000001.idx"])  # mode 0
        last = batches(sa[seg(1)])[-1]
        torn = sa[seg(1)][:last[0] + 60]
        write_seed("wal_replay", "torn_tail", image(sa["SUPERBLOCK"], [(1, torn)], (1, sa[gen]), probes=probes))
        damaged = bytearray(sa[seg(1)])
        damaged[BLOCK + 45] ^= 0x10  # inside the first record's payload: durable records follow
        write_seed("wal_replay", "mid_log_damage", image(sa["SUPERBLOCK"], [(1, bytes(damaged))], (1, sa[gen]), flags=0x10))

        # wal_record: seed + one record span.
        for name, files in (("a", sa), ("b", sb_), ("c", s2)):
            segment = files[seg(3 if name == "c" else 1)]
            for i, (_, rec) in enumerate(records(segment)[:2]):
                write_seed("wal_record", "%s_record%d" % (name, i), u64(seed_of(segment)) + rec)

        # blob_frame: mode, offset, generation, length, checksum, then the frame. Mode 0 takes the
        # reference from the frame's header; mode 1 uses the explicit one.
        for name, files in (("a", sa), ("b", sb_)):
            for i, (offset, frame) in enumerate(frames(files[gen])[:3]):
                length, generation = struct.unpack_from("<II", frame, 4)
                checksum = struct.unpack_from("<Q", frame, 16)[0]
                write_seed("blob_frame", "%s_frame%d" % (name, i), b"\0" + u64(offset) + u32(0) + u32(0) + u64(0) + frame)
                if i == 0:
                    write_seed("blob_frame", "%s_frame%d_ref" % (name, i),
                               b"\1" + u64(offset) + u32(generation) + u32(length) + u64(checksum) + frame)
            write_seed("blob_frame", "%s_generation_header" % name, b"\0" + bytes(24) + files[gen][:64])

        # cli_args: mode byte, then NUL-separated arguments ("db" is the fuzzer's database).
        def cli(name, *args):
            write_seed("cli_args", name, b"\0" + b"\0".join(x.encode() for x in args))

        cli("get_json", "get", "db", "2", "--json")
        cli("get_as_of", "get", "db", "1", "--as-of", "2023-06-01T00:00:00Z", "--valid-at", "2023-05-20T00:00:00Z")
        cli("get_space", "get", "db", "3", "--space", "alice")
        cli("history_json", "history", "db", "1", "--json", "--as-of", "forever")
        cli("info_json", "info", "db", "--json")
        cli("check", "check", "db")
        cli("wal_dump", "wal-dump", "db")
        cli("put", "put", "db", "--space", "a", "--text", "x", "--vector", "e=1,2", "--attr", "k=v",
            "--attr-string", "n=1", "--parent", "1", "--valid-from", "2023-05-08T15:56:00.25+02:00",
            "--kind", "parametric", "--importance", "0.5", "--metric", "ip", "--no-sync")
        cli("put_payload_file", "put", "db", "--space", "a", "--payload-file", "payload")
        cli("update", "update", "db", "1", "--remove-attr", "n", "--remove-vector", "e", "--clear-parents",
            "--state", "active", "--expires-at", "1683554160000000")
        cli("retire", "retire", "db", "1", "--valid-to=forever")
        cli("checkpoint", "checkpoint", "db")
        cli("drop_field", "drop-field", "db", "--space", "a", "--field", "e")
        cli("put_episode", "put", "db", "--space", "alice", "--text", "x", "--episode", "s1")
        cli("update_episode", "update", "db", "3", "--episode", "")
        cli("link", "link", "db", "3", "4", "--type", "caused", "--weight", "0.5", "--valid-from", "0")
        cli("unlink", "unlink", "db", "4", "3", "--type", "1000", "--space", "alice")
        cli("trace_json", "trace", "db", "4", "--hops", "2", "--types", "refers,1000", "--direction", "both",
            "--episode-order", "--limit", "5", "--as-of", "forever", "--json")
        cli("trace_bad_hops", "trace", "db", "4", "--hops", "9")
        cli("episode_json", "episode", "db", "1", "--before", "1", "--after", "1000",
            "--valid-at", "2023-05-20T00:00:00Z", "--json")
        cli("events_json", "events", "db", "--space", "alice", "--episode", "s1", "--from", "0", "--to", "forever",
            "--json")
        cli("changes", "changes", "db", "--space", "alice", "--from", "0", "--to", "forever", "--limit", "3")
        cli("list_json", "list", "db", "--space", "alice", "--after", "1", "--json")
        cli("fuse", "fuse", "db", "1", "3", "--text", "summary", "--attr", "k=v", "--episode", "s1")
        cli("fuse_space", "fuse", "db", "1", "--space", "alice", "--payload-file", "payload")
        cli("provenance_json", "provenance", "db", "3", "--depth", "2", "--as-of", "forever",
            "--valid-at", "2023-06-01T00:00:00Z", "--json")
        cli("provenance_space", "provenance", "db", "3", "--space", "alice")
        cli("import", "import", "db", "payload", "--batch", "2", "--json")
        cli("search_expand_json", "search", "db", "--space", "alice", "--field", "e", "--vector", "1,0,0",
            "--expand", "2", "--expand-types", "refers,1000", "--expand-episode", "--json")
        cli("search_window", "search", "db", "--space", "alice", "--field", "e", "--vector", "1,0,0",
            "--window", "2023-01-01T00:00:00Z,", "--expand", "1", "--expand-decay", "0.9",
            "--expand-limit", "3")
        cli("search_bad_window", "search", "db", "--space", "alice", "--field", "e", "--vector", "1,0,0",
            "--window", "5,5")
        cli("help", "--help")
        cli("get_help", "get", "--help")
        cli("unknown", "frobnicate", "db")
        write_seed("cli_args", "time", b"\x04" + b"2023-05-08T15:56:00.25+02:00")
        write_seed("cli_args", "time_micros", b"\x04" + b"-1683554160000001")
        write_seed("cli_args", "vector", b"\x05" + b"e=0.1,-1e3,nan,inf,1e-45,+2")
        write_seed("cli_args", "attr", b"\x06" + b"n=-42")
        write_seed("cli_args", "kind", b"\x06" + b"parametric")
        write_seed("cli_args", "utf8", b"\x07" + "naïve 日本 🍵".encode() + b" \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80")

        # ops_differential: config byte, then operations (see Driver::Step for the byte layout).
        put_may = [0, 0, 5, 0x08, 3]  # put space a, payload-5, valid_from = 2023-05-01
        update_july = [2, 0, 0x01, 0x10, 6, 4, 0]  # update first cube: payload-6 valid from 2023-07-01
        get = lambda valid, as_of: [7, 0, 0x05, valid, as_of]  # get first cube at (as_of, valid_at)
        write_seed("ops_differential", "design_example", bytes(
            [0] + put_may + update_july + get(3, 6) + get(4, 7) + [4, 0, 0, 0] + get(3, 0) +
            [9, 0, 0, 0] + [11] + [10] + get(3, 0)))
        write_seed("ops_differential", "vectors_batch", bytes(
            [0x0A] +
            [6, 0, 0, 3, 2] +                               # define a/e dim 3 l2
            [0, 0, 7, 0x03, 1, 0, 3, 0, 1, 3, 1, 0, 2, 0] +  # put a: vector e, 2 attrs
            [5, 2, 0, 1, 9, 0x80, 1, 0, 0, 2, 0, 0x08, 0x00, 1, 0, 2, 1, 2, 3, 0] +  # batch
            [12, 7, 0, 0x02, 0] + [11] + [10] + [9, 0, 0x08, 0]))
        write_seed("ops_differential", "drop_field", bytes(
            [0] +
            [6, 0, 0, 3, 2] +                      # define a/e dim 3 l2
            [0, 0, 7, 0x01, 0, 0, 2, 0, 0, 3] +    # put a: vector e (3-d)
            [14, 0, 0] +                           # drop a/e
            [7, 0, 0] +                            # get the cube: no vector
            [0, 0, 8, 0x01, 0, 0, 2, 0, 0, 3] +    # put a: vector e: refused, e was dropped
            [6, 0, 0, 2, 0] +                      # define a/e dim 2 cosine (a new field)
            [0, 0, 9, 0x01, 0, 0, 1, 0, 2] +       # put a: vector e (2-d)
            [5, 2, 4, 0, 0, 3, 0, 0, 3, 2, 0, 0, 10, 0x01, 0, 0, 2, 0, 0, 3] +  # batch: drop, define 3-d l2, put
            [9, 0, 0, 0] + [11] + [10] + [7, 0, 0] +  # history, checkpoint, reopen, get
            [14, 0, 6] + [14, 2, 0]))              # drop a/h (no such field), c/e (no such space)
        # The trace graph (opcodes 15-26, Driver::Step): puts into episodes, links (one of
        # weight 0), an unlink, a put and a link to it by placeholder in one batch, an update
        # moving a cube to another episode; Trace, Episode, Events, Changes, List and Search with
        # expansion; then a checkpoint, a reopen, and more reads.
        vec = lambda a, b, c, pay: [0, pay, 0x01, 0, 0, 2, a, b, c]  # a draft: space a, e 3-d
        write_seed("ops_differential", "trace_graph", bytes(
            [0] +
            [0] + vec(0, 0, 1, 5) +                # put 1
            [18] + vec(0, 1, 0, 6) + [0] +         # put 2 into episode s1
            [18] + vec(1, 0, 0, 7) + [0] +         # put 3 into episode s1
            [18, 0, 8, 0, 1] +                     # put 4 (no vector) into episode s2
            [15, 0x00, 0, 1, 1, 0, 0] +            # link 1 -> 2 caused
            [15, 0x00, 1, 3, 2, 1, 0] +            # link 2 -> 4 refers, weight 0.5
            [15, 0x00, 3, 0, 4, 4, 0] +            # link 4 -> 1 derived_from, weight 0
            [20, 0] + vec(2, 2, 0, 9) + [0, 0, 2, 0, 0] +  # batch: put 5 (s1), link 5 -> 1
            [17, 0xC0, 0, 0, 0] +                  # unlink the first edge
            [19, 3, 0x01, 1, 9, 0] +               # update 4: episode s2, payload
            [21, 0, 0x10, 2, 0, 2, 0] +            # trace from 1, both ways, episode order
            [22, 1, 0, 2, 3] +                     # episode of 2
            [23, 0, 0x40, 0, 0, 0] +               # events of a, episode s1
            [24, 0, 0, 0, 0, 0] +                  # changes of a
            [25, 0, 0, 3] +                        # list a, pages of 3
            [26, 0x00, 1, 0x36, 0, 0, 0, 0, 0, 0] +  # search a/e k 2, 2 hops, episode order
            [11, 10] +                             # checkpoint, reopen
            [26, 0x00, 0, 0x02, 0, 0, 0, 1, 2, 3] +  # search k 1, 2 hops
            [21, 3, 0x11, 2, 1, 1, 7, 0]))         # trace from 4, as of a time, inward
        write_seed("ops_differential", "segments_and_checkpoints", bytes(
            [0x1E] + put_may * 3 + [0, 1, 220, 0] + update_july + [11] + put_may + [10] +
            [4, 1, 6, 0] + get(0, 0) + [13]))
        write_seed("ops_differential", "retention", retention_ops())
    finally:
        shutil.rmtree(tmp)


def retention_ops():
    """ops_differential: space b keeps two versions (config bit 5), automatic checkpoints on:
    updates, a snapshot that pins what it may read, checkpoints, reads before and after the
    cut, a reopen."""
    put_b = lambda pay: [0, 1, pay, 0x08, 3]  # put space b, payload-<pay>, from 2023-05-01
    update = lambda pay: [2, 0, 0x01, 0x10, pay, 4, 0]  # update the first cube
    get = lambda valid, as_of: [7, 0, 0x05, valid, as_of]
    history = [9, 0, 0, 0]
    return bytes([0x28] + put_b(5) + put_b(9) + update(6) + update(7) + update(8) + [12] +
                 update(10) + [11] + get(3, 0) + get(4, 7) + history + [13] + [11] + history +
                 [10] + history + get(3, 6))


if __name__ == "__main__":
    main()
