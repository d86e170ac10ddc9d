#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server in g4's tests: no real API server
can run on the test machine. It speaks the part of the REST API that g4's
Kubernetes backend uses (create, list, delete batch/v1 Jobs; list pods; read
a pod's log), over HTTPS with its own CA and a bearer token, and checks every
Job it is sent against the official strict schema (jsonschema) plus the
API server's own rules that the schema does not carry (names and label
values, podFailurePolicy needing restartPolicy Never, quantities), answering
422 with a Status as the real server does.

Its "kubelet" runs a Job's container command as a local process (the image
is not pulled: the test machine's g4sim and Open MPI stand in for it), with
the container's environment on top of this process's, in its workingDir.
Its "job controller" applies the podFailurePolicy rules, backoffLimit and
activeDeadlineSeconds as batch/v1 documents them. SIGTERM goes to the
container's first process only, as the kubelet sends it to PID 1; SIGKILL to
all of it after terminationGracePeriodSeconds.

Test controls (no token needed), under /fake/:
  POST /fake/pods/NAME/oom    the container is killed as the OOM killer would (137, OOMKilled)
  POST /fake/pods/NAME/evict  eviction: DisruptionTarget condition, SIGTERM, grace, SIGKILL
  GET  /fake/requests         every API request so far (method, path, query)
  GET  /fake/processes        pids of containers still running
