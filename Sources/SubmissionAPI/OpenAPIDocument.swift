/// The OpenAPI 3.1 description of every endpoint, served at /openapi.yaml
/// (the tests validate it with openapi-spec-validator and check that every
/// route of the router is in it).
public enum OpenAPIDocument {
    public static let yaml = #"""
        openapi: 3.1.0
        info:
          title: g4api
          version: 1.0.0
          summary: Submit GADGET-4-class cosmological N-body simulations and fetch their results.
          description: >-
            Jobs are validated against GADGET-4's parameter table, stored durably and run by a backend
            (the local machine by default). Every endpoint but /health, /metrics and /openapi.yaml needs a
            bearer token (`g4api token create --user NAME`). Users see only their own jobs, uploads and sweeps;
            another user's answers 404. Refusals name the offending field: 400 for a malformed request, 422
            for a well-formed one with a value that is not allowed.
        servers:
          - url: /
        security:
          - bearerAuth: []
        paths:
          /health:
            get:
              operationId: health
              summary: Liveness and store check
              security: []
              responses:
                '200':
                  description: The service and its store answer.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Health'}
                '503':
                  description: The store does not answer.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Health'}
          /metrics:
            get:
              operationId: metrics
              summary: Prometheus metrics (requests, latencies, jobs by state, queue depth)
              security: []
              responses:
                '200':
                  description: Prometheus text exposition format 0.0.4.
                  content:
                    text/plain:
                      schema: {type: string}
          /openapi.yaml:
            get:
              operationId: openapi
              summary: This document (served without a token)
              security: []
              responses:
                '200':
                  description: OpenAPI 3.1 in YAML.
                  content:
                    application/yaml:
                      schema: {type: string}
          /api/v1/jobs:
            post:
              operationId: createJob
              summary: Submit a simulation
              description: >-
                Validates, stores durably (fsync'ed) and queues the job; a sync loop (in g4api or g4sync) hands it to its
                backend. With backend slurm, the job's scheduler placement is checked against the Slurm user's
                associations first (422 listing the allowed values).
                Fields left out take the values of GADGET-4's DM-L50-N128 example with the softening scaled to the
                mean particle spacing. A GADGET-4 parameter file is accepted as it is, as the JSON field
                parameter_file or as a text/plain body (the other fields then come from the query): it is read
                with the table and messages of `g4sim params check` (a bad file is a 422 whose details list every
                problem as file:line: name: message), and the service-controlled names (OutputDir, InitCondFile,
                OutputListFilename, PowerSpectrumFile, TimeLimitCPU, MaxMemSize) are rewritten, each rewrite listed
                in the job's rewrites. Files the parameter file reads are uploads (POST /api/v1/uploads) named in
                inputs. Bodies over 1 MiB are refused with 413.
              parameters:
                - name: Idempotency-Key
                  in: header
                  required: false
                  description: A retry with the same key and body returns the job created first (header Idempotent-Replayed true); the same key with another body is a 409.
                  schema: {type: string, minLength: 1, maxLength: 255, pattern: '^[!-~]{1,255}$'}
                - {name: name, in: query, required: false, description: 'text/plain bodies only: the job name (default the file name).', schema: {type: string, minLength: 1, maxLength: 128}}
                - {name: filename, in: query, required: false, description: 'text/plain bodies only: the name diagnostics give the file.', schema: {type: string, default: param.txt, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}}
                - {name: description, in: query, required: false, description: 'text/plain bodies only.', schema: {type: string, maxLength: 4096}}
                - {name: backend, in: query, required: false, description: 'text/plain bodies only.', schema: {type: string, enum: [local, slurm, kubernetes, auto]}}
                - {name: ranks, in: query, required: false, description: 'text/plain bodies only: resources.ranks.', schema: {type: integer, minimum: 1, maximum: 4096}}
                - {name: nodes, in: query, required: false, description: 'text/plain bodies only: resources.nodes.', schema: {type: integer, minimum: 1, maximum: 1024}}
                - {name: wall_clock_limit, in: query, required: false, description: 'text/plain bodies only: resources.wall_clock_limit (default the file''s TimeLimitCPU).', schema: {type: integer, minimum: 10, maximum: 2592000}}
                - {name: memory_mb, in: query, required: false, description: 'text/plain bodies only: resources.memory_mb (default the file''s MaxMemSize).', schema: {type: integer, minimum: 16, maximum: 1048576}}
                - {name: partition, in: query, required: false, description: 'text/plain bodies only: scheduler.partition.', schema: {type: string, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}}
                - {name: account, in: query, required: false, description: 'text/plain bodies only: scheduler.account.', schema: {type: string, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}}
                - {name: qos, in: query, required: false, description: 'text/plain bodies only: scheduler.qos.', schema: {type: string, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}}
                - {name: InitCondFile, in: query, required: false, description: 'text/plain bodies only: inputs.InitCondFile (an upload id).', schema: {type: string, format: uuid}}
                - {name: OutputListFilename, in: query, required: false, description: 'text/plain bodies only: inputs.OutputListFilename (an upload id).', schema: {type: string, format: uuid}}
                - {name: PowerSpectrumFile, in: query, required: false, description: 'text/plain bodies only: inputs.PowerSpectrumFile (an upload id).', schema: {type: string, format: uuid}}
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/JobRequest'}
                  text/plain:
                    schema: {type: string, description: 'A GADGET-4 parameter file (Name value lines, % comments), at most 1 MiB.'}
              responses:
                '201':
                  description: Stored and queued (or replayed for a repeated Idempotency-Key).
                  headers:
                    Location:
                      description: The job's URL.
                      schema: {type: string}
                    Idempotent-Replayed:
                      description: Present (true) when this answers a repeated Idempotency-Key.
                      schema: {type: string}
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Job'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '409': {$ref: '#/components/responses/Conflict'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedType'}
                '422': {$ref: '#/components/responses/Unprocessable'}
            get:
              operationId: listJobs
              summary: List jobs, newest first
              description: >-
                Cursor paging (next_cursor) is stable under concurrent inserts; page/page_size offset paging is kept
                for the seed's clients.
              parameters:
                - {name: status, in: query, required: false, description: 'Comma-separated statuses or phases.', schema: {type: string}}
                - {name: phase, in: query, required: false, description: 'Comma-separated phases.', schema: {type: string}}
                - {name: backend, in: query, required: false, schema: {type: string, enum: [local, slurm, kubernetes]}}
                - {name: limit, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 1000, default: 20}}
                - {name: page_size, in: query, required: false, description: 'Same as limit.', schema: {type: integer, minimum: 1, maximum: 1000}}
                - {name: page, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 1000000, default: 1}}
                - {name: cursor, in: query, required: false, description: 'next_cursor of the previous page.', schema: {type: string}}
              responses:
                '200':
                  description: One page of jobs.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/JobList'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
          /api/v1/jobs/{id}:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getJob
              summary: One job
              responses:
                '200':
                  description: The job.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Job'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
            delete:
              operationId: cancelJob
              summary: Cancel a job
              description: >-
                Idempotent. A queued job is cancelled at once; a running one is stopped by its backend (local: SIGUSR1,
                then SIGKILL after a grace period; Slurm: scancel) and becomes cancelled when its run has ended.
                DELETE deletes nothing: the job record stays (phase cancelled, listed and readable), and so do its
                outputs, logs and restart files written so far; results stay downloadable. A job that already ended
                otherwise answers 409.
              responses:
                '202':
                  description: Cancelled or being cancelled.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Job'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
                '409': {$ref: '#/components/responses/Conflict'}
          /api/v1/jobs/{id}/script:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getJobScript
              summary: The batch script of the job's latest attempt, as submitted (Slurm)
              description: >-
                The script as submitted to the scheduler (404 before the first submission). The local backend
                has no scheduler: its script is the command it runs in the job's directory.
              responses:
                '200':
                  description: The script.
                  content:
                    text/plain:
                      schema: {type: string}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/simulations/{id}/status:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getStatus
              summary: State and progress from the solver's progress file
              responses:
                '200':
                  description: Status.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Status'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/simulations/{id}/results:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: listResults
              summary: Output files with size and SHA-256
              responses:
                '200':
                  description: Files under the job's output directory (restart files excluded).
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/ResultList'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/simulations/{id}/results/{name}:
            parameters:
              - $ref: '#/components/parameters/JobID'
              - name: name
                in: path
                required: true
                description: A name from the results list; may contain '/' (e.g. powerspecs/powerspec_000.txt).
                schema: {type: string}
            get:
              operationId: downloadResult
              summary: Download one result file (HTTP Range supported)
              parameters:
                - name: Range
                  in: header
                  required: false
                  description: One range, bytes=a-b, bytes=a- or bytes=-n (several ranges are refused with 416).
                  schema: {type: string, pattern: '^bytes=([0-9]+-[0-9]*|-[0-9]+)$'}
              responses:
                '200':
                  description: The whole file.
                  content:
                    application/octet-stream:
                      schema: {type: string, format: binary}
                '206':
                  description: The requested range (Content-Range header).
                  headers:
                    Content-Range:
                      description: The range sent and the file size.
                      schema: {type: string}
                  content:
                    application/octet-stream:
                      schema: {type: string, format: binary}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
                '416':
                  description: The range lies outside the file or is not one range (Content-Range says the size).
                  headers:
                    Content-Range:
                      description: bytes */SIZE
                      schema: {type: string}
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Error'}
          /api/v1/simulations/{id}/logs:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getLogs
              summary: The solver's standard output or error
              parameters:
                - {name: tail, in: query, required: false, schema: {type: integer, minimum: 0, maximum: 100000, default: 100}}
                - {name: stream, in: query, required: false, schema: {type: string, enum: [stdout, stderr], default: stdout}}
                - {name: follow, in: query, required: false, description: 'true streams new lines as Server-Sent Events until the job ends.', schema: {type: boolean, default: false}}
              responses:
                '200':
                  description: The last lines, or with follow=true an event stream (one data line per log line, then event end).
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Logs'}
                    text/event-stream:
                      schema: {type: string}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/jobs/{id}/parameter-file:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getJobParameterFile
              summary: The parameter file the solver reads (service-controlled names rewritten, see rewrites)
              responses:
                '200':
                  description: The parameter file.
                  content:
                    text/plain:
                      schema: {type: string}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/events:
            get:
              operationId: getEvents
              summary: Your jobs' state and progress as Server-Sent Events
              description: >-
                One `event: job` (data: a JobEvent as JSON) per job when the stream opens and whenever its phase or
                progress changes (checked every second); comments keep the connection alive. With sweep or job, only
                those jobs, and an `event: end` once they all ended. The stream needs the bearer header like every
                other call (browsers read it with fetch, since EventSource cannot send headers).
              parameters:
                - {name: sweep, in: query, required: false, schema: {type: string, format: uuid}}
                - {name: job, in: query, required: false, schema: {type: string, format: uuid}}
              responses:
                '200':
                  description: The event stream.
                  content:
                    text/event-stream:
                      schema: {type: string}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/simulations/{id}/plots/power-spectrum.svg:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getPowerSpectrumPlot
              summary: P(k) of every output with linear theory × D(a)², log-log, as SVG
              responses:
                '200':
                  description: An SVG document (says "no data yet" before the first output).
                  content:
                    image/svg+xml:
                      schema: {type: string}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/simulations/{id}/plots/mass-function.svg:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getMassFunctionPlot
              summary: The FoF mass function of every catalogue with Poisson error bars, as SVG
              responses:
                '200':
                  description: An SVG document.
                  content:
                    image/svg+xml:
                      schema: {type: string}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/simulations/{id}/plots/density.png:
            parameters:
              - $ref: '#/components/parameters/JobID'
            get:
              operationId: getDensityImage
              summary: Projected density of the latest snapshot (512×512 PNG, rendered once per snapshot)
              responses:
                '200':
                  description: The image; header X-Snapshot names the snapshot.
                  headers:
                    X-Snapshot:
                      description: The snapshot file shown.
                      schema: {type: string}
                  content:
                    image/png:
                      schema: {type: string, format: binary}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/uploads:
            post:
              operationId: createUpload
              summary: Upload initial conditions or a table a parameter file reads
              description: >-
                The body is the file's bytes, streamed to disk and hashed (SHA-256) as it arrives. Initial conditions
                (kind ics, HDF5 or GADGET format 1, one file) are then read by g4sim's own readers and refused with
                422 naming the problem when g4sim could not run from them (truncated, not HDF5, no particles,
                non-finite values); tables are read as the solver reads them. Past the server's size limit
                (UPLOAD_MAX_BYTES for ics, 1 MiB for tables) the upload is refused with 413, at once when
                Content-Length says so. A job names an upload in its inputs; uploads belong to their uploader.
              parameters:
                - {name: kind, in: query, required: true, schema: {type: string, enum: [ics, output_list, power_spectrum]}}
                - {name: format, in: query, required: false, description: 'kind=ics only; default: hdf5 when the file starts with the HDF5 signature, else gadget1.', schema: {type: string, enum: [hdf5, gadget1]}}
                - {name: name, in: query, required: false, description: 'The file name to show.', schema: {type: string, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}}
              requestBody:
                required: true
                content:
                  application/octet-stream:
                    schema: {type: string, format: binary}
              responses:
                '201':
                  description: Stored and checked.
                  headers:
                    Location:
                      description: The upload's URL.
                      schema: {type: string}
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Upload'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '422': {$ref: '#/components/responses/Unprocessable'}
            get:
              operationId: listUploads
              summary: Your uploads, newest first
              responses:
                '200':
                  description: Uploads.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/UploadList'}
                '401': {$ref: '#/components/responses/Unauthorized'}
          /api/v1/uploads/{id}:
            parameters:
              - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
            get:
              operationId: getUpload
              summary: One upload
              responses:
                '200':
                  description: The upload.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Upload'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
          /api/v1/sweeps:
            post:
              operationId: createSweep
              summary: Submit a parameter sweep
              description: >-
                One job per point of the product of the varied parameters' values, each the base request with those
                parameters set. Every point is validated before any is stored (a refusal names vary.NAME or base.FIELD
                and the point); all are stored in one transaction. At most SWEEP_MAX_POINTS points (422 past it).
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/SweepRequest'}
              responses:
                '201':
                  description: Stored and queued.
                  headers:
                    Location:
                      description: The sweep's URL.
                      schema: {type: string}
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Sweep'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '422': {$ref: '#/components/responses/Unprocessable'}
            get:
              operationId: listSweeps
              summary: Your sweeps, newest first (the 100 newest; counts per phase, without the jobs)
              responses:
                '200':
                  description: Sweeps.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/SweepList'}
                '401': {$ref: '#/components/responses/Unauthorized'}
          /api/v1/sweeps/{id}:
            parameters:
              - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
            get:
              operationId: getSweep
              summary: One sweep with its jobs
              responses:
                '200':
                  description: The sweep.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Sweep'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
            delete:
              operationId: cancelSweep
              summary: Cancel every job of the sweep that has not ended
              description: >-
                Idempotent; as DELETE of each job that has not ended. Nothing is deleted: jobs that ended keep their
                results, and the sweep and its jobs stay listed.
              responses:
                '202':
                  description: Cancelled or being cancelled.
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Sweep'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '404': {$ref: '#/components/responses/NotFound'}
        components:
          securitySchemes:
            bearerAuth:
              type: http
              scheme: bearer
          parameters:
            JobID:
              name: id
              in: path
              required: true
              schema: {type: string, format: uuid}
          responses:
            BadRequest:
              description: Malformed request (the error names the field).
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            Unauthorized:
              description: Missing or invalid bearer token.
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            NotFound:
              description: No such job (or not yours), or no such file.
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            Conflict:
              description: The job already ended, or the Idempotency-Key was used with another body.
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            TooLarge:
              description: The body exceeds 1 MiB (an upload, the server's upload limit).
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            UnsupportedType:
              description: A Content-Type other than application/json or text/plain.
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            Unprocessable:
              description: Well-formed JSON with a value that is not allowed (the error names the field).
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
          schemas:
            Error:
              type: object
              required: [error]
              properties:
                error:
                  type: object
                  required: [field, message, status]
                  properties:
                    field: {type: [string, 'null'], description: 'Dotted path of the offending field, e.g. parameters.BoxSize.'}
                    message: {type: string}
                    status: {type: integer}
                    details: {type: array, items: {type: string}, description: 'Every problem, when there are several (a parameter file''s file:line diagnostics).'}
            Health:
              type: object
              required: [status, store]
              properties:
                status: {type: string}
                store: {type: string}
            Resources:
              type: object
              additionalProperties: false
              properties:
                ranks: {type: integer, minimum: 1, maximum: 4096, default: 1}
                nodes: {type: integer, minimum: 1, maximum: 1024, default: 1}
                wall_clock_limit: {type: integer, minimum: 10, maximum: 2592000, default: 86400, description: Seconds.}
                memory_mb: {type: integer, minimum: 16, maximum: 1048576, default: 1800, description: Per rank.}
            JobRequest:
              type: object
              additionalProperties: false
              required: [name]
              description: >-
                Mutually exclusive (422 naming the second field): time_begin and redshift_start; parameter_file
                and each of num_particles, box_size, time_begin, redshift_start, time_max (the file says them;
                parameters may still override its values); output_times and inputs.OutputListFilename.
                parameter_file_name needs parameter_file. A parameter in parameters that contradicts a convenience
                field (box_size and BoxSize, say) is refused; service-controlled parameters (OutputDir,
                InitCondFile, OutputListFilename, PowerSpectrumFile, TimeLimitCPU, MaxMemSize) are refused in
                parameters. resources.nodes may not exceed resources.ranks, and a backend may refuse more ranks
                or nodes than it has (422, resources.ranks).
              properties:
                name: {type: string, minLength: 1, maxLength: 128, description: 'Letters, digits, space and _ - . , : + @ = ; not starting with a dot, dash or space.'}
                description: {type: string, maxLength: 4096}
                simulator_type: {type: string, enum: [gadget4]}
                num_particles: {type: integer, minimum: 1, description: 'NSample³ (a cube).'}
                box_size: {type: number, exclusiveMinimum: 0, maximum: 1000000, description: 'BoxSize, comoving Mpc/h.'}
                time_begin: {type: number, exclusiveMinimum: 0, exclusiveMaximum: 1}
                redshift_start: {type: number, exclusiveMinimum: 0, maximum: 10000}
                time_max: {type: number, exclusiveMinimum: 0, maximum: 1}
                output_times: {type: array, minItems: 1, maxItems: 1000, items: {type: number}}
                parameters:
                  type: object
                  description: GADGET-4 parameters by name (see g4sim params list); paths and limits are set by the service.
                  additionalProperties: {$ref: '#/components/schemas/ParameterValue'}
                resources: {$ref: '#/components/schemas/Resources'}
                scheduler: {$ref: '#/components/schemas/Placement'}
                backend: {type: string, enum: [local, slurm, kubernetes, auto], default: auto, description: 'auto (or none) is the server''s default backend; a backend the server does not have is refused (422).'}
                parameter_file: {type: string, description: 'A GADGET-4 parameter file as it is (see POST /api/v1/jobs).'}
                parameter_file_name: {type: string, default: param.txt, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$', description: 'The name diagnostics give parameter_file.'}
                inputs: {$ref: '#/components/schemas/Inputs'}
            Placement:
              type: object
              additionalProperties: false
              description: Where a batch scheduler puts the job (Slurm); absent values take the site's defaults.
              properties:
                partition: {type: [string, 'null'], pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}
                account: {type: [string, 'null'], pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}
                qos: {type: [string, 'null'], pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$'}
            Attempt:
              type: object
              description: One hand-over of the job to a backend, and how it ended.
              required: [attempt, backend, resumed, memory_mb, why, submitted_at, accounting]
              properties:
                attempt: {type: integer, minimum: 1}
                backend: {type: string}
                scheduler_job_id: {type: [string, 'null']}
                resumed: {type: boolean, description: Continued from restart files.}
                memory_mb: {type: integer, description: Memory per rank this attempt asked for.}
                why: {type: string, description: Why this attempt was made (first attempt, or why it was resubmitted).}
                submitted_at: {type: string, format: date-time}
                ended_at: {type: [string, 'null'], format: date-time}
                ending: {type: [string, 'null'], enum: [completed, failed, resume_me, time_limit, preempted, out_of_memory, node_failure, boot_failure, deadline, cancelled, lost, null]}
                exit_code: {type: [integer, 'null']}
                reason: {type: [string, 'null'], description: The scheduler's words.}
                counts_against_limit: {type: [boolean, 'null']}
                accounting:
                  type: array
                  description: The scheduler's accounting (Slurm's sacct) of the allocation (step "") and each step.
                  items: {$ref: '#/components/schemas/AccountingRow'}
            AccountingRow:
              type: object
              required: [step, state, exit_code]
              properties:
                step: {type: string}
                state: {type: string}
                exit_code: {type: string, description: 'code:signal'}
                elapsed_seconds: {type: [integer, 'null']}
                total_cpu_seconds: {type: [number, 'null']}
                max_rss_kb: {type: [integer, 'null']}
                node_list: {type: [string, 'null']}
                start: {type: [string, 'null']}
                end: {type: [string, 'null']}
            ParameterValue:
              description: A GADGET-4 parameter's value (a number, or a word for names such as SnapshotFileBase; true/false for switches).
              oneOf:
                - {type: number}
                - {type: string}
                - {type: boolean}
            Inputs:
              type: object
              additionalProperties: false
              description: Uploads (ids from POST /api/v1/uploads, yours, of the matching kind) for the files a run reads.
              properties:
                InitCondFile: {type: string, format: uuid, description: 'kind ics; sets InitCondFile and ICFormat, and the particles, BoxSize and TimeBegin from its header.'}
                OutputListFilename: {type: string, format: uuid, description: 'kind output_list; excludes output_times.'}
                PowerSpectrumFile: {type: string, format: uuid, description: 'kind power_spectrum (PowerSpectrumType 2).'}
            Rewrite:
              type: object
              required: [parameter, used, reason]
              properties:
                parameter: {type: string}
                given: {type: [string, 'null']}
                used: {type: string}
                reason: {type: string}
                upload_id: {type: [string, 'null']}
            Upload:
              type: object
              required: [id, owner, kind, file_name, size, sha256, summary, created_at]
              properties:
                id: {type: string, format: uuid}
                owner: {type: string}
                kind: {type: string, enum: [ics, output_list, power_spectrum]}
                format: {type: [string, 'null'], enum: [hdf5, gadget1, null]}
                file_name: {type: string}
                size: {type: integer}
                sha256: {type: string, pattern: '^[0-9a-f]{64}$'}
                summary: {type: object, description: 'What the check read: particles, box_size, time, redshift (ics); times (output_list); rows (power_spectrum).'}
                created_at: {type: string, format: date-time}
            UploadList:
              type: object
              required: [uploads]
              properties:
                uploads: {type: array, items: {$ref: '#/components/schemas/Upload'}}
            SweepAxis:
              description: A list of values, or evenly spaced values from..to (ends included).
              oneOf:
                - type: array
                  minItems: 1
                  maxItems: 1000
                  items: {$ref: '#/components/schemas/ParameterValue'}
                - type: object
                  additionalProperties: false
                  required: [from, to, steps]
                  properties:
                    from: {type: number}
                    to: {type: number}
                    steps: {type: integer, minimum: 2, maximum: 1000}
                    spacing: {type: string, enum: [linear, log], default: linear, description: 'log needs from and to above 0.'}
            SweepRequest:
              type: object
              additionalProperties: false
              required: [name, vary]
              properties:
                name: {type: string, minLength: 1, maxLength: 128, description: 'As a job name; the jobs are named "NAME k of N".'}
                description: {type: string, maxLength: 4096}
                base:
                  type: object
                  additionalProperties: true
                  description: >-
                    A JobRequest without name (the same fields and rules), shared by every point: resources, backend,
                    inputs, parameter_file, parameters (the varied ones are set per point), ...
                vary:
                  type: object
                  minProperties: 1
                  maxProperties: 8
                  description: GADGET-4 parameter name → values (service-controlled names are refused).
                  additionalProperties: {$ref: '#/components/schemas/SweepAxis'}
            Sweep:
              type: object
              required: [id, name, owner, points, vary, created_at, counts, state, progress]
              properties:
                id: {type: string, format: uuid}
                name: {type: string}
                owner: {type: string}
                points: {type: integer}
                vary: {type: object, additionalProperties: {type: array, items: {$ref: '#/components/schemas/ParameterValue'}}}
                created_at: {type: string, format: date-time}
                counts: {type: object, description: 'Jobs per phase.', additionalProperties: {type: integer}}
                state: {type: string, enum: [active, ended]}
                progress: {type: number, description: 'Mean progress of the points, percent.'}
                jobs: {type: array, items: {$ref: '#/components/schemas/Job'}, description: 'In point order (single-sweep responses).'}
            JobEvent:
              type: object
              required: [id, name, status, phase, progress, created_at]
              properties:
                id: {type: string, format: uuid}
                name: {type: string}
                status: {type: string}
                phase: {type: string}
                progress: {type: number}
                redshift: {type: [number, 'null']}
                eta_seconds: {type: [number, 'null']}
                particles_per_second: {type: [number, 'null']}
                sweep_id: {type: [string, 'null']}
                created_at: {type: string, format: date-time}
            SweepList:
              type: object
              required: [sweeps]
              properties:
                sweeps: {type: array, items: {$ref: '#/components/schemas/Sweep'}}
            Job:
              type: object
              required: [id, name, status, phase, owner, created_at]
              properties:
                id: {type: string, format: uuid}
                name: {type: string}
                description: {type: string}
                status: {type: string, enum: [pending, running, completed, failed, cancelled]}
                phase: {type: string, enum: [queued, submitted, running, completed, failed, cancelled, timed_out, requeued]}
                owner: {type: string}
                simulator_type: {type: string}
                num_particles: {type: integer}
                box_size: {type: number}
                parameters: {type: object, description: 'The parameters object as submitted.', additionalProperties: {$ref: '#/components/schemas/ParameterValue'}}
                effective_parameters: {type: object, description: 'Every GADGET-4 parameter the solver reads (single-job responses only).', additionalProperties: {$ref: '#/components/schemas/ParameterValue'}}
                resources: {$ref: '#/components/schemas/Resources'}
                scheduler: {$ref: '#/components/schemas/Placement'}
                backend: {type: string, enum: [local, slurm, kubernetes]}
                progress: {type: number, minimum: 0, maximum: 100}
                cancel_requested: {type: boolean}
                scheduler_job_id: {type: [string, 'null']}
                exit_code: {type: [integer, 'null']}
                error_message: {type: [string, 'null']}
                attempts: {type: integer}
                created_at: {type: string, format: date-time}
                updated_at: {type: string, format: date-time}
                submitted_at: {type: [string, 'null'], format: date-time}
                started_at: {type: [string, 'null'], format: date-time}
                completed_at: {type: [string, 'null'], format: date-time}
                sweep_id: {type: [string, 'null'], description: 'The sweep this job is a point of.'}
                rewrites: {type: array, items: {$ref: '#/components/schemas/Rewrite'}, description: 'Service-controlled parameters the service replaced (single-job responses only).'}
                history: {type: array, description: 'Every attempt, oldest first (single-job responses only).', items: {$ref: '#/components/schemas/Attempt'}}
            JobList:
              type: object
              required: [jobs, total, page, page_size, next_cursor]
              properties:
                jobs: {type: array, items: {$ref: '#/components/schemas/Job'}}
                total: {type: integer}
                page: {type: integer}
                page_size: {type: integer}
                next_cursor: {type: [string, 'null']}
            Status:
              type: object
              required: [id, status, phase, progress]
              properties:
                id: {type: string, format: uuid}
                status: {type: string}
                phase: {type: string}
                progress: {type: number, description: Percent.}
                redshift: {type: [number, 'null']}
                scale_factor: {type: [number, 'null']}
                step: {type: [integer, 'null']}
                eta_seconds: {type: [number, 'null']}
                elapsed_seconds: {type: [number, 'null']}
                particles_per_second: {type: [number, 'null']}
                last_snapshot: {type: [string, 'null']}
                solver_state: {type: [string, 'null']}
                progress_updated_at: {type: [string, 'null']}
                cancel_requested: {type: boolean}
                exit_code: {type: [integer, 'null']}
                error_message: {type: [string, 'null']}
                updated_at: {type: string, format: date-time}
            ResultList:
              type: object
              required: [id, phase, files]
              properties:
                id: {type: string}
                phase: {type: string}
                files:
                  type: array
                  items:
                    type: object
                    required: [name, size, sha256, url]
                    properties:
                      name: {type: string}
                      size: {type: integer}
                      sha256: {type: string, pattern: '^[0-9a-f]{64}$'}
                      modified_at: {type: string, format: date-time}
                      url: {type: string}
            Logs:
              type: object
              required: [id, stream, lines]
              properties:
                id: {type: string}
                stream: {type: string}
                lines: {type: array, items: {type: string}}
        """#
}
