"""Checks k8s/: renders each overlay with `kubectl kustomize`, validates every
object against the strict Kubernetes 1.31 JSON schemas, and checks what the
schemas cannot: references resolve, selectors select, every container is
locked down (non-root, read-only root, no privilege escalation, resources),
g4api is probed on /health, the RBAC is the minimal set the Kubernetes
backend needs, and every setting the manifests pass is one the README names.

usage: k8s_check.py REPO SCHEMA_DIR KUBECTL
Prints one line per problem and exits 1 if there is any; else a summary.
"""
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml

repo, schema_dir, kubectl = sys.argv[1:4]
problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def schema_for(obj):
    group_version = obj.get("apiVersion", "")
    group, _, version = group_version.rpartition("/")
    name = obj.get("kind", "").lower()
    name += f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    path = os.path.join(schema_dir, name + ".json")
    return path if os.path.exists(path) else None


def validate(where, obj):
    path = schema_for(obj)
    if path is None:
        problem(where, f"no strict schema for {obj.get('apiVersion')} {obj.get('kind')}")
        return
    with open(path) as f:
        schema = json.load(f)
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.path)):
        problem(where, f"{'/'.join(map(str, error.path)) or '(root)'}: {error.message}")


def render(overlay):
    out = subprocess.run([kubectl, "kustomize", os.path.join(repo, "k8s", "overlays", overlay)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        problem(overlay, f"kubectl kustomize failed: {out.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(out.stdout) if d]


# The settings the README documents (its table's first column, every `NAME` in it).
with open(os.path.join(repo, "README.md")) as f:
    readme = f.read()
documented = set()
for line in readme.splitlines():
    if line.startswith("| `"):
        documented.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))

# What the Kubernetes backend does (issue 11): create, read, list/watch and delete
# Jobs; read and list/watch pods; read pod logs. Nothing else, in its namespace.
needed_rules = {
    ("batch", "jobs"): {"create", "get", "list", "watch", "delete"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get"},
}

with open(os.path.join(repo, "k8s", "base", "secret.template.yaml")) as f:
    secret_template = yaml.safe_load(f)
validate("secret.template.yaml", secret_template)
for key, value in secret_template.get("stringData", {}).items():
    if "REPLACE-ME" not in value:
        problem("secret.template.yaml", f"{key} holds a value, not a placeholder")

expected = {"beta": {"replicas": 1, "tag": "beta"}, "stable": {"replicas": 3, "tag": "0.1.0"}}
summary = []
for overlay, wanted in expected.items():
    namespace = f"g4-{overlay}"
    objects = render(overlay)
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
        where = f"{overlay}/{obj['kind']}/{obj['metadata']['name']}"
        validate(where, obj)
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != namespace:
            problem(where, f"not in namespace {namespace}")
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            problem(where, "cluster-wide RBAC: the backend needs its namespace only")
    summary.append(f"{overlay}: {len(objects)} objects valid against {os.path.basename(schema_dir)}")
    names = lambda kind: by_kind.get(kind, {})
    secret_name = secret_template["metadata"]["name"]
    workloads = list(names("Deployment").values()) + list(names("StatefulSet").values())

    for workload in workloads:
        where = f"{overlay}/{workload['kind']}/{workload['metadata']['name']}"
        template = workload["spec"]["template"]
        labels = template["metadata"].get("labels", {})
        selector = workload["spec"]["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in selector.items()):
            problem(where, "selector does not match the pod template's labels")
        pod = template["spec"]
        pod_security = pod.get("securityContext", {})
        account = pod.get("serviceAccountName")
        if account and account not in names("ServiceAccount"):
            problem(where, f"service account {account} does not exist")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for volume in volumes.values():
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in names("PersistentVolumeClaim"):
                problem(where, f"volume {volume['name']}: claim {claim} does not exist")
        for c in pod["containers"]:
            cw = f"{where}/{c['name']}"
            security = c.get("securityContext", {})
            if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                problem(cw, "runAsNonRoot is not set")
            if security.get("readOnlyRootFilesystem") is not True:
                problem(cw, "root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problem(cw, "allowPrivilegeEscalation is not false")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problem(cw, "capabilities are not all dropped")
            for bound in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(c.get("resources", {}).get(bound, {})):
                    problem(cw, f"resources.{bound} needs cpu and memory")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes and not any(t["metadata"]["name"] == m["name"]
                                                        for t in workload["spec"].get("volumeClaimTemplates", [])):
                    problem(cw, f"mount {m['mountPath']}: no volume {m['name']}")
            if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
                problem(cw, "/tmp is not an emptyDir (the root filesystem is read-only)")
            for source in c.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in names("ConfigMap"):
                    problem(cw, f"config map {source['configMapRef']['name']} does not exist")
                if "secretRef" in source and source["secretRef"]["name"] != secret_name:
                    problem(cw, f"secret {source['secretRef']['name']} is not the template's {secret_name}")
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and (ref["name"] != secret_name or ref["key"] not in secret_template["stringData"]):
                    problem(cw, f"{env['name']}: secret key {ref['name']}/{ref['key']} is not in the template")
                if c["image"].startswith("ghcr.io/g4-project/") and env["name"] not in documented:
                    problem(cw, f"setting {env['name']} is not in README's settings table")
            port_names = {p["name"] for p in c.get("ports", []) if "name" in p}
            for probe in ("livenessProbe", "readinessProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in port_names:
                    problem(cw, f"{probe} names port {port}, which the container does not declare")
            if c["image"].startswith("ghcr.io/g4-project/g4-service"):
                if not c["image"].endswith(":" + wanted["tag"]):
                    problem(cw, f"image {c['image']} is not tagged {wanted['tag']}")
        if workload["metadata"]["name"] == "g4api":
            if workload["spec"]["replicas"] != wanted["replicas"]:
                problem(where, f"{workload['spec']['replicas']} replicas, {overlay} wants {wanted['replicas']}")
            for probe in ("livenessProbe", "readinessProbe"):
                if pod["containers"][0].get(probe, {}).get("httpGet", {}).get("path") != "/health":
                    problem(where, f"{probe} is not on /health")
            if pod.get("automountServiceAccountToken") is not False:
                problem(where, "g4api mounts an API token it does not need")

    def selects(selector, kinds=("Deployment", "StatefulSet")):
        return [w["metadata"]["name"] for w in workloads if w["kind"] in kinds
                and all(w["spec"]["template"]["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]

    def port_names(workload_names):
        return {p["name"] for w in workloads if w["metadata"]["name"] in workload_names
                for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", []) if "name" in p}

    for service in names("Service").values():
        selected = selects(service["spec"].get("selector", {}))
        if not selected:
            problem(f"{overlay}/Service/{service['metadata']['name']}", "selects no workload")
        for port in service["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in port_names(selected):
                problem(f"{overlay}/Service/{service['metadata']['name']}", f"targetPort {port['targetPort']} is not a port of {selected}")
    for pdb in names("PodDisruptionBudget").values():
        if not selects(pdb["spec"]["selector"]["matchLabels"]):
            problem(f"{overlay}/PodDisruptionBudget/{pdb['metadata']['name']}", "selects no workload")
    for policy in names("NetworkPolicy").values():
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if selector and not selects(selector):
            problem(f"{overlay}/NetworkPolicy/{policy['metadata']['name']}", "selects no workload")
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                if isinstance(port.get("port"), str) and port["port"] not in port_names(selects(selector)):
                    problem(f"{overlay}/NetworkPolicy/{policy['metadata']['name']}", f"port {port['port']} is not a port of the pods it selects")

    for config in names("ConfigMap").values():
        for key in config.get("data", {}):
            if key not in documented:
                problem(f"{overlay}/ConfigMap/{config['metadata']['name']}", f"{key} is not in README's settings table")

    # RBAC: one Role, exactly the needed rules, bound only to g4sync.
    granted = {}
    for role in names("Role").values():
        for rule in role.get("rules", []):
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    granted.setdefault((group, resource), set()).update(rule.get("verbs", []))
    if granted != needed_rules:
        problem(f"{overlay}/Role", f"grants {sorted((k, sorted(v)) for k, v in granted.items())}, "
                                   f"the backend needs exactly {sorted((k, sorted(v)) for k, v in needed_rules.items())}")
    for binding in names("RoleBinding").values():
        where = f"{overlay}/RoleBinding/{binding['metadata']['name']}"
        if binding["roleRef"]["kind"] != "Role" or binding["roleRef"]["name"] not in names("Role"):
            problem(where, "does not bind a Role of this namespace")
        for subject in binding["subjects"]:
            if (subject["kind"], subject["name"], subject.get("namespace", namespace)) != ("ServiceAccount", "g4sync", namespace):
                problem(where, f"binds {subject['kind']} {subject['name']}: only g4sync's account may schedule")
    bound = {s["name"] for b in names("RoleBinding").values() for s in b["subjects"]}
    for workload in workloads:
        account = workload["spec"]["template"]["spec"].get("serviceAccountName", "default")
        if account in bound and workload["metadata"]["name"] != "g4sync":
            problem(f"{overlay}/{workload['kind']}/{workload['metadata']['name']}", f"runs as {account}, which may schedule Jobs")

# ArgoCD Applications (no Kubernetes schema: checked by shape).
argocd = os.path.join(repo, "k8s", "argocd")
seen = set()
for name in sorted(os.listdir(argocd)):
    with open(os.path.join(argocd, name)) as f:
        app = yaml.safe_load(f)
    where = f"argocd/{name}"
    if (app.get("apiVersion"), app.get("kind")) != ("argoproj.io/v1alpha1", "Application"):
        problem(where, "not an argoproj.io/v1alpha1 Application")
        continue
    path = app["spec"]["source"]["path"]
    overlay = os.path.basename(path)
    seen.add(overlay)
    if not os.path.isfile(os.path.join(repo, path, "kustomization.yaml")):
        problem(where, f"source path {path} has no kustomization.yaml")
    if app["spec"]["destination"]["namespace"] != f"g4-{overlay}":
        problem(where, f"deploys {path} into {app['spec']['destination']['namespace']}, not g4-{overlay}")
if seen != set(expected):
    problem("argocd", f"Applications for {sorted(seen)}, overlays are {sorted(expected)}")

for line in problems:
    print(line)
if problems:
    sys.exit(1)
print("\n".join(summary))
print("RBAC: jobs (create get list watch delete), pods (get list watch), pods/log (get), bound to g4sync only")