Writes DIR/kubeconfig (server, CA, token) and DIR/port once it listens.
"""
import argparse, base64, datetime, json, os, random, re, signal, ssl, string, subprocess, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs
import jsonschema

p = argparse.ArgumentParser()
p.add_argument("--dir", required=True)
p.add_argument("--schemas", required=True)
p.add_argument("--namespace", default="g4-test")
args = p.parse_args()

TOKEN = "fake-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=24))
with open(os.path.join(args.schemas, "job-batch-v1.json")) as f:
    JOB_SCHEMA = jsonschema.Draft7Validator(json.load(f))

lock = threading.RLock()
jobs, pods, procs, requests = {}, {}, {}, []

def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")

def semantic_errors(job, namespace):
    """Rules the API server enforces beyond the OpenAPI schema."""
    errs = []
    md = job.get("metadata", {})
    name = md.get("name", "")
    if not name or len(name) > 63 or not DNS_LABEL.match(name):
        errs.append(f"metadata.name: Invalid value: {name!r}: a Job name must be a DNS-1123 label of at most 63 characters")
    if md.get("namespace", namespace) != namespace:
        errs.append("metadata.namespace: Invalid value: does not match the request's namespace")
    def labels(where, ls):
        for k, v in (ls or {}).items():
            prefix, _, key = k.rpartition("/")
            if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix))) or len(key) > 63 or not LABEL_NAME.match(key):
                errs.append(f"{where}: Invalid value: {k!r}: not a valid label key")
            if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                errs.append(f"{where}: Invalid value: {v!r}: not a valid label value")
    labels("metadata.labels", md.get("labels"))
    spec = job.get("spec", {})
    tmpl = spec.get("template", {})
    labels("spec.template.metadata.labels", tmpl.get("metadata", {}).get("labels"))
    pod = tmpl.get("spec", {})
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        errs.append("spec.template.spec.restartPolicy: Unsupported value: must be Never or OnFailure for a Job")
    if "podFailurePolicy" in spec and pod.get("restartPolicy") != "Never":
        errs.append("spec.template.spec.restartPolicy: Invalid value: podFailurePolicy requires Never")
    names = {c.get("name") for c in pod.get("containers", [])}
    for i, rule in enumerate(spec.get("podFailurePolicy", {}).get("rules", [])):
        if ("onExitCodes" in rule) == ("onPodConditions" in rule):
            errs.append(f"spec.podFailurePolicy.rules[{i}]: exactly one of onExitCodes and onPodConditions")
        oe = rule.get("onExitCodes")
        if oe:
            if oe.get("containerName") and oe["containerName"] not in names:
                errs.append(f"spec.podFailurePolicy.rules[{i}].onExitCodes.containerName: no such container")
            if oe.get("operator") == "In" and 0 in oe.get("values", []):
                errs.append(f"spec.podFailurePolicy.rules[{i}].onExitCodes.values: 0 is not allowed with In")
    vols = {v.get("name") for v in pod.get("volumes", [])}
    for c in pod.get("containers", []):
        if not DNS_LABEL.match(c.get("name", "")):
            errs.append(f"container name {c.get('name')!r} is not a DNS-1123 label")
        for m in c.get("volumeMounts", []):
            if m.get("name") not in vols:
                errs.append(f"volumeMounts {m.get('name')!r}: not found among the pod's volumes")
        for kind in ("requests", "limits"):
            for res, q in c.get("resources", {}).get(kind, {}).items():
                if not isinstance(q, (int, float)) and not QUANTITY.match(str(q)):
                    errs.append(f"resources.{kind}.{res}: Invalid value: {q!r}: not a quantity")
    return errs

def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}

def matches(obj, selector):
    if not selector:
        return True
    ls = obj["metadata"].get("labels", {})
    for term in selector.split(","):
        k, _, v = term.partition("=")
        if ls.get(k.strip()) != v.strip():
            return False
    return True

# The kubelet ------------------------------------------------------------

def start_pod(job):
    name = job["metadata"]["name"] + "-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
    tmpl = job["spec"]["template"]
    labels = dict(tmpl.get("metadata", {}).get("labels", {}))
    labels.update({"batch.kubernetes.io/job-name": job["metadata"]["name"], "job-name": job["metadata"]["name"]})
    container = tmpl["spec"]["containers"][0]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": args.namespace, "labels": labels, "creationTimestamp": now(),
                        "ownerReferences": [{"kind": "Job", "name": job["metadata"]["name"]}]},
           "spec": tmpl["spec"],
           "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
                      "containerStatuses": [{"name": container["name"], "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
    pods[name] = pod
    threading.Thread(target=run_container, args=(job["metadata"]["name"], name, container), daemon=True).start()

def run_container(job_name, pod_name, container):
    time.sleep(0.2)
    # This process's environment stands in for the image's, without what an
    # MPI singleton of the test process left there (a container starts clean;
    # inherited OMPI_/PMIX_ variables make mpirun join that singleton and hang).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "OPAL_", "ORTE_"))}
    if os.geteuid() == 0:  # the test machine runs as root; a real pod does not
        env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"})
    env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
    env["HOSTNAME"] = pod_name
    log = open(os.path.join(args.dir, pod_name + ".log"), "wb")
    with lock:
        if pod_name not in pods:
            return
        try:
            proc = subprocess.Popen(container.get("command", []) + container.get("args", []), cwd=container.get("workingDir"),
                                    env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            finish(job_name, pod_name, 128, "StartError", str(e))
            return
        procs[pod_name] = proc
        pods[pod_name]["status"]["phase"] = "Running"
        pods[pod_name]["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": now()}}
    code = proc.wait()
    log.close()
    with lock:
        procs.pop(pod_name, None)
        pod = pods.get(pod_name)
        if pod is None:
            return
        oom = pod.get("_oom")
        exit_code = 128 - code if code < 0 else code  # killed by signal n: 128 + n, as the kubelet reports it
        reason = "OOMKilled" if oom else ("Completed" if exit_code == 0 else "Error")
        finish(job_name, pod_name, exit_code, reason, None)

def finish(job_name, pod_name, exit_code, reason, message):
    pod = pods[pod_name]
    term = {"exitCode": exit_code, "reason": reason, "finishedAt": now()}
    if message:
        term["message"] = message
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": term}
    pod["status"]["phase"] = "Succeeded" if exit_code == 0 else "Failed"
    job = jobs.get(job_name)
    if job is None or finished(job):
        return
    st = job["status"]
    st["active"] = max(0, st.get("active", 1) - 1)
    if exit_code == 0:
        st["succeeded"] = st.get("succeeded", 0) + 1
        condition(job, "SuccessCriteriaMet", "CompletionsReached")
        condition(job, "Complete", "CompletionsReached")
        return
    action = pod_failure_action(job, pod, exit_code)
    if action == "Ignore":
        st["active"] = 1
        start_pod(job)
        return
    st["failed"] = st.get("failed", 0) + 1
    if action == "FailJob":
        condition(job, "FailureTarget", "PodFailurePolicy")
        condition(job, "Failed", "PodFailurePolicy", f"Container {pod['spec']['containers'][0]['name']} for pod {pod_name} failed with exit code {exit_code} matching FailJob rule")
    elif st["failed"] > job["spec"].get("backoffLimit", 6):
        condition(job, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    else:
        st["active"] = 1
        start_pod(job)

def pod_failure_action(job, pod, exit_code):
    for rule in job["spec"].get("podFailurePolicy", {}).get("rules", []):
        if "onPodConditions" in rule:
            for want in rule["onPodConditions"]:
                if any(c["type"] == want["type"] and c["status"] == want.get("status", "True") for c in pod["status"].get("conditions", [])):
                    return rule["action"]
        else:
            oe = rule["onExitCodes"]
            inside = exit_code in oe["values"]
            if (oe["operator"] == "In") == inside:
                return rule["action"]
    return "Count"

def finished(job):
    return any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in job["status"].get("conditions", []))

def condition(job, type_, reason, message=None):
    c = {"type": type_, "status": "True", "reason": reason, "lastTransitionTime": now()}
    if message:
        c["message"] = message
    job["status"].setdefault("conditions", []).append(c)

def terminate(pod_name, grace):
    """SIGTERM to the container's first process, SIGKILL to all of it after the grace period."""
    proc = procs.get(pod_name)
    if proc is None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        return
    def kill_later():
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    threading.Thread(target=kill_later, daemon=True).start()

