#!/usr/bin/env python3
"""Fills fuzz/corpus/<target>/ with seed inputs from the repository's testdata and the
realworld corpus (../shared/realworld, or $RLCM_REALWORLD). Standard library only.

    python3 fuzz/seed.py [--package PKG.zip ...]

- ruby_actions:   every .rb file
- json_refs:      every .json file, plus a few asset paths (the target also classifies its input
                  as a path)
- package_reader: byte 0x00 + each zip (raw mode), testdata environments zipped here, and byte
                  0x01 + entry records (structured mode, see fuzz_targets/package_reader.rs)
                  for each zip and environment; --package adds more zips (for example one made
                  by `rlcm export`, which carries an rlcm-package.json for verify_package).

Seeds are named by their content hash, so running it twice adds nothing. Inputs larger than
MAX_LEN are skipped (the fuzzers run with -max_len=MAX_LEN).
"""

import argparse
import hashlib
import io
import os
import sys
import zipfile

MAX_LEN = 65536
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


RUBY_SNIPPETS = [
    b"{ title: 'x', actions: { a: {}, 'b' => {}, :c => {}, \"d\": {} }, triggers: { t: {} } }\n",
    b"""# actions: { fake: {} }
{
  title: 'Tricky',
  methods: {
    helper: lambda do
      <<~RUBY
        actions: { fake_in_heredoc: {} }
      RUBY
    end
  },
  actions: {
    search: { execute: lambda { |c, i| { nested: { actions: 1 } } } },
    "delete_#{1}" => {},
  },
  triggers: { new_event: { poll: lambda do |c, i, closure| { events: [] } end } },
  pick_lists: { actions: lambda { %w[a b] } },
}
""",
    b"connector = { actions: { x: { execute: ->(c, i) { /re#{1}gex/x.match?(i) ? 1 : 2 } } } }\n",
    b"({ triggers: { a: { webhook_notification: lambda do |i, p| p&.dig('x') end } } })\n",
]


def realworld_dir():
    return os.environ.get("RLCM_REALWORLD") or os.path.join(REPO, "..", "shared", "realworld")


def files_under(root, suffixes):
    out = []
    if not os.path.isdir(root):
        return out
    for dirpath, _dirs, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(suffixes):
                out.append(os.path.join(dirpath, name))
    return sorted(out)


def save(target, data):
    if len(data) > MAX_LEN:
        return False
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return True


def record(flags, name, content):
    """One structured-mode entry: flags, then name and content as length-prefixed fields."""

    def field(b):
        if len(b) < 0xFF:
            return bytes([len(b)]) + b
        b = b[:0xFFFF]
        return b"\xff" + len(b).to_bytes(2, "little") + b

    return bytes([flags]) + field(name) + field(content)


def structured(entries, budget=MAX_LEN - 1):
    out = bytearray(b"\x01")
    for flags, name, content in entries:
        rec = record(flags, name, content)
        if len(out) + len(rec) > budget:
            # keep the entry, with as much content as fits
            room = budget - len(out) - len(name) - 8
            if room <= 0:
                break
            rec = record(flags, name, content[:room])
        out += rec
    return bytes(out)


def zip_dir(root, wrapper=""):
    buf = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files_under(root, ("",)):
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, "rb") as f:
                data = f.read()
            z.writestr(wrapper + rel, data)
            entries.append((1 | 32, (wrapper + rel).encode(), data))
    return buf.getvalue(), entries


def zip_entries(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [
                (1 | 32, info.filename.encode("utf-8", "surrogateescape"), z.read(info))
                for info in z.infolist()
                if not info.is_dir()
            ]
    except Exception:  # a damaged seed is still a seed in raw mode
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", action="append", default=[], help="another zip to seed package_reader with")
    args = ap.parse_args()
    counts = {}

    def add(target, data):
        if save(target, data):
            counts[target] = counts.get(target, 0) + 1

    roots = [os.path.join(REPO, "testdata"), realworld_dir()]
    for root in roots:
        for path in files_under(root, (".rb",)):
            add("ruby_actions", open(path, "rb").read())
        for path in files_under(root, (".json",)):
            add("json_refs", open(path, "rb").read())
    for p in [
        "a/b.recipe.json",
        "x.custom_adapter.rb",
        "d/x.custom_adapter.png",
        "account_properties.properties.json",
        "project.json",
        "Workspace Connections/x.connection.json",
    ]:
        add("json_refs", p.encode())

    for snippet in RUBY_SNIPPETS:
        add("ruby_actions", snippet)

    zips = [z for root in roots for z in files_under(root, (".zip",))] + args.package
    for path in zips:
        data = open(path, "rb").read()
        add("package_reader", b"\x00" + data)
        entries = zip_entries(data)
        if entries:
            add("package_reader", structured(entries))
    testdata = os.path.join(REPO, "testdata")
    for env in ["sandbox", "production", "broken"]:
        root = os.path.join(testdata, env)
        if not os.path.isdir(root):
            continue
        for wrapper in ["", "x/"]:
            data, entries = zip_dir(root, wrapper)
            add("package_reader", b"\x00" + data)
            add("package_reader", structured(entries))
        # one seed per top-level folder too: small packages mutate faster
        for sub in sorted(os.listdir(root)):
            if os.path.isdir(os.path.join(root, sub)):
                data, entries = zip_dir(os.path.join(root, sub), sub + "/")
                add("package_reader", b"\x00" + data)
                add("package_reader", structured(entries))
    for target in ["package_reader", "json_refs", "ruby_actions"]:
        os.makedirs(os.path.join(HERE, "corpus", target), exist_ok=True)
        print(f"{target}: {counts.get(target, 0)} seeds (max {MAX_LEN} bytes)")
    if not os.path.isdir(realworld_dir()):
        print(f"note: no realworld corpus at {realworld_dir()}; seeded from testdata only", file=sys.stderr)


if __name__ == "__main__":
    main()
