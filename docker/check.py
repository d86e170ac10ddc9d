#!/usr/bin/env python3
"""Keeps the Dockerfiles correct without a Docker engine:

- every COPY source (but --from=stage) exists in the build context (the
  repository root), and is not excluded by .dockerignore;
- every file a runtime stage copies from the build stage is made there
  (`cp` of a product the stage's `swift build` names with --product);
- every shared library the built binaries link (`ldd`, on this machine's
  build: Debian bookworm, as the images) is either the Swift runtime, linked
  statically by --static-swift-stdlib, or belongs (`dpkg -S`) to a package
  the runtime stage installs or one those depend on (`apt-cache depends`);
- the runtime stage is debian:bookworm-slim (this machine's release), runs
  as a non-root user, and the service image has a HEALTHCHECK on /health.

usage: docker/check.py [--binaries DIR]   (default .build/debug: a debug
binary links the same system libraries as the release one)
"""
import argparse
import fnmatch
import os
import re
import shlex
import subprocess
import sys

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--binaries", default=os.path.join(repo, ".build", "debug"))
args = parser.parse_args()
problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def instructions(path):
    """(keyword, argument text) per instruction, continuation lines joined."""
    out, current = [], ""
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not current and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            current += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
            if not line.endswith("\\"):
                keyword, _, rest = current.strip().partition(" ")
                out.append((keyword.upper(), rest.strip()))
                current = ""
    return out


def stages(path):
    """[{name, base, instructions}] in order; ARG defaults substituted in FROM."""
    defaults, result = {}, []
    for keyword, rest in instructions(path):
        if keyword == "ARG" and not result:
            name, _, value = rest.partition("=")
            defaults[name] = value
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(result))
            result.append({"name": name, "base": base, "instructions": []})
        else:
            result[-1]["instructions"].append((keyword, rest))
    return result


def ignored(relative):
    patterns = []
    path = os.path.join(repo, ".dockerignore")
    if os.path.exists(path):
        patterns = [p.strip().lstrip("/") for p in open(path) if p.strip() and not p.startswith("#")]
    return any(fnmatch.fnmatch(relative, p) or relative.startswith(p.rstrip("/") + "/") for p in patterns)


def installed_packages(stage):
    packages = []
    for keyword, rest in stage["instructions"]:
        if keyword == "RUN":
            for command in re.split(r"&&|;", rest):
                words = shlex.split(command)
                if "apt-get" in words and "install" in words:
                    packages += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return packages


def dependency_closure(packages):
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances"] + packages, capture_output=True, text=True)
    if out.returncode != 0:
        problem("apt-cache", out.stderr.strip())
    names = {line.strip() for line in out.stdout.splitlines() if line and not line[0].isspace()}
    return {n.split(":")[0] for n in names if not n.startswith("<")}


def owning_packages(libraries):
    """Debian package per library path, from one `dpkg -S` (each path tried
    as given, resolved, and under /lib and /usr/lib: usrmerge)."""
    candidates = {}
    for library in libraries:
        real = os.path.realpath(library)
        forms = {library, real}
        for path in list(forms):
            forms.add(path[len("/usr"):] if path.startswith("/usr/lib/") else "/usr" + path if path.startswith("/lib/") else path)
        candidates[library] = forms
    every = sorted(set().union(*candidates.values())) if candidates else []
    out = subprocess.run(["dpkg", "-S"] + every, capture_output=True, text=True)
    owner = {}
    for line in out.stdout.splitlines():
        package, _, path = line.partition(": ")
        owner[path.strip()] = package.split(",")[0].split(":")[0].strip()
    return {library: next((owner[f] for f in forms if f in owner), None) for library, forms in candidates.items()}


def swift_toolchain():
    swiftc = subprocess.run(["which", "swiftc"], capture_output=True, text=True).stdout.strip()
    return os.path.dirname(os.path.dirname(os.path.realpath(swiftc))) if swiftc else "/opt/swift"


