"""Independent reference numbers for the Cosmology tests.

Reads a JSON request on stdin and answers with JSON on stdout:
  growth:   colossus (Diemer 2018) growth factors D(a)/D(1) with relativistic
            species off (GADGET-4's background has none), and f = dlnD/dlna by
            a Richardson-extrapolated central difference of colossus' D.
  spectrum: Delta^2(k) normalised to sigma8 by scipy quadrature, with the
            transfer function from colossus (Eisenstein & Hu 1998, with and
            without wiggles) or the Efstathiou et al. 1992 formula.
"""
import json
import sys

import numpy as np
from colossus.cosmology import cosmology, power_spectrum
from scipy import integrate


def make_cosmology(c, name):
    params = {
        "flat": abs(c["Om0"] + c["Ode0"] - 1.0) < 1e-12,
        "H0": 100.0 * c["h"],
        "Om0": c["Om0"],
        "Ode0": c["Ode0"],
        "Ob0": c["Ob0"],
        "sigma8": 0.8,
        "ns": 1.0,
        "relspecies": False,
        "Tcmb0": c.get("Tcmb0", 2.7255),
    }
    return cosmology.setCosmology(name, params=params, interpolation=False, persistence="")


def growth(request):
    out = []
    for i, c in enumerate(request["cosmologies"]):
        cosmo = make_cosmology(c, "g%d" % i)
        a = np.array(request["a"])
        D = lambda x: cosmo.growthFactor(1.0 / x - 1.0)
        h = 0.02
        def central(step):
            return (np.log(D(a * np.exp(step))) - np.log(D(a * np.exp(-step)))) / (2 * step)
        f = (4 * central(h / 2) - central(h)) / 3
        out.append({"D": list(map(float, D(a))), "f": list(map(float, f))})
    return out


def sigma8_normalised(delta2_shape, sigma8):
    def integrand(lnk):
        k = np.exp(lnk)
        x = 8.0 * k
        w = 1 - x * x / 10 if x < 1e-3 else 3 * (np.sin(x) - x * np.cos(x)) / x**3
        return delta2_shape(k) * w * w
    edges = np.linspace(np.log(1e-7 / 8), np.log(1e4 / 8), 60)
    s2 = sum(integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-12, limit=500)[0]
             for lo, hi in zip(edges[:-1], edges[1:]))
    return lambda k: delta2_shape(k) * sigma8**2 / s2


def spectrum(request):
    c = request["cosmology"]
    k = np.array(request["k"])
    ns = request["ns"]
    kind = request["kind"]
    if kind == "efstathiou":
        g = request["shapeGamma"]
        a, b, cc, nu = 6.4 / g, 3.0 / g, 1.7 / g, 1.13
        shape = lambda q: q**(3 + ns) / (1 + (a * q + (b * q)**1.5 + (cc * q)**2)**nu)**(2 / nu)
    else:
        model = {"eh": "eisenstein98", "eh_nowiggle": "eisenstein98_zb"}[kind]
        tcmb = c.get("Tcmb0", 2.7255)
        def shape(q):
            q = np.atleast_1d(q)
            t = power_spectrum.transferFunction(q, c["h"], c["Om0"], c["Ob0"], tcmb, model=model)
            return q**(3 + ns) * t**2
    norm = sigma8_normalised(lambda q: float(np.atleast_1d(shape(q))[0]), request["sigma8"])
    return [float(norm(x)) for x in k]


def main():
    request = json.load(sys.stdin)
    answer = {}
    if "growth" in request:
        answer["growth"] = growth(request["growth"])
    if "spectra" in request:
        answer["spectra"] = [spectrum(r) for r in request["spectra"]]
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
