# g4api and g4sync. Build from the repository root:
#   docker build -f docker/service.Dockerfile -t ghcr.io/g4-project/g4-service:TAG .
# docker/check (run by the tests) keeps this file honest: every COPY source
# exists, and every shared library the binaries link comes from a package
# the runtime stage installs (or is linked in statically).

ARG SWIFT_IMAGE=swift:6.3.1-bookworm

FROM ${SWIFT_IMAGE} AS build
# The package's system libraries: SwiftPM needs their headers to load the
# whole package, even when building only the service products.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libsqlite3-dev libopenmpi-dev libhdf5-openmpi-dev libfftw3-dev libfftw3-mpi-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# SwiftPM loads every target of the manifest, tests included.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product g4api --product g4sync \
 && mkdir -p /out \
 && cp .build/release/g4api .build/release/g4sync /out/

FROM debian:bookworm-slim
# The libraries g4api and g4sync link (libsqlite3, libstdc++; libxml2 for
# FoundationXML, which reads S3's answers), CA roots for HTTPS to object
# storage and the Kubernetes API, time zones for Foundation, curl for the
# health check.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libstdc++6 libxml2 ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin g4
COPY --from=build /out/g4api /out/g4sync /usr/local/bin/
COPY templates /opt/g4/templates
ENV TEMPLATES_DIR=/opt/g4/templates \
    API_HOST=0.0.0.0 \
    API_PORT=8000
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["curl", "--fail", "--silent", "--show-error", "--max-time", "4", "http://127.0.0.1:8000/health"]
CMD ["/usr/local/bin/g4api", "serve"]