toolchain = swift_toolchain()
codename = dict(line.strip().split("=", 1) for line in open("/etc/os-release") if "=" in line).get("VERSION_CODENAME", "")
checked = []
for dockerfile in sorted(f for f in os.listdir(os.path.join(repo, "docker")) if f.endswith(".Dockerfile")):
    where = f"docker/{dockerfile}"
    parsed = stages(os.path.join(repo, "docker", dockerfile))
    runtime, builds = parsed[-1], {s["name"]: s for s in parsed[:-1]}
    if runtime["base"] != f"debian:{codename}-slim":
        problem(where, f"runtime stage is {runtime['base']}, this machine builds on debian {codename} (debian:{codename}-slim)")
    for stage in parsed[:-1]:
        if not stage["base"].endswith(f"-{codename}"):
            problem(where, f"build stage {stage['name']} is {stage['base']}, not a {codename} image")

    # Products each build stage makes and copies to where the runtime takes them.
    made = {}
    for name, stage in builds.items():
        for keyword, rest in stage["instructions"]:
            if keyword == "RUN" and "swift build" in rest:
                products = re.findall(r"--product (\S+)", rest)
                static = "--static-swift-stdlib" in rest
                for command in rest.split("&&"):
                    words = shlex.split(command)
                    if words[:1] == ["cp"]:
                        target = words[-1]
                        for source in words[1:-1]:
                            product = os.path.basename(source)
                            if product in products:
                                made[(name, os.path.join(target, product))] = (product, static)

    binaries = []
    user = None
    healthcheck = None
    for keyword, rest in runtime["instructions"]:
        if keyword == "USER":
            user = rest.split(":")[0]
        if keyword == "HEALTHCHECK":
            healthcheck = rest
        if keyword != "COPY":
            continue
        words = shlex.split(rest)
        source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        paths = [w for w in words if not w.startswith("--")]
        for source in paths[:-1]:
            if source_stage is None:
                if not os.path.exists(os.path.join(repo, source)):
                    problem(where, f"COPY {source}: not in the build context")
                elif ignored(source):
                    problem(where, f"COPY {source}: excluded by .dockerignore")
            elif (source_stage, source) not in made:
                problem(where, f"COPY --from={source_stage} {source}: that stage builds and copies no such product")
            else:
                binaries.append(made[(source_stage, source)])
    for stage in builds.values():
        for keyword, rest in stage["instructions"]:
            if keyword == "COPY" and "--from=" not in rest:
                for source in shlex.split(rest)[:-1]:
                    if not os.path.exists(os.path.join(repo, source)):
                        problem(where, f"COPY {source} (stage {stage['name']}): not in the build context")
    if user is None or user in ("0", "root"):
        problem(where, "the runtime stage runs as root (no USER, or USER root)")
    if "service" in dockerfile and (healthcheck is None or "/health" not in healthcheck):
        problem(where, "no HEALTHCHECK on /health")

    packages = installed_packages(runtime)
    available = dependency_closure(packages) | set(packages)
    for product, static in binaries:
        binary = os.path.join(args.binaries, product)
        if not os.path.exists(binary):
            problem(where, f"{binary} is not built (swift build --product {product})")
            continue
        linked = []  # (name, path)
        for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines():
            match = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
            if match:  # not linux-vdso, the kernel's
                linked.append((match.group(1), match.group(match.lastindex)))
        system = [(n, p) for n, p in linked if p != "not" and not os.path.realpath(p).startswith(toolchain + "/")]
        owners = owning_packages([p for _, p in system])
        for name, path in linked:
            if path == "not":
                problem(where, f"{product}: {name} is not found on this machine")
            elif os.path.realpath(path).startswith(toolchain + "/") and not static:
                problem(where, f"{product} links the Swift runtime ({name}) but is not built with --static-swift-stdlib")
        for name, path in system:
            package = owners[path]
            if package is None:
                problem(where, f"{product}: {path} belongs to no Debian package")
            elif package not in available:
                problem(where, f"{product} links {name} from {package}, which the runtime stage does not install")
        checked.append(f"{where}: {product} links {len(system)} system libraries, all from {', '.join(packages)} "
                       f"or their dependencies; {len(linked) - len(system)} Swift runtime libraries, linked statically")

for line in problems:
    print(line)
if problems:
    sys.exit(1)
print("\n".join(checked))