def deadlines():
    while True:
        time.sleep(0.2)
        with lock:
            for job in list(jobs.values()):
                limit = job["spec"].get("activeDeadlineSeconds")
                if limit and not finished(job) and time.time() - job["_start"] > limit:
                    condition(job, "FailureTarget", "DeadlineExceeded")
                    condition(job, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
                    for name, pod in pods.items():
                        if pod["metadata"]["labels"].get("job-name") == job["metadata"]["name"] and name in procs:
                            pod["status"]["reason"] = "DeadlineExceeded"
                            terminate(name, job["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30))

threading.Thread(target=deadlines, daemon=True).start()

# The API ------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def route(self, method):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        raw = self.body()
        if parts[0] == "fake":
            return self.control(method, parts[1:])
        with lock:
            requests.append({"method": method, "path": url.path, "query": query})
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.reply(*status(401, "Unauthorized", "Unauthorized"))
        ns = args.namespace
        jobs_path = ["apis", "batch", "v1", "namespaces", ns, "jobs"]
        pods_path = ["api", "v1", "namespaces", ns, "pods"]
        with lock:
            if parts == jobs_path and method == "POST":
                return self.reply(*self.create_job(raw))
            if parts == jobs_path and method == "GET":
                items = [public(j) for j in jobs.values() if matches(j, query.get("labelSelector"))]
                return self.reply(200, {"kind": "JobList", "apiVersion": "batch/v1", "metadata": {}, "items": items})
            if parts[:-1] == jobs_path and method == "DELETE":
                return self.reply(*self.delete_job(parts[-1], raw))
            if parts == pods_path and method == "GET":
                items = [public(p) for p in pods.values() if matches(p, query.get("labelSelector"))]
                return self.reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
            if parts[:-2] == pods_path and parts[-1] == "log" and method == "GET":
                name = parts[-2]
                if name not in pods:
                    return self.reply(*status(404, "NotFound", f'pods "{name}" not found'))
                path = os.path.join(args.dir, name + ".log")
                text = open(path, "rb").read() if os.path.exists(path) else b""
                if "tailLines" in query:
                    text = b"".join(text.splitlines(keepends=True)[-int(query["tailLines"]):])
                return self.reply(200, text, "text/plain")
        return self.reply(*status(404, "NotFound", f"the server could not find the requested resource {url.path}"))

    def create_job(self, raw):
        try:
            job = json.loads(raw)
        except ValueError as e:
            return status(400, "BadRequest", f"the body is not JSON: {e}")
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in JOB_SCHEMA.iter_errors(job)]
        errors += semantic_errors(job, args.namespace)
        if errors:
            return status(422, "Invalid", "Job.batch is invalid: " + "; ".join(errors))
        name = job["metadata"]["name"]
        if name in jobs:
            return status(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
        job["metadata"].update({"namespace": args.namespace, "creationTimestamp": now(), "uid": os.urandom(8).hex()})
        job["status"] = {"active": 1, "startTime": now()}
        job["_start"] = time.time()
        jobs[name] = job
        start_pod(job)
        return 201, public(job)

    def delete_job(self, name, raw):
        options = json.loads(raw) if raw else {}
        if name not in jobs:
            return status(404, "NotFound", f'jobs.batch "{name}" not found')
        if options.get("propagationPolicy") not in ("Background", "Foreground"):
            # Orphan (the default for batch/v1 through the REST API) would leave the pods running.
            return status(400, "BadRequest", "the fake only deletes Jobs with their pods (propagationPolicy Background or Foreground)")
        job = jobs.pop(name)
        grace = job["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        for pod_name in [n for n, p in pods.items() if p["metadata"]["labels"].get("job-name") == name]:
            terminate(pod_name, grace)
            threading.Thread(target=remove_when_done, args=(pod_name,), daemon=True).start()
        return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}

    def control(self, method, parts):
        with lock:
            if method == "GET" and parts == ["requests"]:
                return self.reply(200, requests)
            if method == "GET" and parts == ["processes"]:
                return self.reply(200, [p.pid for p in procs.values() if p.poll() is None])
            if method == "POST" and len(parts) == 3 and parts[0] == "pods" and parts[1] in pods:
                pod = pods[parts[1]]
                proc = procs.get(parts[1])
                if parts[2] == "oom" and proc:
                    pod["_oom"] = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    return self.reply(200, {})
                if parts[2] == "evict" and proc:
                    pod["status"].setdefault("conditions", []).append(
                        {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"})
                    pod["status"]["reason"] = "Evicted"
                    terminate(parts[1], pod["spec"].get("terminationGracePeriodSeconds", 30))
                    return self.reply(200, {})
        return self.reply(404, {"error": "no such control or pod not running"})

    def do_GET(self): self.route("GET")
    def do_POST(self): self.route("POST")
    def do_DELETE(self): self.route("DELETE")

def remove_when_done(pod_name):
    while True:
        with lock:
            if pod_name not in procs:
                pods.pop(pod_name, None)
                return
        time.sleep(0.1)

def public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")} | {"metadata": obj["metadata"]}

def certificates(d):
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=fake-kubernetes-ca",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr")
    with open(f"{d}/server.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    run("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key", "-CAcreateserial",
        "-days", "2", "-out", f"{d}/server.crt", "-extfile", f"{d}/server.ext")

certificates(args.dir)
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(f"{args.dir}/server.crt", f"{args.dir}/server.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
port = server.server_address[1]
ca = base64.b64encode(open(f"{args.dir}/ca.crt", "rb").read()).decode()
with open(f"{args.dir}/kubeconfig", "w") as f:
    f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority-data: {ca}
users:
- name: g4
  user:
    token: {TOKEN}
contexts:
- name: fake
  context:
    cluster: fake
    user: g4
    namespace: {args.namespace}
current-context: fake
""")
with open(f"{args.dir}/port", "w") as f:
    f.write(str(port))
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
try:
    server.serve_forever()
finally:
    for proc in list(procs.values()):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
