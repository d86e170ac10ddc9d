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
            (the local machine by default). Every endpoint but /health and /metrics needs a bearer token
            (`g4api token create --user NAME`). Users see only their own jobs; another user's job answers 404.
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
              summary: This document
              responses:
                '200':
                  description: OpenAPI 3.1 in YAML.
                  content:
                    application/yaml:
                      schema: {type: string}
                '401': {$ref: '#/components/responses/Unauthorized'}
          /api/v1/jobs:
            post:
              operationId: createJob
              summary: Submit a simulation
              description: >-
                Validates, stores durably (fsync'ed) and queues the job; a sync loop (in g4api or g4sync) hands it to its
                backend. With backend slurm, the job's scheduler placement is checked against the Slurm user's
                associations first (422 listing the allowed values).
                Fields left out take the values of GADGET-4's DM-L50-N128 example with the softening scaled to the
                mean particle spacing. Bodies over 1 MiB are refused with 413.
              parameters:
                - name: Idempotency-Key
                  in: header
                  required: false
                  description: A retry with the same key and body returns the job created first (header Idempotent-Replayed true).
                  schema: {type: string, minLength: 1, maxLength: 255}
              requestBody:
                required: true
                content:
                  application/json:
                    schema: {$ref: '#/components/schemas/JobRequest'}
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
                '415': {$ref: '#/components/responses/BadRequest'}
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
                  description: One range, bytes=a-b, bytes=a- or bytes=-n.
                  schema: {type: string}
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
                '416': {$ref: '#/components/responses/BadRequest'}
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
              description: The body exceeds 1 MiB.
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
                  additionalProperties: {type: [number, string, boolean]}
                resources: {$ref: '#/components/schemas/Resources'}
                scheduler: {$ref: '#/components/schemas/Placement'}
                backend: {type: string, enum: [local, slurm, kubernetes, auto], default: auto, description: 'auto (or none) is the server''s default backend; a backend the server does not have is refused (422).'}
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
                parameters: {type: object, description: 'The parameters object as submitted.', additionalProperties: {type: [number, string]}}
                effective_parameters: {type: object, description: 'Every GADGET-4 parameter the solver reads (single-job responses only).', additionalProperties: {type: [number, string]}}
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
