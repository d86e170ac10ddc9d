"""Independent checks of g4sim's friends-of-friends output (h5py, numpy).

  clumps PATH N SEED       writes an N-particle clustered snapshot (box 10)
  brute SNAP CAT B MINLEN  O(N^2) friends-of-friends on SNAP (periodic, linking
                           length B times the mean spacing), compared with the
                           catalogue CAT and the group-ordered snapshot SNAP
                           that g4sim wrote: prints JSON {"same": bool, ...}
  gadget OURS_CAT OURS_SNAP G4_CAT G4_SNAP
                           compares group membership (ID sets) of two catalogues
"""
import json
import sys

import h5py
import numpy as np


def clumps(path, n, seed):
    rng = np.random.default_rng(seed)
    box = 10.0
    centres = rng.uniform(0, box, (12, 3))
    k = n // 2
    pos = np.concatenate([
        centres[rng.integers(0, 12, k)] + rng.normal(0, 0.15, (k, 3)),  # clumps, some across the edges
        rng.uniform(0, box, (n - k, 3)),
    ]) % box
    with h5py.File(path, "w") as f:
        h = f.create_group("Header").attrs
        h["BoxSize"] = box
        h["MassTable"] = np.array([0.0, 1.0])
        h["NumFilesPerSnapshot"] = np.int32(1)
        h["NumPart_ThisFile"] = np.array([0, n], dtype=np.uint64)
        h["NumPart_Total"] = np.array([0, n], dtype=np.uint64)
        h["Time"] = 1.0
        h["Redshift"] = 0.0
        g = f.create_group("PartType1")
        g["Coordinates"] = pos.astype(np.float32)
        g["Velocities"] = rng.normal(0, 100, (n, 3)).astype(np.float32)
        g["ParticleIDs"] = rng.permutation(np.arange(1, n + 1)).astype(np.uint64)


def groups_from(catalogue, snapshot):
    c = h5py.File(catalogue, "r")
    ids = h5py.File(snapshot, "r")["PartType1/ParticleIDs"][...]
    if "Group" not in c:
        return []
    lens = c["Group/GroupLen"][...]
    offs = c["Group/GroupOffsetType"][...][:, 1]
    return [frozenset(ids[o:o + n].tolist()) for o, n in zip(offs, lens)]


def brute(snapshot, catalogue, b, minlen):
    f = h5py.File(snapshot, "r")
    pos = f["PartType1/Coordinates"][...].astype(np.float64)
    ids = f["PartType1/ParticleIDs"][...]
    box = float(f["Header"].attrs["BoxSize"])
    n = len(pos)
    link = b * box / n ** (1 / 3)
    parent = np.arange(n)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):  # every pair once: O(N^2)
        d = pos[i + 1:] - pos[i]
        d -= box * np.round(d / box)
        for j in np.nonzero((d * d).sum(1) < link * link)[0] + i + 1:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    roots = np.array([find(i) for i in range(n)])
    expected = {}
    for r, pid in zip(roots, ids):
        expected.setdefault(r, set()).add(int(pid))
    expected = {frozenset(s) for s in expected.values() if len(s) >= minlen}
    found = groups_from(catalogue, snapshot)
    lengths = [len(g) for g in found]
    json.dump({"same": set(found) == expected and len(found) == len(expected), "expected": len(expected),
               "found": len(found), "sorted": lengths == sorted(lengths, reverse=True)}, sys.stdout)


def gadget(ours_cat, ours_snap, g4_cat, g4_snap):
    a = groups_from(ours_cat, ours_snap)
    b = groups_from(g4_cat, g4_snap)
    json.dump({"same": set(a) == set(b), "ours": len(a), "gadget": len(b)}, sys.stdout)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "clumps":
        clumps(args[0], int(args[1]), int(args[2]))
    elif cmd == "brute":
        brute(args[0], args[1], float(args[2]), int(args[3]))
    elif cmd == "gadget":
        gadget(*args)
