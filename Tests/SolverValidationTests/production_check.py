"""Independent checks of g4sim's production outputs (h5py, numpy, scipy, pynbody).

  identical A B            particle datasets of two snapshots byte for byte
  readable S               h5py opens S; prints its particle count
  readable-catalogue C     h5py opens a fof_tab file; prints its group count
  pynbody S                pynbody loads S; prints count and box check
  groups SNAP CAT G4CAT    members of every group (via GroupOffsetType /
                           GroupLenType into the group-ordered SNAP) are exactly
                           a friends-of-friends group found with scipy's KD-tree;
                           mass function against GADGET-4's catalogue G4CAT
"""
import json
import sys

import h5py
import numpy as np


def identical(a, b):
    fa, fb = h5py.File(a, "r"), h5py.File(b, "r")
    same = {k: fa["PartType1/" + k][...].tobytes() == fb["PartType1/" + k][...].tobytes()
            for k in ["Coordinates", "Velocities", "ParticleIDs"]}
    return {"identical": all(same.values()), "datasets": same}


def readable(path):
    f = h5py.File(path, "r")
    return {"particles": int(f["Header"].attrs["NumPart_Total"][1]), "coordinates": list(f["PartType1/Coordinates"].shape)}


def readable_catalogue(path):
    f = h5py.File(path, "r")
    return {"groups": int(f["Header"].attrs["Ngroups_Total"]), "datasets": sorted(f["Group"].keys())}


def load_pynbody(path):
    import pynbody
    s = pynbody.load(path)
    box = float(s.properties["boxsize"].in_units("Mpc a h**-1", **s.conversion_context()))
    # pynbody's Mpc is 3.085677581e24 cm, GADGET-4's 3.085678e24 cm: 1.4e-7 apart.
    return {"particles": len(s), "boxsize": box, "boxsize_ok": abs(box / 50.0 - 1) < 1e-6, "mass": float(s["mass"][0])}


def groups(snapshot, catalogue, gadget_catalogue):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    f = h5py.File(snapshot, "r")
    pos = f["PartType1/Coordinates"][...].astype(np.float64)
    ids = f["PartType1/ParticleIDs"][...]
    box = float(f["Header"].attrs["BoxSize"])
    link = 0.2 * box / len(pos) ** (1 / 3)
    pairs = cKDTree(pos % box, boxsize=box).query_pairs(link, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pos), len(pos)))
    _, label = connected_components(graph, directed=False)
    members = {}
    for l, pid in zip(label, ids):
        members.setdefault(l, set()).add(int(pid))
    expected = {frozenset(s) for s in members.values() if len(s) >= 32}
    c = h5py.File(catalogue, "r")["Group"]
    found = {frozenset(ids[o:o + n].tolist()) for o, n in zip(c["GroupOffsetType"][:, 1], c["GroupLenType"][:, 1])}
    g = h5py.File(gadget_catalogue, "r")["Group"]
    edges = np.logspace(np.log10(32), np.log10(1000), 6)
    ours_hist = np.histogram(c["GroupLen"][...], edges)[0]
    g4_hist = np.histogram(g["GroupLen"][...], edges)[0]
    # Poisson: the difference of two counts has variance n1 + n2; allow 2 sigma per bin.
    within = [bool(abs(a - b) <= 2 * np.sqrt(max(a + b, 1))) for a, b in zip(ours_hist, g4_hist)]
    return {"members_exact": found == expected, "groups": len(found), "gadget_groups": int(len(g["GroupLen"])),
            "mass_function": ours_hist.tolist(), "gadget_mass_function": g4_hist.tolist(), "within_poisson": within}


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    result = {"identical": lambda: identical(*args), "readable": lambda: readable(*args),
              "readable-catalogue": lambda: readable_catalogue(*args), "pynbody": lambda: load_pynbody(*args),
              "groups": lambda: groups(*args)}[cmd]()
    json.dump(result, sys.stdout)
