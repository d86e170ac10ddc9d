"""A portal's integration from g4api's OpenAPI document alone.

Fetches /openapi.yaml without a token, generates a Python client from it
with openapi-python-client, and with that client only: submits a job,
follows it to its end, lists its results and downloads each file, checking
size and SHA-256 against the listing. Prints one JSON line with what it did.

    python generated_client_check.py URL TOKEN WORKDIR
"""
import hashlib
import importlib
import json
import pathlib
import subprocess
import sys
import time
import urllib.request

url, token, workdir = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
workdir.mkdir(parents=True, exist_ok=True)
document = urllib.request.urlopen(url + "/openapi.yaml").read()  # no Authorization header
(workdir / "openapi.yaml").write_bytes(document)
generator = pathlib.Path(sys.executable).parent / "openapi-python-client"
subprocess.run([str(generator), "generate", "--path", str(workdir / "openapi.yaml"),
                "--output-path", str(workdir / "g4api_client"), "--meta", "none", "--overwrite"],
               check=True, capture_output=True)
sys.path.insert(0, str(workdir))
client_module = importlib.import_module("g4api_client")
api = importlib.import_module("g4api_client.api.default")
models = importlib.import_module("g4api_client.models")
from g4api_client.api.default import create_job, get_status, get_job, list_results, download_result  # noqa: E402

client = client_module.AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)
request = models.JobRequest.from_dict({
    "name": "from the generated client", "num_particles": 4096, "box_size": 50, "time_max": 0.05,
    "output_times": [0.05], "parameters": {"PMGRID": 32}, "resources": {"ranks": 1},
})
created = create_job.sync_detailed(client=client, body=request)
assert created.status_code == 201, (created.status_code, created.content)
job = created.parsed
job_id = job.id

# Follow: the status endpoint until the job ends (bounded by the caller's time-out).
seen = []
while True:
    status = get_status.sync(job_id, client=client)
    if not seen or seen[-1] != (str(status.phase), status.progress):
        seen.append((str(status.phase), status.progress))
    if str(status.phase) in ("completed", "failed", "cancelled", "timed_out"):
        break
    time.sleep(0.2)

final = get_job.sync(job_id, client=client)
files = list_results.sync(job_id, client=client).files
downloaded = []
for f in files:
    body = download_result.sync(job_id, f.name, client=client)
    data = body.payload.read()
    assert len(data) == f.size, (f.name, len(data), f.size)
    assert hashlib.sha256(data).hexdigest() == f.sha256, f.name
    downloaded.append(f.name)
# A range, as the document states it.
part = download_result.sync_detailed(job_id, files[0].name, client=client, range_="bytes=0-3")
print(json.dumps({"id": str(job_id), "phase": str(final.phase), "phases": [p for p, _ in seen],
                  "files": downloaded, "range_status": part.status_code, "range_bytes": len(part.content)}))
