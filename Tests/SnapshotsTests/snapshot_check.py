"""Independent reader/writer for the snapshot tests (h5py and numpy only).

  compare REF OUT...     REF: one GADGET-4 HDF5 file; OUT: the files g4sim
                         wrote (one or several). Prints a JSON report of which
                         datasets and header attributes are identical.
  format1 REF PATH       writes REF's particles as GADGET format 1 binary,
          [--swap] [--double] [--ids64] [--files N]
  tiny PATH N            writes an N-particle GADGET-4 HDF5 snapshot.
"""
import json
import sys

import h5py
import numpy as np


def concatenated(paths, name):
    return np.concatenate([h5py.File(p, "r")["PartType1/" + name][...] for p in paths])


def compare(ref, outs):
    r = h5py.File(ref, "r")
    report = {"datasets": {}, "header": {}, "dtypes": {}, "layout": {}}
    for name in ["Coordinates", "Velocities", "ParticleIDs"]:
        a = r["PartType1/" + name][...]
        b = concatenated(outs, name)
        report["datasets"][name] = bool(a.shape == b.shape and np.array_equal(a, b))
        report["dtypes"][name] = [str(a.dtype), str(h5py.File(outs[0], "r")["PartType1/" + name].dtype)]
        report["layout"][name + "_attrs"] = all(
            dict(h5py.File(p, "r")["PartType1/" + name].attrs) == dict(r["PartType1/" + name].attrs) for p in outs)
    per_file = []
    for p in outs:
        h = h5py.File(p, "r")["Header"].attrs
        per_file.append(int(h["NumPart_ThisFile"][1]))
        for key in r["Header"].attrs:
            if key in ("NumPart_ThisFile", "NumFilesPerSnapshot"):
                continue
            same = key in h and np.array_equal(h[key], r["Header"].attrs[key]) and h[key].dtype == r["Header"].attrs[key].dtype
            report["header"][key] = report["header"].get(key, True) and bool(same)
        report["header"]["NumFilesPerSnapshot"] = report["header"].get("NumFilesPerSnapshot", True) and int(h["NumFilesPerSnapshot"]) == len(outs)
    report["per_file"] = per_file
    report["header"]["NumPart_ThisFile"] = sum(per_file) == int(r["Header"].attrs["NumPart_Total"][1])
    for group in [g for g in ["Parameters", "Config"] if g in r]:
        report["layout"][group] = all(
            sorted(h5py.File(p, "r")[group].attrs.keys()) == sorted(r[group].attrs.keys()) for p in outs)
    json.dump(report, sys.stdout)


def record(f, payload, endian):
    n = np.array([len(payload)], dtype=endian + "u4").tobytes()
    f.write(n + payload + n)


def format1(ref, path, swap, double, ids64, files):
    r = h5py.File(ref, "r")
    endian = ">" if swap else "<"
    pos = r["PartType1/Coordinates"][...].astype(endian + ("f8" if double else "f4"))
    vel = r["PartType1/Velocities"][...].astype(endian + ("f8" if double else "f4"))
    ids = r["PartType1/ParticleIDs"][...].astype(endian + ("u8" if ids64 else "u4"))
    h = r["Header"].attrs
    total = len(ids)
    bounds = [total * k // files for k in range(files + 1)]
    for k in range(files):
        lo, hi = bounds[k], bounds[k + 1]
        header = bytearray(256)
        npart = np.zeros(6, dtype=endian + "i4"); npart[1] = hi - lo
        mass = np.zeros(6, dtype=endian + "f8"); mass[1] = h["MassTable"][1]
        tot = np.zeros(6, dtype=endian + "u4"); tot[1] = total
        fields = [npart.tobytes(), mass.tobytes(),
                  np.array([h["Time"], h["Redshift"]], dtype=endian + "f8").tobytes(),
                  np.zeros(2, dtype=endian + "i4").tobytes(), tot.tobytes(),
                  np.array([0, files], dtype=endian + "i4").tobytes(),
                  np.array([h["BoxSize"], 0.308, 0.692, 0.678], dtype=endian + "f8").tobytes()]
        blob = b"".join(fields)
        header[:len(blob)] = blob
        name = path if files == 1 else "%s.%d" % (path, k)
        with open(name, "wb") as f:
            record(f, bytes(header), endian)
            record(f, pos[lo:hi].tobytes(), endian)
            record(f, vel[lo:hi].tobytes(), endian)
            record(f, ids[lo:hi].tobytes(), endian)


def tiny(path, n):
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as f:
        h = f.create_group("Header").attrs
        h["BoxSize"] = 10.0
        h["MassTable"] = np.array([0.0, 2.5])
        h["NumFilesPerSnapshot"] = np.int32(1)
        h["NumPart_ThisFile"] = np.array([0, n], dtype=np.uint64)
        h["NumPart_Total"] = np.array([0, n], dtype=np.uint64)
        h["Time"] = 0.5
        h["Redshift"] = 1.0
        g = f.create_group("PartType1")
        g["Coordinates"] = rng.uniform(0, 10, (n, 3)).astype(np.float32)
        g["Velocities"] = rng.normal(0, 100, (n, 3)).astype(np.float32)
        g["ParticleIDs"] = np.arange(1, n + 1, dtype=np.uint64)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "compare":
        compare(sys.argv[2], sys.argv[3:])
    elif cmd == "format1":
        args = sys.argv[4:]
        files = int(args[args.index("--files") + 1]) if "--files" in args else 1
        format1(sys.argv[2], sys.argv[3], "--swap" in args, "--double" in args, "--ids64" in args, files)
    elif cmd == "tiny":
        tiny(sys.argv[2], int(sys.argv[3]))
